// The receiver's side of the upstream's key-wrap migration (@elastic/request-crypto 3.0 wraps with
// RSA-OAEP-256 for keys stamped RSA-OAEP): both algorithms are read, chosen per body from its
// protected header, whatever the key's `alg`, unless the decryptor pins keys to their `alg`.
import * as original from '@elastic/request-crypto';
import * as jose from 'node-jose';

import {
  createJWKManager,
  createRequestDecryptor,
  createRequestEncryptor,
  ERROR_CODES,
  packBody,
  unpackBody,
  type Decryptor,
  type DecryptorOptions,
  type PrivateJWK,
  type PrivateJWKS,
  type PublicJWKS,
  type UnwrapKeyRequest,
} from '../src';
import { unwrapInProcess } from '../src/keys/unwrap';
import { loadKeyring } from '../src/keys/keyset';
import v3 from './fixtures/key-wrap-v3.json';
import { makePrivateJwk, publicOf, rejectionOf, vectors } from './helpers';

const ALGS = ['RSA-OAEP', 'RSA-OAEP-256'] as const;
const FORMATS = ['legacy', 'jwe'] as const;
type Alg = (typeof ALGS)[number];

const frozen = v3 as unknown as {
  privateJWKS: PrivateJWKS;
  publicJWKS: PublicJWKS;
  vectors: Array<{ name: string; maker: string; format: 'legacy' | 'jwe'; kid: string; alg: string; payload: unknown; body: string }>;
};

