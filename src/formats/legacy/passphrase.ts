/**
 * The per-body secret of the legacy format.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';

/** Length of the passphrase made for every legacy body, in bytes. */
export const KEY_LENGTH_IN_BYTES = 32;

/** Returns {@link KEY_LENGTH_IN_BYTES} fresh random bytes from `crypto.randomBytes`. */
export function generatePassphrase(): Buffer {
  return randomBytes(KEY_LENGTH_IN_BYTES);
}
