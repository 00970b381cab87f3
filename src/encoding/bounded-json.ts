/**
 * JSON text to a value, with its cost bounded before `JSON.parse` runs. An authenticated payload
 * is still untrusted (anyone with the public key can make one), and `JSON.parse` can turn a few
 * megabytes of `[{},{},…]` into a hundred megabytes of objects and seconds of work. One pass over
 * the bytes prices what parsing would build, in cost units of about one byte of V8 heap each
 * (see {@link JSON_COST_WEIGHTS}), and measures how deep it nests.
 *
 * @packageDocumentation
 */
import { BodyMalformedError, PayloadTooComplexError } from '../core/errors';
import type { BodyLimits } from '../core/limits';

/** What one payload may cost. */
export type JsonLimits = Pick<BodyLimits, 'maxPayloadCost' | 'maxPayloadDepth'>;

/**
 * What `JSON.parse` costs V8 per thing it builds, in cost units: one unit is about one byte of
 * peak heap, or 4 ns of parse time on one core, whichever of the two is larger for that thing.
 * Measured by `bench/json-cost.js`; the figures are in `bench/JSON-COST.md`.
 */
export const JSON_COST_WEIGHTS = Object.freeze({
  /** An object, `{…}`. */
  object: 160,
  /** An array, `[…]`. */
  array: 96,
  /** A member of an object whose names so far, in order, an earlier object already had. */
  member: 32,
  /** A member that gives its object a sequence of names no earlier object had: V8 makes a new hidden class. */
  newShape: 800,
  /** An element of an array. */
  element: 24,
  /**
   * A `.`, `e` or `E` outside strings: a number with a fraction or an exponent, which V8 boxes
   * and parses slowly (`true` and `false` pay it too, which only overprices them).
   */
  decimal: 48,
  /** A string value (member names are priced by `member` and `newShape`). */
  string: 64,
  /** A byte between the quotes of a string value or of a new shape's member name (two-byte strings cost V8 two). */
  stringByte: 2,
});

const W = JSON_COST_WEIGHTS;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;

// What each byte is to the scan: most are nothing; the rest open a string, a container, close one,
// or separate members, elements and member names.
const OTHER = 0;
const STRING = 1;
const OBJECT = 2;
const ARRAY = 3;
const CLOSE_OBJECT = 4;
const CLOSE_ARRAY = 5;
const COMMA = 6;
const COLON = 7;
const DECIMAL = 8;
const KIND = new Uint8Array(256);
KIND[QUOTE] = STRING;
KIND[0x7b] = OBJECT; // {
KIND[OPEN_BRACKET] = ARRAY; // [
KIND[0x7d] = CLOSE_OBJECT; // }
KIND[0x5d] = CLOSE_ARRAY; // ]
KIND[0x2c] = COMMA; // ,
KIND[0x3a] = COLON; // :
KIND[0x2e] = DECIMAL; // .
KIND[0x65] = DECIMAL; // e
KIND[0x45] = DECIMAL; // E

const isJsonSpace = (byte: number | undefined): boolean => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

// Strings are read byte by byte up to this length; past it, a native search for the closing quote
// is cheaper than the loop (and a long string costs no more than its search).
const SHORT_STRING = 32;

// Room for this many shapes at first: telemetry objects repeat a few shapes.
const INITIAL_SHAPES = 32;

// A shape lookup gives up after this many slots and counts the member as a new shape: hostile
// member names can make the table slow, never make a payload look cheaper than it is.
const MAX_PROBES = 16;

// FNV-1a, for member names: only spreads them over the shape table, which compares names exactly.
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

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

/** A hash of a member name, for names longer than the scan hashes on its way through. */
function hashName(bytes: Buffer, start: number, length: number): number {
  let hash = FNV_OFFSET;
  for (let i = start; i < start + length; i += 1) hash = Math.imul(hash ^ bytes[i]!, FNV_PRIME);
  return hash;
}

/**
 * The hidden classes `JSON.parse` would make: each is an earlier shape plus one member name,
 * compared byte for byte (a hash alone could be made to collide). It starts small and doubles as
 * shapes are added, up to a bound; once full, every further member counts as new, which only ever
 * overprices. (A table sized for the worst case up front cost more to allocate and collect than
 * the whole scan of a typical payload.)
 */