/** The protected header of a body's key JWE (legacy) or of the body (jwe). */
function headerOf(body: string): Record<string, unknown> {
  const compact = body.includes('.') ? body : unpackBody(body).encryptedAESKey;
  return JSON.parse(Buffer.from(compact.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The same key without its `alg` member. */
function withoutAlg<T extends { alg?: string }>(jwk: T): Omit<T, 'alg'> {
  const copy: Partial<T> = { ...jwk };
  delete copy.alg;
  return copy as Omit<T, 'alg'>;
}

/** Decryptors of every custody a receiver can have: threads (default), the event loop, an unwrapKey. */
function custodies(jwks: PrivateJWKS): Array<[string, () => Promise<Decryptor>]> {
  return [
    ['threads', () => createRequestDecryptor(jwks)],
    ['the event loop', () => createRequestDecryptor(jwks, { unwrapOn: 'event-loop' })],
    ['an unwrapKey', () => createRequestDecryptor({ keys: jwks.keys.map(publicOf) }, { unwrapKey: unwrapInProcess(loadKeyring(jwks)) })],
  ];
}

describe('bodies made by other implementations for keys stamped RSA-OAEP (frozen in fixtures/key-wrap-v3.json)', () => {
  it('holds node-jose and jose 6 bodies, every one wrapped with RSA-OAEP-256 for a key stamped RSA-OAEP', () => {
    expect(new Set(frozen.vectors.map((v) => v.maker))).toEqual(new Set(['node-jose 2.2.0', 'jose 6']));
    for (const vector of frozen.vectors) {
      expect(headerOf(vector.body).alg).toBe('RSA-OAEP-256');
      expect(frozen.privateJWKS.keys.find((key) => key.kid === vector.kid)!.alg).toBe('RSA-OAEP');
    }
  });

  it('holds jose 6 key envelopes with the header 3.0 emits, members in its order', () => {
    const envelopes = frozen.vectors.filter((v) => v.maker === 'jose 6' && v.format === 'legacy');
    expect(envelopes.length).toBeGreaterThan(0);
    for (const { body, kid } of envelopes) {
      const text = Buffer.from(unpackBody(body).encryptedAESKey.split('.')[0]!, 'base64url').toString('utf8');
      expect(text).toBe(`{"zip":"DEF","enc":"A128CBC-HS256","alg":"RSA-OAEP-256","kid":"${kid}"}`);
    }
  });

  describe.each(custodies(frozen.privateJWKS))('on %s', (_custody, make) => {
    it.each(frozen.vectors.map((v) => [v.name, v] as const))('decrypts %s', async (_name, vector) => {
      const decryptor = await make();
      await expect(decryptor.decrypt(vector.body)).resolves.toEqual(vector.payload);
      await expect(decryptor.decryptPayload(vector.body)).resolves.toEqual(vector.payload);
      const metadata = await decryptor.getJWKMetadata(vector.body);
      expect([metadata.format, metadata.key.kid, metadata.key.alg, metadata.header.alg]).toEqual([vector.format, vector.kid, 'RSA-OAEP', 'RSA-OAEP-256']);
    });
  });

  it('are refused by a decryptor with pinKeyWrapAlgorithm, as ERR_UNSUPPORTED_ALGORITHM, before any key is used', async () => {
    const unwrapKey = jest.fn(unwrapInProcess(loadKeyring(frozen.privateJWKS)));
    const decryptor = await createRequestDecryptor({ keys: frozen.privateJWKS.keys.map(publicOf) }, { unwrapKey, pinKeyWrapAlgorithm: true });
    for (const vector of frozen.vectors) {
      expect((await rejectionOf(decryptor.decrypt(vector.body))).code).toBe(ERROR_CODES.UNSUPPORTED_ALGORITHM);
      expect((await rejectionOf(decryptor.getJWKMetadata(vector.body))).code).toBe(ERROR_CODES.UNSUPPORTED_ALGORITHM);
    }
    expect(unwrapKey).not.toHaveBeenCalled();
  });

  it('still opens RSA-OAEP bodies with pinKeyWrapAlgorithm (the 2.0.3 vectors)', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { pinKeyWrapAlgorithm: true });
    for (const vector of vectors.vectors) await expect(decryptor.decrypt(vector.body)).resolves.toEqual(vector.payload);
  });

  it('are what the real 2.0.3 cannot read: it answers "no key found" (why senders switch last)', async () => {
    const decryptor = await original.createRequestDecryptor(frozen.privateJWKS);
    const legacy = frozen.vectors.find((v) => v.format === 'legacy')!;
    expect(String(await rejectionOf(decryptor.decrypt(legacy.body)))).toBe('Error: no key found');
  });
});

describe('every key alg with every body alg, in both formats and every custody', () => {
  const stamped: Record<string, PrivateJWK> = {};
  beforeAll(() => {
    stamped['RSA-OAEP'] = makePrivateJwk('k-sha1');
    stamped['RSA-OAEP-256'] = makePrivateJwk('k-sha256', 2048, 'RSA-OAEP-256');
    stamped['no alg'] = withoutAlg(makePrivateJwk('k-none')) as PrivateJWK;
  });

  describe.each(['RSA-OAEP', 'RSA-OAEP-256', 'no alg'])('a key whose JWK says %s', (keyAlg) => {
    it.each(ALGS.flatMap((alg) => FORMATS.map((format) => [alg, format] as const)))(
      'opens a %s %s body through threads, the event loop and unwrapKey',
      async (alg, format) => {
        const key = stamped[keyAlg]!;
        const jwks = { keys: [key] };
        const encryptor = await createRequestEncryptor({ keys: [publicOf(key)] }, { keyWrapAlgorithm: alg });
        const body = await encryptor.encrypt(key.kid, { keyAlg, alg, format }, { format });
        expect(headerOf(body).alg).toBe(alg);
        for (const [, make] of custodies(jwks)) {
          const decryptor = await make();
          await expect(decryptor.decrypt(body)).resolves.toEqual({ keyAlg, alg, format });
          expect((await decryptor.getJWKMetadata(body)).header.alg).toBe(alg);
        }
      },
    );
  });

  it('with pinKeyWrapAlgorithm, a key without alg still takes both, and a stamped key only its own', async () => {
    const keys = [stamped['RSA-OAEP']!, stamped['RSA-OAEP-256']!, stamped['no alg']!];
    const decryptor = await createRequestDecryptor({ keys }, { pinKeyWrapAlgorithm: true });
    const outcomes: string[] = [];
    for (const key of keys) {
      for (const alg of ALGS) {
        const body = await (await createRequestEncryptor({ keys: [publicOf(key)] }, { keyWrapAlgorithm: alg })).encrypt(key.kid, 1);
        outcomes.push(`${key.alg ?? 'none'}/${alg}: ${await decryptor.decrypt(body).then(() => 'ok', (err: { code: string }) => err.code)}`);
      }
    }
    expect(outcomes).toEqual([
      'RSA-OAEP/RSA-OAEP: ok',
      'RSA-OAEP/RSA-OAEP-256: ERR_UNSUPPORTED_ALGORITHM',
      'RSA-OAEP-256/RSA-OAEP: ERR_UNSUPPORTED_ALGORITHM',
      'RSA-OAEP-256/RSA-OAEP-256: ok',
      'none/RSA-OAEP: ok',
      'none/RSA-OAEP-256: ok',
    ]);
  });
});

describe('mixed traffic on one decryptor', () => {
  const kids = ['kibana', 'kibana2', 'kibana_dev2'];
  let privateJWKS: PrivateJWKS;
  let publicJWKS: PublicJWKS;
  beforeAll(() => {
    // One set, three shapes: stamped RSA-OAEP, stamped RSA-OAEP-256, no alg.
    const keys = [makePrivateJwk(kids[0]!), makePrivateJwk(kids[1]!, 2048, 'RSA-OAEP-256'), withoutAlg(makePrivateJwk(kids[2]!)) as PrivateJWK];
    privateJWKS = { keys };
    publicJWKS = { keys: keys.map((key) => (key.alg === undefined ? withoutAlg(publicOf(key)) : publicOf(key))) as PublicJWKS['keys'] };
  });

  it.each([
    ['threads', {}],
    ['the event loop', { unwrapOn: 'event-loop' }],
  ] as Array<[string, DecryptorOptions]>)('opens 96 concurrent bodies of both algorithms, both formats and every kid, each to its own payload, on %s', async (_where, options) => {
    const senders = { 'RSA-OAEP': await createRequestEncryptor(publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP' }), 'RSA-OAEP-256': await createRequestEncryptor(publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' }) };
    const plan = Array.from({ length: 96 }, (_, i) => ({ i, alg: ALGS[i % 2]!, format: FORMATS[(i >> 1) % 2]!, kid: kids[i % 3]! }));
    const bodies = await Promise.all(plan.map(({ i, alg, format, kid }) => senders[alg].encrypt(kid, { i, alg, kid }, { format })));
    expect(bodies.map((body) => headerOf(body).alg)).toEqual(plan.map((p) => p.alg));
    const decryptor = await createRequestDecryptor(privateJWKS, options);
    await expect(Promise.all(bodies.map((body) => decryptor.decrypt(body)))).resolves.toEqual(plan.map(({ i, alg, kid }) => ({ i, alg, kid })));
  });

  it('opens interleaved bodies one after another, algorithms alternating, the frozen v3 bodies among them', async () => {
    const decryptor = await createRequestDecryptor({ keys: [...privateJWKS.keys, ...frozen.privateJWKS.keys] });
    const sha1 = await createRequestEncryptor(publicJWKS);
    const sha256 = await createRequestEncryptor(publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' });
    for (const [index, vector] of frozen.vectors.entries()) {
      const kid = kids[index % 3]!;
      await expect(decryptor.decrypt(await sha1.encrypt(kid, { index }))).resolves.toEqual({ index });
      await expect(decryptor.decrypt(vector.body)).resolves.toEqual(vector.payload);
      await expect(decryptor.decrypt(await sha256.encrypt(kid, { index }, { format: 'jwe' }))).resolves.toEqual({ index });
    }
  });
});

describe('the allowlist and the OAEP hash', () => {
  it.each(['RSA-OAEP-384', 'RSA-OAEP-512', 'RSA1_5', 'rsa-oaep-256', 'RSA-OAEP-256 '])(
    'refuses a jwe body whose alg is %j with ERR_UNSUPPORTED_ALGORITHM, before any key is used',
    async (alg) => {
      const unwrapKey = jest.fn(unwrapInProcess(loadKeyring(vectors.privateJWKS)));
      const decryptor = await createRequestDecryptor(vectors.publicJWKS, { unwrapKey });
      const body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', 1, { format: 'jwe' });
      const [, ...rest] = body.split('.');
      const header = Buffer.from(JSON.stringify({ ...headerOf(body), alg })).toString('base64url');
      const err = await rejectionOf(decryptor.decrypt([header, ...rest].join('.')));
      expect(err.code).toBe(ERROR_CODES.UNSUPPORTED_ALGORITHM);
      expect(unwrapKey).not.toHaveBeenCalled();
    },
  );

  it.each(ALGS.flatMap((alg) => FORMATS.map((format) => [alg, format] as const)))('hands unwrapKey the alg of a %s %s body', async (alg, format) => {
    const requests: UnwrapKeyRequest[] = [];
    const inProcess = unwrapInProcess(loadKeyring(vectors.privateJWKS));
    const decryptor = await createRequestDecryptor(vectors.publicJWKS, { unwrapKey: (request) => (requests.push(request), inProcess(request)) });
    const body = await (await createRequestEncryptor(vectors.publicJWKS, { keyWrapAlgorithm: alg })).encrypt('kibana1', 2, { format });
    await expect(decryptor.decrypt(body)).resolves.toBe(2);
    expect(requests.map((r) => [r.kid, r.alg])).toEqual([['kibana1', alg]]);
  });

  it.each(FORMATS)('unwraps with the header\'s hash: a %s body relabelled RSA-OAEP-256 while wrapped with SHA-1 is a forgery', async (format) => {
    const body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', 3, { format });
    const relabel = (compact: string): string => {
      const [, ...rest] = compact.split('.');
      return [Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(compact.split('.')[0]!, 'base64url').toString()), alg: 'RSA-OAEP-256' })).toString('base64url'), ...rest].join('.');
    };
    const forged = format === 'jwe' ? relabel(body) : packBody(relabel(unpackBody(body).encryptedAESKey), unpackBody(body).encryptedPayload);
    const err = await rejectionOf((await createRequestDecryptor(vectors.privateJWKS)).decrypt(forged));
    expect(err.code).toBe(ERROR_CODES.DECRYPTION_FAILED);
  });
});

