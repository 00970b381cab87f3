/**
 * Symmetric keys in the form `node:crypto` takes fastest. From Node 24 on, `createCipheriv`,
 * `createDecipheriv` and `createHmac` spend about 10 µs checking a key handed over as bytes
 * (measured on 24.21: 12–16 µs a call with bytes, 2–3 µs with a `KeyObject`, its making included);
 * before 24, bytes are the faster form (a `KeyObject` costs about 1 µs more to make). A body
 * makes up to three such calls, which on Node 24 came to a tenth of a `'jwe'` decrypt's CPU.
 *
 * @packageDocumentation
 */
import { createSecretKey, type KeyObject } from 'node:crypto';

/** True where `KeyObject`s are the faster form: Node 24 and later. */
export const PREFER_KEY_OBJECTS = Number(process.versions.node.split('.')[0]) >= 24;

/** `bytes` as the key argument of a cipher or HMAC: a `KeyObject` where that is faster. */
export function secretKey(bytes: Buffer): Buffer | KeyObject {
  return PREFER_KEY_OBJECTS ? createSecretKey(bytes) : bytes;
}
