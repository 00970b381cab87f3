/**
 * The receiver's first look at a body: its size, then its characters, before anything is decoded.
 *
 * @packageDocumentation
 */
import { BodyMalformedError, BodyTooLargeError } from '../errors';
import { isAsciiBytes, isAsciiText } from './ascii';

/** What a receiver accepts as a body: its text, or the bytes of its text. */
export type EncryptedBody = string | Uint8Array;

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
 * Reads a body's text from what the caller handed over. Throws {@link BodyTooLargeError} past
 * `maxBodyBytes` (checked first, on the length alone) and {@link BodyMalformedError} for a
 * non-string, non-byte or empty body, or for any character above U+007F: a body has one spelling.
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
  text = trimAsciiSpace(text);
  if (text.length === 0) throw new BodyMalformedError('body is malformed: it is empty');
  return text;
}
