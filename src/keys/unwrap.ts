/**
 * The key-unwrap step, the only place a receiver's private key is used: RSA-OAEP decryption of a
 * body's wrapped content key. It is asynchronous so that the private operation can run anywhere:
 * in this process (the default), on other threads, or in a KMS or HSM that never lets the key out.
 *
 * @packageDocumentation
 */
import { constants, privateDecrypt } from 'node:crypto';

import { KEY_WRAP_ALGORITHM, type WrapAlgorithm } from '../core/algorithms';
import type { Keyring } from './keyset';

/** What the unwrap step is asked to do for one body. */
export interface UnwrapKeyRequest {
  /** The kid of the key the body was made for; it is in the decryptor's set. */
  readonly kid: string;
  /** The key-wrapping algorithm of the body's header: `RSA-OAEP` (SHA-1) or `RSA-OAEP-256`. */
  readonly alg: WrapAlgorithm;
  /** The RSA-OAEP ciphertext of the content key. */
  readonly encryptedKey: Uint8Array;
}

/**
 * Decrypts a wrapped content key. It is called once per body, only after the body's size,
 * structure and kid are checked. A rejection, or a result of the wrong length, is treated exactly
 * like a forged body.
 */
export type UnwrapKey = (request: UnwrapKeyRequest) => Promise<Uint8Array>;

/** Where a decryptor's private operation happens: the key set's keys, or an {@link UnwrapKey}. */
export interface KeyCustody {
  readonly unwrap: UnwrapKey;
  /** True when the key set may hold public keys only: the private halves are elsewhere. */
  readonly privateElsewhere: boolean;
}

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

/** Unwraps with the private keys of `keyring`, in this process. */
export function unwrapInProcess(keyring: Keyring): UnwrapKey {
  return async ({ kid, alg, encryptedKey }) => {
    const privateKey = keyring.get(kid)?.privateKey;
    if (privateKey === undefined) throw new Error('no private key');
    return privateDecrypt({ key: privateKey, ...oaepOptions(alg) }, encryptedKey);
  };
}
