/**
 * ASCII checks. Node's base64 decoder and its `'ascii'`/`'latin1'` encodings keep only the low
 * eight bits of each UTF-16 unit, so `'\u4165'` reads as `e`: every character of a body would have
 * about 255 other spellings that decode the same. Everything a body is made of is ASCII, so
 * anything else is refused before it reaches those decoders.
 *
 * @packageDocumentation
 */
import { isAscii } from 'node:buffer';

/**
 * True when every UTF-16 unit of `text` is at most U+007F. Native and allocation-free: UTF-8
 * takes exactly one byte per character only for ASCII (a lone surrogate takes three).
 */
export function isAsciiText(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') === text.length;
}

/** True when every byte is at most 0x7F. */
export function isAsciiBytes(bytes: Uint8Array): boolean {
  return isAscii(bytes);
}
