
import type * as NodeCrypto from 'node:crypto';
import {
  createRequestDecryptor,
  createRequestEncryptor,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_PAYLOAD_DEPTH,
  DEFAULT_MAX_PAYLOAD_VALUES,
  ERROR_CODES,
  type Encryptor,
} from '../src';
import { checkJsonCost } from '../src/encoding/bounded-json';
import { sealJweBody } from '../src/jwe/body';
import { loadKeyring } from '../src/keys/keyset';
import { packBody } from '../src/legacy/envelope';
import { wrapPassphrase } from '../src/legacy/key-envelope';
import { makePayloadKey, sealPayloadWith } from '../src/legacy/payload-cipher';
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
  return sealJweBody(key, json, { compress: 'compress' in options, context: undefined, now: Date.now() });
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

  it('refuses a payload with more values than maxPayloadValues, and accepts one at the limit', async () => {
    // [0,0,…,0] of n zeros counts n values: its "[" and n - 1 commas.
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { maxPayloadValues: 1000 });
    await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', new Array(1000).fill(0), options))).resolves.toHaveLength(1000);
    const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', new Array(1001).fill(0), options)));
    expect(err.code).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
  });

  it('refuses a payload longer than maxPayloadBytes with ERR_BODY_TOO_LARGE, and accepts one at the limit', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { maxPayloadBytes: 1002 });
    await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', 'x'.repeat(1000), options))).resolves.toHaveLength(1000);
    const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', 'x'.repeat(1001), options)));
    expect(err.code).toBe(ERROR_CODES.BODY_TOO_LARGE);
  });

  it('counts neither the brackets nor the commas inside strings', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { maxPayloadValues: 5, maxPayloadDepth: 1 });
    const payload = { a: '[[[[{,:,:,}]]]] \\" [[[[ \\\\', b: 'x' };
    await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', payload, options))).resolves.toEqual(payload);
  });
});

describe('payload limit defaults', () => {
  it('are 4.5 MiB, 650,000 values and 64 levels', () => {
    expect(DEFAULT_MAX_PAYLOAD_BYTES).toBe(4.5 * 1024 * 1024);
    expect(DEFAULT_MAX_PAYLOAD_VALUES).toBe(650_000);
    expect(DEFAULT_MAX_PAYLOAD_DEPTH).toBe(64);
  });

  it('refuse [{},{},…] of 250,000 objects, which would cost far more memory than its 0.75 MB', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const body = await encryptor.encrypt('kibana1', new Array(250_000).fill({}), { format: 'jwe', compress: true });
    expect(body.length).toBeLessThan(20_000);
    expect((await rejectionOf(decryptor.decrypt(body))).code).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
  });

  it.each(['maxPayloadBytes', 'maxPayloadValues', 'maxPayloadDepth'])('refuse a %s that is not a positive integer', async (name) => {
    for (const value of [0, -1, 1.5, Number.NaN, '10']) {
      const err = await rejectionOf(createRequestDecryptor(vectors.privateJWKS, { [name]: value }));
      expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
    }
  });
});

describe('checkJsonCost', () => {
  /** What the scan must count for a value: `[` 1, `{` 2, each `,` and `:` 1; and how deep it nests. */
  const expected = (value: unknown): { values: number; depth: number } => {
    if (Array.isArray(value)) {
      const inner = value.map(expected);
      return {
        values: 1 + Math.max(0, value.length - 1) + inner.reduce((sum, c) => sum + c.values, 0),
        depth: 1 + Math.max(0, ...inner.map((c) => c.depth)),
      };
    }
    if (typeof value === 'object' && value !== null) {
      const members = Object.values(value);
      const inner = members.map(expected);
      return {
        values: 2 + Math.max(0, members.length - 1) + members.length + inner.reduce((sum, c) => sum + c.values, 0),
        depth: 1 + Math.max(0, ...inner.map((c) => c.depth)),
      };
    }
    return { values: 0, depth: 0 };
  };
  const verdict = (text: string, maxValues: number, maxDepth: number): string => {
    try {
      checkJsonCost(Buffer.from(text), { maxValues, maxDepth });
      return 'ok';
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  // Strings short and long (past the byte-by-byte part of the scan), full of quotes, backslashes and brackets.
  const unit = fc.constantFrom('a', '"', '\\', '[', '{', ',', ':', 'é', '\u0000');
  const tricky = fc.oneof(fc.string({ unit, maxLength: 10 }), fc.string({ unit, minLength: 40, maxLength: 90 }));
  const values = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, tricky, fc.integer(), fc.constant(null), tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 5 }),
    object: fc.dictionary(tricky, tie('value'), { maxKeys: 5 }),
  })).value;

  it('counts exactly the values and depth of any JSON, strings never counted (property, fixed seed)', () => {
    fc.assert(
      fc.property(values, (value) => {
        const text = JSON.stringify(value);
        const { values: count, depth } = expected(value);
        expect(verdict(text, count, depth)).toBe('ok');
        if (count > 0) expect(verdict(text, count - 1, depth)).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
        if (depth > 0) expect(verdict(text, count, depth - 1)).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
      }),
      { seed: 20261128, numRuns: 400 },
    );
  });

  const cost = (text: string, maxValues = 100, maxDepth = 10): string => {
    try {
      checkJsonCost(Buffer.from(text), { maxValues, maxDepth });
      return 'ok';
    } catch (err) {
      return (err as { code: string }).code;
    }
  };

  it('skips escaped quotes inside strings, however many backslashes precede them', () => {
    expect(cost('["\\"[[[", "\\\\", "[["]', 100, 1)).toBe('ok');
    expect(cost('["\\\\"[[]', 100, 1)).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
  });

  it('calls a string that never closes malformed', () => {
    expect(cost('["abc')).toBe(ERROR_CODES.BODY_MALFORMED);
    expect(cost('["abc\\"]')).toBe(ERROR_CODES.BODY_MALFORMED);
  });

  it('counts member names and values, and each object once more for itself', () => {
    expect(cost('{"a":1,"b":2}', 5)).toBe('ok');
    expect(cost('{"a":1,"b":2}', 4)).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
    expect(cost('[1,2,3]', 3)).toBe('ok');
    expect(cost('[1,2,3]', 2)).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
    expect(cost('[{},{}]', 6)).toBe('ok');
    expect(cost('[{},{}]', 5)).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
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
