import * as nodeCrypto from 'node:crypto';
import { deflateRawSync } from 'node:zlib';

import {
  createRequestDecryptor,
  createRequestEncryptor,
  ERROR_CODES,
  packBody,
  unpackBody,
  type Decryptor,
} from '../src';
import { wrapPassphrase } from '../src/formats/legacy/key-envelope';
import { loadKeyring } from '../src/keys/keyset';
import { makePayloadKey, sealPayloadWith } from '../src/formats/legacy/payload-cipher';
import { makeKeySets, vectors } from './helpers';

const b64u = (s: string | Buffer): string => Buffer.from(s).toString('base64url');
const b64uJson = (value: unknown): string => b64u(JSON.stringify(value));

interface Parts {
  header: Buffer;
  encryptedKey: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
  payload: Buffer;
}

/** The payload of the valid body the cases are made from. */
export const PAYLOAD = { cluster_uuid: 'abc', n: 1 };
/** A decryptor for the golden key set, made by {@link setUpHostileCases}. */
export let decryptor: Decryptor;
/** A valid legacy body of {@link PAYLOAD}. */
export let body: string;
let otherBody: string;
let parts: Parts;

/** Rebuilds a legacy body from (possibly altered) parts. */
export function rebuild(change: Partial<Parts> = {}, rawKey?: string): string {
  const p = { ...parts, ...change };
  const key =
    rawKey ??
    [p.header, p.encryptedKey, p.iv, p.ciphertext, p.tag].map((part) => part.toString('base64url')).join('.');
  return packBody(key, p.payload.toString('base64'));
}

function flip(buf: Buffer, at = 0): Buffer {
  const copy = Buffer.from(buf);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}
const grow = (buf: Buffer): Buffer => Buffer.concat([buf, Buffer.from([0x41])]);
const shrink = (buf: Buffer): Buffer => buf.subarray(0, buf.length - 1);
export const headerWith = (header: object): Buffer => Buffer.from(JSON.stringify(header));
const keyText = (): string => unpackBody(body).encryptedAESKey;

/** Makes the valid bodies the cases alter; call it from `beforeAll`. */
export async function setUpHostileCases(): Promise<void> {
  decryptor = await createRequestDecryptor(vectors.privateJWKS);
  const encryptor = await createRequestEncryptor(vectors.publicJWKS);
  body = await encryptor.encrypt('kibana1', PAYLOAD);
  otherBody = await encryptor.encrypt('kibana1', PAYLOAD);
  const { encryptedAESKey, encryptedPayload } = unpackBody(body);
  const [header, encryptedKey, iv, ciphertext, tag] = encryptedAESKey.split('.').map((s) => Buffer.from(s, 'base64url'));
  parts = {
    header: header!,
    encryptedKey: encryptedKey!,
    iv: iv!,
    ciphertext: ciphertext!,
    tag: tag!,
    payload: Buffer.from(encryptedPayload, 'base64'),
  };
}

/**
 * One hostile body: its name, how to make it, the code it must be rejected with, and whether the
 * damage is in the payload only (which `getJWKMetadata`, opening the key envelope alone, never reads).
 */
export type Case = [name: string, makeBody: () => unknown | Promise<unknown>, code: string, payloadOnly?: 'payload'];

export const M = ERROR_CODES.BODY_MALFORMED;
export const DF = ERROR_CODES.DECRYPTION_FAILED;
export const UA = ERROR_CODES.UNSUPPORTED_ALGORITHM;
export const TL = ERROR_CODES.BODY_TOO_LARGE;

