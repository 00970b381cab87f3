import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import wabtInit from 'wabt';

import type * as boundedJson from '../src/encoding/bounded-json';
import { checkJsonCost, checkJsonCostJs, type JsonLimits } from '../src/encoding/bounded-json';
import { JSON_SCAN_WASM_BASE64 } from '../src/encoding/json-scan-module';
import type * as simdScan from '../src/encoding/simd-json-scan';
import { simdJsonScanAvailable, simdWithinLimits } from '../src/encoding/simd-json-scan';

const ROOT = join(__dirname, '..');
/** The scanner's memory, so its chunk size: payloads are fed to it 64 KiB at a time. */
const CHUNK = 65536;

type Scan = (bytes: Buffer, limits: JsonLimits) => void;

/** 'ok', or the error's class, code and message. */
function judge(scan: Scan, bytes: Buffer, limits: JsonLimits): string {
  try {
    scan(bytes, limits);
    return 'ok';
  } catch (err) {
    const { name, code, message } = err as { name: string; code: string; message: string };
    return `${name} ${code}: ${message}`;
  }
}

/**
 * What the JavaScript scan sees in `bytes`, read once more byte by byte and to the end: the values
 * it counts, the deepest it nests, whether every string closes, and whether a backslash stands
 * outside a string (the one place where the WebAssembly scan reads escapes differently and must
 * leave the verdict to the JavaScript scan).
 */
function measure(bytes: Uint8Array): { values: number; depth: number; closed: boolean; strayBackslash: boolean } {
  let values = 0;
  let depth = 0;
  let deepest = 0;
  let inString = false;
  let strayBackslash = false;
  for (let i = 0; i < bytes.length; i += 1) {
    const byte = bytes[i]!;
    if (inString) {
      if (byte === 0x5c) i += 1;
      else if (byte === 0x22) inString = false;
      continue;
    }
    if (byte === 0x22) inString = true;
    else if (byte === 0x5c) strayBackslash = true;
    else if (byte === 0x2c || byte === 0x3a) values += 1;
    else if (byte === 0x5b || byte === 0x7b) {
      values += byte === 0x7b ? 2 : 1;
      depth += 1;
      deepest = Math.max(deepest, depth);
    } else if (byte === 0x5d || byte === 0x7d) depth -= 1;
  }
  return { values, depth: deepest, closed: !inString, strayBackslash };
}

/** How often the WebAssembly scan vouched for an input, so that a property can insist it was tried. */
const tally = { checked: 0, vouched: 0 };

/**
 * The three promises, for one input and limits: checkJsonCost judges exactly as checkJsonCostJs
 * (same verdict, same error); the WebAssembly scan vouches only for what the JavaScript scan
 * accepts; and it vouches for everything that scan accepts without a backslash outside a string.
 */
function agree(bytes: Buffer, limits: JsonLimits): void {
  const reference = judge(checkJsonCostJs, bytes, limits);
  expect(judge(checkJsonCost, bytes, limits)).toBe(reference);
  const vouched = simdWithinLimits(bytes, limits.maxDepth, limits.maxValues);
  if (vouched) expect(reference).toBe('ok');
  const seen = measure(bytes);
  const within = seen.closed && seen.values <= limits.maxValues && seen.depth <= limits.maxDepth;
  // The measure is a third reading of the same rules (for limits of 0 and up): it must match the reference.
  expect(within ? 'ok' : 'error').toBe(reference === 'ok' ? 'ok' : 'error');
  if (within && !seen.strayBackslash) expect(vouched).toBe(true);
  tally.checked += 1;
  if (vouched) tally.vouched += 1;
}

/** agree() at the input's own counts, one below each (limits are never negative), and at `extra` limits. */
function agreeAround(bytes: Buffer, extra: JsonLimits[] = []): void {
  const { values, depth } = measure(bytes);
  const limits = [
    { maxValues: values, maxDepth: depth },
    { maxValues: Math.max(0, values - 1), maxDepth: depth },
    { maxValues: values, maxDepth: Math.max(0, depth - 1) },
    { maxValues: 650_000, maxDepth: 64 },
    ...extra,
  ];
  for (const limit of limits) agree(bytes, limit);
}

/** Runs `body` and insists the WebAssembly scan vouched for at least `share` of the inputs it saw. */
function vouchingAtLeast(share: number, body: () => void): void {
  tally.checked = 0;
  tally.vouched = 0;
  body();
  expect(tally.checked).toBeGreaterThan(0);
  expect(tally.vouched / tally.checked).toBeGreaterThanOrEqual(share);
}

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

