
import type * as NodeCrypto from 'node:crypto';
import {
  createRequestDecryptor,
  createRequestEncryptor,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_PAYLOAD_COST,
  DEFAULT_MAX_PAYLOAD_DEPTH,
  DEFAULT_MAX_PAYLOAD_VALUES,
  ERROR_CODES,
  PAYLOAD_COST_PER_VALUE,
  type Encryptor,
} from '../src';
import { JSON_COST_WEIGHTS as W, checkJsonCost, measureJsonCost } from '../src/encoding/bounded-json';
import { JWE_BODY } from '../src/formats/jwe/body';
import { loadKeyring } from '../src/keys/keyset';
import { packBody } from '../src/formats/legacy/envelope';
import { wrapPassphrase } from '../src/formats/legacy/key-envelope';
import { makePayloadKey, sealPayloadWith } from '../src/formats/legacy/payload-cipher';
import fc from 'fast-check';

import { rejectionOf, vectors } from './helpers';

// The module object itself (an `import *` namespace cannot be spied on).
const nodeCrypto = jest.requireActual<typeof NodeCrypto>('node:crypto');

const nested = (levels: number): unknown => {
  let value: unknown = 0;
  for (let i = 0; i < levels; i += 1) value = [value];
  return value;
};
/** JSON text nested `levels` deep, without JSON.stringify (whose recursion stops short of 5,000). */
const nestedJson = (levels: number): string => `${'['.repeat(levels)}0${']'.repeat(levels)}`;

type Options = (typeof FORMATS)[number][1];

/** A body of raw JSON text, made with the encryptor's own building blocks. */
async function bodyOfJson(json: string, options: Options): Promise<string> {
  const key = loadKeyring(vectors.publicJWKS).get('kibana1')!;
  if (!('format' in options)) {
    const passphrase = nodeCrypto.randomBytes(32);
    return packBody(wrapPassphrase(key, passphrase), sealPayloadWith(await makePayloadKey(passphrase), json));
  }
  return JWE_BODY.seal(key, json, { compress: 'compress' in options, context: undefined, now: Date.now() });
}

let encryptor: Encryptor;
beforeAll(async () => {
  encryptor = await createRequestEncryptor(vectors.publicJWKS);
});

const FORMATS = [
  ['legacy', {}],
  ['jwe', { format: 'jwe' }],
  ['jwe compressed', { format: 'jwe', compress: true }],
] as const;

