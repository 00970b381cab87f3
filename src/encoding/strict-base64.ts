/**
 * Strict decoders. `Buffer.from(s, 'base64')` is lenient: it skips characters it does not know,
 * accepts both alphabets and stops at stray padding. A string taken from a body is accepted only
 * when it is the one canonical spelling of its bytes, checked without a per-character loop (a
 * regular expression over a multi-megabyte body cost several times the decoding itself):
 *
 * - the other alphabet's characters are refused with a native substring search;
 * - any skipped character (foreign, whitespace, misplaced `=`) makes the output shorter than the
 *   length the input's size implies;
 * - the bits of the last character that carry no data must be zero;
 * - any character above U+007F is refused first: the decoder would read only its low byte.
 *
 * `test/base64.test.ts` checks this against a plain regular-expression reference.
 *
 * @packageDocumentation
 */

import { isAsciiText } from './ascii';

const URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const STD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function lastCharIsCanonical(ch: string, alphabet: string, unusedBits: number): boolean {
  const value = alphabet.indexOf(ch);
  return value >= 0 && (value & ((1 << unusedBits) - 1)) === 0;
}

/** Decodes unpadded base64url, or returns `undefined` when `s` is not canonical base64url. */
export function decodeBase64Url(s: string): Buffer | undefined {
  return isAsciiText(s) ? decodeAsciiBase64Url(s) : undefined;
}

/**
 * {@link decodeBase64Url} for a part of a text already known to be ASCII: the check is cheap on
 * a whole body and several times dearer on each substring of it.
 */
export function decodeAsciiBase64Url(s: string): Buffer | undefined {
  const rest = s.length % 4;
  if (rest === 1 || s.includes('+') || s.includes('/') || s.includes('=')) return undefined;
  const bytes = Buffer.from(s, 'base64url');
  if (bytes.length !== Math.floor((s.length * 3) / 4)) return undefined;
  if (rest !== 0 && !lastCharIsCanonical(s.charAt(s.length - 1), URL_ALPHABET, rest === 2 ? 4 : 2)) return undefined;
  return bytes;
}

/** Decodes padded standard base64, or returns `undefined` when `s` is not canonical base64. */
export function decodeBase64(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || !isAsciiText(s) || s.includes('-') || s.includes('_')) return undefined;
  const padding = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length !== (s.length / 4) * 3 - padding) return undefined;
  if (padding !== 0 && !lastCharIsCanonical(s.charAt(s.length - padding - 1), STD_ALPHABET, padding === 2 ? 4 : 2)) {
    return undefined;
  }
  return bytes;
}
