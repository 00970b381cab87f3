/**
 * The legacy body: base64url (no padding) of the UTF-8 JSON `{ encryptedAESKey, encryptedPayload }`.
 *
 * Both strings are ASCII without characters JSON escapes, so `JSON.stringify` spells the envelope
 * one way only: `{"encryptedAESKey":"…","encryptedPayload":"…"}`. A receiver reads exactly that
 * spelling, with two substring searches over the decoded bytes and no `JSON.parse`: a body that is
 * not an envelope costs nothing beyond its decoding, and one body has one spelling.
 *
 * @packageDocumentation
 */
import { BodyMalformedError, BodyTooLargeError } from '../../core/errors';
import { bodyText } from '../../encoding/body-text';
import { decodeBase64Url } from '../../encoding/strict-base64';
import { KEY_ENVELOPE_LIMITS } from './key-envelope';

/** The two strings inside a legacy body. */
export interface PackedBody {
  /** The compact JWE that carries the passphrase. */
  encryptedAESKey: string;
  /** The base64 AES-256-GCM payload. */
  encryptedPayload: string;
}

const OPENING = Buffer.from('{"encryptedAESKey":"', 'ascii');
const BETWEEN = Buffer.from('","encryptedPayload":"', 'ascii');
const CLOSING = Buffer.from('"}', 'ascii');

/** Builds a legacy body from its two parts, exactly as `@elastic/request-crypto` does. */
export function packBody(encryptedAESKey: string, encryptedPayload: string): string {
  return Buffer.from(JSON.stringify({ encryptedAESKey, encryptedPayload }), 'utf8').toString('base64url');
}

const notAnEnvelope = (): BodyMalformedError =>
  new BodyMalformedError('body is malformed: it is not {"encryptedAESKey":"…","encryptedPayload":"…"}');

/**
 * Decodes a legacy body strictly into its two parts. Throws {@link BodyMalformedError}, or
 * {@link BodyTooLargeError} when the key JWE is longer than any wrapped key can be.
 */
export function openEnvelope(text: string): PackedBody {
  const bytes = decodeBase64Url(text);
  if (bytes === undefined) throw new BodyMalformedError('body is malformed: it is not base64url');
  const keyStart = OPENING.length;
  if (bytes.length < keyStart + BETWEEN.length + CLOSING.length || !bytes.subarray(0, keyStart).equals(OPENING)) {
    throw notAnEnvelope();
  }
  const keyEnd = bytes.indexOf(BETWEEN, keyStart);
  if (keyEnd < 0) throw notAnEnvelope();
  if (keyEnd - keyStart > KEY_ENVELOPE_LIMITS.maxLength) {
    throw new BodyTooLargeError('body is too large: JWE exceeds its length limit');
  }
  const payloadStart = keyEnd + BETWEEN.length;
  const payloadEnd = bytes.length - CLOSING.length;
  if (payloadEnd < payloadStart || !bytes.subarray(payloadEnd).equals(CLOSING)) throw notAnEnvelope();
  // latin1 maps each byte to one character; the strict decoders refuse quotes, escapes and non-ASCII.
  return {
    encryptedAESKey: bytes.toString('latin1', keyStart, keyEnd),
    encryptedPayload: bytes.toString('latin1', payloadStart, payloadEnd),
  };
}

/**
 * Splits a legacy body into its two parts (the original's `unpackBody`), after undoing the
 * spellings a transport makes (see `bodyText`). Unlike the original it rejects anything malformed with {@link BodyMalformedError} instead of returning `undefined`s.
 */
export function unpackBody(packedBody: string): PackedBody {
  if (typeof packedBody !== 'string' || packedBody.length === 0) {
    throw new BodyMalformedError('body is malformed: expected a non-empty string');
  }
  // The spellings a transport makes (quoted, line-wrapped) are read as the original read them.
  return openEnvelope(bodyText(packedBody, Number.POSITIVE_INFINITY));
}
