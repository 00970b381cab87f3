import type * as NodeCrypto from 'node:crypto';
import {
  createJWKManager,
  createRequestDecryptor,
  createRequestEncryptor,
  ERROR_CODES,
  InvalidJwksError,
  PayloadNotSerializableError,
  RequestCryptoError,
} from '../src';
import { itUnlessFips, makePrivateJwk, publicOf, rejectionOf, rsa1024Jwk, vectors } from './helpers';

// The module object itself (an `import *` namespace cannot be spied on).
const nodeCrypto = jest.requireActual<typeof NodeCrypto>('node:crypto');

const good = vectors.privateJWKS.keys[0]!;
const goodPublic = vectors.publicJWKS.keys[0]!;
const other = makePrivateJwk('other');
/** A public key of `bits` bits: any odd number with its top bit set serves as a modulus for a public operation. */
const publicKeyOfBits = (kid: string, bits: number): object => {
  const n = Buffer.alloc(bits / 8, 0xa5);
  n[0] = 0xc1;
  return { kty: 'RSA', kid, use: 'enc', alg: 'RSA-OAEP', e: 'AQAB', n: n.toString('base64url') };
};

const LOADERS: Array<[string, (jwks: unknown) => Promise<unknown>]> = [
  ['createRequestEncryptor', (jwks) => createRequestEncryptor(jwks as never)],
  ['createRequestDecryptor', (jwks) => createRequestDecryptor(jwks as never)],
  ['createJWKManager', (jwks) => createJWKManager(jwks as never)],
];

const BAD_SETS: Array<[string, unknown, RegExp]> = [
  ['null', null, /expected an object/],
  ['a number', 42, /expected an object/],
  ['an array', [goodPublic], /expected an object/],
  ['text that is not JSON', '{keys: nope', /not JSON/],
  ['keys that are not an array', { keys: { a: goodPublic } }, /"keys" is not an array/],
  ['a key that is not an object', { keys: ['key'] }, /key at index 0 is not an object/],
  ['a key without n', { keys: [{ ...goodPublic, n: undefined }] }, /key at index 0 \(kid "kibana1"\) has no "n"/],
  ['a key without e', { keys: [goodPublic, { ...goodPublic, kid: 'b', e: undefined }] }, /key at index 1 \(kid "b"\) has no "e"/],
  ['a key whose n is not base64url', { keys: [{ ...goodPublic, n: 'ab+/cd==' }] }, /index 0 \(kid "kibana1"\) has a "n" that is not base64url/],
  ['a key with an unknown kty', { keys: [{ ...goodPublic, kty: 'XYZ' }] }, /index 0 \(kid "kibana1"\) has an unsupported kty/],
  ['an EC key', { keys: [{ ...goodPublic, kty: 'EC' }] }, /unsupported kty/],
  ['a key without kid', { keys: [{ ...goodPublic, kid: undefined }] }, /index 0 has no kid/],
  ['two keys with one kid', { keys: [goodPublic, { ...goodPublic }] }, /index 1 \(kid "kibana1"\) repeats a kid/],
  ['a private key missing a CRT member', { keys: [{ ...good, qi: undefined }] }, /index 0 \(kid "kibana1"\) has a private part without a valid "qi"/],
  ['a key whose numbers are not an RSA key', { keys: [{ ...goodPublic, n: 'AQAB' }] }, /index 0 \(kid "kibana1"\)/],
  // keys that protect nothing
  ['a public exponent of 1', { keys: [{ ...goodPublic, e: 'AQ' }] }, /index 0 \(kid "kibana1"\) has a public exponent of 0 or 1/],
  ['a public exponent of 1 with leading zeros', { keys: [{ ...goodPublic, e: 'AAAB' }] }, /has a public exponent of 0 or 1/],
  ['an even public exponent', { keys: [{ ...goodPublic, e: 'AQAA' }] }, /index 0 \(kid "kibana1"\) has an even public exponent/],
  ['a private key whose parts belong to another key', { keys: [{ ...good, d: other.d, p: other.p, q: other.q, dp: other.dp, dq: other.dq, qi: other.qi }] }, /index 0 \(kid "kibana1"\) has a private part that does not match its public key/],
  ['a signing key (use sig)', { keys: [goodPublic, { ...publicOf(other), use: 'sig' }] }, /index 1 \(kid "other"\) has a "use" other than "enc"/],
  ['a key whose key_ops exclude wrapping', { keys: [{ ...goodPublic, key_ops: ['sign', 'verify'] }] }, /index 0 \(kid "kibana1"\) has "key_ops" that exclude key wrapping/],
  ['a key whose key_ops is not an array', { keys: [{ ...goodPublic, key_ops: 'wrapKey' }] }, /has a "key_ops" that is not an array of strings/],
  ['a key for a signature algorithm', { keys: [{ ...goodPublic, alg: 'RS256' }] }, /index 0 \(kid "kibana1"\) has an "alg" other than RSA-OAEP or RSA-OAEP-256/],
  ['a 16384-bit key', { keys: [publicKeyOfBits('huge', 16384)] }, /index 0 \(kid "huge"\) has a 16384-bit modulus \(allowed: 1024 to 8192\)/],
];

