/**
 * RSA-OAEP's parameters for each key-wrapping algorithm (RFC 7518 §4.3), the one place that maps
 * a JWE `alg` to OpenSSL's options: the key-set check, the sender, the in-process and threaded
 * unwraps all use it.
 *
 * @packageDocumentation
 */
import { constants } from 'node:crypto';

import { KEY_WRAP_ALGORITHM, type WrapAlgorithm } from '../core/algorithms';

/** The OAEP digest of a wrapping algorithm (RFC 7518 §4.3). */
export function oaepHashOf(alg: WrapAlgorithm): 'sha1' | 'sha256' {
  return alg === KEY_WRAP_ALGORITHM ? 'sha256' : 'sha1';
}

const OAEP_SHA1 = { padding: constants.RSA_PKCS1_OAEP_PADDING } as const;
const OAEP_SHA256 = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as const;

/**
 * The `publicEncrypt`/`privateDecrypt` options of a wrapping algorithm. SHA-1 is OpenSSL's default
 * OAEP digest (for the label hash and MGF1 alike), so it is not named: naming a digest costs a
 * lookup through OpenSSL 3.0's whole name table on every call (bench/PROFILE.md).
 */
export function oaepOptions(alg: WrapAlgorithm): { readonly padding: number; readonly oaepHash?: 'sha256' } {
  return alg === KEY_WRAP_ALGORITHM ? OAEP_SHA256 : OAEP_SHA1;
}
