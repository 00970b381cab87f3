import { createHash } from 'node:crypto';

import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES, unpackBody, type Decryptor } from '../src';
import { decodeBase64, decodeBase64Url } from '../src/encoding/strict-base64';
import { rejectionOf, vectors } from './helpers';

const PAYLOAD = { cluster_uuid: 'abc', n: 1 };
let decryptor: Decryptor;
let legacy: string;
let jwe: string;

beforeAll(async () => {
  decryptor = await createRequestDecryptor(vectors.privateJWKS);
  const encryptor = await createRequestEncryptor(vectors.publicJWKS);
  legacy = await encryptor.encrypt('kibana1', PAYLOAD);
  jwe = await encryptor.encrypt('kibana1', PAYLOAD, { format: 'jwe' });
});

/** `text` with the character at `at` replaced by one above U+007F that has the same low byte. */
const respell = (text: string, at: number, high = 0x41): string =>
  text.slice(0, at) + String.fromCharCode((high << 8) | text.charCodeAt(at)) + text.slice(at + 1);

describe.each([
  ['legacy', () => legacy],
  ['jwe', () => jwe],
])('one spelling per %s body', (_format, body) => {
  it('decrypts the body as sent', async () => {
    await expect(decryptor.decrypt(body())).resolves.toEqual(PAYLOAD);
  });

  it('refuses the body when one character is respelled above U+007F with the same low byte (U+4165 for e)', async () => {
    const text = body();
    // Every position, so that no part of the body (header, key, IV, ciphertext, tag) is missed.
    const positions = Array.from({ length: text.length }, (_, at) => at).filter((at) => at % 7 === 0 || at === text.length - 1);
    for (const at of positions) {
      const err = await rejectionOf(decryptor.decrypt(respell(text, at)));
      expect([at, err.code]).toEqual([at, ERROR_CODES.BODY_MALFORMED]);
    }
  });

  it.each([0x00, 0x01, 0xff])('treats a respelling with high byte %i in getJWKMetadata the same way', async (high) => {
    const text = body();
    if (high === 0x00) {
      // U+0000..U+007F: the same character, so the same body.
      await expect(decryptor.getJWKMetadata(respell(text, 3, high))).resolves.toMatchObject({ key: { kid: 'kibana1' } });
      return;
    }
    expect((await rejectionOf(decryptor.getJWKMetadata(respell(text, 3, high)))).code).toBe(ERROR_CODES.BODY_MALFORMED);
  });

  it('reads the spellings a transport makes (quoted, line-wrapped) as the one canonical body, with its SHA-256', async () => {
    const canonical = createHash('sha256').update(body()).digest('hex');
    const wrapped = (body().match(/.{1,76}/g) ?? []).join('\r\n');
    for (const spelling of [body(), JSON.stringify(body()), `${wrapped}\n`, JSON.stringify(wrapped)]) {
      await expect(decryptor.getJWKMetadata(spelling)).resolves.toMatchObject({ bodySha256: canonical });
    }
  });

  it('refuses a lone surrogate appended to the body', async () => {
    expect((await rejectionOf(decryptor.decrypt(`${body()}\ud800`))).code).toBe(ERROR_CODES.BODY_MALFORMED);
  });
});

describe('one spelling of the legacy envelope', () => {
  const envelopeOf = (value: string): string => Buffer.from(value, 'utf8').toString('base64url');

  it.each([
    ['with a space after a colon', (k: string, p: string) => `{"encryptedAESKey": "${k}","encryptedPayload":"${p}"}`],
    ['with a line break at the end', (k: string, p: string) => `{"encryptedAESKey":"${k}","encryptedPayload":"${p}"}\n`],
    ['with its members in the other order', (k: string, p: string) => `{"encryptedPayload":"${p}","encryptedAESKey":"${k}"}`],
    ['with an escaped character in a string', (k: string, p: string) => `{"encryptedAESKey":"${k}","encryptedPayload":"${p.replace('/', '\\/')}"}`],
    ['with a third member', (k: string, p: string) => `{"encryptedAESKey":"${k}","encryptedPayload":"${p}","x":1}`],
    ['with a repeated member', (k: string, p: string) => `{"encryptedAESKey":"${k}","encryptedAESKey":"${k}","encryptedPayload":"${p}"}`],
  ])('refuses the envelope JSON spelled %s, which JSON.parse would read the same', async (_name, spell) => {
    const { encryptedAESKey, encryptedPayload } = unpackBody(legacy);
    const json = spell(encryptedAESKey, encryptedPayload.includes('/') ? encryptedPayload : `${encryptedPayload.slice(0, -4)}/A==`);
    expect(() => JSON.parse(json) as unknown).not.toThrow();
    expect((await rejectionOf(decryptor.decrypt(envelopeOf(json)))).code).toBe(ERROR_CODES.BODY_MALFORMED);
  });

  it('reads exactly the spelling JSON.stringify gives', () => {
    const parts = unpackBody(legacy);
    expect(Buffer.from(legacy, 'base64url').toString('utf8')).toBe(JSON.stringify(parts));
  });
});

describe('strict base64 decoders', () => {
  it('refuse a character above U+007F whose low byte is in the alphabet', () => {
    expect(decodeBase64Url('QUJD')).toEqual(Buffer.from('ABC'));
    expect(decodeBase64Url('QUJ\u4144')).toBeUndefined();
    expect(decodeBase64('QUJD')).toEqual(Buffer.from('ABC'));
    expect(decodeBase64('QUJ\u0144')).toBeUndefined();
    expect(Buffer.from('QUJ\u4144', 'base64')).toEqual(Buffer.from('ABC')); // why: Node reads the low byte
  });
});
