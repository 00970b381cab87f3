/**
 * The legacy body: base64url (no padding) of the UTF-8 JSON `{ encryptedAESKey, encryptedPayload }`.
 *
 * @packageDocumentation
 */
import { BodyMalformedError, BodyTooLargeError } from '../errors';
import { decodeBase64Url } from '../encoding/strict-base64';

/** The two strings inside a legacy body. */
export interface PackedBody {
  /** The compact JWE that carries the passphrase. */
  encryptedAESKey: string;
  /** The base64 AES-256-GCM payload. */
  encryptedPayload: string;
}

/** What a receiver accepts as a body: its text, or the bytes of its text. */
export type EncryptedBody = string | Uint8Array;

/** Builds a legacy body from its two parts, exactly as `@elastic/request-crypto` does. */
export function packBody(encryptedAESKey: string, encryptedPayload: string): string {
  return Buffer.from(JSON.stringify({ encryptedAESKey, encryptedPayload }), 'utf8').toString('base64url');
}

const isAsciiSpace = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

/**
 * Drops spaces, tabs and line breaks around a body: the original accepted them (a mediator or a
 * file may add a final newline), and they cannot change what the body decodes to.
 */
function trimAsciiSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isAsciiSpace(text.charCodeAt(start))) start += 1;
  while (end > start && isAsciiSpace(text.charCodeAt(end - 1))) end -= 1;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/**
 * Reads a body's text from what the caller handed over, checking its size before anything else.
 * Throws {@link BodyMalformedError} for a non-string, non-byte or empty body and
 * {@link BodyTooLargeError} past `maxBodyBytes`.
 */
export function bodyText(body: unknown, maxBodyBytes: number): string {
  let text: string;
  if (typeof body === 'string') {
    if (body.length > maxBodyBytes) throw new BodyTooLargeError();
    text = body;
  } else if (body instanceof Uint8Array) {
    if (body.byteLength > maxBodyBytes) throw new BodyTooLargeError();
    // A body is ASCII; latin1 maps each byte to one character, and the alphabet check rejects the rest.
    text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  } else {
    throw new BodyMalformedError('body is malformed: expected a string or bytes');
  }
  text = trimAsciiSpace(text);
  if (text.length === 0) throw new BodyMalformedError('body is malformed: it is empty');
  return text;
}

/** Decodes a legacy body strictly into its two parts. Throws {@link BodyMalformedError}. */
export function openEnvelope(text: string): PackedBody {
  const bytes = decodeBase64Url(text);
  if (bytes === undefined) throw new BodyMalformedError('body is malformed: it is not base64url');
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BodyMalformedError('body is malformed: it does not hold JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BodyMalformedError('body is malformed: it does not hold a JSON object');
  }
  const { encryptedAESKey, encryptedPayload } = parsed as Record<string, unknown>;
  if (typeof encryptedAESKey !== 'string' || typeof encryptedPayload !== 'string') {
    throw new BodyMalformedError('body is malformed: encryptedAESKey and encryptedPayload must be strings');
  }
  return { encryptedAESKey, encryptedPayload };
}

/**
 * Splits a legacy body into its two parts (the original's `unpackBody`). Unlike the original it
 * rejects anything malformed with {@link BodyMalformedError} instead of returning `undefined`s.
 */
export function unpackBody(packedBody: string): PackedBody {
  if (typeof packedBody !== 'string' || packedBody.length === 0) {
    throw new BodyMalformedError('body is malformed: expected a non-empty string');
  }
  return openEnvelope(packedBody);
}