class ShapeTable {
  // Shape `id` (1, 2, …; 0 is the empty object) is `parent[id - 1]` plus the name at
  // `keyStart[id - 1]`, `keyLength[id - 1]` bytes long, whose hash is `keyHash[id - 1]`.
  private parent: Int32Array<ArrayBuffer> = new Int32Array(INITIAL_SHAPES);
  private keyStart: Int32Array<ArrayBuffer> = new Int32Array(INITIAL_SHAPES);
  private keyLength: Int32Array<ArrayBuffer> = new Int32Array(INITIAL_SHAPES);
  private keyHash: Int32Array<ArrayBuffer> = new Int32Array(INITIAL_SHAPES);
  /** Open addressing, at most a quarter full: a shape's id, or 0 for an empty slot. */
  private slots = new Int32Array(4 * INITIAL_SHAPES);
  private size = 0;
  /** Ids for shapes that were not stored: negative, unlike any stored one or the empty object. */
  private unstored = 0;

  constructor(
    private readonly bytes: Buffer,
    private readonly maxShapes: number,
  ) {}

  /** Whether the last shape {@link ShapeTable.next} gave is one no earlier object had. */
  isNew = false;

  /**
   * The id of the shape that `shape` plus the name at `start`..`start + length` (whose hash is
   * `nameHash`) leads to; {@link ShapeTable.isNew} says whether it is new.
   */
  next(shape: number, start: number, length: number, nameHash: number): number {
    const { slots, parent, keyStart, keyLength, keyHash } = this;
    const mask = slots.length - 1;
    let slot = slotOf(shape, nameHash, mask);
    for (let probe = 0; probe < MAX_PROBES; probe += 1) {
      const id = slots[slot]!;
      if (id === 0) return this.add(slot, shape, start, length, nameHash);
      const at = id - 1;
      if (parent[at] === shape && keyHash[at] === nameHash && keyLength[at] === length && this.sameName(keyStart[at]!, start, length)) {
        this.isNew = false;
        return id;
      }
      slot = (slot + 1) & mask;
    }
    return this.notStored();
  }

  private add(slot: number, shape: number, start: number, length: number, nameHash: number): number {
    if (this.size >= this.maxShapes) return this.notStored();
    const at = this.size;
    if (at === this.parent.length) {
      this.grow();
      // The slot moved with the rest: find the new one.
      return this.next(shape, start, length, nameHash);
    }
    this.size += 1;
    this.parent[at] = shape;
    this.keyStart[at] = start;
    this.keyLength[at] = length;
    this.keyHash[at] = nameHash;
    this.slots[slot] = at + 1;
    this.isNew = true;
    return at + 1;
  }

  /** Twice the room; ids stay what they were, only the slots are laid out again. */
  private grow(): void {
    const room = 2 * this.parent.length;
    const wider = (old: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const next = new Int32Array(room);
      next.set(old);
      return next;
    };
    this.parent = wider(this.parent);
    this.keyStart = wider(this.keyStart);
    this.keyLength = wider(this.keyLength);
    this.keyHash = wider(this.keyHash);
    const slots = new Int32Array(4 * room);
    const mask = slots.length - 1;
    for (let at = 0; at < this.size; at += 1) {
      let slot = slotOf(this.parent[at]!, this.keyHash[at]!, mask);
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = at + 1;
    }
    this.slots = slots;
  }

  private notStored(): number {
    this.unstored -= 1;
    this.isNew = true;
    return this.unstored;
  }

  private sameName(a: number, b: number, length: number): boolean {
    const { bytes } = this;
    for (let i = 0; i < length; i += 1) if (bytes[a + i] !== bytes[b + i]) return false;
    return true;
  }
}

/** Where the shape `shape` plus a name hashed to `nameHash` starts looking, in a table of `mask + 1` slots. */
function slotOf(shape: number, nameHash: number, mask: number): number {
  const hash = Math.imul(shape ^ nameHash, 0x9e3779b1);
  return (hash ^ (hash >>> 15)) & mask;
}

/**
 * Prices `bytes` in cost units ({@link JSON_COST_WEIGHTS}) and returns the price. Throws
 * {@link PayloadTooComplexError} when they nest deeper than `maxPayloadDepth`, and
 * {@link BodyMalformedError} when a string in them never closes. It does not validate JSON;
 * `JSON.parse` does that afterwards. `maxPayloadCost` only sizes the shape table: the price is exact up
 * to it and never lower than the truth above it.
 */
