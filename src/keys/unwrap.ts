/**
 * The key-unwrap step, the only place a receiver's private key is used: RSA-OAEP decryption of a
 * body's wrapped content key. It is asynchronous so that the private operation can run anywhere:
 * in this process (the default), on other threads, or in a KMS or HSM that never lets the key out.
 *
 * @packageDocumentation
 */
import { privateDecrypt, type KeyObject } from 'node:crypto';

import type { WrapAlgorithm } from '../core/algorithms';
import type { Keyring } from './keyset';
import { oaepOptions } from './oaep';

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

/**
 * What this package's own unwraps reject with when RSA-OAEP refuses a wrapped key: the body is a
 * forgery. Every throw of `privateDecrypt` is one (OpenSSL in FIPS mode refuses padding without an
 * error code, so a code cannot tell refusals apart). Any other rejection of theirs is a bug of the
 * library, and the decryptor marks it so.
 */
export class UnwrapRefusedError extends Error {
  constructor() {
    super('RSA-OAEP refused the wrapped key');
  }
}

/**
 * RSA-OAEP decryption of `encryptedKey` with `privateKey`, right here; any throw becomes
 * {@link UnwrapRefusedError}.
 */
export function unwrapWith(privateKey: KeyObject, alg: WrapAlgorithm, encryptedKey: Uint8Array): Buffer {
  try {
    return privateDecrypt({ key: privateKey, ...oaepOptions(alg) }, encryptedKey);
  } catch {
    throw new UnwrapRefusedError();
  }
}

/** Unwraps with the private keys of `keyring`, in this process. */
export function unwrapInProcess(keyring: Keyring): UnwrapKey {
  return async ({ kid, alg, encryptedKey }) => {
    const privateKey = keyring.get(kid)?.privateKey;
    if (privateKey === undefined) throw new Error('no private key');
    return unwrapWith(privateKey, alg, encryptedKey);
  };
}