describe.each(FORMATS)('payload limits, %s bodies', (_name, options) => {
  it(`accepts a payload nested ${DEFAULT_MAX_PAYLOAD_DEPTH} levels deep`, async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const body = await encryptor.encrypt('kibana1', nested(DEFAULT_MAX_PAYLOAD_DEPTH), options);
    await expect(decryptor.decrypt(body)).resolves.toEqual(nested(DEFAULT_MAX_PAYLOAD_DEPTH));
  });

  it(`refuses a payload nested ${DEFAULT_MAX_PAYLOAD_DEPTH + 1} levels deep with ERR_PAYLOAD_TOO_COMPLEX`, async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const body = await encryptor.encrypt('kibana1', nested(DEFAULT_MAX_PAYLOAD_DEPTH + 1), options);
    expect((await rejectionOf(decryptor.decrypt(body))).code).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
  });

  it('refuses a payload nested 5,000 levels deep', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const body = await bodyOfJson(nestedJson(5000), options);
    expect(body.length).toBeLessThan('compress' in options ? 1000 : 20_000);
    const err = await rejectionOf(decryptor.decrypt(body));
    expect(err.code).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
    expect(err.message).toBe(`payload is too complex: it nests deeper than ${DEFAULT_MAX_PAYLOAD_DEPTH} levels`);
  });

  it('accepts deeper nesting when maxPayloadDepth is raised', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { maxPayloadDepth: 200 });
    const body = await encryptor.encrypt('kibana1', nested(200), options);
    await expect(decryptor.decrypt(body)).resolves.toEqual(nested(200));
  });

  it('refuses a payload priced above maxPayloadCost, and accepts one priced at it', async () => {
    // [0,0,…,0] of n zeros is one array and n elements.
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { maxPayloadCost: W.array + 1000 * W.element });
    await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', new Array(1000).fill(0), options))).resolves.toHaveLength(1000);
    const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', new Array(1001).fill(0), options)));
    expect(err.code).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
    expect(err.message).toBe(`payload is too complex: it costs ${W.array + 1001 * W.element} units, more than maxPayloadCost (${W.array + 1000 * W.element})`);
  });

  it(`reads the deprecated maxPayloadValues n as maxPayloadCost n × ${PAYLOAD_COST_PER_VALUE}`, async () => {
    const values = Math.ceil((W.array + 1000 * W.element) / PAYLOAD_COST_PER_VALUE);
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { maxPayloadValues: values });
    const fits = Math.floor((values * PAYLOAD_COST_PER_VALUE - W.array) / W.element);
    await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', new Array(fits).fill(0), options))).resolves.toHaveLength(fits);
    const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', new Array(fits + 1).fill(0), options)));
    expect(err).toMatchObject({ code: ERROR_CODES.PAYLOAD_TOO_COMPLEX, maxCost: values * PAYLOAD_COST_PER_VALUE });
  });

  it('refuses a payload longer than maxPayloadBytes with ERR_BODY_TOO_LARGE, and accepts one at the limit', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { maxPayloadBytes: 1002 });
    await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', 'x'.repeat(1000), options))).resolves.toHaveLength(1000);
    const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', 'x'.repeat(1001), options)));
    expect(err.code).toBe(ERROR_CODES.BODY_TOO_LARGE);
  });

  it('prices neither the brackets nor the commas inside strings', async () => {
    const payload = { a: '[[[[{,:,:,}]]]] \\" [[[[ \\\\', b: 'x' };
    const text = JSON.stringify(payload);
    // One object, two members of a new shape each (their one-byte names), two strings and their bytes.
    const stringBytes = Buffer.byteLength(JSON.stringify(payload.a)) - 2 + 1;
    const price = W.object + 2 * (W.member + W.newShape + W.stringByte) + 2 * W.string + stringBytes * W.stringByte;
    expect(measureJsonCost(Buffer.from(text), { maxPayloadCost: 1e9, maxPayloadDepth: 1 })).toBe(price);
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { maxPayloadCost: price, maxPayloadDepth: 1 });
    await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', payload, options))).resolves.toEqual(payload);
  });
});

describe('payload limit defaults', () => {
  it('are 4.5 MiB, 48 Mi cost units and 64 levels', () => {
    expect(DEFAULT_MAX_PAYLOAD_BYTES).toBe(4.5 * 1024 * 1024);
    expect(DEFAULT_MAX_PAYLOAD_COST).toBe(48 * 1024 * 1024);
    expect(DEFAULT_MAX_PAYLOAD_DEPTH).toBe(64);
  });

  it('keep DEFAULT_MAX_PAYLOAD_VALUES as the default cost in the deprecated unit', () => {
    expect(DEFAULT_MAX_PAYLOAD_VALUES * PAYLOAD_COST_PER_VALUE).toBe(DEFAULT_MAX_PAYLOAD_COST);
  });

  it('refuse [{},{},…] of 300,000 objects, which would cost far more memory than its 0.9 MB', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const body = await encryptor.encrypt('kibana1', new Array(300_000).fill({}), { format: 'jwe', compress: true });
    expect(body.length).toBeLessThan(20_000);
    expect((await rejectionOf(decryptor.decrypt(body))).code).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
  });

  it.each(['maxPayloadBytes', 'maxPayloadCost', 'maxPayloadValues', 'maxPayloadDepth'])('refuse a %s that is not a positive integer', async (name) => {
    for (const value of [0, -1, 1.5, Number.NaN, '10']) {
      const err = await rejectionOf(createRequestDecryptor(vectors.privateJWKS, { [name]: value }));
      expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
    }
  });

  it('refuse maxPayloadCost and maxPayloadValues given together', async () => {
    const err = await rejectionOf(createRequestDecryptor(vectors.privateJWKS, { maxPayloadCost: 1000, maxPayloadValues: 10 }));
    expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });
});

