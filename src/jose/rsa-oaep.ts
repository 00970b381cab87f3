/**
 * RSA-OAEP key wrapping of a content-encryption key (RFC 7518 §4.3).
 *
 * @packageDocumentation
 */
import { publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';

import { UnavailableError } from '../core/errors';
import { isUnexpected } from '../core/unexpected-error';
import type { WrapAlgorithm } from '../core/algorithms';
import { oaepOptions } from '../keys/oaep';
import type { UnwrapKey } from '../keys/unwrap';

/** Encrypts `cek` to `publicKey`. */
export function wrapCek(alg: WrapAlgorithm, publicKey: KeyObject, cek: Buffer): Buffer {
  return publicEncrypt({ key: publicKey, ...oaepOptions(alg) }, cek);
}

// Fallback keys are cut from one `randomBytes` call per 64 bodies: a call per body cost the event
// loop more than the rest of the unwrap's bookkeeping (bench/PROFILE.md). Each is still fresh and
// used once.
const FALLBACK_BATCH = 2048;
let spare = Buffer.alloc(0);

function fallbackKey(length: number): Buffer {
  if (spare.length < length) spare = randomBytes(Math.max(FALLBACK_BATCH, length));
  const key = spare.subarray(0, length);
  spare = spare.subarray(length);
  return key;
}

/**
 * Unwraps a content key. When the unwrap fails, or yields a key of the wrong length, it returns a
 * random key of `cekLength` bytes instead of failing (RFC 7516 §11.5): the caller's tag check then
 * fails the same way as for any other forged body, so the response is no oracle on the RSA padding
 * (nor on a key service's refusal). An {@link UnavailableError} (a full queue, a key service that
 * is down) passes through: it depends on the receiver's state, not on the body, so it is no
 * oracle, and answering it as a forgery would lose a valid body.
 */
export async function unwrapCek(
  unwrap: UnwrapKey,
  kid: string,
  alg: WrapAlgorithm,
  encryptedKey: Buffer,
  cekLength: number,
): Promise<Buffer> {
  const fallback = fallbackKey(cekLength);
  try {
    const cek = await unwrap({ kid, alg, encryptedKey });
    return cek instanceof Uint8Array && cek.length === cekLength ? Buffer.from(cek.buffer, cek.byteOffset, cek.byteLength) : fallback;
  } catch (err) {
    // The key service's outage, or the library's own failure (marked as such): not the body's.
    if (err instanceof UnavailableError || isUnexpected(err)) throw err;
    return fallback;
  }
}