describe('key sets are validated when loaded', () => {
  describe.each(LOADERS)('%s', (loader, load) => {
    // createJWKManager(null) means "no set" in the original: it starts empty (tested below).
    const badSets = BAD_SETS.filter(([, jwks]) => !(loader === 'createJWKManager' && jwks === null));
    it.each(badSets)('rejects %s with ERR_INVALID_JWKS naming the key', async (_name, jwks, message) => {
      const err = await rejectionOf(load(jwks));
      expect(err).toBeInstanceOf(InvalidJwksError);
      expect(err.code).toBe(ERROR_CODES.INVALID_JWKS);
      expect(err.message).toMatch(message);
    });

    it('never quotes key material in the message', async () => {
      const err = await rejectionOf(load({ keys: [{ ...good, p: good.q, qi: 'not!base64' }] }));
      for (const member of ['n', 'd', 'p', 'q', 'dp', 'dq'] as const) {
        expect(err.message).not.toContain(good[member].slice(0, 16));
      }
    });
  });

  it('starts createJWKManager from an empty set for null, as the original does', async () => {
    expect((await createJWKManager(null as never)).getPublicJWKS()).toEqual({ keys: [] });
  });

  // FIPS refuses RSA-OAEP encryption for a key under 2048 bits (test/fips.test.ts covers FIPS mode).
  itUnlessFips('still loads a 1024-bit key, like the original test fixtures', async () => {
    const small = rsa1024Jwk('small');
    const encryptor = await createRequestEncryptor({ keys: [publicOf(small)] });
    const decryptor = await createRequestDecryptor({ keys: [small] });
    await expect(decryptor.decrypt(await encryptor.encrypt('small', [1]))).resolves.toEqual([1]);
  });

  it('accepts keys whose key_ops include wrapping, and an 8192-bit key', async () => {
    const encryptor = await createRequestEncryptor({
      keys: [{ ...goodPublic, key_ops: ['wrapKey', 'encrypt'] } as never, publicKeyOfBits('big', 8192) as never],
    });
    const decryptor = await createRequestDecryptor({ keys: [{ ...good, key_ops: ['unwrapKey', 'decrypt'] } as never] });
    await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', 1))).resolves.toBe(1);
    expect(await encryptor.encrypt('big', 1, { format: 'jwe' })).toContain('.');
  });

  it('accepts the JSON text of a set', async () => {
    const encryptor = await createRequestEncryptor(JSON.stringify(vectors.publicJWKS));
    const decryptor = await createRequestDecryptor(JSON.stringify(vectors.privateJWKS));
    await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', 'x'))).resolves.toBe('x');
  });
});

