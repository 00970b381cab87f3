import * as jose from 'jose';

import {
  createHandler,
  handler,
  loadKeysFromEnvironment,
  type HandlerOptions,
  type PayloadHandler,
  type ProxyEvent,
} from '../examples/lambda-receiver';
import {
  BodyTooLargeError,
  createRequestEncryptor,
  packBody,
  RequestCryptoError,
  unpackBody,
  type ErrorCode,
} from '../src';
import { FakeKms, type FakeKmsKey } from './fake-kms';
import { vectors } from './helpers';

const event = (body: string | null, isBase64Encoded = false): ProxyEvent => ({ body, isBase64Encoded });

/** A payload whose marker must never appear in a response. */
const PAYLOAD = { cluster_uuid: 'λ', marker: 'plaintext-that-only-the-receiver-reads' };

/**
 * The same body with one bit of the payload's ciphertext flipped. The change is made on the decoded
 * bytes and re-encoded, so the body stays canonical base64 and only the GCM tag can notice it
 * (editing a base64 character could touch only its unused bits and make a non-canonical body).
 */
function forgeCiphertext(original: string): string {
  const { encryptedAESKey, encryptedPayload } = unpackBody(original);
  const sealed = Buffer.from(encryptedPayload, 'base64');
  const firstCiphertextByte = 64 + 12 + 16; // after salt, iv and tag
  sealed[firstCiphertextByte] = sealed[firstCiphertextByte]! ^ 0x01;
  return packBody(encryptedAESKey, sealed.toString('base64'));
}

/**
 * A 'jwe' body of any plaintext text, made with another JOSE library: our encryptor cannot make a
 * payload 5,000 levels deep, because JSON.stringify overflows the stack on it.
 */
async function jweBodyOfText(text: string): Promise<string> {
  const publicKey = vectors.publicJWKS.keys[0]!;
  const key = await jose.importJWK(publicKey as unknown as jose.JWK, 'RSA-OAEP');
  return new jose.CompactEncrypt(new TextEncoder().encode(text))
    .setProtectedHeader({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: publicKey.kid })
    .encrypt(key);
}

/** A handler over the golden private set whose onPayload is a mock. */
function receiver(options: HandlerOptions = {}) {
  const onPayload = jest.fn<ReturnType<PayloadHandler>, Parameters<PayloadHandler>>();
  return { handle: createHandler(() => vectors.privateJWKS, { onPayload, ...options }), onPayload };
}

/** Runs `fn` with console.error (or warn) silenced, and returns the arguments of each call to it. */
async function withConsole(method: 'error' | 'warn', fn: () => Promise<void>): Promise<unknown[][]> {
  const spy = jest.spyOn(console, method).mockImplementation(() => undefined);
  try {
    await fn();
    return [...spy.mock.calls];
  } finally {
    spy.mockRestore();
  }
}

