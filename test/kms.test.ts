// request-crypto/kms against the real @aws-sdk/client-kms and a KMS on 127.0.0.1 (test/fake-kms.ts)
// that holds the private keys: the decryptor gets a public set and an unwrapKey, never a private key.
import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES, packBody, unpackBody, type PublicJWKS } from '../src';
import { createKmsKeyUnwrapper, DEFAULT_KMS_TIMEOUT_MS, kmsPublicJWKS } from '../src/kms';
import type * as KmsEntry from '../src/kms';
import { FakeKms, type FakeKmsKey } from './fake-kms';
import { makeKeySets, rejectionOf } from './helpers';

const ROOT = join(__dirname, '..');
const FORMATS = ['legacy', 'jwe'] as const;
const ALGS = ['RSA-OAEP', 'RSA-OAEP-256'] as const;
const KMS_ALGORITHM = { 'RSA-OAEP': 'RSAES_OAEP_SHA_1', 'RSA-OAEP-256': 'RSAES_OAEP_SHA_256' } as const;

/** The same body with one bit of its RSA-OAEP wrapped key flipped: only the private key can tell. */
function withForgedWrappedKey(body: string, format: 'legacy' | 'jwe'): string {
  const flip = (compact: string): string => {
    const segments = compact.split('.');
    const wrapped = Buffer.from(segments[1]!, 'base64url');
    wrapped[10] = wrapped[10]! ^ 0x01;
    segments[1] = wrapped.toString('base64url');
    return segments.join('.');
  };
  if (format === 'jwe') return flip(body);
  const { encryptedAESKey, encryptedPayload } = unpackBody(body);
  return packBody(flip(encryptedAESKey), encryptedPayload);
}

const kms = new FakeKms();
let sha1Key: FakeKmsKey;
let sha256Key: FakeKmsKey;
let keyIds: Record<string, string>;

beforeAll(async () => {
  await kms.start();
  sha1Key = kms.addKey({ alias: 'alias/receiver-oaep' });
  sha256Key = kms.addKey({ bits: 3072 });
  keyIds = { kibana1: sha1Key.arn, kibana2: sha256Key.keyId };
});
afterAll(() => kms.stop());
beforeEach(() => {
  kms.calls.length = 0;
  kms.failures.length = 0;
});

/** A decryptor whose keys are in the fake KMS, and an encryptor for its public set. */
async function kmsReceiver(alg: 'RSA-OAEP' | 'RSA-OAEP-256' = 'RSA-OAEP', clientConfig = {}) {
  const client = kms.client(clientConfig);
  const publicJWKS = await kmsPublicJWKS({ client, keyIds, alg });
  const decryptor = await createRequestDecryptor(publicJWKS, { unwrapKey: createKmsKeyUnwrapper({ client, keyIds }) });
  const encryptor = await createRequestEncryptor(publicJWKS);
  kms.calls.length = 0;
  return { decryptor, encryptor, publicJWKS };
}

