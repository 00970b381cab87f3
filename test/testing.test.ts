// The first imports and the first describe block are docs/testing.md's example ("Testing a sender"),
// word for word: the last tests of this file check that the two agree.
import { createTestPair, openBody } from 'request-crypto/testing';

import { sendTelemetry } from './telemetry';

import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import { createTestKeyset, TEST_KEY_MODULI, type TestKeyset } from 'request-crypto/testing';
import { createRequestEncryptor, ERROR_CODES, type DecryptEvent } from '../src';
import { rejectionOf } from './helpers';

describe('sendTelemetry', () => {
  it('posts the stats, encrypted so that only the telemetry key opens them', async () => {
    const { encryptor, privateJWKS } = await createTestPair({ kids: ['kibana'] });
    const fetch = jest.fn<Promise<Response>, Parameters<typeof globalThis.fetch>>(async () => new Response(null, { status: 202 }));

    await sendTelemetry(encryptor, fetch, { cluster_uuid: 'abc', nodes: 3 });

    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('https://telemetry.example.com/v3/send');
    const { payload, metadata } = await openBody(String(init?.body), privateJWKS);
    expect(payload).toEqual({ cluster_uuid: 'abc', nodes: 3 });
    expect(metadata).toMatchObject({ format: 'jwe', key: { kid: 'kibana' } });
  });

  it('fails when the telemetry service refuses the body', async () => {
    const { encryptor } = await createTestPair({ kids: ['kibana'] });
    const fetch = jest.fn(async () => new Response(null, { status: 400 }));

    await expect(sendTelemetry(encryptor, fetch, { cluster_uuid: 'abc', nodes: 3 })).rejects.toThrow('telemetry refused: 400');
  });
});

/** The modulus length of a JWK, in bits. */
const bitsOf = (jwk: { n: string; e: string; kty: string }): number | undefined =>
  crypto.createPublicKey({ key: jwk, format: 'jwk' }).asymmetricKeyDetails?.modulusLength;

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

