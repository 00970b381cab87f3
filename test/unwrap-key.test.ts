import { constants, createPrivateKey, privateDecrypt } from 'node:crypto';

import {
  createRequestDecryptor,
  createRequestEncryptor,
  ERROR_CODES,
  KeyServiceUnavailableError,
  UnavailableError,
  type Encryptor,
  type UnwrapKey,
  type UnwrapKeyRequest,
} from '../src';
import { body as hostileBody, CASES, setUpHostileCases } from './hostile-cases';
import { rejectionOf, vectors } from './helpers';

/** An unwrapper holding the private key outside the decryptor's set, as a KMS would. */
function outsideUnwrapper(): { unwrapKey: UnwrapKey; calls: UnwrapKeyRequest[] } {
  const privateKey = createPrivateKey({ key: vectors.privateJWKS.keys[0]! as never, format: 'jwk' });
  const calls: UnwrapKeyRequest[] = [];
  const unwrapKey: UnwrapKey = async (request) => {
    calls.push(request);
    const oaepHash = request.alg === 'RSA-OAEP-256' ? 'sha256' : 'sha1';
    return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, request.encryptedKey);
  };
  return { unwrapKey, calls };
}

const FORMATS = ['legacy', 'jwe'] as const;
let encryptor: Encryptor;
beforeAll(async () => {
  encryptor = await createRequestEncryptor(vectors.publicJWKS);
  await setUpHostileCases();
});

describe('unwrapKey: the private key outside the process', () => {
  it.each(FORMATS)('decrypts a %s body with a public-only set, calling unwrapKey once with kid, alg and the wrapped key', async (format) => {
    const { unwrapKey, calls } = outsideUnwrapper();
    const decryptor = await createRequestDecryptor(vectors.publicJWKS as never, { unwrapKey });
    const body = await encryptor.encrypt('kibana1', { n: 1 }, { format });
    await expect(decryptor.decrypt(body)).resolves.toEqual({ n: 1 });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.kid).toBe('kibana1');
    expect(calls[0]!.alg).toBe('RSA-OAEP');
    expect(calls[0]!.encryptedKey).toBeInstanceOf(Uint8Array);
    expect(calls[0]!.encryptedKey.length).toBe(256);
  });

  it('without unwrapKey, a public-only set still finds no key, as the original', async () => {
    const decryptor = await createRequestDecryptor(vectors.publicJWKS as never);
    expect(String(await rejectionOf(decryptor.decrypt(hostileBody)))).toBe('Error: no key found');
  });

  it.each(FORMATS)('turns a rejection of unwrapKey into the same ERR_DECRYPTION_FAILED as a forgery (%s)', async (format) => {
    const decryptor = await createRequestDecryptor(vectors.publicJWKS as never, {
      unwrapKey: () => Promise.reject(new Error('KMS says: AccessDeniedException for arn:aws:kms:…')),
    });
    const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', 1, { format })));
    expect(err.code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    expect(err.message).toBe('decryption failed');
    expect(Object.keys(err).sort()).toEqual(['code', 'name']);
  });

  it.each([
    ['too short', new Uint8Array(31)],
    ['too long', new Uint8Array(33)],
    ['not bytes', 'a string' as unknown as Uint8Array],
  ])('turns an unwrapped key that is %s into ERR_DECRYPTION_FAILED', async (_name, result) => {
    for (const format of FORMATS) {
      const decryptor = await createRequestDecryptor(vectors.publicJWKS as never, { unwrapKey: async () => result });
      expect((await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', 1, { format })))).code).toBe(
        ERROR_CODES.DECRYPTION_FAILED,
      );
    }
  });

  it('is never called for a malformed body, an unknown kid or a body over a limit', async () => {
    const { unwrapKey, calls } = outsideUnwrapper();
    const decryptor = await createRequestDecryptor(vectors.publicJWKS as never, { unwrapKey });
    const refusedBeforeKey = CASES.filter(([, , code]) => code !== ERROR_CODES.DECRYPTION_FAILED);
    expect(refusedBeforeKey.length).toBeGreaterThan(40);
    for (const [name, makeBody, code, payloadOnly] of refusedBeforeKey) {
      if (payloadOnly) continue; // refused only once the payload is read, after the key
      const err = await rejectionOf(decryptor.decrypt((await makeBody()) as string));
      expect([name, err.code]).toEqual([name, code]);
    }
    expect(calls).toEqual([]);
    const small = await createRequestDecryptor(vectors.publicJWKS as never, { unwrapKey, maxPayloadBytes: 10 });
    for (const format of FORMATS) {
      const err = await rejectionOf(small.decrypt(await encryptor.encrypt('kibana1', 'x'.repeat(100), { format })));
      expect(err.code).toBe(ERROR_CODES.BODY_TOO_LARGE);
    }
    expect(calls).toEqual([]);
  });

  it('keeps getWellKnowns, getPublicComponent and getJWKMetadata as with a private set', async () => {
    const { unwrapKey } = outsideUnwrapper();
    const outside = await createRequestDecryptor(vectors.publicJWKS as never, { unwrapKey });
    const inside = await createRequestDecryptor(vectors.privateJWKS);
    expect(outside.getWellKnowns()).toEqual(inside.getWellKnowns());
    expect(outside.getPublicComponent('kibana1')).toEqual(inside.getPublicComponent('kibana1'));
    for (const format of FORMATS) {
      const body = await encryptor.encrypt('kibana1', 1, { format });
      expect(await outside.getJWKMetadata(body)).toEqual(await inside.getJWKMetadata(body));
    }
  });

  it('refuses an unwrapKey that is not a function', async () => {
    const err = await rejectionOf(createRequestDecryptor(vectors.publicJWKS as never, { unwrapKey: 'kms' as never }));
    expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });
});

describe('unwrapKey: outages are not forgeries', () => {
  it.each(FORMATS)('a %s body whose unwrapKey rejects with KeyServiceUnavailableError fails with ERR_KEY_SERVICE_UNAVAILABLE, retryable', async (format) => {
    const unwrapKey: UnwrapKey = async () => {
      throw new KeyServiceUnavailableError();
    };
    const decryptor = await createRequestDecryptor(vectors.publicJWKS as never, { unwrapKey });
    const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', { n: 1 }, { format })));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err).toMatchObject({ code: ERROR_CODES.KEY_SERVICE_UNAVAILABLE, retryable: true });
  });

  it('a plain rejection from unwrapKey is still the forgery error', async () => {
    const unwrapKey: UnwrapKey = async () => {
      throw new Error('refused');
    };
    const decryptor = await createRequestDecryptor(vectors.publicJWKS as never, { unwrapKey });
    const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', { n: 1 })));
    expect(err).toMatchObject({ code: ERROR_CODES.DECRYPTION_FAILED });
    expect(err).not.toHaveProperty('retryable');
  });
});