describe('kmsPublicJWKS', () => {
  it('builds the public set from GetPublicKey: the KMS public key as a JWK with the kid, use enc and alg RSA-OAEP by default', async () => {
    const set = await kmsPublicJWKS({ client: kms.client(), keyIds });
    const expected = (key: FakeKmsKey) => createPublicKey({ key: key.publicKeyDer, format: 'der', type: 'spki' }).export({ format: 'jwk' });
    expect(set).toEqual({
      keys: [
        { kty: 'RSA', kid: 'kibana1', use: 'enc', alg: 'RSA-OAEP', e: expected(sha1Key).e, n: expected(sha1Key).n },
        { kty: 'RSA', kid: 'kibana2', use: 'enc', alg: 'RSA-OAEP', e: expected(sha256Key).e, n: expected(sha256Key).n },
      ],
    });
    expect(Object.keys(set.keys[0]!)).toEqual(['kty', 'kid', 'use', 'alg', 'e', 'n']);
    expect(kms.callsOf('GetPublicKey').map((call) => call.body.KeyId).sort()).toEqual([sha1Key.arn, sha256Key.keyId].sort());
  });

  it('declares the alg it is given on every key', async () => {
    const set = await kmsPublicJWKS({ client: kms.client(), keyIds, alg: 'RSA-OAEP-256' });
    expect(set.keys.map((key) => key.alg)).toEqual(['RSA-OAEP-256', 'RSA-OAEP-256']);
  });

  it('accepts an alias name as the key id', async () => {
    const set = await kmsPublicJWKS({ client: kms.client(), keyIds: { k: 'alias/receiver-oaep' } });
    expect(set.keys[0]!.n).toBe((await kmsPublicJWKS({ client: kms.client(), keyIds: { k: sha1Key.arn } })).keys[0]!.n);
  });

  it.each([
    ['a signing key (key usage SIGN_VERIFY)', { keyUsage: 'SIGN_VERIFY' }, 'RSA-OAEP', /kid "k" .*key usage SIGN_VERIFY, not ENCRYPT_DECRYPT/],
    ['a key that is not RSA', { keySpec: 'SM2', encryptionAlgorithms: ['SM2PKE'] }, 'RSA-OAEP', /kid "k" .*SM2 key, not RSA/],
    ['a key without RSAES_OAEP_SHA_256 for RSA-OAEP-256', { encryptionAlgorithms: ['RSAES_OAEP_SHA_1'] }, 'RSA-OAEP-256', /does not offer RSAES_OAEP_SHA_256/],
    ['a key without RSAES_OAEP_SHA_1 for RSA-OAEP', { encryptionAlgorithms: ['RSAES_OAEP_SHA_256'] }, 'RSA-OAEP', /does not offer RSAES_OAEP_SHA_1/],
  ] as const)('refuses %s with ERR_INVALID_ARGUMENT naming the kid', async (_name, keyOptions, alg, message) => {
    const key = kms.addKey(keyOptions);
    const err = await rejectionOf(kmsPublicJWKS({ client: kms.client(), keyIds: { k: key.arn }, alg }));
    expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
    expect(err.message).toMatch(message);
  });

  it("rejects with the SDK's own error when KMS refuses GetPublicKey", async () => {
    kms.failures.push({ status: 400, type: 'AccessDeniedException', message: 'not authorized to perform kms:GetPublicKey' });
    const err = await rejectionOf(kmsPublicJWKS({ client: kms.client(), keyIds: { k: sha1Key.arn } }));
    expect(err.name).toBe('AccessDeniedException');
  });

  it.each([
    ['no keyIds', { keyIds: {} }],
    ['a keyIds that is not an object', { keyIds: 'arn:aws:kms:…' }],
    ['an empty key id', { keyIds: { k: '' } }],
    ['no client', { client: undefined }],
    ['an unknown alg', { alg: 'RSA1_5' }],
  ])('refuses %s with ERR_INVALID_ARGUMENT, calling nothing', async (_name, change) => {
    const err = await rejectionOf(kmsPublicJWKS({ client: kms.client(), keyIds, ...change } as never));
    expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
    expect(kms.calls).toEqual([]);
  });
});