describe('measureJsonCost', () => {
  /**
   * The price of a value by the weights, computed from the value: what the scan must give for
   * its JSON text. `shapes` holds the sequences of member names seen so far.
   */
  const priced = (value: unknown, shapes: Set<string>): { cost: number; depth: number } => {
    const bytesOf = (text: string): number => Buffer.byteLength(JSON.stringify(text)) - 2;
    if (Array.isArray(value)) {
      const inner = value.map((each) => priced(each, shapes));
      return {
        cost: W.array + value.length * W.element + inner.reduce((sum, c) => sum + c.cost, 0),
        depth: 1 + Math.max(0, ...inner.map((c) => c.depth)),
      };
    }
    if (typeof value === 'object' && value !== null) {
      let cost = W.object;
      let shape = '';
      let depth = 0;
      for (const [name, member] of Object.entries(value)) {
        shape += `${JSON.stringify(name)}:`;
        cost += W.member;
        if (!shapes.has(shape)) {
          shapes.add(shape);
          cost += W.newShape + bytesOf(name) * W.stringByte;
        }
        const inner = priced(member, shapes);
        cost += inner.cost;
        depth = Math.max(depth, inner.depth);
      }
      return { cost, depth: 1 + depth };
    }
    if (typeof value === 'string') return { cost: W.string + bytesOf(value) * W.stringByte, depth: 0 };
    // A number or literal: one `decimal` per ".", "e" or "E" in its JSON.
    return { cost: (JSON.stringify(value).match(/[.eE]/g) ?? []).length * W.decimal, depth: 0 };
  };
  const verdict = (text: string, maxCost: number, maxDepth: number): string => {
    try {
      checkJsonCost(Buffer.from(text), { maxPayloadCost: maxCost, maxPayloadDepth: maxDepth });
      return 'ok';
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  // Strings short and long (past the byte-by-byte part of the scan), full of quotes, backslashes and brackets.
  const unit = fc.constantFrom('a', 'b', '"', '\\', '[', '{', ',', ':', '.', 'e', 'é', '\u0000');
  const tricky = fc.oneof(fc.string({ unit, maxLength: 3 }), fc.string({ unit, minLength: 40, maxLength: 90 }));
  const values = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, tricky, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 5 }),
    object: fc.dictionary(tricky, tie('value'), { maxKeys: 5 }),
  })).value;

  it('prices any JSON exactly by the weights, and measures its depth (property, fixed seed)', () => {
    fc.assert(
      fc.property(values, (value) => {
        const text = JSON.stringify(value);
        const { cost, depth } = priced(value, new Set());
        expect(measureJsonCost(Buffer.from(text), { maxPayloadCost: 1e9, maxPayloadDepth: 64 })).toBe(cost);
        expect(verdict(text, cost, depth)).toBe('ok');
        expect(verdict(text, cost - 1, depth)).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
        if (depth > 0) expect(verdict(text, cost, depth - 1)).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
      }),
      { seed: 20261204, numRuns: 400 },
    );
  });

  it('prices the same JSON alike with spaces between its tokens', () => {
    const text = JSON.stringify({ a: [1.5, [], {}, 'x'], b: { a: [] } });
    const spaced = JSON.stringify(JSON.parse(text), null, 2);
    expect(measureJsonCost(Buffer.from(spaced), { maxPayloadCost: 1e9, maxPayloadDepth: 64 })).toBe(measureJsonCost(Buffer.from(text), { maxPayloadCost: 1e9, maxPayloadDepth: 64 }));
  });

  it('prices a member under names seen before in that order at member only, and a new order as new shapes', () => {
    const price = (text: string): number => measureJsonCost(Buffer.from(text), { maxPayloadCost: 1e9, maxPayloadDepth: 64 });
    const one = price('[{"a":0,"b":0}]');
    expect(price('[{"a":0,"b":0},{"a":0,"b":0}]') - one).toBe(W.element + W.object + 2 * W.member);
    expect(price('[{"a":0,"b":0},{"b":0,"a":0}]') - one).toBe(W.element + W.object + 2 * (W.member + W.newShape + W.stringByte));
  });

  it('still finds shapes seen before once thousands of shapes have been added', () => {
    // 3,000 one-member shapes, then each of them again, then two-member shapes built on them.
    const once = Array.from({ length: 3000 }, (_, i) => ({ [`k${i}`]: i }));
    const value = [...once, ...once, ...once.map((each, i) => ({ ...each, [`m${i % 7}`]: 0 }))];
    const text = JSON.stringify(value);
    expect(measureJsonCost(Buffer.from(text), { maxPayloadCost: 1e9, maxPayloadDepth: 64 })).toBe(priced(value, new Set()).cost);
  });

  it('prices every member of a payload with more new shapes than its table holds as new', () => {
    // 4,000 distinct names with a table sized for at most 2 new shapes: none is ever found again.
    const text = `[${Array.from({ length: 4000 }, (_, i) => `{"k${i}":0}`).join(',')},${Array.from({ length: 4000 }, (_, i) => `{"k${i}":0}`).join(',')}]`;
    const exact = measureJsonCost(Buffer.from(text), { maxPayloadCost: 1e9, maxPayloadDepth: 64 });
    const small = measureJsonCost(Buffer.from(text), { maxPayloadCost: W.newShape, maxPayloadDepth: 64 });
    expect(small).toBeGreaterThan(exact);
  });

  const cost = (text: string, maxCost = 1e9, maxDepth = 10): string => verdict(text, maxCost, maxDepth);

  it('skips escaped quotes inside strings, however many backslashes precede them', () => {
    expect(cost('["\\"[[[", "\\\\", "[["]', 1e9, 1)).toBe('ok');
    expect(cost('["\\\\"[[]', 1e9, 1)).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
  });

  it('calls a string that never closes malformed', () => {
    expect(cost('["abc')).toBe(ERROR_CODES.BODY_MALFORMED);
    expect(cost('["abc\\"]')).toBe(ERROR_CODES.BODY_MALFORMED);
    expect(cost(`["${'a'.repeat(100)}`)).toBe(ERROR_CODES.BODY_MALFORMED);
  });
});

