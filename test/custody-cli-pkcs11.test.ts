// The pkcs11 tier (npm run test:pkcs11; needs SoftHSM2): `request-crypto public --pkcs11-library …`
// against a SoftHSM2 token, run as users run it: the built CLI in a child process.
import type { PublicJWKS } from '../src';
import { pkcs11PublicJWKS } from '../src/pkcs11';
import { runCliInChild as cli } from './cli-child';
import { createSoftHsmToken, type SoftHsmToken } from './softhsm';

describe('request-crypto public --pkcs11-library', () => {
  let token: SoftHsmToken;
  let args: string[];
  let expected: PublicJWKS;

  beforeAll(async () => {
    token = createSoftHsmToken([{ label: 'cli-1' }, { label: 'cli-2', bits: 3072 }], 'request-crypto-cli');
    args = ['public', '--pkcs11-library', token.library, '--token', token.tokenLabel, '--key-label', 'cli-1', '--kid', 'k1', '--key-label', 'cli-2', '--kid', 'k2'];
    expected = await pkcs11PublicJWKS({ library: token.library, tokenLabel: token.tokenLabel, keyLabels: { k1: 'cli-1', k2: 'cli-2' } });
  }, 60_000);
  afterAll(() => token?.remove());

  it("prints the public set of the token's keys, logging in with the PIN from the variable --pin-env names", async () => {
    const run = await cli([...args, '--pin-env', 'RC_TEST_HSM_PIN'], { env: { ...token.env, RC_TEST_HSM_PIN: token.pin } });
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(JSON.parse(run.stdout)).toEqual(expected);
    expect(expected.keys.map((key) => [key.kid, key.alg])).toEqual([
      ['k1', 'RSA-OAEP'],
      ['k2', 'RSA-OAEP'],
    ]);
  });

  it('reads the PIN from stdin with --pin-stdin', async () => {
    const run = await cli([...args, '--pin-stdin', '--alg', 'RSA-OAEP-256'], { env: token.env, input: `${token.pin}\n` });
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(JSON.parse(run.stdout)).toEqual({ keys: expected.keys.map((key) => ({ ...key, alg: 'RSA-OAEP-256' })) });
  });

  it('reports a wrong PIN with the CKR code, exit status 1, and never the PIN', async () => {
    const run = await cli([...args, '--pin-stdin'], { env: token.env, input: '97531864\n' });
    expect(run).toEqual({
      status: 1,
      stdout: '',
      stderr: 'request-crypto: ERR_INVALID_ARGUMENT: PKCS#11: logging in to token "request-crypto-cli" failed (CKR_PIN_INCORRECT)\n',
    });
  });

  it.each([
    ['an unset --pin-env variable', ['--pin-env', 'RC_TEST_NO_SUCH_VARIABLE'], /the environment variable RC_TEST_NO_SUCH_VARIABLE \(--pin-env\) is not set/],
    ['both --pin-env and --pin-stdin', ['--pin-env', 'HOME', '--pin-stdin'], /give --pin-env or --pin-stdin, not both/],
    ['a PKCS#11 option with --kms', ['--kms', 'a'], /--kms does not go with --pkcs11-library/],
  ])('refuses %s as a usage error (status 2)', async (_name, extra, message) => {
    const run = await cli([...args, ...extra], { env: token.env });
    expect([run.status, run.stdout]).toEqual([2, '']);
    expect(run.stderr).toMatch(message);
  });

  it('refuses an unknown key label with exit status 1, naming it', async () => {
    const run = await cli(['public', '--pkcs11-library', token.library, '--token', token.tokenLabel, '--key-label', 'nope', '--kid', 'k'], { env: token.env });
    expect(run).toEqual({
      status: 1,
      stdout: '',
      stderr: 'request-crypto: ERR_INVALID_ARGUMENT: PKCS#11: the token has no RSA key labelled "nope" (kid "k")\n',
    });
  });
});
