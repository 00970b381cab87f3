/**
 * JWE content encryption (RFC 7518 §5): A128CBC-HS256 for the legacy key envelope, A256GCM for
 * `'jwe'` bodies. Decryption returns `undefined` on any failure; callers turn that into the one
 * error that says nothing more.
 *
 * @packageDocumentation
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';

import type { ContentEncryption } from '../core/algorithms';

export type { ContentEncryption };

/** Content-encryption key length in bytes. */
export const CEK_LENGTH: Readonly<Record<ContentEncryption, number>> = { 'A128CBC-HS256': 32, A256GCM: 32 };
/** IV length in bytes. */
export const IV_LENGTH: Readonly<Record<ContentEncryption, number>> = { 'A128CBC-HS256': 16, A256GCM: 12 };
/** Authentication tag length in bytes. */
export const TAG_LENGTH = 16;

/** The output of {@link sealContent}. */
export interface SealedContent {
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

function cbcHmacTag(macKey: Buffer, aad: Buffer, iv: Buffer, ciphertext: Buffer): Buffer {
  const aadBits = Buffer.alloc(8);
  aadBits.writeBigUInt64BE(BigInt(aad.length) * 8n);
  return createHmac('sha256', createSecretKey(macKey)).update(aad).update(iv).update(ciphertext).update(aadBits).digest().subarray(0, 16);
}

/** Encrypts `plaintext` under `cek` with a fresh random IV; `aad` is the protected header text. */
export function sealContent(enc: ContentEncryption, cek: Buffer, aad: Buffer, plaintext: Buffer): SealedContent {
  const iv = randomBytes(IV_LENGTH[enc]);
  if (enc === 'A256GCM') {
    const cipher = createCipheriv('aes-256-gcm', createSecretKey(cek), iv, { authTagLength: TAG_LENGTH });
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { iv, ciphertext, tag: cipher.getAuthTag() };
  }
  const cipher = createCipheriv('aes-128-cbc', createSecretKey(cek.subarray(16, 32)), iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ciphertext, tag: cbcHmacTag(cek.subarray(0, 16), aad, iv, ciphertext) };
}

/**
 * Decrypts and authenticates. Returns `undefined` when the tag does not match or the content does
 * not decrypt; the tag is compared in constant time before any decryption.
 */
export function openContent(
  enc: ContentEncryption,
  cek: Buffer,
  aad: Buffer,
  iv: Buffer,
  ciphertext: Buffer,
  tag: Buffer,
): Buffer | undefined {
  if (cek.length !== CEK_LENGTH[enc] || iv.length !== IV_LENGTH[enc] || tag.length !== TAG_LENGTH) return undefined;
  try {
    if (enc === 'A256GCM') {
      const decipher = createDecipheriv('aes-256-gcm', createSecretKey(cek), iv, { authTagLength: TAG_LENGTH });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      const plaintext = decipher.update(ciphertext);
      // final() verifies the tag and adds nothing for GCM: skip a copy of a large plaintext.
      const rest = decipher.final();
      return rest.length === 0 ? plaintext : Buffer.concat([plaintext, rest]);
    }
    const expected = cbcHmacTag(cek.subarray(0, 16), aad, iv, ciphertext);
    if (!timingSafeEqual(expected, tag)) return undefined;
    const decipher = createDecipheriv('aes-128-cbc', createSecretKey(cek.subarray(16, 32)), iv);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
}