describe('the 2.0.3 key manager (createJWKManager, node-jose)', () => {
  const envelopes = frozen.vectors.filter((v) => v.format === 'legacy').map((v) => [v.name, unpackBody(v.body).encryptedAESKey] as const);

  it.each(envelopes)('decrypts the RSA-OAEP-256 key envelope of %s with its key stamped RSA-OAEP, in node-jose\'s result shape', async (_name, envelope) => {
    const manager = await createJWKManager(frozen.privateJWKS);
    const result = await manager.decrypt(envelope);
    expect(result.plaintext).toHaveLength(32);
    expect(result.payload).toEqual(result.plaintext);
    expect(result.header).toMatchObject({ alg: 'RSA-OAEP-256', enc: 'A128CBC-HS256', zip: 'DEF' });
    expect([...result.protected].sort()).toEqual(['alg', 'enc', 'kid', 'zip']);
    // The key reported is the store's own, still stamped RSA-OAEP.
    const kid = (result.header as { kid: string }).kid;
    expect(result.key).toBe(manager.store.get(kid));
    expect(result.key.alg).toBe('RSA-OAEP');
  });

  it('decrypts with one node-jose key given instead of the store', async () => {
    const manager = await createJWKManager(frozen.privateJWKS);
    const [, envelope] = envelopes.find(([name]) => name.includes('kibana_dev1'))!;
    const key = manager.store.get('kibana_dev1');
    const result = await manager.decrypt(envelope, key);
    expect(result.plaintext).toHaveLength(32);
    expect(result.key).toBe(key);
  });

  it('decrypts an RSA-OAEP body for a key stamped RSA-OAEP-256, and both kinds for a set without alg', async () => {
    const stamped256 = makePrivateJwk('k256', 2048, 'RSA-OAEP-256');
    const noAlg = withoutAlg(makePrivateJwk('knone')) as PrivateJWK;
    const manager = await createJWKManager({ keys: [stamped256, noAlg] });
    for (const key of [stamped256, noAlg]) {
      for (const alg of ALGS) {
        const body = await (await createRequestEncryptor({ keys: [publicOf(key)] }, { keyWrapAlgorithm: alg })).encrypt(key.kid, 1);
        const result = await manager.decrypt(unpackBody(body).encryptedAESKey);
        expect([(result.header as { alg: string }).alg, result.key.kid, result.plaintext.length]).toEqual([alg, key.kid, 32]);
      }
    }
  });

  it('still refuses an algorithm outside the two (RSA1_5) for a stamped key', async () => {
    const manager = await createJWKManager(vectors.privateJWKS);
    const key = await jose.JWK.asKey({ ...vectors.publicJWKS.keys[0]!, alg: 'RSA1_5' });
    const body = await jose.JWE.createEncrypt({ format: 'compact' }, key).update(Buffer.alloc(32, 1)).final();
    expect(JSON.parse(Buffer.from(body.split('.')[0]!, 'base64url').toString()).alg).toBe('RSA1_5');
    expect(String(await rejectionOf(manager.decrypt(body)))).toBe('Error: no key found');
  });

  it('answers "no key found" for a body whose kid the set lacks, as before', async () => {
    const manager = await createJWKManager(vectors.privateJWKS);
    expect(String(await rejectionOf(manager.decrypt(envelopes.find(([name]) => name.includes('kibana_dev1'))![1])))).toBe('Error: no key found');
  });
});

describe('the OAEP hash reaches the RSA threads', () => {
  it.each(ALGS)('a %s body wrapped for a 4096-bit key opens on the pool with 32 in flight', async (alg: Alg) => {
    const key = makePrivateJwk('big', 4096);
    const decryptor = await createRequestDecryptor({ keys: [key] });
    const encryptor = await createRequestEncryptor({ keys: [publicOf(key)] }, { keyWrapAlgorithm: alg });
    const bodies = await Promise.all(Array.from({ length: 32 }, (_, i) => encryptor.encrypt('big', i, { format: 'jwe' })));
    expect(new Set(bodies.map((body) => headerOf(body).alg))).toEqual(new Set([alg]));
    await expect(Promise.all(bodies.map((body) => decryptor.decrypt(body)))).resolves.toEqual(bodies.map((_, i) => i));
  });
});
