/**
 * JWE compact serialisation (RFC 7516 §7.1): five base64url parts joined by dots. Parsing is
 * strict and bounded; nothing here touches a key.
 *
 * @packageDocumentation
 */
import { BodyMalformedError, BodyTooLargeError } from '../errors';
import { isAsciiText } from '../encoding/ascii';
import { decodeAsciiBase64Url } from '../encoding/strict-base64';

/** A compact JWE split into its parts, with the protected header parsed. */
export interface CompactJwe {
  /** The protected header exactly as sent: it is the additional authenticated data. */
  readonly protectedText: string;
  /** The protected header's members. */
  readonly header: Readonly<Record<string, unknown>>;
  /** Member names of the protected header, in the order they were sent. */
  readonly headerNames: readonly string[];
  readonly encryptedKey: Buffer;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

/** Upper bounds for one compact JWE, checked before anything is decoded. */
export interface CompactLimits {
  /** Longest accepted compact text, in characters. */
  readonly maxLength: number;
  /** Longest accepted protected header, in characters of base64url. */
  readonly maxHeaderLength: number;
}

/** Decodes one part of a compact JWE whose whole text is ASCII. */
function decodePart(part: string, what: string): Buffer {
  const bytes = decodeAsciiBase64Url(part);
  if (bytes === undefined) throw new BodyMalformedError(`body is malformed: JWE ${what} is not base64url`);
  return bytes;
}

/**
 * The five dot-separated parts, or `undefined` for any other count. Finds the dots one by one, so
 * text of millions of dots costs a few searches, not millions of strings.
 */
function splitFive(text: string): [string, string, string, string, string] | undefined {
  const dots: number[] = [];
  for (let at = text.indexOf('.'); at >= 0; at = text.indexOf('.', at + 1)) {
    if (dots.length === 4) return undefined;
    dots.push(at);
  }
  if (dots.length !== 4) return undefined;
  const [a, b, c, d] = dots as [number, number, number, number];
  return [text.slice(0, a), text.slice(a + 1, b), text.slice(b + 1, c), text.slice(c + 1, d), text.slice(d + 1)];
}

/**
 * Splits and decodes a compact JWE. Throws {@link BodyTooLargeError} past `limits`, and
 * {@link BodyMalformedError} for anything that is not five canonical base64url parts with a JSON
 * object as header. `knownAscii`: the caller has already refused every character above U+007F.
 */
export function parseCompactJwe(text: string, limits: CompactLimits, knownAscii = false): CompactJwe {
  if (text.length > limits.maxLength) throw new BodyTooLargeError('body is too large: JWE exceeds its length limit');
  // Once for the whole text (unless the caller has checked it: on Node 24 the check costs about
  // 2 µs per 10 KB): each part is then decoded without checking its characters again.
  if (!knownAscii && !isAsciiText(text)) throw new BodyMalformedError('body is malformed: JWE is not base64url');
  const parts = splitFive(text);
  if (parts === undefined) throw new BodyMalformedError('body is malformed: JWE does not have five parts');
  const [protectedText, encryptedKey, iv, ciphertext, tag] = parts;
  if (protectedText.length === 0) throw new BodyMalformedError('body is malformed: JWE header is empty');
  if (protectedText.length > limits.maxHeaderLength) {
    throw new BodyTooLargeError('body is too large: JWE header exceeds its length limit');
  }
  const headerBytes = decodePart(protectedText, 'header');
  let header: unknown;
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch {
    throw new BodyMalformedError('body is malformed: JWE header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new BodyMalformedError('body is malformed: JWE header is not a JSON object');
  }
  return {
    protectedText,
    header: header as Record<string, unknown>,
    headerNames: Object.keys(header),
    encryptedKey: decodePart(encryptedKey, 'encrypted key'),
    iv: decodePart(iv, 'IV'),
    ciphertext: decodePart(ciphertext, 'ciphertext'),
    tag: decodePart(tag, 'tag'),
  };
}

/** Joins the parts of a compact JWE. */
export function serializeCompactJwe(
  protectedText: string,
  encryptedKey: Buffer,
  iv: Buffer,
  ciphertext: Buffer,
  tag: Buffer,
): string {
  return [
    protectedText,
    encryptedKey.toString('base64url'),
    iv.toString('base64url'),
    ciphertext.toString('base64url'),
    tag.toString('base64url'),
  ].join('.');
}

/** The base64url text of a protected header object, members in insertion order. */
export function encodeProtectedHeader(header: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(header), 'utf8').toString('base64url');
}
