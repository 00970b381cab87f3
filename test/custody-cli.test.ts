// `request-crypto public --kms …` against the KMS on 127.0.0.1 (test/fake-kms.ts), and
// `request-crypto public --pkcs11-library …` against a SoftHSM2 token, run as users run them: the
// built CLI in a child process. The child is awaited, never run synchronously: the fake KMS answers
// from this process's event loop.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { createRequestDecryptor, createRequestEncryptor, type PublicJWKS } from '../src';
import { createKmsKeyUnwrapper, kmsPublicJWKS } from '../src/kms';
import { pkcs11PublicJWKS } from '../src/pkcs11';
import { FakeKms, type FakeKmsKey } from './fake-kms';
import { createSoftHsmToken, describePkcs11, type SoftHsmToken } from './softhsm';

const CLI = join(__dirname, '..', 'lib', 'cli.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: options.env ?? process.env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

describe('request-crypto public --kms', () => {
  const kms = new FakeKms();
  let first: FakeKmsKey;
  let second: FakeKmsKey;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await kms.start();
    first = kms.addKey({ alias: 'alias/receiver' });
    second = kms.addKey({ bits: 3072 });
    env = { ...process.env, ...kms.environment() };
  });
  afterAll(() => kms.stop());
  beforeEach(() => {
    kms.calls.length = 0;
    kms.failures.length = 0;
  });

  it('prints the public set of the KMS keys, pairing each --kms with its --kid in order, from the AWS environment', async () => {
    const run = await cli(['public', '--kms', 'alias/receiver', '--kid', 'k1', '--kms', second.arn, '--kid', 'k2', '--alg', 'RSA-OAEP-256'], { env });
    expect([run.status, run.stderr]).toEqual([0, '']);
    const printed = JSON.parse(run.stdout) as PublicJWKS;
    const client = kms.client();
    expect(printed).toEqual(await kmsPublicJWKS({ client, keyIds: { k1: first.arn, k2: second.arn }, alg: 'RSA-OAEP-256' }));
    expect(printed.keys.map((key) => [key.kid, key.alg])).toEqual([
      ['k1', 'RSA-OAEP-256'],
      ['k2', 'RSA-OAEP-256'],
    ]);
    // What it printed is what senders need: a body for it decrypts with the key in KMS.
    const body = await (await createRequestEncryptor(printed)).encrypt('k2', { via: 'cli' }, { format: 'jwe' });
    const decryptor = await createRequestDecryptor(printed, { unwrapKey: createKmsKeyUnwrapper({ client, keyIds: { k1: first.arn, k2: second.arn } }) });
    await expect(decryptor.decrypt(body)).resolves.toEqual({ via: 'cli' });
  });

  it('asks KMS with GetPublicKey only, once per key', async () => {
    await cli(['public', '--kms', first.keyId, '--kid', 'k1'], { env });
    expect(kms.calls.map((call) => [call.target, call.body.KeyId])).toEqual([['TrentService.GetPublicKey', first.keyId]]);
  });

  it("reports KMS's refusal on one line of stderr with exit status 1 and nothing on stdout", async () => {
    kms.failures.push({ status: 400, type: 'AccessDeniedException', message: 'User is not authorized to perform: kms:GetPublicKey' });
    const run = await cli(['public', '--kms', first.arn, '--kid', 'k1'], { env });
    expect(run).toEqual({
      status: 1,
      stdout: '',
      stderr: 'request-crypto: ERR_INVALID_ARGUMENT: KMS GetPublicKey failed: AccessDeniedException: User is not authorized to perform: kms:GetPublicKey\n',
    });
  });

  it('refuses a signing key with exit status 1', async () => {
    const signing = kms.addKey({ keyUsage: 'SIGN_VERIFY' });
    const run = await cli(['public', '--kms', signing.arn, '--kid', 'k1'], { env });
    expect([run.status, run.stdout]).toEqual([1, '']);
    expect(run.stderr).toMatch(/^request-crypto: ERR_INVALID_ARGUMENT: .*key usage SIGN_VERIFY, not ENCRYPT_DECRYPT\n$/);
  });

  it.each([
    ['a --kms without its --kid', ['--kms', 'a', '--kid', 'k1', '--kms', 'b'], /give one --kid for each --kms/],
    ['a kid given twice', ['--kms', 'a', '--kid', 'k1', '--kms', 'b', '--kid', 'k1'], /kid "k1" is given twice/],
    ['--kms with a PKCS#11 option', ['--kms', 'a', '--kid', 'k1', '--token', 't'], /--kms does not go with --token/],
    ['an unknown --alg', ['--kms', 'a', '--kid', 'k1', '--alg', 'RSA1_5'], /--alg must be RSA-OAEP or RSA-OAEP-256/],
    ['--jwks with --kms', ['--kms', 'a', '--kid', 'k1', '--jwks', 'f'], /^request-crypto: ERR_INVALID_ARGUMENT: --jwks does not go with --kms\n$/],
  ])('refuses %s as a usage error (status 2), asking KMS nothing', async (_name, args, message) => {
    const run = await cli(['public', ...args], { env });
    expect([run.status, run.stdout]).toEqual([2, '']);
    expect(run.stderr).toMatch(message);
    expect(kms.calls).toEqual([]);
  });
});

describe('request-crypto public, a PIN on the command line', () => {
  it.each([['--pin=97531864'], ['--pin', '97531864']])('is refused before anything is read, and never echoed (%s)', async (...pinArgs) => {
    const run = await cli(['public', '--pkcs11-library', '/usr/lib/softhsm/libsofthsm2.so', '--token', 't', '--key-label', 'l', '--kid', 'k', ...pinArgs]);
    expect([run.status, run.stdout]).toEqual([2, '']);
    expect(run.stderr).toBe(
      'request-crypto: ERR_INVALID_ARGUMENT: a PIN is never taken on the command line: name an environment variable with --pin-env VAR, or use --pin-stdin\n',
    );
  });
});

describePkcs11('request-crypto public --pkcs11-library', () => {
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
