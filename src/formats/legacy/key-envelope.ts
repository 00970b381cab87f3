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
import { checkJweHeader, chooseKey, openJwe, type CheckedHeader, type JweExpectations } from '../../jose/decrypt';
import { encryptCompactJwe, wrapAlgorithmOf } from '../../jose/encrypt';
import type { Keyring, RecipientKey } from '../../keys/keyset';
import type { KeyCustody } from '../../keys/unwrap';
import { KEY_LENGTH_IN_BYTES } from './passphrase';
import type { BodyHeader, JWKMetadata } from '../../core/types';
import { learnHeader, type BodyFacts } from '../../receiver/decrypt-event';

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

/** What opening a key envelope yields. */
export interface OpenedKeyEnvelope {
  readonly passphrase: Buffer;
  readonly key: RecipientKey;
  /** The protected header's member names, in order. */
  readonly protected: string[];
  /** The protected header. */
  readonly header: BodyHeader;
  readonly metadata: JWKMetadata;
}

/**
 * Parses and checks an `encryptedAESKey` and chooses its key, before any key is used. The checked
 * header goes into `facts`, for the `onDecrypt` event of a body that fails later.
 */
export function checkKeyEnvelope(text: string, keyring: Keyring, custody: KeyCustody, facts?: BodyFacts): CheckedKeyEnvelope {
  const jwe = parseCompactJwe(text, KEY_ENVELOPE_LIMITS);
  const checked = checkJweHeader(jwe, EXPECT);
  // The envelope is compressed, but a legacy body's payload never is.
  learnHeader(facts, checked, EXPECT.enc, false);
  return { jwe, checked, key: chooseKey(keyring, checked, custody.privateElsewhere) };
}

/** A key envelope whose structure and kid are checked. */
export interface CheckedKeyEnvelope {
  readonly jwe: CompactJwe;
  readonly checked: CheckedHeader;
  readonly key: RecipientKey;
}

/** Opens a checked key envelope: the one step that uses the private key. */
export async function openKeyEnvelope(envelope: CheckedKeyEnvelope, custody: KeyCustody): Promise<OpenedKeyEnvelope> {
  const { jwe, checked, key } = envelope;
  const passphrase = await openJwe(jwe, checked, custody.unwrap, EXPECT);
  if (passphrase.length !== KEY_LENGTH_IN_BYTES) throw new DecryptionFailedError();
  return {
    passphrase,
    key,
    protected: [...jwe.headerNames],
    header: { ...jwe.header } as BodyHeader,
    metadata: { ...key.metadata },
  };
}
