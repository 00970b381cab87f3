/**
 * The per-body secret of the legacy format.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';

import { LEGACY_KEY_DERIVATION } from '../../core/algorithms';

/** Length of the passphrase made for every legacy body, in bytes. */
export const KEY_LENGTH_IN_BYTES = LEGACY_KEY_DERIVATION.passphraseBytes;

/** Returns {@link KEY_LENGTH_IN_BYTES} fresh random bytes from `crypto.randomBytes`. */
export function generatePassphrase(): Buffer {
  return randomBytes(KEY_LENGTH_IN_BYTES);
}