// String contents full of what the scan looks for, and backslash runs of any length (JSON.stringify
// doubles each backslash and escapes each quote, so the text holds runs of every length up to ~150).
const unit = fc.oneof(
  fc.constantFrom('a', '"', '\\', '[', ']', '{', '}', ',', ':', 'é', '\u0000', '\u20ac'),
  fc.integer({ min: 1, max: 70 }).map((n) => '\\'.repeat(n)),
);
const tricky = fc.oneof(fc.string({ unit, maxLength: 8 }), fc.string({ unit, minLength: 30, maxLength: 120 }));
const { value: jsonValue } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, tricky, fc.integer(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 6 }),
  object: fc.dictionary(tricky, tie('value'), { maxKeys: 6 }),
}));
const jsonText = fc
  .tuple(jsonValue, fc.constantFrom(undefined, 1, 2, '\t'))
  .map(([value, indent]) => Buffer.from(JSON.stringify(value, null, indent) ?? 'null'));

const SCANNED = [0x22, 0x5c, 0x5b, 0x5d, 0x7b, 0x7d, 0x2c, 0x3a];
/** Any bytes, most of them ones the scan looks for, many of them 0x80 and above. */
const anyBytes = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...SCANNED) },
      { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xff }) },
    ),
    { maxLength: 400 },
  )
  .map((bytes) => Buffer.from(bytes));

/**
 * Not JSON, but with backslashes only inside strings, so that the WebAssembly scan must vouch for
 * it whenever it is within its limits: bytes outside strings, and strings of any bytes, escapes
 * of any byte, backslash runs, some never closed.
 */
const outsideByte = fc.oneof(fc.constantFrom(0x5b, 0x5d, 0x7b, 0x7d, 0x2c, 0x3a, 0x20, 0x61), fc.integer({ min: 0x80, max: 0xff }));
const stringByte = fc.oneof(
  fc.constantFrom(0x5b, 0x5d, 0x7b, 0x7d, 0x2c, 0x3a, 0x61),
  fc.integer({ min: 0, max: 0xff }).filter((b) => b !== 0x22 && b !== 0x5c),
);
const escape = fc.oneof(fc.constantFrom(0x22, 0x5c, 0x5b, 0x7b), fc.integer({ min: 0, max: 0xff })).map((b) => [0x5c, b]);
const backslashPairs = fc.integer({ min: 1, max: 40 }).map((n) => new Array<number>(2 * n).fill(0x5c));
const stringToken = fc
  .tuple(
    fc.array(fc.oneof({ weight: 4, arbitrary: stringByte.map((b) => [b]) }, { weight: 2, arbitrary: escape }, { weight: 1, arbitrary: backslashPairs }), {
      maxLength: 40,
    }),
    fc.nat(19),
  )
  .map(([parts, close]) => [0x22, ...parts.flat(), ...(close === 0 ? [] : [0x22])]);
const soupTokens = fc.array(fc.oneof({ weight: 3, arbitrary: outsideByte.map((b) => [b]) }, { weight: 1, arbitrary: stringToken }), { maxLength: 60 });
const soup = soupTokens.map((tokens) => Buffer.from(tokens.flat()));

beforeAll(() => {
  // Node 20 and later have SIMD: these tests are about the WebAssembly scan, not its fallback.
  expect(simdJsonScanAvailable()).toBe(true);
});

