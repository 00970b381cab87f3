/**
 * Symmetric keys in the form `node:crypto` takes fastest. From Node 24 on, `createCipheriv`,
 * `createDecipheriv` and `createHmac` check a key handed over as bytes more slowly than a
 * `KeyObject`; before 24, bytes are the faster form (figures: bench/PROFILE.md).
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