describe('createKmsKeyUnwrapper', () => {
  describe.each(ALGS)('with a public set declaring %s', (alg) => {
    it.each(FORMATS)('decrypts a %s body with one KMS Decrypt call whose EncryptionAlgorithm matches the body', async (format) => {
      const { decryptor, encryptor } = await kmsReceiver(alg);
      for (const [kid, key] of [['kibana1', sha1Key.arn], ['kibana2', sha256Key.keyId]] as const) {
        kms.calls.length = 0;
        const body = await encryptor.encrypt(kid, { kid, format, alg }, { format });
        await expect(decryptor.decrypt(body)).resolves.toEqual({ kid, format, alg });
        const decrypts = kms.callsOf('Decrypt');
        expect(decrypts.map((call) => [call.body.KeyId, call.body.EncryptionAlgorithm])).toEqual([[key, KMS_ALGORITHM[alg]]]);
        expect((await decryptor.getJWKMetadata(body)).header.alg).toBe(alg);
        // The wrapped key travelled as a base64 blob as long as the modulus: KMS saw the body's own.
        expect(Buffer.from(String(decrypts[0]!.body.CiphertextBlob), 'base64').length).toBe(kid === 'kibana1' ? 256 : 384);
      }
    });
  });

  it('decrypts 32 bodies in flight, each to its own payload', async () => {
    const { decryptor, encryptor } = await kmsReceiver('RSA-OAEP-256');
    const bodies = await Promise.all(Array.from({ length: 32 }, (_, i) => encryptor.encrypt(i % 2 ? 'kibana1' : 'kibana2', { i }, { format: i % 3 ? 'jwe' : 'legacy' })));
    await expect(Promise.all(bodies.map((body) => decryptor.decrypt(body)))).resolves.toEqual(bodies.map((_, i) => ({ i })));
    expect(kms.callsOf('Decrypt')).toHaveLength(32);
  });

  it.each(ALGS)(
    'asks KMS for the EncryptionAlgorithm of each body, not of the key: a set declaring %s, bodies of both algorithms interleaved',
    async (declared) => {
      const { decryptor, publicJWKS } = await kmsReceiver(declared);
      const senders = {
        'RSA-OAEP': await createRequestEncryptor(publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP' }),
        'RSA-OAEP-256': await createRequestEncryptor(publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' }),
      };
      const plan = Array.from({ length: 12 }, (_, i) => ({ i, alg: ALGS[i % 2]!, format: FORMATS[(i >> 1) % 2]!, kid: i % 3 ? 'kibana1' : 'kibana2' }));
      const bodies = await Promise.all(plan.map(({ i, alg, format, kid }) => senders[alg].encrypt(kid, { i }, { format })));
      await expect(Promise.all(bodies.map((body) => decryptor.decrypt(body)))).resolves.toEqual(plan.map(({ i }) => ({ i })));
      const asked = kms.callsOf('Decrypt').map((call) => [String(call.body.KeyId), String(call.body.EncryptionAlgorithm)]).sort();
      const expected = plan.map(({ alg, kid }) => [kid === 'kibana1' ? sha1Key.arn : sha256Key.keyId, KMS_ALGORITHM[alg]]).sort();
      expect(asked).toEqual(expected);
    },
  );

  it.each(FORMATS)('turns a forged wrapped key in a %s body, which KMS refuses, into ERR_DECRYPTION_FAILED', async (format) => {
    const { decryptor, encryptor } = await kmsReceiver();
    const err = await rejectionOf(decryptor.decrypt(withForgedWrappedKey(await encryptor.encrypt('kibana1', 1, { format }), format)));
    expect(err.code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    expect(kms.callsOf('Decrypt')).toHaveLength(1);
  });

  it.each([
    ['AccessDeniedException'],
    ['InvalidCiphertextException'],
    ['IncorrectKeyException'],
    ['InvalidKeyUsageException'],
    ['KMSInvalidStateException'],
    ['DisabledException'],
    ['NotFoundException'],
  ])('turns a KMS %s into ERR_DECRYPTION_FAILED with nothing of the KMS message', async (type) => {
    const { decryptor, encryptor } = await kmsReceiver();
    const body = await encryptor.encrypt('kibana1', 1);
    kms.failures.push({ status: 400, type, message: `marker-from-kms for ${sha1Key.arn}` });
    const err = await rejectionOf(decryptor.decrypt(body));
    expect(err.code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    expect(err.message).toBe('decryption failed');
    expect(Object.keys(err).sort()).toEqual(['code', 'name']);
    expect(`${String(err)} ${err.stack ?? ''} ${JSON.stringify(err)}`).not.toMatch(/marker-from-kms|arn:aws|Exception/);
    expect(kms.callsOf('Decrypt')).toHaveLength(1);
  });

  it("hands each failed KMS call to onError with the kid, alg and key id, for the receiver's log", async () => {
    const client = kms.client();
    const onError = jest.fn();
    const unwrapKey = createKmsKeyUnwrapper({ client, keyIds, onError });
    const decryptor = await createRequestDecryptor(await kmsPublicJWKS({ client, keyIds }), { unwrapKey });
    const body = await (await createRequestEncryptor(decryptor.getWellKnowns())).encrypt('kibana1', 1);
    kms.failures.push({ status: 400, type: 'AccessDeniedException', message: 'not authorized to perform kms:Decrypt' });
    expect((await rejectionOf(decryptor.decrypt(body))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]![0]).toMatchObject({ name: 'AccessDeniedException' });
    expect(onError.mock.calls[0]![1]).toEqual({ kid: 'kibana1', alg: 'RSA-OAEP', keyId: sha1Key.arn });
  });

  it("succeeds through throttling by the client's own retries (maxAttempts)", async () => {
    const { decryptor, encryptor } = await kmsReceiver('RSA-OAEP', { maxAttempts: 3 });
    const body = await encryptor.encrypt('kibana1', { through: 'throttling' });
    for (let i = 0; i < 2; i += 1) kms.failures.push({ status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
    await expect(decryptor.decrypt(body)).resolves.toEqual({ through: 'throttling' });
    expect(kms.callsOf('Decrypt')).toHaveLength(3);
  }, 30_000);

  it('retries nothing itself: throttled past the client\'s attempts, the body is ERR_KEY_SERVICE_UNAVAILABLE, retryable', async () => {
    const { decryptor, encryptor } = await kmsReceiver('RSA-OAEP', { maxAttempts: 1 });
    const body = await encryptor.encrypt('kibana1', 1);
    kms.failures.push({ status: 400, type: 'ThrottlingException', message: 'Rate exceeded marker-from-kms' });
    const err = await rejectionOf(decryptor.decrypt(body));
    expect([err.code, (err as { retryable?: unknown }).retryable]).toEqual([ERROR_CODES.KEY_SERVICE_UNAVAILABLE, true]);
    expect(`${String(err)} ${err.stack ?? ''}`).not.toMatch(/marker-from-kms|Exception/);
    expect(kms.callsOf('Decrypt')).toHaveLength(1);
  });

  it.each([
    ['KMSInternalException', 500],
    ['DependencyTimeoutException', 503],
    ['KeyUnavailableException', 500],
  ])('turns a KMS %s (a server fault) into ERR_KEY_SERVICE_UNAVAILABLE', async (type, status) => {
    const { decryptor, encryptor } = await kmsReceiver();
    const body = await encryptor.encrypt('kibana1', 1);
    kms.failures.push({ status, type, message: 'marker-from-kms' });
    expect((await rejectionOf(decryptor.decrypt(body))).code).toBe(ERROR_CODES.KEY_SERVICE_UNAVAILABLE);
  });

  it('never calls KMS for a malformed body, a body over a limit or a body for an unknown kid', async () => {
    const client = kms.client();
    const publicJWKS = await kmsPublicJWKS({ client, keyIds });
    const decryptor = await createRequestDecryptor(publicJWKS, { unwrapKey: createKmsKeyUnwrapper({ client, keyIds }), maxPayloadBytes: 100 });
    const encryptor = await createRequestEncryptor(publicJWKS);
    const stranger = await createRequestEncryptor(makeKeySets(['stranger']).publicJWKS);
    kms.calls.length = 0;
    const cases: Array<[string, string]> = [
      ['junk', ERROR_CODES.BODY_MALFORMED],
      [(await encryptor.encrypt('kibana1', 1)).slice(0, -7), ERROR_CODES.BODY_MALFORMED],
      [(await encryptor.encrypt('kibana1', 1, { format: 'jwe' })).replace(/^[^.]+/, 'e30'), ERROR_CODES.BODY_MALFORMED],
      [await encryptor.encrypt('kibana1', 'x'.repeat(500)), ERROR_CODES.BODY_TOO_LARGE],
      [await encryptor.encrypt('kibana1', 'x'.repeat(500), { format: 'jwe' }), ERROR_CODES.BODY_TOO_LARGE],
      [await stranger.encrypt('stranger', 1), ERROR_CODES.NO_KEY_FOUND],
      [await stranger.encrypt('stranger', 1, { format: 'jwe' }), ERROR_CODES.NO_KEY_FOUND],
    ];
    for (const [body, code] of cases) expect((await rejectionOf(decryptor.decrypt(body))).code).toBe(code);
    expect(kms.calls).toEqual([]);
  });

  it('never calls KMS for a kid of the set that keyIds does not map, and the body is ERR_DECRYPTION_FAILED', async () => {
    const client = kms.client();
    const publicJWKS = await kmsPublicJWKS({ client, keyIds });
    const decryptor = await createRequestDecryptor(publicJWKS, { unwrapKey: createKmsKeyUnwrapper({ client, keyIds: { kibana1: sha1Key.arn } }) });
    const body = await (await createRequestEncryptor(publicJWKS)).encrypt('kibana2', 1);
    kms.calls.length = 0;
    expect((await rejectionOf(decryptor.decrypt(body))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    expect(kms.calls).toEqual([]);
  });

  it.each(['constructor', '__proto__', 'toString'])('finds no key for kid %s, which every object inherits', async (kid) => {
    const unwrapKey = createKmsKeyUnwrapper({ client: kms.client(), keyIds });
    await expect(unwrapKey({ kid, alg: 'RSA-OAEP', encryptedKey: new Uint8Array(256) })).rejects.toThrow(/no KMS key/);
    expect(kms.calls).toEqual([]);
  });

  it('keeps the key ids it was given: changing the object afterwards changes nothing', async () => {
    const mutable: Record<string, string> = { kibana1: sha1Key.arn };
    const unwrapKey = createKmsKeyUnwrapper({ client: kms.client(), keyIds: mutable });
    mutable.kibana1 = sha256Key.arn;
    mutable.other = sha256Key.arn;
    await expect(unwrapKey({ kid: 'other', alg: 'RSA-OAEP', encryptedKey: new Uint8Array(256) })).rejects.toThrow(/no KMS key/);
    await unwrapKey({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: new Uint8Array(256) }).catch(() => undefined);
    expect(kms.callsOf('Decrypt').map((call) => call.body.KeyId)).toEqual([sha1Key.arn]);
  });

  it.each([
    ['no options', undefined],
    ['no client', { keyIds: { k: 'arn' } }],
    ['a client without send', { client: {}, keyIds: { k: 'arn' } }],
    ['no keyIds', { client: 'client' }],
    ['an empty keyIds', { client: 'client', keyIds: {} }],
    ['a key id that is not a string', { client: 'client', keyIds: { k: 42 } }],
    ['an onError that is not a function', { client: 'client', keyIds: { k: 'arn' }, onError: 'log' }],
  ])('refuses %s with ERR_INVALID_ARGUMENT', (_name, options) => {
    const withClient = options && 'client' in options && options.client === 'client' ? { ...options, client: kms.client() } : options;
    expect(() => createKmsKeyUnwrapper(withClient as never)).toThrow(expect.objectContaining({ code: ERROR_CODES.INVALID_ARGUMENT }));
  });
});

describe('deadlines', () => {
  /** A TCP server on 127.0.0.1 that accepts every connection and never answers: a blackholed endpoint. */
  let silent: Server;
  let silentEndpoint: string;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    silentEndpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  /** What `promise` settled to, or 'pending' if it had not after `ms`. */
  const settledWithin = async (promise: Promise<unknown>, ms: number): Promise<unknown> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
    try {
      return await Promise.race([promise.then((value) => ({ value }), (err: { code?: unknown }) => err.code), late]);
    } finally {
      clearTimeout(timer);
    }
  };

  it('is 5 seconds unless told otherwise', () => {
    expect(DEFAULT_KMS_TIMEOUT_MS).toBe(5000);
  });

  it('answers 50 bodies in flight against an endpoint that never answers with ERR_KEY_SERVICE_UNAVAILABLE by timeoutMs, the client configured as docs/key-custody.md does', async () => {
    const publicJWKS = await kmsPublicJWKS({ client: kms.client(), keyIds });
    // As docs/key-custody.md: `new KMSClient({ maxAttempts: 3 })` with the usual chain, here pointed at the silent server.
    const client = kms.client({ endpoint: silentEndpoint, maxAttempts: 3 });
    const onError = jest.fn();
    const decryptor = await createRequestDecryptor(publicJWKS, { unwrapKey: createKmsKeyUnwrapper({ client, keyIds, timeoutMs: 400, onError }) });
    const encryptor = await createRequestEncryptor(publicJWKS);
    const bodies = await Promise.all(Array.from({ length: 50 }, (_, i) => encryptor.encrypt(i % 2 ? 'kibana1' : 'kibana2', { i }, { format: i % 3 ? 'jwe' : 'legacy' })));
    const started = Date.now();
    const outcomes = await Promise.all(bodies.map((body) => settledWithin(decryptor.decrypt(body), 10_000)));
    expect(outcomes).toEqual(bodies.map(() => ERROR_CODES.KEY_SERVICE_UNAVAILABLE));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(onError).toHaveBeenCalledTimes(50);
    expect(onError.mock.calls[0]![0]).toMatchObject({ name: 'AbortError' });
  }, 30_000);

  it('applies DEFAULT_KMS_TIMEOUT_MS when no timeoutMs is given, as the Lambda example configures the client', async () => {
    const publicJWKS = await kmsPublicJWKS({ client: kms.client(), keyIds });
    const client = kms.client({ endpoint: silentEndpoint });
    const decryptor = await createRequestDecryptor(publicJWKS, { unwrapKey: createKmsKeyUnwrapper({ client, keyIds }) });
    const body = await (await createRequestEncryptor(publicJWKS)).encrypt('kibana1', 1);
    const started = Date.now();
    expect(await settledWithin(decryptor.decrypt(body), DEFAULT_KMS_TIMEOUT_MS + 5000)).toBe(ERROR_CODES.KEY_SERVICE_UNAVAILABLE);
    expect(Date.now() - started).toBeGreaterThanOrEqual(DEFAULT_KMS_TIMEOUT_MS - 50);
  }, 30_000);

  it('settles by the deadline even with a client that ignores the abort signal, and aborts that signal', async () => {
    const signals: AbortSignal[] = [];
    const client = { send: (_command: unknown, options: { abortSignal: AbortSignal }) => (signals.push(options.abortSignal), new Promise(() => undefined)) };
    const unwrapKey = createKmsKeyUnwrapper({ client: client as never, keyIds, timeoutMs: 200 });
    const err = await settledWithin(unwrapKey({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: new Uint8Array(256) }), 3000);
    expect(err).toBe(ERROR_CODES.KEY_SERVICE_UNAVAILABLE);
    expect(signals.map((signal) => signal.aborted)).toEqual([true]);
  });

  it('answers a refused connection (nothing listening) with ERR_KEY_SERVICE_UNAVAILABLE', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const address = closed.address();
    await new Promise((resolve) => closed.close(resolve));
    const client = kms.client({ endpoint: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}` });
    const unwrapKey = createKmsKeyUnwrapper({ client, keyIds, timeoutMs: 3000 });
    expect(await settledWithin(unwrapKey({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: new Uint8Array(256) }), 5000)).toBe(ERROR_CODES.KEY_SERVICE_UNAVAILABLE);
  });

  it('kmsPublicJWKS rejects with ERR_KEY_SERVICE_UNAVAILABLE by its timeoutMs against an endpoint that never answers', async () => {
    const client = kms.client({ endpoint: silentEndpoint, maxAttempts: 3 });
    expect(await settledWithin(kmsPublicJWKS({ client, keyIds, timeoutMs: 300 }), 5000)).toBe(ERROR_CODES.KEY_SERVICE_UNAVAILABLE);
  });

  it('keeps the refusal of the ciphertext itself the forgery answer with a deadline set', async () => {
    const { decryptor, encryptor } = await kmsReceiver();
    const unwrapKey = createKmsKeyUnwrapper({ client: kms.client(), keyIds, timeoutMs: 2000 });
    const strict = await createRequestDecryptor(decryptor.getWellKnowns(), { unwrapKey });
    const body = withForgedWrappedKey(await encryptor.encrypt('kibana1', 1, { format: 'jwe' }), 'jwe');
    expect((await rejectionOf(strict.decrypt(body))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
  });

  it.each([0, -1, 1.5, '100', Infinity])('refuses a timeoutMs of %p with ERR_INVALID_ARGUMENT', async (timeoutMs) => {
    expect(() => createKmsKeyUnwrapper({ client: kms.client(), keyIds, timeoutMs: timeoutMs as never })).toThrow(
      expect.objectContaining({ code: ERROR_CODES.INVALID_ARGUMENT }),
    );
    expect((await rejectionOf(kmsPublicJWKS({ client: kms.client(), keyIds, timeoutMs: timeoutMs as never }))).code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });
});

describe('without @aws-sdk/client-kms installed', () => {
  /**
   * Runs `use` on src/kms.ts loaded in a module registry where requiring the SDK fails as Node
   * fails for a package that is not installed. The entry requires the SDK when called, so the
   * calls happen inside.
   */
  function withoutSdk<T>(use: (entry: typeof KmsEntry) => T): T {
    jest.doMock('@aws-sdk/client-kms', () => {
      throw Object.assign(new Error("Cannot find module '@aws-sdk/client-kms'\nRequire stack:\n- src/kms.ts"), { code: 'MODULE_NOT_FOUND' });
    });
    try {
      let result: { value: T } | undefined;
      jest.isolateModules(() => {
        result = { value: use(jest.requireActual<typeof KmsEntry>('../src/kms')) };
      });
      return result!.value;
    } finally {
      jest.dontMock('@aws-sdk/client-kms');
    }
  }

  it('createKmsKeyUnwrapper throws ERR_INVALID_ARGUMENT saying to install it', () => {
    expect(() => withoutSdk((entry) => entry.createKmsKeyUnwrapper({ client: kms.client(), keyIds }))).toThrow(
      expect.objectContaining({ code: ERROR_CODES.INVALID_ARGUMENT, message: expect.stringContaining('npm install @aws-sdk/client-kms') }),
    );
  });

  it('kmsPublicJWKS rejects with ERR_INVALID_ARGUMENT saying to install it', async () => {
    const err = await rejectionOf(withoutSdk((entry) => entry.kmsPublicJWKS({ client: kms.client(), keyIds })));
    expect([err.code, err.message]).toEqual([ERROR_CODES.INVALID_ARGUMENT, expect.stringContaining('npm install @aws-sdk/client-kms')]);
  });

  it('reports any other failure to load the SDK as it is', () => {
    jest.doMock('@aws-sdk/client-kms', () => {
      throw Object.assign(new Error("Cannot find module '@smithy/core'"), { code: 'MODULE_NOT_FOUND' });
    });
    try {
      jest.isolateModules(() => {
        const entry = jest.requireActual<typeof KmsEntry>('../src/kms');
        expect(() => entry.createKmsKeyUnwrapper({ client: kms.client(), keyIds })).toThrow("Cannot find module '@smithy/core'");
      });
    } finally {
      jest.dontMock('@aws-sdk/client-kms');
    }
  });
});

describe('loading', () => {
  /** What a fresh Node process has loaded after running `script` against the built lib/. */
  function loadedAfter(script: string): { sdk: boolean; pkcs11js: boolean } {
    const out = execFileSync(
      process.execPath,
      ['-e', `${script}; const files = Object.keys(require.cache);
console.log(JSON.stringify({ sdk: files.some((f) => f.includes('@aws-sdk')), pkcs11js: files.some((f) => /node_modules[\\\\/]pkcs11js[\\\\/]/.test(f)) }));`],
      { cwd: ROOT, encoding: 'utf8' },
    );
    return JSON.parse(out) as { sdk: boolean; pkcs11js: boolean };
  }

  it('requiring the root, request-crypto/receiver or request-crypto/sender never loads @aws-sdk/client-kms or pkcs11js', () => {
    expect(loadedAfter(`require('./lib/index.js'); require('./lib/receiver.js'); require('./lib/sender.js')`)).toEqual({ sdk: false, pkcs11js: false });
  });

  it('request-crypto/kms loads the SDK only when one of its functions is called', () => {
    expect(loadedAfter(`require('./lib/kms.js')`)).toEqual({ sdk: false, pkcs11js: false });
    const call = `require('./lib/kms.js').createKmsKeyUnwrapper({ client: { send() {} }, keyIds: { k: 'arn' } })`;
    expect(loadedAfter(call)).toEqual({ sdk: true, pkcs11js: false });
  });
});

// The decryptor's set is public only: it would find no key without unwrapKey.
it('a public set from KMS alone decrypts nothing: the private keys are not in the process', async () => {
  const publicJWKS: PublicJWKS = await kmsPublicJWKS({ client: kms.client(), keyIds });
  const body = await (await createRequestEncryptor(publicJWKS)).encrypt('kibana1', 1);
  expect(String(await rejectionOf(createRequestDecryptor(publicJWKS as never).then((d) => d.decrypt(body))))).toBe('Error: no key found');
});
