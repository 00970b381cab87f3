/**
 * The legacy format's `encryptedPayload`: base64 of salt(64) || iv(12) || tag(16) || ciphertext,
 * AES-256-GCM under PBKDF2-HMAC-SHA512(passphrase, salt, 10000, 32). Byte-compatible with
 * `@elastic/node-crypto`, which the original uses.
 *
 * @packageDocumentation
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';

import { LEGACY_KEY_DERIVATION } from '../../core/algorithms';
import { BodyMalformedError, DecryptionFailedError } from '../../core/errors';
import { pbkdf2Sha512 } from '../../accelerator/pbkdf2-sha512';
import { decodeBase64 } from '../../encoding/strict-base64';

const SALT_LENGTH = LEGACY_KEY_DERIVATION.saltBytes;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = SALT_LENGTH + IV_LENGTH + TAG_LENGTH;
const PBKDF2_ITERATIONS = LEGACY_KEY_DERIVATION.iterations;
const AES_KEY_LENGTH = LEGACY_KEY_DERIVATION.keyBytes;

/** Derives the AES key on libuv's thread pool, never on the event loop. */
function deriveKey(passphrase: Buffer, salt: Buffer): Promise<Buffer> {
  return pbkdf2Sha512(passphrase, salt, PBKDF2_ITERATIONS, AES_KEY_LENGTH);
}

/** A fresh passphrase, a fresh salt and the AES key derived from them: everything but the payload. */
export interface PayloadKey {
  readonly passphrase: Buffer;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/** Makes a {@link PayloadKey} for `passphrase` with a fresh random salt. */
export async function makePayloadKey(passphrase: Buffer): Promise<PayloadKey> {
  const salt = randomBytes(SALT_LENGTH);
  return { passphrase, salt, key: await deriveKey(passphrase, salt) };
}

/** Encrypts the UTF-8 JSON text of a payload under a derived key; returns the base64 `encryptedPayload`. */
export function sealPayloadWith(payloadKey: PayloadKey, json: string): string {
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', createSecretKey(payloadKey.key), iv, { authTagLength: TAG_LENGTH });
  const ciphertext = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
  return Buffer.concat([payloadKey.salt, iv, cipher.getAuthTag(), ciphertext]).toString('base64');
}


/** The decoded parts of an `encryptedPayload`, checked before any key derivation. */
export interface SealedPayload {
  readonly salt: Buffer;
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly ciphertext: Buffer;
}

/**
 * Decodes an `encryptedPayload`. A payload is at least one byte of JSON, so anything not longer
 * than salt + IV + tag is malformed; that is settled here, before PBKDF2 would run.
 */
export function parseSealedPayload(encryptedPayload: string): SealedPayload {
  const bytes = decodeBase64(encryptedPayload);
  if (bytes === undefined) throw new BodyMalformedError('body is malformed: encryptedPayload is not base64');
  if (bytes.length <= HEADER_LENGTH) throw new BodyMalformedError('body is malformed: encryptedPayload is too short');
  return {
    salt: bytes.subarray(0, SALT_LENGTH),
    iv: bytes.subarray(SALT_LENGTH, SALT_LENGTH + IV_LENGTH),
    tag: bytes.subarray(SALT_LENGTH + IV_LENGTH, HEADER_LENGTH),
    ciphertext: bytes.subarray(HEADER_LENGTH),
  };
}

/**
 * Decrypts and authenticates; any failure is {@link DecryptionFailedError}. Returns the plaintext
 * bytes only once `final()` has verified the tag: nothing is decoded from unauthenticated bytes.
 */
export async function openPayload(passphrase: Buffer, sealed: SealedPayload): Promise<Buffer> {
  const key = await deriveKey(passphrase, sealed.salt);
  try {
    const decipher = createDecipheriv('aes-256-gcm', createSecretKey(key), sealed.iv, { authTagLength: TAG_LENGTH });
    decipher.setAuthTag(sealed.tag);
    const plaintext = decipher.update(sealed.ciphertext);
    // final() verifies the tag and adds nothing for GCM: skip a copy of a large plaintext.
    const rest = decipher.final();
    return rest.length === 0 ? plaintext : Buffer.concat([plaintext, rest]);
  } catch {
    throw new DecryptionFailedError();
  } finally {
    key.fill(0);
  }
}
