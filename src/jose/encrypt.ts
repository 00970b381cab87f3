/**
 * Makes a compact JWE for one recipient key with `node:crypto` directly: the key objects are
 * built once per key set, so a body costs one RSA public operation and one symmetric pass.
 *
 * @packageDocumentation
 */
import { deflateRawSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';

import { isWrapAlgorithm, LEGACY_KEY_WRAP_ALGORITHM, type WrapAlgorithm } from '../core/algorithms';
import { UnsupportedAlgorithmError } from '../core/errors';
import type { RecipientKey } from '../keys/keyset';
import { CEK_LENGTH, sealContent, type ContentEncryption } from './content-cipher';
import { encodeProtectedHeader, serializeCompactJwe } from './compact';
import { wrapCek } from './rsa-oaep';

/**
 * The wrapping algorithm a body for `key` is made with: `chosen` when the sender chose one, else
 * the key's declared `alg`, else RSA-OAEP (what 2.0.3's node-jose does).
 */
export function wrapAlgorithmOf(key: RecipientKey, chosen?: WrapAlgorithm): WrapAlgorithm {
  if (chosen !== undefined) return chosen;
  const alg = key.declaredAlg ?? LEGACY_KEY_WRAP_ALGORITHM;
  if (!isWrapAlgorithm(alg)) {
    throw new UnsupportedAlgorithmError(`unsupported algorithm: key "${key.kid}" is for ${alg}, not RSA-OAEP`, 'caller');
  }
  return alg;
}

/**
 * Encrypts `plaintext` to `key`. `header` gives the protected header's members in order; `zip`
 * must already be in it when `compress` is set.
 */
export function encryptCompactJwe(
  key: RecipientKey,
  enc: ContentEncryption,
  header: Record<string, unknown>,
  plaintext: Buffer,
  compress: boolean,
): string {
  const alg = header.alg as WrapAlgorithm;
  const protectedText = encodeProtectedHeader(header);
  const cek = randomBytes(CEK_LENGTH[enc]);
  const encryptedKey = wrapCek(alg, key.publicKey, cek);
  const content = compress ? deflateRawSync(plaintext) : plaintext;
  const sealed = sealContent(enc, cek, Buffer.from(protectedText, 'ascii'), content);
  return serializeCompactJwe(protectedText, encryptedKey, sealed.iv, sealed.ciphertext, sealed.tag);
}
