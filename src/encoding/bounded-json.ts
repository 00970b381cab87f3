/**
 * JSON text to a value, with its cost bounded before `JSON.parse` runs. An authenticated payload
 * is still untrusted (anyone with the public key can make one), and `JSON.parse` can turn a few
 * megabytes of `[{},{},…]` into hundreds of megabytes of objects. One pass over the bytes counts
 * what parsing would build and how deep it nests: in WebAssembly with SIMD where it can vouch for
 * the payload, else in JavaScript, which skips strings with native searches and is the reference.
 *
 * @packageDocumentation
 */
import { BodyMalformedError, PayloadTooComplexError } from '../errors';
import { simdWithinLimits } from './simd-json-scan';

/** What one payload may cost. */
export interface JsonLimits {
  /**
   * Most JSON values and member names, counted by the characters that introduce them: `[` its
   * first element, `{` its first member and itself, `,` the next element or member, `:` a
   * member's value. `[0,0,0]` counts 3, `{"a":1,"b":2}` counts 5.
   */
  readonly maxValues: number;
  /** Deepest nesting of arrays and objects. */
  readonly maxDepth: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

// What each byte is to the scan: most are nothing; the rest open a string, a container, close one,
// or introduce a value.
const OTHER = 0;
const STRING = 1;
const OBJECT = 2;
const ARRAY = 3;
const CLOSE = 4;
const SEPARATOR = 5;
const KIND = new Uint8Array(256);
KIND[QUOTE] = STRING;
KIND[0x7b] = OBJECT; // {
KIND[0x5b] = ARRAY; // [
KIND[0x7d] = CLOSE; // }
KIND[0x5d] = CLOSE; // ]
KIND[0x2c] = SEPARATOR; // ,
KIND[0x3a] = SEPARATOR; // :

// Strings are read byte by byte up to this length; past it, a native search for the closing quote
// is cheaper than the loop (and a long string costs no more than its search).
const SHORT_STRING = 32;

// Below this many bytes the JavaScript scan is as fast as the calls into WebAssembly (~40 ns).
const SIMD_FROM = 32;

const notJson = (): BodyMalformedError => new BodyMalformedError('body is malformed: the payload is not JSON');

/**
 * The index just past the closing quote of a long string, searching natively from `from`, where
 * no escape is pending; -1 when the string never closes.
 */
function skipLongString(bytes: Buffer, from: number): number {
  let at = from;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, at);
    if (quote < 0) return -1;
    // Only backslashes from `at` on can escape this quote: any before it were paired already.
    let backslashes = 0;
    while (quote - 1 - backslashes >= at && bytes[quote - 1 - backslashes] === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

/**
 * Throws {@link PayloadTooComplexError} when `bytes` nests deeper or holds more values than
 * `limits` allow, and {@link BodyMalformedError} when a string in them never closes. It does not
 * validate JSON; `JSON.parse` does that afterwards.
 *
 * The WebAssembly scan (`simd-json-scan.ts`) vouches for most payloads several times faster;
 * whatever it does not vouch for, {@link checkJsonCostJs} scans again and judges, so both the
 * verdict and the error are always that function's.
 */
export function checkJsonCost(bytes: Buffer, limits: JsonLimits): void {
  if (bytes.length >= SIMD_FROM && simdWithinLimits(bytes, limits.maxDepth, limits.maxValues)) return;
  checkJsonCostJs(bytes, limits);
}

/**
 * The JSON cost scan in JavaScript, byte by byte: what {@link checkJsonCost} means, and what it
 * runs where the WebAssembly scan cannot vouch for a payload or is not available.
 */
export function checkJsonCostJs(bytes: Buffer, limits: JsonLimits): void {
  const { maxDepth, maxValues } = limits;
  const end = bytes.length;
  let depth = 0;
  let values = 0;
  let at = 0;
  while (at < end) {
    const kind = KIND[bytes[at]!];
    at += 1;
    if (kind === OTHER) continue;
    if (kind === STRING) {
      // Short strings are read here, in the loop (a call per string cost a third of the scan);
      // the rest of a long one is found by native search.
      const shortEnd = Math.min(end, at + SHORT_STRING);
      let closed = false;
      while (at < shortEnd) {
        const byte = bytes[at]!;
        at += 1;
        if (byte === QUOTE) {
          closed = true;
          break;
        }
        if (byte === BACKSLASH) at += 1; // the escaped byte, whatever it is
      }
      if (!closed) {
        at = skipLongString(bytes, at);
        if (at < 0) throw notJson();
      }
      continue;
    }
    if (kind === CLOSE) {
      depth -= 1;
      continue;
    }
    if (kind === SEPARATOR) {
      values += 1;
    } else {
      depth += 1;
      if (depth > maxDepth) {
        throw new PayloadTooComplexError(`payload is too complex: it nests deeper than ${maxDepth} levels`);
      }
      // An object costs V8 about twice what a number or an array slot does: count it once more.
      values += kind === OBJECT ? 2 : 1;
    }
    if (values > maxValues) {
      throw new PayloadTooComplexError(`payload is too complex: it holds more than ${maxValues} values`);
    }
  }
}

/**
 * Parses UTF-8 JSON bytes once {@link checkJsonCost} allows them. Throws
 * {@link BodyMalformedError} when they are not JSON.
 */
export function parseBoundedJson(bytes: Buffer, limits: JsonLimits): unknown {
  checkJsonCost(bytes, limits);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    // Authenticated, so no oracle: the sender encrypted something that is not JSON.
    throw notJson();
  }
}