describe('the WebAssembly JSON cost scan against the JavaScript one', () => {
  it('agrees on random JSON with tricky strings, at its counts and one below (property, fixed seed)', () => {
    vouchingAtLeast(0.3, () => fc.assert(fc.property(jsonText, (bytes) => agreeAround(bytes)), { seed: 20260301, numRuns: 400 }));
  });

  it('agrees on random bytes rich in quotes, backslashes, brackets, separators and bytes ≥ 0x80 (property, fixed seed)', () => {
    fc.assert(
      fc.property(anyBytes, fc.nat(20), fc.nat(200), (bytes, maxDepth, maxValues) => {
        agreeAround(bytes, [{ maxDepth, maxValues }]);
      }),
      { seed: 20260302, numRuns: 1500 },
    );
  });

  it('agrees on strings of any bytes and escapes, some never closed, between structure (property, fixed seed)', () => {
    vouchingAtLeast(
      0.3,
      () =>
        fc.assert(
          fc.property(soup, fc.nat(20), fc.nat(200), (bytes, maxDepth, maxValues) => agreeAround(bytes, [{ maxDepth, maxValues }])),
          { seed: 20260303, numRuns: 1500 },
        ),
    );
  });

  it('agrees when backslashes, quotes and brackets sit at block and chunk boundaries (property, fixed seed)', () => {
    const boundary = fc.constantFrom(64, 128, 192, CHUNK - 64, CHUNK, 2 * CHUNK);
    // The text before the boundary: blank, inside a string, nesting, counting; or blank and then
    // a backslash run outside any string.
    const lead = fc.constantFrom('blank', 'string', 'nesting', 'counting', 'stray');
    // A run of backslashes and the byte after it, which closes the string when it is an unescaped
    // quote; otherwise a quote mostly follows to close it.
    const run = fc.tuple(fc.nat(70), fc.constantFrom('"', '[', '{', ']', ',', 'a'), fc.nat(3));
    // Where: the lead ends near the boundary, or the byte after the run sits on it or next to it.
    const place = fc.oneof(fc.record({ leadEnd: fc.integer({ min: -72, max: 3 }) }), fc.record({ byteAt: fc.integer({ min: -2, max: 2 }) }));
    vouchingAtLeast(
      0.3,
      () =>
        fc.assert(
          fc.property(boundary, place, lead, run, soupTokens, (at, where, kind, [n, byte, close], rest) => {
            const quoted = kind !== 'string' && kind !== 'stray'; // a quote opens the string after the lead
            const length = Math.max(1, 'leadEnd' in where ? at + where.leadEnd : at + where.byteAt - n - (quoted ? 1 : 0));
            const closed = byte === '"' && n % 2 === 0;
            const head = `${quoted ? '"' : ''}${'\\'.repeat(n)}${byte}${closed || close === 0 ? '' : '"'}`;
            const text =
              kind === 'blank' || kind === 'stray'
                ? `${' '.repeat(length)}${head}`
                : kind === 'string'
                  ? `"${'a'.repeat(length - 1)}${head}`
                  : kind === 'nesting'
                    ? `${'['.repeat(Math.min(20, length))}${' '.repeat(Math.max(0, length - 20))}${head}`
                    : `${',:'.repeat(length >> 1)}${' '.repeat(length & 1)}${head}`;
            agreeAround(Buffer.concat([latin1(text), Buffer.from(rest.flat())]));
          }),
          { seed: 20260304, numRuns: 400 },
        ),
    );
  });

  it('agrees on payloads of several chunks, at their counts and one below (property, fixed seed)', () => {
    const items = fc.array(fc.tuple(tricky, fc.integer(), fc.array(tricky, { maxLength: 3 })), { minLength: 1, maxLength: 12 });
    vouchingAtLeast(
      0.3,
      () =>
        fc.assert(
          fc.property(items, fc.nat(40), (some, deepEnd) => {
            // Repeated past 200 KB, with a nest at the end that sets the depth in the last chunk.
            const one = some.map(([name, value, tags]) => ({ name, value, tags }));
            const times = Math.ceil(200_000 / Buffer.byteLength(JSON.stringify(one)));
            const text = `{"cluster_uuid":"bench","items":${JSON.stringify(new Array(times).fill(one).flat())},"end":${'['.repeat(deepEnd)}0${']'.repeat(deepEnd)}}`;
            agreeAround(Buffer.from(text));
          }),
          { seed: 20260305, numRuns: 12 },
        ),
    );
  });

  it('agrees on soups of several chunks, and on buffers that start inside a larger one (property, fixed seed)', () => {
    fc.assert(
      fc.property(fc.array(soupTokens, { minLength: 1, maxLength: 4 }), fc.nat(CHUNK), (pieces, offset) => {
        const piece = Buffer.from(pieces.flat(2));
        const times = Math.ceil((3 * CHUNK) / Math.max(1, piece.length));
        const whole = Buffer.concat([Buffer.alloc(offset, 0x20), ...new Array<Buffer>(times).fill(piece)]);
        agreeAround(whole.subarray(offset));
      }),
      { seed: 20260306, numRuns: 10 },
    );
  });

  it('agrees on every length near a block or a chunk, of every byte it looks for', () => {
    const lengths = [0, 1, 2, 63, 64, 65, 127, 128, 129, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 1, 2 * CHUNK, 2 * CHUNK + 1];
    for (const length of lengths) {
      for (const byte of [0x20, 0x22, 0x5c, 0x5b, 0x5d, 0x7b, 0x7d, 0x2c, 0x3a, 0xe9]) {
        agreeAround(Buffer.alloc(length, byte), [{ maxValues: 1, maxDepth: 1 }]);
      }
      // An array of `length` bytes: `[` then commas, its string closed or open at the very end.
      if (length >= 2) {
        agreeAround(latin1(`[${','.repeat(length - 2)}]`));
        agreeAround(latin1(`${' '.repeat(length - 1)}"`));
        agreeAround(latin1(`"${' '.repeat(length - 2)}"`));
      }
    }
  });

  it.each([64, 128, CHUNK, 2 * CHUNK])('reads escapes across the boundary at %i bytes', (boundary) => {
    const before = (n: number): string => `"${'a'.repeat(boundary - 1 - n)}`;
    const cases: [string, JsonLimits, boolean][] = [
      // A backslash the last byte of a block escapes the quote that starts the next: the string goes on.
      [`${before(1)}\\""[`, { maxValues: 1, maxDepth: 1 }, true],
      [`${before(1)}\\""[`, { maxValues: 0, maxDepth: 1 }, false],
      [`${before(1)}\\"[`, { maxValues: 1, maxDepth: 1 }, false],
      // Two backslashes escape each other: that quote closes the string and the bracket counts.
      [`${before(2)}\\\\"[`, { maxValues: 1, maxDepth: 1 }, true],
      [`${before(2)}\\\\"[`, { maxValues: 1, maxDepth: 0 }, false],
      // Runs of 5 and 6 across the boundary.
      [`${before(3)}\\\\\\\\\\"["[`, { maxValues: 1, maxDepth: 1 }, true],
      [`${before(3)}\\\\\\\\\\\\"[`, { maxValues: 1, maxDepth: 1 }, true],
      [`${before(3)}\\\\\\\\\\\\"[`, { maxValues: 0, maxDepth: 1 }, false],
      // A run of 63 that ends on the boundary escapes the quote after it; one of 64 does not.
      [`${before(63)}${'\\'.repeat(63)}"[`, { maxValues: 1, maxDepth: 1 }, false],
      [`${before(63)}${'\\'.repeat(63)}""[`, { maxValues: 1, maxDepth: 1 }, true],
      [`${before(63)}${'\\'.repeat(64)}"[`, { maxValues: 1, maxDepth: 1 }, true],
      // Quote as the last byte of a block: the next block starts inside the string.
      [`${' '.repeat(boundary - 1)}"[["[`, { maxValues: 1, maxDepth: 1 }, true],
      [`${' '.repeat(boundary - 1)}"[["[[`, { maxValues: 2, maxDepth: 1 }, false],
      // A backslash outside a string just before the boundary, a quote just after it: a string opens.
      [`${' '.repeat(boundary - 1)}\\"[`, { maxValues: 10, maxDepth: 10 }, false],
      [`${' '.repeat(boundary - 1)}\\"["`, { maxValues: 10, maxDepth: 10 }, true],
    ];
    for (const [text, limits, accepted] of cases) {
      const bytes = latin1(text);
      expect(judge(checkJsonCostJs, bytes, limits) === 'ok').toBe(accepted);
      agree(bytes, limits);
    }
  });

  it('throws the JavaScript scan’s own errors, whichever limit is crossed first', () => {
    const cases: [string, JsonLimits, string][] = [
      ['[[[0]]]', { maxValues: 100, maxDepth: 2 }, 'nests deeper than 2 levels'],
      ['[[[0]]]', { maxValues: 2, maxDepth: 3 }, 'holds more than 2 values'],
      // The third [ crosses both: depth is checked first.
      ['[[[0]]]', { maxValues: 2, maxDepth: 2 }, 'nests deeper than 2 levels'],
      // 180 KB: 100,000 values and 20,000 levels, then four more [.
      [`${'[0,0,0,0,'.repeat(20_000)}[[[[`, { maxValues: 100_004, maxDepth: 20_003 }, 'nests deeper than 20003 levels'],
      [`${'[0,0,0,0,'.repeat(20_000)}[[[[`, { maxValues: 100_002, maxDepth: 20_003 }, 'holds more than 100002 values'],
      [`${'[0,0,0,0,'.repeat(20_000)}[[[[`, { maxValues: 100_003, maxDepth: 20_003 }, 'nests deeper than 20003 levels'],
    ];
    for (const [text, limits, message] of cases) {
      expect(judge(checkJsonCost, Buffer.from(text), limits)).toBe(`PayloadTooComplexError ERR_PAYLOAD_TOO_COMPLEX: payload is too complex: it ${message}`);
    }
    expect(judge(checkJsonCost, Buffer.from(`["${'a'.repeat(CHUNK)}`), { maxValues: 10, maxDepth: 10 })).toBe(
      'BodyMalformedError ERR_BODY_MALFORMED: body is malformed: the payload is not JSON',
    );
  });
});