describe('examples/lambda-receiver.ts', () => {
  let body: string;
  beforeAll(async () => {
    body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', PAYLOAD);
  });

  it('answers 202 with an empty body once onPayload has taken the payload', async () => {
    const { handle } = receiver();
    const result = await handle(event(body));
    expect(result).toEqual({ statusCode: 202, headers: {}, body: '' });
  });

  it('never puts the payload in the response', async () => {
    const { handle } = receiver();
    const result = await handle(event(body));
    expect(JSON.stringify(result)).not.toContain(PAYLOAD.marker);
  });

  it('hands onPayload the decrypted payload and the event, once', async () => {
    const { handle, onPayload } = receiver();
    const received = event(body);
    await handle(received);
    expect(onPayload.mock.calls).toEqual([[PAYLOAD, received]]);
  });

  it('waits for an asynchronous onPayload before answering', async () => {
    let finished = false;
    const handle = createHandler(() => vectors.privateJWKS, {
      onPayload: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        finished = true;
      },
    });
    expect((await handle(event(body))).statusCode).toBe(202);
    expect(finished).toBe(true);
  });

  it('honours isBase64Encoded', async () => {
    const { handle, onPayload } = receiver();
    const result = await handle(event(Buffer.from(body).toString('base64'), true));
    expect(result.statusCode).toBe(202);
    expect(onPayload.mock.calls[0]?.[0]).toEqual(PAYLOAD);
  });

  it('decrypts a golden body made by the original', async () => {
    const vector = vectors.vectors[0]!;
    const { handle, onPayload } = receiver();
    expect((await handle(event(vector.body))).statusCode).toBe(202);
    expect(onPayload.mock.calls[0]?.[0]).toEqual(vector.payload);
  });

  it('loads the key set once per container', async () => {
    const load = jest.fn(() => JSON.stringify(vectors.privateJWKS));
    const handle = createHandler(load, { onPayload: () => undefined });
    for (let i = 0; i < 3; i += 1) expect((await handle(event(body))).statusCode).toBe(202);
    expect((await handle(event('junk'))).statusCode).toBe(400);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['a null body', () => null, 'ERR_BODY_MALFORMED'],
    ['an empty body', () => '', 'ERR_BODY_MALFORMED'],
    ['a body that is not base64url', () => 'not a body!', 'ERR_BODY_MALFORMED'],
    ['a forged body', () => forgeCiphertext(body), 'ERR_DECRYPTION_FAILED'],
  ])('answers 400 with the code for %s, never 500, and never calls onPayload', async (_name, makeBody, code) => {
    const { handle, onPayload } = receiver();
    const result = await handle(event(makeBody()));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ error: code });
    expect(onPayload).not.toHaveBeenCalled();
  });

  it('answers 400 with ERR_NO_KEY_FOUND for a body made for a key the receiver lacks', async () => {
    const result = await createHandler(() => ({ keys: [] }), { onPayload: () => undefined })(event(body));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ error: 'ERR_NO_KEY_FOUND' });
  });

  it('answers 413 past the size limit', async () => {
    const { handle } = receiver({ maxBodyBytes: 100 });
    const result = await handle(event(body));
    expect(result.statusCode).toBe(413);
    expect(JSON.parse(result.body)).toEqual({ error: 'ERR_BODY_TOO_LARGE' });
  });

  it('answers a payload nested 5,000 levels deep with 400 ERR_PAYLOAD_TOO_COMPLEX, never 500', async () => {
    const deepBody = await jweBodyOfText(`${'['.repeat(5000)}0${']'.repeat(5000)}`);
    const { handle, onPayload } = receiver();
    const result = await handle(event(deepBody));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ error: 'ERR_PAYLOAD_TOO_COMPLEX' });
    expect(onPayload).not.toHaveBeenCalled();
  });

  it.each([
    ['ERR_A_CODE_ADDED_LATER', 400],
    ['ERR_BODY_TOO_LARGE', 413],
  ])('answers a RequestCryptoError with code %s thrown by onPayload as bad input (%i)', async (code, status) => {
    const refusal =
      code === 'ERR_BODY_TOO_LARGE' ? new BodyTooLargeError() : new RequestCryptoError(code as string as ErrorCode, 'refused');
    const { handle } = receiver({
      onPayload: () => {
        throw refusal;
      },
    });
    const result = await handle(event(body));
    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body)).toEqual({ error: code });
  });

  it('answers 500 ERR_RECEIVER_FAILED when onPayload throws another error, logs it, and keeps its message out of the response', async () => {
    const failure = new Error('database password is hunter2');
    const { handle } = receiver({ onPayload: () => Promise.reject(failure) });
    let result = { statusCode: 0, body: '' };
    const logged = await withConsole('error', async () => {
      result = await handle(event(body));
    });
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body)).toEqual({ error: 'ERR_RECEIVER_FAILED' });
    expect(result.body).not.toContain('hunter2');
    expect(logged.flat()).toContain(failure);
  });

  it('answers 500 when the receiver has no key set, and tries again on the next invocation', async () => {
    let configured = false;
    const handle = createHandler(
      () => {
        if (!configured) throw new Error('no key set');
        return vectors.privateJWKS;
      },
      { onPayload: () => undefined },
    );
    await withConsole('error', async () => {
      const result = await handle(event(body));
      expect(result.statusCode).toBe(500);
      expect(JSON.parse(result.body)).toEqual({ error: 'ERR_RECEIVER_NOT_CONFIGURED' });
    });
    configured = true;
    expect((await handle(event(body))).statusCode).toBe(202);
  });

  it('reads the key set from PRIVATE_JWKS in the exported handler, whose default onPayload drops the payload, warning once without logging it', async () => {
    process.env.PRIVATE_JWKS = JSON.stringify(vectors.privateJWKS);
    try {
      const statuses: number[] = [];
      const warned = await withConsole('warn', async () => {
        for (let i = 0; i < 2; i += 1) statuses.push((await handler(event(body))).statusCode);
      });
      expect(statuses).toEqual([202, 202]);
      expect(warned).toHaveLength(1);
      expect(JSON.stringify(warned)).not.toContain(PAYLOAD.marker);
    } finally {
      delete process.env.PRIVATE_JWKS;
    }
  });
});

