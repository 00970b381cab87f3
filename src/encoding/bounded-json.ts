/**
 * JSON text to a value, with its cost bounded before `JSON.parse` runs. An authenticated payload
 * is still untrusted (anyone with the public key can make one), and `JSON.parse` can turn a few
 * megabytes of `[{},{},…]` into hundreds of megabytes of objects. One pass over the bytes counts
 * what parsing would build and how deep it nests; strings are skipped with native searches.
 *
 * @packageDocumentation
 */
import { BodyMalformedError, PayloadTooComplexError } from '../errors';

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
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const notJson = (): BodyMalformedError => new BodyMalformedError('body is malformed: the payload is not JSON');

/** The index just past the string that opens at `open`, or -1 when it never closes. */
function skipString(bytes: Buffer, open: number): number {
  let at = open + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, at);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (bytes[quote - 1 - backslashes] === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

/**
 * Throws {@link PayloadTooComplexError} when `bytes` nests deeper or holds more values than
 * `limits` allow. It does not validate JSON; `JSON.parse` does that afterwards.
 */
export function checkJsonCost(bytes: Buffer, limits: JsonLimits): void {
  let depth = 0;
  let values = 0;
  const end = bytes.length;
  for (let at = 0; at < end; ) {
    const byte = bytes[at];
    if (byte === QUOTE) {
      at = skipString(bytes, at);
      if (at < 0) throw notJson();
      continue;
    }
    if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth += 1;
      if (depth > limits.maxDepth) {
        throw new PayloadTooComplexError(`payload is too complex: it nests deeper than ${limits.maxDepth} levels`);
      }
      // An object costs V8 about twice what a number or an array slot does: count it once more.
      values += byte === OPEN_OBJECT ? 2 : 1;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth -= 1;
    } else if (byte === COMMA || byte === COLON) {
      values += 1;
    } else {
      at += 1;
      continue;
    }
    if (values > limits.maxValues) {
      throw new PayloadTooComplexError(`payload is too complex: it holds more than ${limits.maxValues} values`);
    }
    at += 1;
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
