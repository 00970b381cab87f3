// A protected header's nesting and member count are bounded in both formats before JSON.parse,
// so that whatever a receiver is handed back (getJWKMetadata, onDecrypt) can be JSON.stringify'd.
import { randomBytes } from 'node:crypto';

import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES, packBody, type Decryptor, type DecryptEvent } from '../src';
import { MAX_CONTEXT_PAIRS, MAX_HEADER_DEPTH, MAX_HEADER_MEMBERS, serializeCompactJwe } from '../src/jose/compact';
import { sealContent } from '../src/jose/content-cipher';
import { encryptCompactJwe } from '../src/jose/encrypt';
import { wrapCek } from '../src/jose/rsa-oaep';
import { loadKeyring, type RecipientKey } from '../src/keys/keyset';
import { makePayloadKey, sealPayloadWith } from '../src/formats/legacy/payload-cipher';
import { rejectionOf, vectors } from './helpers';

let key: RecipientKey;
let decryptor: Decryptor;
const events: DecryptEvent[] = [];
beforeAll(async () => {
  key = loadKeyring(vectors.publicJWKS).get('kibana1')!;
  decryptor = await createRequestDecryptor(vectors.privateJWKS, { onDecrypt: (event) => void events.push(event) });
});

/** A member nested `levels` deep: arrays in arrays, built without recursion. */
function nested(levels: number): unknown {
  let value: unknown = 0;
  for (let i = 1; i < levels; i += 1) value = [value];
  return value;
}

/** An authentic 'jwe' body, sealed with this package's own building blocks, with `extra` in its protected header. */
function jweBodyWith(extra: Record<string, unknown>): string {
  const header = { alg: 'RSA-OAEP', enc: 'A256GCM', kid: 'kibana1', iat: Math.floor(Date.now() / 1000), cty: 'json', ...extra };
  return encryptCompactJwe(key, 'A256GCM', header, Buffer.from('{"n":1}'), false);
}

