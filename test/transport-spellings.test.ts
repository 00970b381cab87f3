import { createHash } from 'node:crypto';

import * as original from '@elastic/request-crypto';

import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES, unpackBody, type DecryptEvent, type Decryptor } from '../src';
import { rejectionOf, vectors } from './helpers';

let PAYLOAD: { cluster_uuid: string; pad: string } = { cluster_uuid: 'abc', pad: '' };
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const wrap = (text: string, width: number, eol: string): string => (text.match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join(eol);

/** What a transport may do to a body's text: all read as the body itself. */
const ACCEPTED: Array<[string, (body: string) => string | Uint8Array]> = [
  ['as sent', (body) => body],
  ['JSON-encoded, as JSON.stringify(body) or a JSON-minded gateway gives it', (body) => JSON.stringify(body)],
  ['JSON-encoded with characters escaped (\\u0065 for e)', (body) => JSON.stringify(body).replace(/e/g, '\\u0065')],
  ['JSON-encoded with a final newline inside the quotes', (body) => JSON.stringify(`${body}\n`)],
  ['JSON-encoded and line-wrapped inside the quotes', (body) => JSON.stringify(wrap(body, 76, '\n'))],
  ['JSON-encoded, as bytes', (body) => Buffer.from(JSON.stringify(body))],
  ['line-wrapped at 76 with LF (base64 -w 76, MIME)', (body) => wrap(body, 76, '\n')],
  ['line-wrapped at 64 with CRLF (PEM-style)', (body) => wrap(body, 64, '\r\n')],
  ['line-wrapped, with a final newline, as bytes', (body) => Buffer.from(`${wrap(body, 76, '\n')}\n`)],
  ['with spaces and a newline around it', (body) => `  ${body}\n`],
];

/** What no transport makes: another encoder's output, refused as ERR_BODY_MALFORMED. */
const REFUSED: Array<[string, (body: string) => string]> = [
  ['JSON-encoded twice', (body) => JSON.stringify(JSON.stringify(body))],
  ['a quote that never closes', (body) => `"${body}`],
  ['quoted with a character above U+007F escaped inside', (body) => `"${body.slice(0, 10)}\\u00e9${body.slice(10)}"`],
  ['with a space inside', (body) => `${body.slice(0, 10)} ${body.slice(10)}`],
  ['with a tab inside', (body) => `${body.slice(0, 10)}\t${body.slice(10)}`],
];

/**
 * Refused, though 2.0.3 read it. (The standard base64 alphabet is no other spelling of a legacy
 * body: the base64url of ASCII JSON without ">", "?" or "~" never holds "-" or "_".)
 */
const LEGACY_REFUSED: Array<[string, (body: string) => string]> = [['with base64 padding', (body) => body + '='.repeat((4 - (body.length % 4)) % 4)]];

let decryptor: Decryptor;
const events: DecryptEvent[] = [];
let legacy: string;
let jwe: string;

beforeAll(async () => {
  decryptor = await createRequestDecryptor(vectors.privateJWKS, { onDecrypt: (event) => void events.push(event) });
  const encryptor = await createRequestEncryptor(vectors.publicJWKS);
  // A legacy body of a length that base64 would pad, and a 'jwe' body with "-" and "_" in it.
  for (let pad = 0; ; pad += 1) {
    PAYLOAD = { cluster_uuid: 'abc', pad: 'x'.repeat(pad % 12) };
    legacy = await encryptor.encrypt('kibana1', PAYLOAD);
    if (legacy.length % 4 !== 0) break;
  }
  do jwe = await encryptor.encrypt('kibana1', PAYLOAD, { format: 'jwe' });
  while (!(jwe.includes('-') && jwe.includes('_')));
});

describe.each([
  ['legacy', () => legacy],
  ['jwe', () => jwe],
])('transport spellings of a %s body', (_format, body) => {
  it.each(ACCEPTED)('decrypts the body %s, and reports the SHA-256 of the body as sent', async (_name, spell) => {
    events.length = 0;
    await expect(decryptor.decrypt(spell(body()))).resolves.toEqual(PAYLOAD);
    expect(events[0]?.bodySha256).toBe(sha256(body()));
    await expect(decryptor.getJWKMetadata(spell(body()))).resolves.toMatchObject({ key: { kid: 'kibana1' }, bodySha256: sha256(body()) });
  });

  it.each(REFUSED)('refuses the body %s as ERR_BODY_MALFORMED', async (_name, spell) => {
    expect((await rejectionOf(decryptor.decrypt(spell(body())))).code).toBe(ERROR_CODES.BODY_MALFORMED);
    expect((await rejectionOf(decryptor.getJWKMetadata(spell(body())))).code).toBe(ERROR_CODES.BODY_MALFORMED);
  });
});

describe('transport spellings of one format only', () => {
  it("refuses a 'jwe' body in the standard base64 alphabet as ERR_BODY_MALFORMED", async () => {
    const standard = jwe.replace(/-/g, '+').replace(/_/g, '/');
    expect((await rejectionOf(decryptor.decrypt(standard))).code).toBe(ERROR_CODES.BODY_MALFORMED);
  });

  it.each(LEGACY_REFUSED)('refuses the body %s as ERR_BODY_MALFORMED', async (_name, spell) => {
    expect(spell(legacy)).not.toBe(legacy);
    expect((await rejectionOf(decryptor.decrypt(spell(legacy)))).code).toBe(ERROR_CODES.BODY_MALFORMED);
  });

  it('splits a JSON-encoded body with unpackBody as the original did', () => {
    expect(unpackBody(JSON.stringify(legacy))).toEqual(unpackBody(legacy));
  });
});

describe('what @elastic/request-crypto 2.0.3 read (the README migration section)', () => {
  let theirs: Awaited<ReturnType<typeof original.createRequestDecryptor>>;
  const vector = vectors.vectors[0]!;
  // Our legacy bodies are 2.0.3's too; this one has "-" and "_" in it, which the vectors lack.
  const readByOriginal = async (body: string): Promise<boolean> => {
    try {
      return JSON.stringify(await theirs.decrypt(body)) === JSON.stringify(PAYLOAD);
    } catch {
      return false;
    }
  };
  beforeAll(async () => {
    theirs = await original.createRequestDecryptor(vectors.privateJWKS as never);
  });

  it.each(ACCEPTED.filter(([name]) => !name.includes('escaped') && !name.includes('inside the quotes') && !name.includes('bytes')))(
    '2.0.3 read the body %s too',
    async (_name, spell) => {
      expect(await readByOriginal(spell(legacy) as string)).toBe(true);
      await expect(decryptor.decrypt(spell(legacy))).resolves.toEqual(PAYLOAD);
    },
  );

  it.each([...LEGACY_REFUSED, ...REFUSED.filter(([name]) => name.includes('inside') || name.includes('twice'))].filter(([name]) => !name.includes('U+007F')))(
    '2.0.3 read the body %s, which is refused now',
    async (_name, spell) => {
      expect(await readByOriginal(spell(legacy))).toBe(true);
      expect((await rejectionOf(decryptor.decrypt(spell(legacy)))).code).toBe(ERROR_CODES.BODY_MALFORMED);
    },
  );

  it('2.0.3 read a legacy envelope spelled with spaces (as Python json.dumps writes it), which is refused now', async () => {
    const { encryptedAESKey, encryptedPayload } = unpackBody(legacy);
    const spaced = Buffer.from(`{"encryptedAESKey": "${encryptedAESKey}", "encryptedPayload": "${encryptedPayload}"}`).toString('base64url');
    expect(await readByOriginal(spaced)).toBe(true);
    expect((await rejectionOf(decryptor.decrypt(spaced))).code).toBe(ERROR_CODES.BODY_MALFORMED);
  });

  it("2.0.3 said 'no key found' for a body for a known kid made with another key; it is 'decryption failed' now", async () => {
    const { makeKeySets } = await import('./helpers');
    const impostor = makeKeySets(['kibana1']);
    const body = await (await createRequestEncryptor(impostor.publicJWKS)).encrypt('kibana1', PAYLOAD);
    const old = await theirs.decrypt(body).then(
      () => 'resolved',
      (err: unknown) => String(err),
    );
    expect(old).toBe('Error: no key found');
    expect(String(await rejectionOf(decryptor.decrypt(body)))).toBe('DecryptionFailedError: decryption failed');
  });

  it("2.0.3 said 'no key found' for a set of public keys only, and so does this package, with a reason", async () => {
    const old = await (await original.createRequestDecryptor(vectors.publicJWKS as never)).decrypt(vector.body).then(
      () => 'resolved',
      (err: unknown) => String(err),
    );
    const err = await rejectionOf((await createRequestDecryptor(vectors.publicJWKS as never)).decrypt(vector.body));
    expect(old).toBe('Error: no key found');
    expect(String(err)).toBe(old);
    expect(err).toMatchObject({ code: ERROR_CODES.NO_KEY_FOUND, reason: 'public-keys-only' });
  });
});
