/**
 * The legacy format's `encryptedAESKey`: the 32-byte passphrase as a compact JWE
 * (`zip` DEF, `enc` A128CBC-HS256, `alg` RSA-OAEP or RSA-OAEP-256, `kid`), byte-compatible with
 * node-jose's (2.x) and with `@elastic/request-crypto` 3.0's.
 *
 * @packageDocumentation
 */
import { CONTENT_ENCRYPTION_ALGORITHM, type WrapAlgorithm } from '../../core/algorithms';
import { DecryptionFailedError } from '../../core/errors';
import { parseCompactJwe, type CompactJwe, type CompactLimits } from '../../jose/compact';
import { checkJweHeader, openJwe, type CheckedHeader, type JweExpectations } from '../../jose/decrypt';
import { encryptCompactJwe, wrapAlgorithmOf } from '../../jose/encrypt';
import type { RecipientKey } from '../../keys/keyset';
import type { UnwrapKey } from '../../keys/unwrap';
import type { LearnedHeader } from '../wire-format';
import { KEY_LENGTH_IN_BYTES } from './passphrase';

/**
 * A wrapped 32-byte key is about 550 characters for RSA-2048 and 900 for RSA-4096; anything much
 * longer is not one, and is refused before it is decoded (so a deflate bomb is never inflated).
 */
export const KEY_ENVELOPE_LIMITS: CompactLimits = { maxLength: 4096, maxHeaderLength: 1024 };

const EXPECT: JweExpectations = {
  enc: CONTENT_ENCRYPTION_ALGORITHM,
  // 32 bytes deflated is at most 37; CBC pads that to 48. 64 leaves room for any sane encoder.
  maxCompressedBytes: 64,
  maxPlaintextBytes: KEY_LENGTH_IN_BYTES,
  overInflation: 'failed',
};

/**
 * Wraps `passphrase` for `key` with `alg` (by default the key's, see `wrapAlgorithmOf`), header
 * members in node-jose's order, which 3.0 keeps.
 */
export function wrapPassphrase(key: RecipientKey, passphrase: Buffer, alg?: WrapAlgorithm): string {
  const header = { zip: 'DEF', enc: EXPECT.enc, alg: wrapAlgorithmOf(key, alg), kid: key.kid };
  return encryptCompactJwe(key, EXPECT.enc, header, passphrase, true);
}

/** A key envelope whose structure and header are checked, before any key is used. */
export interface CheckedKeyEnvelope {
  readonly jwe: CompactJwe;
  readonly checked: CheckedHeader;
  /** What its header says; the envelope is compressed, but a legacy body's payload never is. */
  readonly learned: LearnedHeader;
}

/** Parses and checks an `encryptedAESKey`. */
export function checkKeyEnvelope(text: string): CheckedKeyEnvelope {
  const jwe = parseCompactJwe(text, KEY_ENVELOPE_LIMITS);
  const checked = checkJweHeader(jwe, EXPECT);
  return { jwe, checked, learned: { kid: checked.kid, alg: checked.alg, enc: EXPECT.enc, compressed: false } };
}

/** Opens a checked key envelope for `key`: the one step that uses the private key. Resolves to the passphrase. */
export async function openKeyEnvelope(envelope: CheckedKeyEnvelope, unwrap: UnwrapKey): Promise<Buffer> {
  const passphrase = await openJwe(envelope.jwe, envelope.checked, unwrap, EXPECT);
  if (passphrase.length !== KEY_LENGTH_IN_BYTES) throw new DecryptionFailedError();
  return passphrase;
}
