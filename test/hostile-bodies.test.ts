import { createRequestDecryptor, ERROR_CODES, RequestCryptoError } from '../src';
import { body, CASES, decryptor, DF, headerWith, PAYLOAD, rebuild, setUpHostileCases, TL } from './hostile-cases';
import { rejectionOf, vectors } from './helpers';

beforeAll(setUpHostileCases);

const METHODS = ['decrypt', 'decryptPayload', 'getJWKMetadata'] as const;
const ALL_CODES = new Set<string>(Object.values(ERROR_CODES));

describe('untrusted bodies', () => {
  it('accepts a valid body with spaces, tabs or line breaks around it, as the original did', async () => {
    await expect(decryptor.decrypt(`${body}\n`)).resolves.toEqual(PAYLOAD);
    await expect(decryptor.decrypt(` \t${body}\r\n`)).resolves.toEqual(PAYLOAD);
    await expect(decryptor.decrypt(Buffer.from(`${body}\n`))).resolves.toEqual(PAYLOAD);
    expect((await rejectionOf(decryptor.decrypt(`${body.slice(0, 10)} ${body.slice(10)}`))).code).toBe('ERR_BODY_MALFORMED');
    expect((await rejectionOf(decryptor.decrypt(' \n '))).code).toBe('ERR_BODY_MALFORMED');
  });

  it('accepts a valid body given as a string, a Buffer or a Uint8Array', async () => {
    await expect(decryptor.decrypt(body)).resolves.toEqual(PAYLOAD);
    await expect(decryptor.decrypt(Buffer.from(body))).resolves.toEqual(PAYLOAD);
    await expect(decryptor.decrypt(new Uint8Array(Buffer.from(body)))).resolves.toEqual(PAYLOAD);
  });

  describe.each(METHODS)('%s', (method) => {
    const rows = CASES.map(([name, makeBody, code, payloadOnly]) => ({ name, makeBody, code, payloadOnly }));
    it.each(rows)('rejects $name', async ({ makeBody, code, payloadOnly }) => {
      const input = await makeBody();
      if (method === 'getJWKMetadata' && payloadOnly) {
        // Metadata comes from the authenticated key envelope; the payload is not read.
        await expect(decryptor.getJWKMetadata(input as string)).resolves.toMatchObject({ key: { kid: 'kibana1' } });
        return;
      }
      let promise: Promise<unknown> | undefined;
      expect(() => {
        promise = decryptor[method](input as string);
      }).not.toThrow();
      expect(promise).toBeInstanceOf(Promise);
      const err = await rejectionOf(promise!);
      expect(err).toBeInstanceOf(RequestCryptoError);
      expect(err.code).toBe(code);
      expect(ALL_CODES.has(err.code!)).toBe(true);
      // nothing but the code and the name is attached to the error (and, for no key, why: never the body's text)
      expect(Object.keys(err).sort()).toEqual(code === 'ERR_NO_KEY_FOUND' ? ['code', 'name', 'reason'] : ['code', 'name']);
      expect(err).not.toHaveProperty('cause');
    });
  });

  it('keeps the original strings for the two errors its users match on', async () => {
    const noKey = await rejectionOf(decryptor.decrypt(rebuild({ header: headerWith({ zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA-OAEP', kid: 'x' }) })));
    expect(String(noKey)).toBe('Error: no key found');
  });
});

describe('no oracle once a key is chosen', () => {
  const CRYPTO_FAILURES = CASES.filter(([, , code]) => code === DF);

  it('gives every cryptographic failure the same class, code and message', async () => {
    const seen = new Set<string>();
    for (const [, makeBody] of CRYPTO_FAILURES) {
      const err = await rejectionOf(decryptor.decrypt((await makeBody()) as string));
      seen.add(`${err.constructor.name}|${err.code}|${err.message}|${String(err)}`);
    }
    expect(CRYPTO_FAILURES.length).toBeGreaterThan(15);
    expect([...seen]).toEqual(['DecryptionFailedError|ERR_DECRYPTION_FAILED|decryption failed|DecryptionFailedError: decryption failed']);
  });

});

describe('maxBodyBytes', () => {
  it('rejects a body longer than the limit before decoding it', async () => {
    const small = await createRequestDecryptor(vectors.privateJWKS, { maxBodyBytes: body.length - 1 });
    expect((await rejectionOf(small.decrypt(body))).code).toBe(TL);
    expect((await rejectionOf(small.decrypt(Buffer.from(body)))).code).toBe(TL);
    expect((await rejectionOf(small.getJWKMetadata(body))).code).toBe(TL);
    // even text that is not a body at all is refused for its size first
    expect((await rejectionOf(small.decrypt('!'.repeat(body.length)))).code).toBe(TL);
  });

  it('accepts a body exactly at the limit', async () => {
    const exact = await createRequestDecryptor(vectors.privateJWKS, { maxBodyBytes: body.length });
    await expect(exact.decrypt(body)).resolves.toEqual(PAYLOAD);
  });

  it('defaults to 8 MiB', async () => {
    const { DEFAULT_MAX_BODY_BYTES } = await import('../src');
    expect(DEFAULT_MAX_BODY_BYTES).toBe(8 * 1024 * 1024);
    expect((await rejectionOf(decryptor.decrypt('A'.repeat(DEFAULT_MAX_BODY_BYTES + 1)))).code).toBe(TL);
  });

  it.each([0, -1, 1.5, Number.NaN, Infinity, '10'])('refuses maxBodyBytes %p', async (value) => {
    const err = await rejectionOf(createRequestDecryptor(vectors.privateJWKS, { maxBodyBytes: value as number }));
    expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });
});