export function measureJsonCost(bytes: Buffer, limits: JsonLimits): number {
  const maxDepth = limits.maxPayloadDepth;
  const end = bytes.length;
  // Per level: whether it is an array, and an object's shape so far (0: no names yet).
  const inArray = new Uint8Array(maxDepth + 1);
  const shapeAt = new Int32Array(maxDepth + 1);
  const shapes = new ShapeTable(bytes, Math.min(Math.ceil(limits.maxPayloadCost / W.newShape) + 1, Math.ceil(end / 4)));
  let depth = 0;
  let objects = 0;
  let arrays = 0;
  let members = 0;
  let newShapes = 0;
  let elements = 0;
  let decimals = 0;
  let strings = 0;
  let stringBytes = 0;
  // The last string read: a member name once a colon follows it.
  let lastStart = 0;
  let lastLength = 0;
  // Its hash, or -1 when not made yet (a long string).
  let lastHash = 0;
  let at = 0;
  while (at < end) {
    const kind = KIND[bytes[at]!];
    at += 1;
    switch (kind) {
      case OTHER:
        continue;
      case STRING: {
        // Short strings are read here, in the loop (a call per string cost a third of the scan);
        // the rest of a long one is found by native search.
        // The hash of a short string is made on the way, in case it is a member name.
        const start = at;
        const shortEnd = Math.min(end, at + SHORT_STRING);
        let closed = false;
        let hash = FNV_OFFSET;
        while (at < shortEnd) {
          const byte = bytes[at]!;
          at += 1;
          if (byte === QUOTE) {
            closed = true;
            break;
          }
          hash = Math.imul(hash ^ byte, FNV_PRIME);
          if (byte === BACKSLASH) at += 1; // the escaped byte, whatever it is
        }
        lastStart = start;
        if (closed) {
          lastLength = at - 1 - start;
          lastHash = hash;
        } else {
          at = skipLongString(bytes, at);
          if (at < 0) throw notJson();
          lastLength = at - 1 - start;
          lastHash = -1; // made when it turns out to be a member name
        }
        strings += 1;
        stringBytes += lastLength;
        continue;
      }
      case OBJECT:
      case ARRAY:
        depth += 1;
        if (depth > maxDepth) {
          throw new PayloadTooComplexError(`payload is too complex: it nests deeper than ${maxDepth} levels`);
        }
        if (kind === OBJECT) {
          objects += 1;
          inArray[depth] = 0;
          shapeAt[depth] = 0;
        } else {
          arrays += 1;
          inArray[depth] = 1;
          elements += 1; // its first element, taken back at `]` when there is none
        }
        continue;
      case CLOSE_ARRAY: {
        let before = at - 2;
        while (before >= 0 && isJsonSpace(bytes[before])) before -= 1;
        if (before >= 0 && bytes[before] === OPEN_BRACKET) elements -= 1;
        depth -= 1;
        continue;
      }
      case CLOSE_OBJECT:
        depth -= 1;
        continue;
      case COMMA:
        if (depth > 0 && inArray[depth] === 1) elements += 1;
        continue;
      case DECIMAL:
        decimals += 1;
        continue;
      default: {
        // A colon: the string before it was a member name, priced as a member, not a string.
        members += 1;
        strings -= 1;
        stringBytes -= lastLength;
        if (depth > 0 && inArray[depth] === 0) {
          if (lastHash === -1) lastHash = hashName(bytes, lastStart, lastLength) & 0x7fffffff;
          shapeAt[depth] = shapes.next(shapeAt[depth]!, lastStart, lastLength, lastHash);
          if (shapes.isNew) {
            newShapes += 1;
            stringBytes += lastLength;
          }
        }
      }
    }
  }
  return (
    objects * W.object +
    arrays * W.array +
    members * W.member +
    newShapes * W.newShape +
    Math.max(0, elements) * W.element +
    decimals * W.decimal +
    Math.max(0, strings) * W.string +
    Math.max(0, stringBytes) * W.stringByte
  );
}

/**
 * Throws {@link PayloadTooComplexError} (with the price and the limit) when `bytes` cost more
 * than `limits.maxPayloadCost` or nest deeper than `limits.maxPayloadDepth`; returns the price otherwise.
 */
export function checkJsonCost(bytes: Buffer, limits: JsonLimits): number {
  const cost = measureJsonCost(bytes, limits);
  if (cost > limits.maxPayloadCost) {
    throw new PayloadTooComplexError(
      `payload is too complex: it costs ${cost} units, more than maxPayloadCost (${limits.maxPayloadCost})`,
      { cost, maxCost: limits.maxPayloadCost },
    );
  }
  return cost;
}

/** A payload parsed, with its price. */
export interface ParsedJson {
  readonly value: unknown;
  /** What {@link measureJsonCost} priced it at. */
  readonly cost: number;
}

/**
 * Parses UTF-8 JSON bytes once {@link checkJsonCost} allows them. Throws
 * {@link BodyMalformedError} when they are not JSON.
 */
export function parseBoundedJson(bytes: Buffer, limits: JsonLimits): ParsedJson {
  const cost = checkJsonCost(bytes, limits);
  try {
    return { value: JSON.parse(bytes.toString('utf8')), cost };
  } catch {
    // Authenticated, so no oracle: the sender encrypted something that is not JSON.
    throw notJson();
  }
}