describe('OpenSSL refusing a key is a typed error', () => {
  afterEach(() => jest.restoreAllMocks());
  const refusal = (): never => {
    throw Object.assign(new Error('error:1C8000A5:Provider routines::illegal or unsupported padding mode'), {
      code: 'ERR_OSSL_UNSUPPORTED',
    });
  };

  it.each(LOADERS)('%s rejects a key set whose key OpenSSL refuses with ERR_INVALID_JWKS naming the key', async (_name, load) => {
    jest.spyOn(nodeCrypto, 'publicEncrypt').mockImplementation(refusal);
    const err = await rejectionOf(load(vectors.publicJWKS));
    expect(err.code).toBe(ERROR_CODES.INVALID_JWKS);
    expect(err.message).toBe('invalid JWKS: key at index 0 (kid "kibana1") is refused by OpenSSL for RSA-OAEP (in FIPS mode, keys under 2048 bits are)');
  });

  it.each(['legacy', 'jwe'] as const)('encrypt rejects with ERR_ENCRYPTION_FAILED, not the OpenSSL error, when OpenSSL refuses later (%s)', async (format) => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    jest.spyOn(nodeCrypto, 'publicEncrypt').mockImplementation(refusal);
    const err = await rejectionOf(encryptor.encrypt('kibana1', 1, { format }));
    expect(err).toBeInstanceOf(RequestCryptoError);
    expect(err.code).toBe(ERROR_CODES.ENCRYPTION_FAILED);
    expect(err.message).toBe('encryption failed');
  });

  it.each(['legacy', 'jwe'] as const)('decrypt rejects with ERR_DECRYPTION_FAILED when OpenSSL refuses a cipher (%s)', async (format) => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', 1, { format });
    jest.spyOn(nodeCrypto, 'createDecipheriv').mockImplementation(refusal);
    const err = await rejectionOf(decryptor.decrypt(body));
    expect(err).toBeInstanceOf(RequestCryptoError);
    expect(err.code).toBe(ERROR_CODES.DECRYPTION_FAILED);
  });
});

describe('payloads without a JSON form', () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const UNSERIALIZABLE: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a BigInt', BigInt(1)],
    ['an object holding a BigInt', { n: BigInt(2) }],
    ['a circular structure', circular],
  ];

  it.each(UNSERIALIZABLE)('rejects %s with ERR_PAYLOAD_NOT_SERIALIZABLE', async (_name, payload) => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const err = await rejectionOf(encryptor.encrypt('kibana1', payload));
    expect(err).toBeInstanceOf(PayloadNotSerializableError);
    expect(err).toBeInstanceOf(RequestCryptoError);
    expect(err.code).toBe(ERROR_CODES.PAYLOAD_NOT_SERIALIZABLE);
  });

  it('encrypts what JSON.stringify keeps of an object with undefined members', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const body = await encryptor.encrypt('kibana1', { a: undefined, b: 1, f: () => 1 });
    await expect(decryptor.decrypt(body)).resolves.toEqual({ b: 1 });
  });
});

describe('error classes', () => {
  it('prints the two compatibility errors as "Error: <message>" and the rest with their class name', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    expect(String(await rejectionOf(encryptor.encrypt('k', 1)))).toBe('Error: Missing kid (k).');
    const err = await rejectionOf(encryptor.encrypt('kibana1', undefined));
    expect(String(err)).toBe('PayloadNotSerializableError: payload is not JSON-serializable');
  });

  it('exports every code as a constant, each unique and prefixed ERR_', () => {
    const codes = Object.values(ERROR_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^ERR_[A-Z_]+$/);
    expect(codes).toEqual(
      expect.arrayContaining([
        'ERR_BODY_MALFORMED',
        'ERR_BODY_TOO_LARGE',
        'ERR_NO_KEY_FOUND',
        'ERR_MISSING_KID',
        'ERR_DECRYPTION_FAILED',
        'ERR_UNSUPPORTED_ALGORITHM',
        'ERR_INVALID_JWKS',
        'ERR_PAYLOAD_NOT_SERIALIZABLE',
      ]),
    );
  });
});