/** An authentic legacy body whose key JWE's protected header holds `extra`. */
async function legacyBodyWith(extra: Record<string, unknown>): Promise<string> {
  const passphrase = randomBytes(32);
  const envelope = encryptCompactJwe(key, 'A128CBC-HS256', { zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA-OAEP', kid: 'kibana1', ...extra }, passphrase, true);
  return packBody(envelope, sealPayloadWith(await makePayloadKey(passphrase), '{"n":1}'));
}

/**
 * An authentic 'jwe' body whose protected header is `headerJson` as written: JSON.stringify could
 * not write a header nested 6,000 deep (its recursion stops short of that).
 */
function jweBodyOfHeaderText(headerJson: string): string {
  const protectedText = Buffer.from(headerJson, 'utf8').toString('base64url');
  const cek = randomBytes(32);
  const sealed = sealContent('A256GCM', cek, Buffer.from(protectedText, 'ascii'), Buffer.from('{"n":1}'));
  return serializeCompactJwe(protectedText, wrapCek('RSA-OAEP', key.publicKey, cek), sealed.iv, sealed.ciphertext, sealed.tag);
}

describe("a 'jwe' body's protected header", () => {
  it('is refused as ERR_BODY_MALFORMED when a member nests 6,000 deep, though it is authentic and within the length limit', async () => {
    const body = jweBodyOfHeaderText(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"kibana1","cty":"json","deep":${'['.repeat(6000)}0${']'.repeat(6000)}}`);
    expect(body.split('.')[0]!.length).toBeLessThan(16384);
    for (const call of [decryptor.decrypt(body), decryptor.getJWKMetadata(body)]) {
      expect((await rejectionOf(call)).code).toBe(ERROR_CODES.BODY_MALFORMED);
    }
  });

  it(`is refused when it nests deeper than ${MAX_HEADER_DEPTH} levels, the header itself counted`, async () => {
    expect((await rejectionOf(decryptor.decrypt(jweBodyWith({ deep: nested(MAX_HEADER_DEPTH + 1) })))).code).toBe(ERROR_CODES.BODY_MALFORMED);
    expect((await rejectionOf(decryptor.decrypt(jweBodyWith({ deep: { a: { b: { c: { d: { e: { f: { g: { h: 1 } } } } } } } } })))).code).toBe(
      ERROR_CODES.BODY_MALFORMED,
    );
  });

  it(`accepts one nested ${MAX_HEADER_DEPTH} levels, and getJWKMetadata's answer can be JSON.stringify'd`, async () => {
    const body = jweBodyWith({ deep: nested(MAX_HEADER_DEPTH) });
    await expect(decryptor.decrypt(body)).resolves.toEqual({ n: 1 });
    expect(JSON.parse(JSON.stringify(await decryptor.getJWKMetadata(body))).header.deep).toEqual(nested(MAX_HEADER_DEPTH));
  });

  it(`is refused with more than ${MAX_HEADER_MEMBERS} members, all levels counted, arrays' elements too`, async () => {
    const many = Object.fromEntries(Array.from({ length: MAX_HEADER_MEMBERS }, (_, i) => [`m${i}`, i]));
    expect((await rejectionOf(decryptor.decrypt(jweBodyWith(many)))).code).toBe(ERROR_CODES.BODY_MALFORMED);
    expect((await rejectionOf(decryptor.decrypt(jweBodyWith({ list: Array.from({ length: MAX_HEADER_MEMBERS }, () => 0) })))).code).toBe(
      ERROR_CODES.BODY_MALFORMED,
    );
  });

  it('counts nothing inside strings: brackets, colons, commas and escaped quotes in a member are text', async () => {
    const body = jweBodyWith({ note: `\\"${'[{:,'.repeat(2000)}` });
    await expect(decryptor.decrypt(body)).resolves.toEqual({ n: 1 });
  });

  it(`accepts every body this package's sender makes, a context of ${MAX_CONTEXT_PAIRS} pairs included`, async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const context = Object.fromEntries(Array.from({ length: MAX_CONTEXT_PAIRS }, (_, i) => [`k${i}`, `v${i}`]));
    const body = await encryptor.encrypt('kibana1', { n: 1 }, { format: 'jwe', compress: true, context });
    await expect(decryptor.decrypt(body, { context })).resolves.toEqual({ n: 1 });
  });

  it(`refuses to send a context of more than ${MAX_CONTEXT_PAIRS} pairs, which no receiver would accept`, async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const context = Object.fromEntries(Array.from({ length: MAX_CONTEXT_PAIRS + 1 }, (_, i) => [`k${i}`, 'v']));
    expect((await rejectionOf(encryptor.encrypt('kibana1', 1, { format: 'jwe', context }))).code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });

  it('is refused before the key is used: onDecrypt reports no kid for it', async () => {
    events.length = 0;
    await rejectionOf(decryptor.decrypt(jweBodyWith({ deep: nested(100) })));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ ok: false, code: ERROR_CODES.BODY_MALFORMED });
    expect(events[0]!.kid).toBeUndefined();
  });
});

describe("a legacy body's key envelope header", () => {
  it('is refused as ERR_BODY_MALFORMED when a member nests deeper than the bound, though it is authentic', async () => {
    const body = await legacyBodyWith({ deep: nested(100) });
    for (const call of [decryptor.decrypt(body), decryptor.getJWKMetadata(body)]) {
      expect((await rejectionOf(call)).code).toBe(ERROR_CODES.BODY_MALFORMED);
    }
  });

  it('is refused with too many members', async () => {
    const list = Array.from({ length: MAX_HEADER_MEMBERS }, () => 0);
    expect((await rejectionOf(decryptor.decrypt(await legacyBodyWith({ list })))).code).toBe(ERROR_CODES.BODY_MALFORMED);
  });

  it('still opens with a few extra members', async () => {
    await expect(decryptor.decrypt(await legacyBodyWith({ cty: 'x', extra: { a: [1, 2] } }))).resolves.toEqual({ n: 1 });
  });
});
