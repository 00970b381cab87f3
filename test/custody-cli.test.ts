// `request-crypto public --kms …` against the KMS on 127.0.0.1 (test/fake-kms.ts), run as users
// run it: the built CLI in a child process (`--pkcs11-library`, on SoftHSM2, is in the pkcs11 tier:
// test/custody-cli-pkcs11.test.ts). The child is awaited, never run synchronously: the fake KMS answers
// from this process's event loop.
import { createRequestDecryptor, createRequestEncryptor, type PublicJWKS } from '../src';
import { createKmsKeyUnwrapper, kmsPublicJWKS } from '../src/kms';
import { runCliInChild } from './cli-child';
import { FakeKms, type FakeKmsKey } from './fake-kms';

const cli = runCliInChild;

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
