/**
 * The legacy format's `encryptedPayload`: base64 of salt(64) || iv(12) || tag(16) || ciphertext,
 * AES-256-GCM under PBKDF2-HMAC-SHA512(passphrase, salt, 10000, 32). Byte-compatible with
 * `@elastic/node-crypto`, which the original uses.
 *
 * @packageDocumentation
 */
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes } from 'node:crypto';

import { BodyMalformedError, DecryptionFailedError } from './errors';
import { decodeBase64 } from './lib/base64';

const SALT_LENGTH = 64;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = SALT_LENGTH + IV_LENGTH + TAG_LENGTH;
const PBKDF2_ITERATIONS = 10000;
const PBKDF2_DIGEST = 'sha512';
const AES_KEY_LENGTH = 32;

/** Derives the AES key on libuv's thread pool, never on the event loop. */
function deriveKey(passphrase: Buffer, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(passphrase, salt, PBKDF2_ITERATIONS, AES_KEY_LENGTH, PBKDF2_DIGEST, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Encrypts the UTF-8 JSON text of a payload; returns the base64 `encryptedPayload`. */
export async function sealPayload(passphrase: Buffer, json: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const iv = randomBytes(IV_LENGTH);
  const key = await deriveKey(passphrase, salt);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  const ciphertext = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
  return Buffer.concat([salt, iv, cipher.getAuthTag(), ciphertext]).toString('base64');
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

/** Decrypts and authenticates; any failure is {@link DecryptionFailedError}. Returns the plaintext. */
export async function openPayload(passphrase: Buffer, sealed: SealedPayload): Promise<Buffer> {
  const key = await deriveKey(passphrase, sealed.salt);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: TAG_LENGTH });
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch {
    throw new DecryptionFailedError();
  }
}