describe('createTestKeyset', () => {
  it('makes one 2048-bit RSA-OAEP encryption key per kid, in the order given', async () => {
    const { publicJWKS, privateJWKS } = await createTestKeyset({ kids: ['a1', 'a2'] });
    expect(privateJWKS.keys.map((key) => [key.kid, key.kty, key.use, key.alg, bitsOf(key)])).toEqual([
      ['a1', 'RSA', 'enc', 'RSA-OAEP', 2048],
      ['a2', 'RSA', 'enc', 'RSA-OAEP', 2048],
    ]);
    expect(publicJWKS.keys.map((key) => key.n)).toEqual(privateJWKS.keys.map((key) => key.n));
  });

  it('puts no private member in the public set', async () => {
    const { publicJWKS } = await createTestKeyset({ kids: ['b1'] });
    expect(Object.keys(publicJWKS.keys[0]!).filter((member) => PRIVATE_MEMBERS.includes(member))).toEqual([]);
  });

  it('makes keys the decryptor and encryptor accept, which open what the other made', async () => {
    const { encryptor, decryptor } = await createTestPair({ kids: ['c1'] });
    await expect(decryptor.decrypt(await encryptor.encrypt('c1', { n: 1 }))).resolves.toEqual({ n: 1 });
  });

  it('makes keys of 3072 bits when asked', async () => {
    const { privateJWKS } = await createTestKeyset({ kids: ['d1'], modulusLength: 3072 });
    expect(bitsOf(privateJWKS.keys[0]!)).toBe(3072);
  });

  it('makes RSA-OAEP-256 keys when asked, and bodies for them say so', async () => {
    const { encryptor, privateJWKS } = await createTestPair({ kids: ['e1'], alg: 'RSA-OAEP-256' });
    expect(privateJWKS.keys[0]!.alg).toBe('RSA-OAEP-256');
    const { metadata } = await openBody(await encryptor.encrypt('e1', 1, { format: 'jwe' }), privateJWKS);
    expect(metadata.header.alg).toBe('RSA-OAEP-256');
  });

  it('generates a key once per kid, size and algorithm in a process, even for calls made at once', async () => {
    const generate = jest.spyOn(crypto, 'generateKeyPair');
    try {
      const [first, second] = await Promise.all([createTestKeyset({ kids: ['f1'] }), createTestKeyset({ kids: ['f1'] })]);
      const third = await createTestKeyset({ kids: ['f1'] });
      expect(generate).toHaveBeenCalledTimes(1);
      expect(new Set([first, second, third].map((set) => set.privateJWKS.keys[0]!.d)).size).toBe(1);
    } finally {
      generate.mockRestore();
    }
  });

  it('makes another key for the same kid at another size or algorithm', async () => {
    const [plain, sha256] = await Promise.all([
      createTestKeyset({ kids: ['g1'] }),
      createTestKeyset({ kids: ['g1'], alg: 'RSA-OAEP-256' }),
    ]);
    expect(plain.privateJWKS.keys[0]!.n).not.toBe(sha256.privateJWKS.keys[0]!.n);
  });

  it('returns fresh objects: a test that changes its set changes no other test\'s', async () => {
    const first = await createTestKeyset({ kids: ['h1'] });
    first.privateJWKS.keys[0]!.kid = 'changed';
    first.publicJWKS.keys.pop();
    const second = await createTestKeyset({ kids: ['h1'] });
    expect(second.privateJWKS.keys[0]!.kid).toBe('h1');
    expect(second.publicJWKS.keys).toHaveLength(1);
  });

  it.each([
    ['a key under 2048 bits', { kids: ['x'], modulusLength: 1024 }],
    ['a size that is not 2048, 3072 or 4096', { kids: ['x'], modulusLength: 2049 }],
    ['no kid', { kids: [] }],
    ['an empty kid', { kids: [''] }],
    ['a kid twice', { kids: ['x', 'x'] }],
    ['another algorithm', { kids: ['x'], alg: 'RSA1_5' }],
    ['no options', undefined],
  ])('refuses %s with ERR_INVALID_ARGUMENT', async (_name, options) => {
    expect((await rejectionOf(createTestKeyset(options as never))).code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });

  it('offers exactly the sizes addKey makes', () => {
    expect(TEST_KEY_MODULI).toEqual([2048, 3072, 4096]);
  });
});

describe('createTestPair', () => {
  it("hands each side its options: the encryptor's format, the decryptor's onDecrypt", async () => {
    const events: DecryptEvent[] = [];
    const { encryptor, decryptor } = await createTestPair({
      kids: ['i1'],
      encryptorOptions: { format: 'jwe' },
      decryptorOptions: { onDecrypt: (event) => void events.push(event) },
    });
    await decryptor.decrypt(await encryptor.encrypt('i1', 1));
    expect(events).toEqual([expect.objectContaining({ ok: true, format: 'jwe', kid: 'i1' })]);
  });
});

describe('openBody', () => {
  let keyset: TestKeyset;
  beforeAll(async () => {
    keyset = await createTestKeyset({ kids: ['j1'] });
  });

  it('gives the payload and the metadata of a legacy body', async () => {
    const body = await (await createRequestEncryptor(keyset.publicJWKS)).encrypt('j1', ['x']);
    const opened = await openBody(body, keyset);
    expect(opened.payload).toEqual(['x']);
    expect(opened.metadata).toMatchObject({ format: 'legacy', key: { kid: 'j1' }, header: { alg: 'RSA-OAEP', kid: 'j1' } });
  });

  it('takes a private set as well as a keyset', async () => {
    const body = await (await createRequestEncryptor(keyset.publicJWKS)).encrypt('j1', 2, { format: 'jwe' });
    await expect(openBody(body, keyset.privateJWKS)).resolves.toMatchObject({ payload: 2 });
  });

  it("validates with decrypt's options: a schema's output is the payload", async () => {
    const body = await (await createRequestEncryptor(keyset.publicJWKS)).encrypt('j1', { n: '5' });
    const { payload } = await openBody(body, keyset, { schema: z.object({ n: z.coerce.number() }) });
    const n: number = payload.n;
    expect(n).toBe(5);
  });

  it('rejects with ERR_NO_KEY_FOUND a body the keyset cannot open', async () => {
    const other = await createTestKeyset({ kids: ['other'] });
    const body = await (await createRequestEncryptor(other.publicJWKS)).encrypt('other', 1);
    expect((await rejectionOf(openBody(body, keyset))).code).toBe(ERROR_CODES.NO_KEY_FOUND);
  });
});

describe("docs/testing.md's test of a sender", () => {
  const page = readFileSync(join(__dirname, '..', 'docs', 'testing.md'), 'utf8');
  const section = page.slice(page.indexOf('# Testing a sender'));
  const blocks = [...section.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((match) => match[1]!);
  const lines = (text: string): string[] => text.split('\n').filter((line) => line.trim() !== '');

  it("shows the code under test as test/telemetry.ts holds it", () => {
    expect(blocks[0]).toBe(readFileSync(join(__dirname, 'telemetry.ts'), 'utf8'));
  });

  it('shows a test that is in this file, line for line', () => {
    const file = lines(readFileSync(__filename, 'utf8'));
    const example = lines(blocks[1] ?? '');
    expect(example.length).toBeGreaterThan(10);
    const start = file.indexOf(example[0]!);
    const body = example.slice(2); // after the two imports, the example's lines follow one another here
    const bodyStart = file.indexOf(body[0]!);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(file[start + 1]).toBe(example[1]);
    expect(file.slice(bodyStart, bodyStart + body.length)).toEqual(body);
  });
});
