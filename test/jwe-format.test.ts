import * as jose from 'jose';
import * as nodeJose from 'node-jose';
import { deflateRawSync } from 'node:zlib';

import {
  createJWKManager,
  createRequestDecryptor,
  createRequestEncryptor,
  ERROR_CODES,
  type PrivateJWKS,
  type PublicJWKS,
} from '../src';
import { inflateBounded, INFLATE_ON_LOOP_MAX_BYTES } from '../src/jose/decrypt';
import { makePrivateJwk, publicOf, rejectionOf, vectors } from './helpers';

const PAYLOAD = { cluster_uuid: 'c-1', stats: { n: [1, 2, 3] }, text: 'héllo 🚀' };
const decodeHeader = (body: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(body.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;

let sets256: { privateJWKS: PrivateJWKS; publicJWKS: PublicJWKS };

beforeAll(() => {
  const key = makePrivateJwk('k256', 2048, 'RSA-OAEP-256');
  sets256 = { privateJWKS: { keys: [key] }, publicJWKS: { keys: [publicOf(key)] } };
});

describe("format 'jwe'", () => {
  it('keeps legacy as the default format', async () => {
    const body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', 1);
    expect(body).not.toContain('.');
    expect(Buffer.from(body, 'base64url').toString()).toMatch(/^\{"encryptedAESKey":/);
  });

  it('makes one compact JWE with alg, enc A256GCM, kid, iat and cty in the protected header', async () => {
    const before = Math.floor(Date.now() / 1000);
    const body = await (await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' })).encrypt('kibana1', PAYLOAD);
    expect(body.split('.')).toHaveLength(5);
    const header = decodeHeader(body);
    expect(Object.keys(header)).toEqual(['alg', 'enc', 'kid', 'iat', 'cty']);
    expect(header).toMatchObject({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: 'kibana1', cty: 'json' });
    expect(header.iat).toBeGreaterThanOrEqual(before);
    expect(header.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('lets one encrypt call override the default format either way', async () => {
    const jweDefault = await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' });
    expect(await jweDefault.encrypt('kibana1', 1, { format: 'legacy' })).not.toContain('.');
    const legacyDefault = await createRequestEncryptor(vectors.publicJWKS);
    expect((await legacyDefault.encrypt('kibana1', 1, { format: 'jwe' })).split('.')).toHaveLength(5);
  });

  it('uses the key alg RSA-OAEP-256 when the key has it', async () => {
    const body = await (await createRequestEncryptor(sets256.publicJWKS, { format: 'jwe' })).encrypt('k256', PAYLOAD);
    expect(decodeHeader(body).alg).toBe('RSA-OAEP-256');
    await expect((await createRequestDecryptor(sets256.privateJWKS)).decrypt(body)).resolves.toEqual(PAYLOAD);
  });

  it('refuses an unknown format', async () => {
    expect((await rejectionOf(createRequestEncryptor(vectors.publicJWKS, { format: 'xml' as never }))).code).toBe(
      ERROR_CODES.INVALID_ARGUMENT,
    );
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    expect((await rejectionOf(encryptor.encrypt('kibana1', 1, { format: 'xml' as never }))).code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });

  it('refuses context or compress on a legacy body, which cannot carry them', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    expect((await rejectionOf(encryptor.encrypt('kibana1', 1, { context: { a: 'b' } }))).code).toBe(ERROR_CODES.INVALID_ARGUMENT);
    expect((await rejectionOf(encryptor.encrypt('kibana1', 1, { compress: true }))).code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });

  it('rejects an unknown kid with "Error: Missing kid (<kid>)." in this format too', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' });
    expect(String(await rejectionOf(encryptor.encrypt('nope', 1)))).toBe('Error: Missing kid (nope).');
  });

  describe('the decryptor detects the format', () => {
    it.each(['decrypt', 'decryptPayload'] as const)('%s opens both kinds of body', async (method) => {
      const encryptor = await createRequestEncryptor(vectors.publicJWKS);
      const decryptor = await createRequestDecryptor(vectors.privateJWKS);
      await expect(decryptor[method](await encryptor.encrypt('kibana1', PAYLOAD))).resolves.toEqual(PAYLOAD);
      await expect(decryptor[method](await encryptor.encrypt('kibana1', PAYLOAD, { format: 'jwe' }))).resolves.toEqual(PAYLOAD);
    });

    it('getJWKMetadata reports the format, the key and the header of both kinds', async () => {
      const encryptor = await createRequestEncryptor(vectors.publicJWKS);
      const decryptor = await createRequestDecryptor(vectors.privateJWKS);
      const legacy = await decryptor.getJWKMetadata(await encryptor.encrypt('kibana1', 1));
      const jwe = await decryptor.getJWKMetadata(await encryptor.encrypt('kibana1', 1, { format: 'jwe' }));
      expect(legacy).toMatchObject({ format: 'legacy', key: { kid: 'kibana1', length: 2048 } });
      expect(jwe).toMatchObject({ format: 'jwe', key: { kid: 'kibana1', length: 2048 }, protected: ['alg', 'enc', 'kid', 'iat', 'cty'] });
      expect(jwe.issuedAt).toBe(jwe.header.iat);
    });

    it('rejects a forged jwe body with the one decryption error', async () => {
      const body = await (await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' })).encrypt('kibana1', PAYLOAD);
      const parts = body.split('.');
      const tag = Buffer.from(parts[4]!, 'base64url');
      tag[0] = tag[0]! ^ 1;
      parts[4] = tag.toString('base64url');
      const err = await rejectionOf((await createRequestDecryptor(vectors.privateJWKS)).decrypt(parts.join('.')));
      expect(err.code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    });
  });

  describe('interoperability with jose (panva)', () => {
    it('jose compactDecrypt opens our jwe body with the private JWK', async () => {
      const body = await (await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' })).encrypt('kibana1', PAYLOAD);
      const key = await jose.importJWK(vectors.privateJWKS.keys[0] as unknown as jose.JWK, 'RSA-OAEP');
      const { plaintext, protectedHeader } = await jose.compactDecrypt(body, key);
      expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(PAYLOAD);
      expect(protectedHeader).toMatchObject({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: 'kibana1', cty: 'json' });
    });

    it('jose opens an RSA-OAEP-256 body with its context header', async () => {
      const encryptor = await createRequestEncryptor(sets256.publicJWKS, { format: 'jwe' });
      const body = await encryptor.encrypt('k256', PAYLOAD, { context: { product: 'kibana' } });
      const key = await jose.importJWK(sets256.privateJWKS.keys[0] as unknown as jose.JWK, 'RSA-OAEP-256');
      const { plaintext, protectedHeader } = await jose.compactDecrypt(body, key);
      expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(PAYLOAD);
      expect(protectedHeader.ctx).toEqual({ product: 'kibana' });
    });

    it.each([
      ['RSA-OAEP', () => ({ privateJWKS: vectors.privateJWKS, publicJWKS: vectors.publicJWKS, kid: 'kibana1' })],
      ['RSA-OAEP-256', () => ({ ...sets256, kid: 'k256' })],
    ])('we decrypt a body jose makes with %s', async (alg, sets) => {
      const { privateJWKS, publicJWKS, kid } = sets();
      const key = await jose.importJWK(publicJWKS.keys[0] as unknown as jose.JWK, alg);
      const body = await new jose.CompactEncrypt(new TextEncoder().encode(JSON.stringify(PAYLOAD)))
        .setProtectedHeader({ alg, enc: 'A256GCM', kid })
        .encrypt(key);
      const decryptor = await createRequestDecryptor(privateJWKS);
      await expect(decryptor.decrypt(body)).resolves.toEqual(PAYLOAD);
      expect((await decryptor.getJWKMetadata(body)).header).toEqual({ alg, enc: 'A256GCM', kid });
    });
  });

  describe('compress', () => {
    it('adds zip DEF, shrinks a repetitive payload and round-trips', async () => {
      const encryptor = await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' });
      const big = { rows: Array.from({ length: 2000 }, () => 'the same row again') };
      const plain = await encryptor.encrypt('kibana1', big);
      const zipped = await encryptor.encrypt('kibana1', big, { compress: true });
      expect(decodeHeader(zipped).zip).toBe('DEF');
      expect(zipped.length).toBeLessThan(plain.length / 10);
      await expect((await createRequestDecryptor(vectors.privateJWKS)).decrypt(zipped)).resolves.toEqual(big);
    });

    it('node-jose, which supports zip, opens a compressed body', async () => {
      const body = await (await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' })).encrypt('kibana1', PAYLOAD, {
        compress: true,
      });
      const store = await nodeJose.JWK.asKeyStore(vectors.privateJWKS as unknown as object);
      const result = await nodeJose.JWE.createDecrypt(store).decrypt(body);
      expect(JSON.parse(result.payload.toString('utf8'))).toEqual(PAYLOAD);
    });

    it('bounds inflation by maxPayloadBytes: a small body that inflates past it is too large', async () => {
      const body = await (await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' })).encrypt(
        'kibana1',
        'x'.repeat(100_000),
        { compress: true },
      );
      expect(body.length).toBeLessThan(2000);
      const decryptor = await createRequestDecryptor(vectors.privateJWKS, { maxPayloadBytes: 50_000 });
      expect((await rejectionOf(decryptor.decrypt(body))).code).toBe(ERROR_CODES.BODY_TOO_LARGE);
      const roomy = await createRequestDecryptor(vectors.privateJWKS, { maxPayloadBytes: 100_002 });
      await expect(roomy.decrypt(body)).resolves.toBe('x'.repeat(100_000));
    });

    it('opens a body that inflates to megabytes, and refuses one a byte past the limit, both inflated off the event loop', async () => {
      const payload = 'y'.repeat(3 * 1024 * 1024);
      const body = await (await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' })).encrypt('kibana1', payload, { compress: true });
      expect(body.length).toBeLessThan(20_000);
      await expect((await createRequestDecryptor(vectors.privateJWKS)).decrypt(body)).resolves.toBe(payload);
      const tight = await createRequestDecryptor(vectors.privateJWKS, { maxPayloadBytes: payload.length + 1 });
      expect((await rejectionOf(tight.decrypt(body))).code).toBe(ERROR_CODES.BODY_TOO_LARGE);
    });
  });
});

describe('inflateBounded', () => {
  const deflated = (bytes: number): Buffer => deflateRawSync(Buffer.alloc(bytes, 'z'));
  /** Whether `run` settles before a setImmediate queued just before it: only work done inline does. */
  const settlesInline = async (run: () => Promise<unknown>): Promise<boolean> => {
    let immediate = false;
    setImmediate(() => {
      immediate = true;
    });
    await run().catch(() => undefined);
    return !immediate;
  };

  it(`inflates up to ${INFLATE_ON_LOOP_MAX_BYTES} bytes on the event loop, and more on the thread pool`, async () => {
    const small = deflated(INFLATE_ON_LOOP_MAX_BYTES);
    const large = deflated(INFLATE_ON_LOOP_MAX_BYTES + 1);
    expect(await settlesInline(() => inflateBounded(small, 10 * 1024 * 1024))).toBe(true);
    expect(await settlesInline(() => inflateBounded(large, 10 * 1024 * 1024))).toBe(false);
    expect((await inflateBounded(large, 10 * 1024 * 1024)).equals(Buffer.alloc(INFLATE_ON_LOOP_MAX_BYTES + 1, 'z'))).toBe(true);
  });

  it('stops at its limit on either side of the event-loop bound', async () => {
    await expect(inflateBounded(deflated(1000), 999)).rejects.toMatchObject({ code: 'ERR_BUFFER_TOO_LARGE' });
    await expect(inflateBounded(deflated(2_000_000), 1_999_999)).rejects.toMatchObject({ code: 'ERR_BUFFER_TOO_LARGE' });
    expect((await inflateBounded(deflated(2_000_000), 2_000_000)).length).toBe(2_000_000);
  });
});

describe('bound context', () => {
  const context = { cluster_uuid: 'c0ffee', product: 'kibana' };
  let body: string;
  beforeAll(async () => {
    body = await (await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' })).encrypt('kibana1', PAYLOAD, { context });
  });

  it('puts the pairs into the protected header and shows them in the metadata', async () => {
    expect(decodeHeader(body).ctx).toEqual(context);
    const metadata = await (await createRequestDecryptor(vectors.privateJWKS)).getJWKMetadata(body);
    expect(metadata.context).toEqual(context);
  });

  it('decrypts when every expected pair is present and equal', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    await expect(decryptor.decrypt(body, { context })).resolves.toEqual(PAYLOAD);
    await expect(decryptor.decrypt(body, { context: { product: 'kibana' } })).resolves.toEqual(PAYLOAD);
  });

  it.each([
    ['a different value', { product: 'beats' }],
    ['a pair the body lacks', { product: 'kibana', region: 'eu' }],
    ['a value that differs only in case', { cluster_uuid: 'C0FFEE' }],
  ])('rejects with ERR_CONTEXT_MISMATCH for %s', async (_name, expected) => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    expect((await rejectionOf(decryptor.decrypt(body, { context: expected }))).code).toBe(ERROR_CODES.CONTEXT_MISMATCH);
  });

  it('rejects a body without context, and a legacy body, when a context is expected', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const bare = await encryptor.encrypt('kibana1', 1, { format: 'jwe' });
    const legacy = await encryptor.encrypt('kibana1', 1);
    expect((await rejectionOf(decryptor.decrypt(bare, { context: { product: 'kibana' } }))).code).toBe(ERROR_CODES.CONTEXT_MISMATCH);
    expect((await rejectionOf(decryptor.decrypt(legacy, { context: { product: 'kibana' } }))).code).toBe(ERROR_CODES.CONTEXT_MISMATCH);
  });

  it('authenticates the context: a header edited to another context fails to decrypt', async () => {
    const parts = body.split('.');
    parts[0] = Buffer.from(JSON.stringify({ ...decodeHeader(body), ctx: { ...context, product: 'beats' } })).toString('base64url');
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    expect((await rejectionOf(decryptor.decrypt(parts.join('.'), { context: { product: 'beats' } }))).code).toBe(
      ERROR_CODES.DECRYPTION_FAILED,
    );
  });

  it('refuses a context that is not an object of strings, on either side', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' });
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    expect((await rejectionOf(encryptor.encrypt('kibana1', 1, { context: { n: 1 } as never }))).code).toBe(ERROR_CODES.INVALID_ARGUMENT);
    expect((await rejectionOf(decryptor.decrypt(body, { context: ['x'] as never }))).code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });
});

describe('freshness', () => {
  async function bodyIssuedAt(msAgo: number): Promise<string> {
    const now = Date.now();
    const spy = jest.spyOn(Date, 'now').mockReturnValue(now - msAgo);
    try {
      return await (await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' })).encrypt('kibana1', PAYLOAD);
    } finally {
      spy.mockRestore();
    }
  }

  it('accepts a body younger than maxAgeSeconds', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    await expect(decryptor.decrypt(await bodyIssuedAt(30_000), { maxAgeSeconds: 300 })).resolves.toEqual(PAYLOAD);
  });

  it('rejects a body older than maxAgeSeconds with ERR_BODY_EXPIRED', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const old = await bodyIssuedAt(3_600_000);
    expect((await rejectionOf(decryptor.decrypt(old, { maxAgeSeconds: 300 }))).code).toBe(ERROR_CODES.BODY_EXPIRED);
    await expect(decryptor.decrypt(old)).resolves.toEqual(PAYLOAD);
  });

  it('applies the clock tolerance to the future only: a body 310 s old is refused under maxAgeSeconds 300', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { clockToleranceSeconds: 60 });
    expect((await rejectionOf(decryptor.decrypt(await bodyIssuedAt(310_000), { maxAgeSeconds: 300 }))).code).toBe(
      ERROR_CODES.BODY_EXPIRED,
    );
    await expect(decryptor.decrypt(await bodyIssuedAt(290_000), { maxAgeSeconds: 300 })).resolves.toEqual(PAYLOAD);
  });

  it('rejects a body from further in the future than the clock tolerance', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { clockToleranceSeconds: 60 });
    await expect(decryptor.decrypt(await bodyIssuedAt(-30_000), { maxAgeSeconds: 300 })).resolves.toEqual(PAYLOAD);
    expect((await rejectionOf(decryptor.decrypt(await bodyIssuedAt(-600_000), { maxAgeSeconds: 300 }))).code).toBe(
      ERROR_CODES.BODY_EXPIRED,
    );
  });

  it('rejects a legacy body, which has no iat, whenever a max age is asked for', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const legacy = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', 1);
    expect((await rejectionOf(decryptor.decrypt(legacy, { maxAgeSeconds: 3600 }))).code).toBe(ERROR_CODES.BODY_EXPIRED);
  });

  it.each([0, -5, Number.NaN, '60'])('refuses maxAgeSeconds %p', async (value) => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const body = await bodyIssuedAt(0);
    expect((await rejectionOf(decryptor.decrypt(body, { maxAgeSeconds: value as number }))).code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });
});

describe('stronger keys and rotation', () => {
  it.each([
    [3072, 'RSA-OAEP'],
    [2048, 'RSA-OAEP-256'],
  ] as const)('addKey makes a %i-bit %s key that encrypts in both formats', async (bits, alg) => {
    const manager = await createJWKManager();
    await manager.addKey('k', { modulusLength: bits, alg });
    const jwk = manager.getPrivateJWK('k')!;
    expect(jwk).toMatchObject({ alg, use: 'enc', kty: 'RSA' });
    expect(Buffer.from(jwk.n, 'base64url')).toHaveLength(bits / 8);
    const encryptor = await createRequestEncryptor(manager.getPublicJWKS());
    const decryptor = await createRequestDecryptor(manager.getPrivateJWKS());
    for (const format of ['legacy', 'jwe'] as const) {
      const body = await encryptor.encrypt('k', PAYLOAD, { format });
      await expect(decryptor.decrypt(body)).resolves.toEqual(PAYLOAD);
      expect((await decryptor.getJWKMetadata(body)).key.length).toBe(bits);
    }
  }, 60_000);

  it('addKey makes a 4096-bit key', async () => {
    const manager = await createJWKManager();
    await manager.addKey('big', { modulusLength: 4096 });
    expect(Buffer.from(manager.getPublicJWK('big')!.n, 'base64url')).toHaveLength(512);
  }, 60_000);

  it.each([
    ['a 1024-bit modulus', { modulusLength: 1024 }],
    ['a 2049-bit modulus', { modulusLength: 2049 }],
    ['a 8192-bit modulus', { modulusLength: 8192 }],
    ['alg RSA1_5', { alg: 'RSA1_5' }],
  ])('addKey refuses %s', async (_name, options) => {
    const manager = await createJWKManager();
    expect((await rejectionOf(manager.addKey('k', options as never))).code).toBe(ERROR_CODES.INVALID_ARGUMENT);
    expect(manager.getPublicJWKS()).toEqual({ keys: [] });
  });

  it('rotates: old and new keys decrypt side by side, and removing the old key retires its bodies', async () => {
    const manager = await createJWKManager();
    await manager.addKey('2025');
    const oldBody = await (await createRequestEncryptor(manager.getPublicJWKS())).encrypt('2025', 'old');
    await manager.addKey('2026', { alg: 'RSA-OAEP-256' });
    const newBody = await (await createRequestEncryptor(manager.getPublicJWKS())).encrypt('2026', 'new', { format: 'jwe' });
    const both = await createRequestDecryptor(manager.getPrivateJWKS());
    await expect(both.decrypt(oldBody)).resolves.toBe('old');
    await expect(both.decrypt(newBody)).resolves.toBe('new');
    manager.removeKey(manager.getPublicJWK('2025')!);
    const rotated = await createRequestDecryptor(manager.getPrivateJWKS());
    expect(String(await rejectionOf(rotated.decrypt(oldBody)))).toBe('Error: no key found');
    await expect(rotated.decrypt(newBody)).resolves.toBe('new');
  }, 60_000);
});