describe('authenticate before decoding', () => {
  it('decodes a legacy payload only after its GCM tag is verified', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const body = await encryptor.encrypt('kibana1', { secret: 'payload' });
    const events: string[] = [];
    const realDecipher = nodeCrypto.createDecipheriv;
    const decipherSpy = jest.spyOn(nodeCrypto, 'createDecipheriv').mockImplementation(((...args: Parameters<typeof realDecipher>) => {
      const decipher = realDecipher(...args);
      const update = decipher.update.bind(decipher) as (...a: unknown[]) => unknown;
      const final = decipher.final.bind(decipher) as (...a: unknown[]) => unknown;
      // Any output encoding means text was decoded inside the cipher, before or without final().
      Object.assign(decipher, {
        update: (...a: unknown[]) => (events.push(a[2] === undefined ? 'update' : 'update decoding'), update(...a)),
        final: (...a: unknown[]) => (events.push(a[0] === undefined ? 'final' : 'final decoding'), final(...a)),
      });
      return decipher;
    }) as typeof realDecipher);
    const realParse = JSON.parse;
    const parseSpy = jest.spyOn(JSON, 'parse').mockImplementation((text, reviver) => {
      events.push('parse');
      return realParse(text, reviver) as unknown;
    });
    try {
      await expect(decryptor.decrypt(body)).resolves.toEqual({ secret: 'payload' });
    } finally {
      decipherSpy.mockRestore();
      parseSpy.mockRestore();
    }
    // The last decipher is the payload's: bytes out of update(), the tag checked by final(), then JSON.
    expect(events.slice(events.lastIndexOf('update'))).toEqual(['update', 'final', 'parse']);
    expect(events.filter((event) => event.endsWith('decoding'))).toEqual([]);
  });
});