/** Every hostile body of issue 3, by kind. */
export const CASES: Case[] = [
  // what the body is
  ['undefined', () => undefined, M],
  ['null', () => null, M],
  ['a number', () => 42, M],
  ['an object', () => ({ body: 'x' }), M],
  ['an empty string', () => '', M],
  ['an empty Buffer', () => Buffer.alloc(0), M],
  ['a Buffer of non-ASCII bytes', () => Buffer.from([0xc3, 0xa9, 0x41, 0x41]), M],
  // the outer envelope
  ['text that is not base64url', () => 'not base64url!', M],
  ['base64url with padding', () => `${body}=`, M],
  ['base64url of impossible length', () => `${body}A`.slice(0, body.length - (body.length % 4) + 1), M],
  ['base64url of non-JSON', () => b64u('this is not json'), M],
  ['base64url of a JSON array', () => b64uJson([keyText(), 'x']), M],
  ['base64url of a JSON string', () => b64uJson('body'), M],
  ['base64url of JSON null', () => b64uJson(null), M],
  ['an envelope without encryptedAESKey', () => b64uJson({ encryptedPayload: parts.payload.toString('base64') }), M],
  ['an envelope without encryptedPayload', () => b64uJson({ encryptedAESKey: keyText() }), M],
  ['an empty envelope', () => b64uJson({}), M],
  ['a numeric encryptedAESKey', () => b64uJson({ encryptedAESKey: 1, encryptedPayload: 'AAAA' }), M],
  ['a nested encryptedAESKey', () => b64uJson({ encryptedAESKey: { k: keyText() }, encryptedPayload: parts.payload.toString('base64') }), M],
  ['an encryptedPayload in an array', () => b64uJson({ encryptedAESKey: keyText(), encryptedPayload: [parts.payload.toString('base64')] }), M],
  // the key JWE's structure
  ['a key JWE with four parts', () => rebuild({}, keyText().split('.').slice(0, 4).join('.')), M],
  ['a key JWE with six parts', () => rebuild({}, `${keyText()}.AAAA`), M],
  ['an empty key JWE', () => rebuild({}, ''), M],
  ['a key JWE with an empty header', () => rebuild({}, keyText().replace(/^[^.]+/, '')), M],
  ...(['header', 'encrypted key', 'IV', 'ciphertext', 'tag'] as const).map((what, index): Case => [
    `bad base64url in the key JWE ${what}`,
    () => {
      const split = keyText().split('.');
      split[index] = `*${split[index]!.slice(1)}`;
      return rebuild({}, split.join('.'));
    },
    M,
  ]),
  ['a key JWE header that is a JSON array', () => rebuild({ header: Buffer.from('["zip"]') }), M],
  ['a key JWE header that is not JSON', () => rebuild({ header: Buffer.from('{zip: DEF}') }), M],
  ['a key JWE header that is JSON null', () => rebuild({ header: Buffer.from('null') }), M],
  ['a key JWE header without kid', () => rebuild({ header: headerWith({ zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA-OAEP' }) }), M],
  ['a key JWE header with a numeric kid', () => rebuild({ header: headerWith({ zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA-OAEP', kid: 1 }) }), M],
  ['a key JWE with alg RSA1_5', () => rebuild({ header: headerWith({ zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA1_5', kid: 'kibana1' }) }), UA],
  ['a key JWE with alg dir', () => rebuild({ header: headerWith({ enc: 'A128CBC-HS256', alg: 'dir', kid: 'kibana1' }) }), UA],
  ['a key JWE with alg none', () => rebuild({ header: headerWith({ enc: 'A128CBC-HS256', alg: 'none', kid: 'kibana1' }) }), UA],
  ['a key JWE with enc A256GCM', () => rebuild({ header: headerWith({ zip: 'DEF', enc: 'A256GCM', alg: 'RSA-OAEP', kid: 'kibana1' }) }), UA],
  ['a key JWE with zip GZIP', () => rebuild({ header: headerWith({ zip: 'GZIP', enc: 'A128CBC-HS256', alg: 'RSA-OAEP', kid: 'kibana1' }) }), UA],
  ['a key JWE with a crit header', () => rebuild({ header: headerWith({ zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA-OAEP', kid: 'kibana1', crit: ['x'], x: 1 }) }), UA],
  // every byte of the key JWE is authenticated
  ['a byte changed in the header', () => rebuild({ header: Buffer.from(parts.header.toString().replace('"zip":"DEF"', '"zip":"DEF" ')) }), DF],
  ['a member added to the header', () => rebuild({ header: headerWith({ zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA-OAEP', kid: 'kibana1', x: 1 }) }), DF],
  // RSA-OAEP-256 is accepted for this RSA-OAEP key, so the relabelled key (wrapped with SHA-1) is a forgery
  ['a key JWE relabelled RSA-OAEP-256, its key wrapped with RSA-OAEP', () => rebuild({ header: headerWith({ zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA-OAEP-256', kid: 'kibana1' }) }), DF],
  ['a byte changed in the wrapped key', () => rebuild({ encryptedKey: flip(parts.encryptedKey, 100) }), DF],
  ['a byte added to the wrapped key', () => rebuild({ encryptedKey: grow(parts.encryptedKey) }), DF],
  ['a byte removed from the wrapped key', () => rebuild({ encryptedKey: shrink(parts.encryptedKey) }), DF],
  ['an empty wrapped key', () => rebuild({ encryptedKey: Buffer.alloc(0) }), DF],
  ['a byte changed in the IV', () => rebuild({ iv: flip(parts.iv) }), DF],
  ['a byte added to the IV', () => rebuild({ iv: grow(parts.iv) }), M],
  ['a byte removed from the IV', () => rebuild({ iv: shrink(parts.iv) }), M],
  ['a byte changed in the ciphertext', () => rebuild({ ciphertext: flip(parts.ciphertext, 3) }), DF],
  ['a byte added to the ciphertext', () => rebuild({ ciphertext: grow(parts.ciphertext) }), DF],
  ['a byte removed from the ciphertext', () => rebuild({ ciphertext: shrink(parts.ciphertext) }), DF],
  ['an empty ciphertext', () => rebuild({ ciphertext: Buffer.alloc(0) }), M],
  ['a byte changed in the tag', () => rebuild({ tag: flip(parts.tag, 15) }), DF],
  ['a byte added to the tag', () => rebuild({ tag: grow(parts.tag) }), M],
  ['a byte removed from the tag', () => rebuild({ tag: shrink(parts.tag) }), M],
  // the payload
  ['an encryptedPayload that is not base64', () => packBody(keyText(), '***not base64***'), M],
  ['an encryptedPayload in the base64url alphabet', () => packBody(keyText(), `${parts.payload.toString('base64url')}-_`), M],
  ['an encryptedPayload with spaces', () => packBody(keyText(), ` ${parts.payload.toString('base64')}`), M],
  ['an encryptedPayload of 91 bytes', () => rebuild({ payload: parts.payload.subarray(0, 91) }), M],
  ['an encryptedPayload of exactly salt + IV + tag', () => rebuild({ payload: parts.payload.subarray(0, 92) }), M],
  ['an empty encryptedPayload', () => packBody(keyText(), ''), M],
  ['a byte changed in the salt', () => rebuild({ payload: flip(parts.payload, 10) }), DF, 'payload'],
  ['a byte changed in the payload IV', () => rebuild({ payload: flip(parts.payload, 70) }), DF, 'payload'],
  ['a byte changed in the payload tag', () => rebuild({ payload: flip(parts.payload, 80) }), DF, 'payload'],
  ['a byte changed in the payload ciphertext', () => rebuild({ payload: flip(parts.payload, 95) }), DF, 'payload'],
  ['a byte added to the payload', () => rebuild({ payload: grow(parts.payload) }), DF, 'payload'],
  ['a byte removed from the payload', () => rebuild({ payload: shrink(parts.payload) }), DF, 'payload'],
  ['a payload encrypted under another passphrase', () => packBody(keyText(), unpackBody(otherBody).encryptedPayload), DF, 'payload'],
  [
    'a body for a kid in the set but wrapped under another key with that kid',
    async () => (await createRequestEncryptor(makeKeySets(['kibana1']).publicJWKS)).encrypt('kibana1', PAYLOAD),
    DF,
  ],
  [
    'an authenticated plaintext that is not JSON',
    async () => {
      const keyring = loadKeyring(vectors.publicJWKS);
      const passphrase = nodeCrypto.randomBytes(32);
      return packBody(wrapPassphrase(keyring.get('kibana1')!, passphrase), sealPayloadWith(await makePayloadKey(passphrase), '{not json'));
    },
    M,
    'payload',
  ],
  // limits
  ['a key JWE longer than 4096 characters', () => rebuild({ ciphertext: Buffer.alloc(4000) }), TL],
  ['a key JWE header longer than 1024 characters', () => rebuild({ header: headerWith({ kid: 'kibana1', pad: 'x'.repeat(800) }) }), TL],
  ['a key JWE ciphertext longer than 64 bytes', () => rebuild({ ciphertext: Buffer.alloc(80) }), TL],
  [
    'a deflate bomb in the key JWE',
    () => rebuild({ ciphertext: deflateRawSync(Buffer.alloc(50 * 1024 * 1024)) }),
    TL,
  ],
  ['a kid not in the set', () => rebuild({ header: headerWith({ zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA-OAEP', kid: 'other' }) }), ERROR_CODES.NO_KEY_FOUND],
];

