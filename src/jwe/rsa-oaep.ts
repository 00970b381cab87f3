/**
 * RSA-OAEP key wrapping of a content-encryption key (RFC 7518 §4.3).
 *
 * @packageDocumentation
 */
import { constants, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';

import type { WrapAlgorithm } from '../keys/keyset';

function oaepHash(alg: WrapAlgorithm): 'sha1' | 'sha256' {
  return alg === 'RSA-OAEP-256' ? 'sha256' : 'sha1';
}

/** Encrypts `cek` to `publicKey`. */
export function wrapCek(alg: WrapAlgorithm, publicKey: KeyObject, cek: Buffer): Buffer {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(alg) }, cek);
}

/**
 * Decrypts a wrapped key. When the unwrap fails, or yields a key of the wrong length, it returns a
 * random key of `cekLength` bytes instead of failing (RFC 7516 §11.5): the caller's tag check then
 * fails the same way, in about the same time, as for any other forged body, so the response is no
 * oracle on the RSA padding.
 */
export function unwrapCek(alg: WrapAlgorithm, privateKey: KeyObject, wrapped: Buffer, cekLength: number): Buffer {
  const fallback = randomBytes(cekLength);
  try {
    const cek = privateDecrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(alg) },
      wrapped,
    );
    return cek.length === cekLength ? cek : fallback;
  } catch {
    return fallback;
  }
}
