/**
 * The receiver's first look at a body: its size, then its characters, then the spellings a
 * transport makes of it, undone, before anything is decoded.
 *
 * What a transport may do to the text of a body, and is undone here (2.0.3 read all three):
 * - spaces, tabs and line breaks around it (a file, a pipe, a final newline);
 * - line breaks inside it (MIME and PEM-style wrapping, `base64 -w 76`, mail and queue bridges);
 * - JSON-encoding it once: `"eyJ…"`, what `JSON.stringify(body)` or a JSON-minded gateway gives,
 *   read as a JSON string literal (escapes and all), with the two steps above applied inside.
 * Everything else (the standard base64 alphabet, padding, spaces inside, a second level of
 * quotes, characters above U+007F) is a different encoder, not a transport, and stays refused, so
 * that the text left, the canonical body, is the one spelling of that body.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';

import { BodyMalformedError, BodyTooLargeError } from '../core/errors';
import { isAsciiBytes, isAsciiText } from './ascii';

/** What a receiver accepts as a body: its text, or the bytes of its text. */
export type EncryptedBody = string | Uint8Array;

const QUOTE = 0x22;

const isAsciiSpace = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

/** Drops spaces, tabs and line breaks around a body; they cannot change what it decodes to. */
function trimAsciiSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isAsciiSpace(text.charCodeAt(start))) start += 1;
  while (end > start && isAsciiSpace(text.charCodeAt(end - 1))) end -= 1;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

const LINE_BREAKS = /[\r\n]+/g;

/** Trimmed, with the line breaks of a wrapped body taken out. */
function unwrapLines(text: string): string {
  const trimmed = trimAsciiSpace(text);
  return trimmed.includes('\n') || trimmed.includes('\r') ? trimmed.replace(LINE_BREAKS, '') : trimmed;
}

/** The string a JSON string literal stands for, or a malformed-body error. */
function unquote(literal: string): string {
  if (literal.length < 2 || literal.charCodeAt(literal.length - 1) !== QUOTE) {
    throw new BodyMalformedError('body is malformed: it opens a JSON string that never closes');
  }
  let inner: unknown;
  try {
    inner = JSON.parse(literal);
  } catch {
    throw new BodyMalformedError('body is malformed: it is not a JSON string literal');
  }
  if (typeof inner !== 'string' || !isAsciiText(inner)) {
    throw new BodyMalformedError('body is malformed: its JSON string holds a character that is not ASCII');
  }
  const text = unwrapLines(inner);
  if (text.charCodeAt(0) === QUOTE) throw new BodyMalformedError('body is malformed: it is quoted more than once');
  return text;
}

/**
 * A body's canonical text, from what the caller handed over. Throws {@link BodyTooLargeError}
 * past `maxBodyBytes` (checked first, on the length alone) and {@link BodyMalformedError} for a
 * non-string, non-byte or empty body, or for any character above U+007F.
 */
export function bodyText(body: unknown, maxBodyBytes: number): string {
  let text: string;
  if (typeof body === 'string') {
    if (body.length > maxBodyBytes) throw new BodyTooLargeError();
    if (!isAsciiText(body)) throw new BodyMalformedError('body is malformed: it holds a character that is not ASCII');
    text = body;
  } else if (body instanceof Uint8Array) {
    if (body.byteLength > maxBodyBytes) throw new BodyTooLargeError();
    if (!isAsciiBytes(body)) throw new BodyMalformedError('body is malformed: it holds a byte that is not ASCII');
    text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  } else {
    throw new BodyMalformedError('body is malformed: expected a string or bytes');
  }
  text = unwrapLines(text);
  if (text.charCodeAt(0) === QUOTE) text = unquote(text);
  if (text.length === 0) throw new BodyMalformedError('body is malformed: it is empty');
  return text;
}

/** The SHA-256 of a canonical body's text, in lowercase hex: one value per body, however it was spelled on the way. */
export function bodySha256(canonical: string): string {
  return createHash('sha256').update(canonical, 'latin1').digest('hex');
}
