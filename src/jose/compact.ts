/**
 * JWE compact serialisation (RFC 7516 §7.1): five base64url parts joined by dots. Parsing is
 * strict and bounded; nothing here touches a key.
 *
 * @packageDocumentation
 */
import { BodyMalformedError, BodyTooLargeError } from '../core/errors';
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

/**
 * Deepest nesting of a protected header: the header object is level 1, `ctx` level 2. Real headers
 * hold `zip`, `enc`, `alg`, `kid`, `cty`, `iat` and `ctx` with its string pairs, nothing deeper.
 */
export const MAX_HEADER_DEPTH = 8;
/**
 * Most members (and array elements) of a protected header, all levels counted: seven members and
 * a `ctx` of up to {@link MAX_CONTEXT_PAIRS} pairs fit.
 */
export const MAX_HEADER_MEMBERS = 128;
/** Most pairs of a bound context, which the sender refuses beyond (so that receivers accept its bodies). */
export const MAX_CONTEXT_PAIRS = 100;

/**
 * Refuses a header nested deeper than {@link MAX_HEADER_DEPTH} or holding more than
 * {@link MAX_HEADER_MEMBERS} members, before `JSON.parse` runs: what a receiver is handed back
 * (`getJWKMetadata`, `onDecrypt`, its logs) must be cheap to copy and safe to `JSON.stringify`.
 * One pass over the text, outside strings only; JSON.parse still judges whether it is JSON.
 */
function checkHeaderShape(json: string): void {
  // For each open container: true for an array, whose elements are counted at `[` and each `,`;
  // an object's members are counted at each `:`.
  const arrays: boolean[] = [];
  let members = 0;
  let inString = false;
  for (let i = 0; i < json.length; i += 1) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      // { or [
      if (arrays.length === MAX_HEADER_DEPTH) throw new BodyMalformedError('body is malformed: JWE header nests too deep');
      arrays.push(c === 0x5b);
      if (c === 0x5b) members += 1;
    } else if (c === 0x7d || c === 0x5d) {
      arrays.pop();
    } else if (c === 0x3a || (c === 0x2c && arrays[arrays.length - 1] === true)) {
      members += 1;
    } else {
      continue;
    }
    if (members > MAX_HEADER_MEMBERS) throw new BodyMalformedError('body is malformed: JWE header has too many members');
  }
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
  // Once for the whole text (unless the caller has checked it: on Node 24 the check is not free,
  // bench/PROFILE.md): each part is then decoded without checking its characters again.
  if (!knownAscii && !isAsciiText(text)) throw new BodyMalformedError('body is malformed: JWE is not base64url');
  const parts = splitFive(text);
  if (parts === undefined) throw new BodyMalformedError('body is malformed: JWE does not have five parts');
  const [protectedText, encryptedKey, iv, ciphertext, tag] = parts;
  if (protectedText.length === 0) throw new BodyMalformedError('body is malformed: JWE header is empty');
  if (protectedText.length > limits.maxHeaderLength) {
    throw new BodyTooLargeError('body is too large: JWE header exceeds its length limit');
  }
  const headerText = decodePart(protectedText, 'header').toString('utf8');
  checkHeaderShape(headerText);
  let header: unknown;
  try {
    header = JSON.parse(headerText);
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