describe('examples/lambda-receiver.ts with KMS_KEY_IDS: the private keys stay in KMS', () => {
  const kms = new FakeKms();
  let key: FakeKmsKey;
  const saved = { ...process.env };

  beforeAll(async () => {
    await kms.start();
    key = kms.addKey();
  });
  afterAll(() => kms.stop());
  beforeEach(() => {
    kms.calls.length = 0;
    kms.failures.length = 0;
    // The function's environment: the SDK's default chain finds region, credentials and endpoint there.
    Object.assign(process.env, kms.environment(), { KMS_KEY_IDS: JSON.stringify({ kibana1: key.arn }) });
  });
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  });

  /** A body for the public set the function itself publishes. */
  async function bodyFor(alg: 'RSA-OAEP' | 'RSA-OAEP-256', format: 'legacy' | 'jwe'): Promise<string> {
    const keys = await loadKeysFromEnvironment();
    if (typeof keys !== 'object' || !('publicJWKS' in keys)) throw new Error('expected keys in KMS');
    expect(keys.publicJWKS.keys.map((jwk) => [jwk.kid, jwk.alg])).toEqual([['kibana1', alg]]);
    return (await createRequestEncryptor(keys.publicJWKS)).encrypt('kibana1', PAYLOAD, { format });
  }

  it.each([
    ['RSA-OAEP', 'legacy', 'RSAES_OAEP_SHA_1'],
    ['RSA-OAEP-256', 'jwe', 'RSAES_OAEP_SHA_256'],
  ] as const)('answers 202 for a %s %s body, decrypted with one KMS Decrypt (%s) per body', async (alg, format, algorithm) => {
    if (alg === 'RSA-OAEP-256') process.env.KMS_ALG = alg;
    const body = await bodyFor(alg, format);
    const onPayload = jest.fn<ReturnType<PayloadHandler>, Parameters<PayloadHandler>>();
    const handle = createHandler(loadKeysFromEnvironment, { onPayload });
    kms.calls.length = 0;
    for (let i = 0; i < 2; i += 1) expect(await handle(event(body))).toEqual({ statusCode: 202, headers: {}, body: '' });
    expect(onPayload.mock.calls.map((call) => call[0])).toEqual([PAYLOAD, PAYLOAD]);
    // GetPublicKey once per container, then Decrypt once per body.
    expect(kms.calls.map((call) => [call.target, call.body.KeyId, call.body.EncryptionAlgorithm])).toEqual([
      ['TrentService.GetPublicKey', key.arn, undefined],
      ['TrentService.Decrypt', key.arn, algorithm],
      ['TrentService.Decrypt', key.arn, algorithm],
    ]);
  });

  it('answers 400 ERR_DECRYPTION_FAILED when KMS refuses Decrypt, and logs the KMS error name, not the payload', async () => {
    const body = await bodyFor('RSA-OAEP', 'jwe');
    const handle = createHandler(loadKeysFromEnvironment, { onPayload: () => undefined });
    expect((await handle(event('junk'))).statusCode).toBe(400); // loads the keys
    kms.failures.push({ status: 400, type: 'AccessDeniedException', message: 'not authorized to perform kms:Decrypt' });
    let result = { statusCode: 0, body: '' };
    const logged = await withConsole('error', async () => {
      result = await handle(event(body));
    });
    expect([result.statusCode, JSON.parse(result.body)]).toEqual([400, { error: 'ERR_DECRYPTION_FAILED' }]);
    expect(logged).toEqual([['lambda-receiver: KMS Decrypt for kid kibana1 failed:', 'AccessDeniedException']]);
  });

  it('never calls KMS Decrypt for a malformed body', async () => {
    const handle = createHandler(loadKeysFromEnvironment, { onPayload: () => undefined });
    expect((await handle(event('not a body!'))).statusCode).toBe(400);
    expect(kms.callsOf('Decrypt')).toEqual([]);
  });

  it.each([
    ['KMS refuses GetPublicKey', () => kms.failures.push({ status: 400, type: 'AccessDeniedException', message: 'no kms:GetPublicKey' })],
    ['KMS_KEY_IDS is not JSON', () => (process.env.KMS_KEY_IDS = '{kibana1: arn')],
    ['KMS_ALG is not an algorithm', () => (process.env.KMS_ALG = 'RSA1_5')],
  ])('answers 500 ERR_RECEIVER_NOT_CONFIGURED when %s, and tries again on the next invocation', async (_name, breakIt) => {
    const body = await bodyFor('RSA-OAEP', 'legacy');
    const saveIds = process.env.KMS_KEY_IDS;
    breakIt();
    const handle = createHandler(loadKeysFromEnvironment, { onPayload: () => undefined });
    await withConsole('error', async () => {
      const result = await handle(event(body));
      expect([result.statusCode, JSON.parse(result.body)]).toEqual([500, { error: 'ERR_RECEIVER_NOT_CONFIGURED' }]);
    });
    process.env.KMS_KEY_IDS = saveIds;
    delete process.env.KMS_ALG;
    expect((await handle(event(body))).statusCode).toBe(202);
  });
});