describe('without WebAssembly SIMD', () => {
  type WebAssemblyModule = { Module: new (bytes: Uint8Array) => object };
  const global = globalThis as unknown as { WebAssembly: WebAssemblyModule | undefined };

  /** Fresh copies of the scans, which load the WebAssembly module anew. */
  function isolated(): { bounded: typeof boundedJson; simd: typeof simdScan } {
    let bounded: typeof boundedJson | undefined;
    let simd: typeof simdScan | undefined;
    jest.isolateModules(() => {
      bounded = jest.requireActual<typeof boundedJson>('../src/encoding/bounded-json');
      simd = jest.requireActual<typeof simdScan>('../src/encoding/simd-json-scan');
    });
    return { bounded: bounded!, simd: simd! };
  }

  const samples: [string, JsonLimits][] = [
    ['{"a":[1,2,{"b":"\\"["}]}', { maxValues: 100, maxDepth: 10 }],
    ['[[[0]]]', { maxValues: 100, maxDepth: 2 }],
    ['[0,0,0]', { maxValues: 2, maxDepth: 5 }],
    ['["abc\\"]', { maxValues: 100, maxDepth: 5 }],
  ];

  it('scans in JavaScript, for good, when the module does not compile', () => {
    const WebAssembly = global.WebAssembly!;
    const compile = jest.spyOn(WebAssembly, 'Module').mockImplementation(() => {
      throw new Error('no simd128 here');
    });
    try {
      const { bounded, simd } = isolated();
      for (const [text, limits] of samples) {
        expect(judge(bounded.checkJsonCost, Buffer.from(text), limits)).toBe(judge(checkJsonCostJs, Buffer.from(text), limits));
      }
      expect(simd.simdWithinLimits(Buffer.from('[]'), 10, 10)).toBe(false);
      expect(simd.simdJsonScanAvailable()).toBe(false);
      expect(compile).toHaveBeenCalledTimes(1);
      // Not tried again, even where it would now compile.
      compile.mockRestore();
      expect(simd.simdJsonScanAvailable()).toBe(false);
      expect(simd.simdWithinLimits(Buffer.from('[]'), 10, 10)).toBe(false);
    } finally {
      compile.mockRestore();
    }
  });

  it('scans in JavaScript when there is no WebAssembly at all', () => {
    const saved = global.WebAssembly;
    global.WebAssembly = undefined;
    try {
      const { bounded, simd } = isolated();
      for (const [text, limits] of samples) {
        expect(judge(bounded.checkJsonCost, Buffer.from(text), limits)).toBe(judge(checkJsonCostJs, Buffer.from(text), limits));
      }
      expect(simd.simdJsonScanAvailable()).toBe(false);
    } finally {
      global.WebAssembly = saved;
    }
  });
});

describe('json-scan-module.ts', () => {
  it('is exactly what json-scan.wat assembles to', async () => {
    const wabt = await wabtInit();
    const module = wabt.parseWat('json-scan.wat', readFileSync(join(ROOT, 'src', 'encoding', 'json-scan.wat'), 'utf8'), {
      simd: true,
      bulk_memory: true,
      sat_float_to_int: true,
    });
    try {
      module.validate();
      const assembled = Buffer.from(module.toBinary({ write_debug_names: false }).buffer);
      expect(Buffer.from(JSON_SCAN_WASM_BASE64, 'base64').equals(assembled)).toBe(true);
    } finally {
      module.destroy();
    }
    // And the whole file, header included, is what the script writes.
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-json-scan.js'), '--check'], { cwd: ROOT, stdio: 'pipe' });
  });
});
