import * as v from 'valibot';
import { z } from 'zod';

import {
  createRequestDecryptor,
  createRequestEncryptor,
  ERROR_CODES,
  MAX_PAYLOAD_ISSUES,
  PayloadInvalidError,
  RequestCryptoError,
  type DecryptEvent,
  type Decryptor,
  type Encryptor,
  type StandardSchemaV1,
} from '../src';
import { rejectionOf, vectors } from './helpers';

/** Values a sender put in a payload, none of which may reach an error. */
const SECRETS = ['secret-name@@example', 'secret-root-string', 987654321, 'SECRET-NAME@@EXAMPLE'] as const;

/** The error's text in every form a log could take. */
const everyTextOf = (err: Error): string => [String(err), err.message, err.stack, JSON.stringify(err)].join('\n');

/** A hand-written Standard Schema whose validate is `validate`. */
const standardSchema = <Output>(validate: StandardSchemaV1.Props<unknown, Output>['validate']): StandardSchemaV1<unknown, Output> => ({
  '~standard': { version: 1, validate },
});

let encryptor: Encryptor;
let decryptor: Decryptor;
const bodyOf = (payload: unknown, format: 'legacy' | 'jwe' = 'jwe'): Promise<string> => encryptor.encrypt('kibana1', payload, { format });

beforeAll(async () => {
  encryptor = await createRequestEncryptor(vectors.publicJWKS);
  decryptor = await createRequestDecryptor(vectors.privateJWKS);
});

describe('decrypt(body, { schema }) with zod 4', () => {
  const Telemetry = z.object({
    cluster_uuid: z.string(),
    count: z.coerce.number().int(),
    product: z.string().transform((name) => name.toUpperCase()),
  });

  it("resolves to the schema's output, with its coercions and transforms applied", async () => {
    const body = await bodyOf({ cluster_uuid: 'abc', count: '42', product: 'kibana' });
    const telemetry: { cluster_uuid: string; count: number; product: string } = await decryptor.decrypt(body, { schema: Telemetry });
    expect(telemetry).toEqual({ cluster_uuid: 'abc', count: 42, product: 'KIBANA' });
  });

  it("types the result from the schema's output", async () => {
    const body = await bodyOf({ cluster_uuid: 'abc', count: 1, product: 'kibana' });
    const telemetry = await decryptor.decrypt(body, { schema: Telemetry });
    // @ts-expect-error count is a number in the schema's output, so it is not a string
    const count: string = telemetry.count;
    expect(typeof count).toBe('number');
  });

  it('validates a legacy body too, and through decryptPayload', async () => {
    const body = await bodyOf({ cluster_uuid: 'abc', count: 7, product: 'beats' }, 'legacy');
    await expect(decryptor.decryptPayload(body, { schema: Telemetry })).resolves.toEqual({ cluster_uuid: 'abc', count: 7, product: 'BEATS' });
  });

  it('refuses a payload the schema rejects with ERR_PAYLOAD_INVALID, a PayloadInvalidError', async () => {
    const err = await rejectionOf(decryptor.decrypt(await bodyOf({ cluster_uuid: 1 }), { schema: Telemetry }));
    expect(err).toBeInstanceOf(PayloadInvalidError);
    expect(err).toBeInstanceOf(RequestCryptoError);
    expect(err.code).toBe(ERROR_CODES.PAYLOAD_INVALID);
    expect(err.message).toBe('payload is invalid');
  });

  it('lists each issue with its path and message, and nothing else', async () => {
    const err = (await rejectionOf(
      decryptor.decrypt(await bodyOf({ cluster_uuid: SECRETS[2], count: 'many', product: SECRETS[0] }), {
        schema: z.object({ cluster_uuid: z.string(), count: z.number(), product: z.email() }),
      }),
    )) as PayloadInvalidError;
    expect(err.issues.map((issue) => issue.path)).toEqual([['cluster_uuid'], ['count'], ['product']]);
    for (const issue of err.issues) {
      expect(Object.keys(issue).sort()).toEqual(['message', 'path']);
      expect(issue.message.length).toBeGreaterThan(0);
    }
  });

  it('keeps no refused value in its message, issues or JSON', async () => {
    const err = await rejectionOf(
      decryptor.decrypt(await bodyOf({ cluster_uuid: SECRETS[2], count: SECRETS[1], product: SECRETS[0] }), {
        schema: z.object({ cluster_uuid: z.string(), count: z.literal(1), product: z.email() }),
      }),
    );
    const text = everyTextOf(err);
    for (const secret of SECRETS) expect(text).not.toContain(String(secret));
  });
});

describe('member names are the sender\'s text too', () => {
  const EMAIL = 'bob.private@example.org';
  const TOKEN = 'ghp_16C7e42F292c6912E7710c838347Ae178B4a';

  it("keeps no member name of zod's strictObject refusal (unrecognized keys) in path or message", async () => {
    const schema = z.strictObject({ cluster_uuid: z.string() });
    const err = (await rejectionOf(decryptor.decrypt(await bodyOf({ cluster_uuid: 'a', [EMAIL]: 1, [TOKEN]: 2 }), { schema }))) as PayloadInvalidError;
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.message).toMatch(/^Unrecognized keys?/);
    const text = `${everyTextOf(err)} ${JSON.stringify(err.issues)}`;
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('bob.private');
  });

  it("keeps no key of a zod record in a path: the refused value's name is '[key]', declared names stay", async () => {
    const schema = z.object({ users: z.record(z.string(), z.number()) });
    const err = (await rejectionOf(decryptor.decrypt(await bodyOf({ users: { [EMAIL]: 'x' } }), { schema }))) as PayloadInvalidError;
    expect(err.issues.map((issue) => issue.path)).toEqual([['users', '[key]']]);
    expect(JSON.stringify(err.issues)).not.toContain(EMAIL);
  });

  it("keeps no refused record key of zod's key schema", async () => {
    const schema = z.record(z.string().regex(/^[a-z]+$/), z.number());
    const err = (await rejectionOf(decryptor.decrypt(await bodyOf({ [TOKEN]: 1 }), { schema }))) as PayloadInvalidError;
    expect(err.issues.length).toBeGreaterThan(0);
    expect(`${everyTextOf(err)} ${JSON.stringify(err.issues)}`).not.toContain(TOKEN);
  });

  it('keeps no member name of a valibot record or strictObject refusal in path or message', async () => {
    for (const schema of [v.record(v.string(), v.number()), v.strictObject({ a: v.number() }), v.object({ a: v.record(v.pipe(v.string(), v.regex(/^[a-z]+$/)), v.number()) })]) {
      const err = (await rejectionOf(decryptor.decrypt(await bodyOf({ a: { [EMAIL]: 'x' }, [EMAIL]: 'y' }), { schema }))) as PayloadInvalidError;
      expect(err.issues.length).toBeGreaterThan(0);
      expect(`${everyTextOf(err)} ${JSON.stringify(err.issues)}`).not.toContain(EMAIL);
    }
  });

  it('keeps the member names the schema declares, for zod and valibot', async () => {
    const zodErr = (await rejectionOf(decryptor.decrypt(await bodyOf({ stack: { version: 1 } }), { schema: z.object({ stack: z.object({ version: z.string() }) }) }))) as PayloadInvalidError;
    expect(zodErr.issues.map((issue) => issue.path)).toEqual([['stack', 'version']]);
    const valibotErr = (await rejectionOf(decryptor.decrypt(await bodyOf({ stack: { version: 1 } }), { schema: v.object({ stack: v.object({ version: v.string() }) }) }))) as PayloadInvalidError;
    expect(valibotErr.issues.map((issue) => issue.path)).toEqual([['stack', 'version']]);
  });
});

describe('decrypt(body, { schema }) with valibot 1', () => {
  it("resolves to the schema's output, with its transforms applied", async () => {
    const schema = v.object({ count: v.pipe(v.string(), v.transform(Number)), tags: v.array(v.string()) });
    const output: { count: number; tags: string[] } = await decryptor.decrypt(await bodyOf({ count: '12', tags: ['a'] }), { schema });
    expect(output).toEqual({ count: 12, tags: ['a'] });
  });

  it('turns path segment objects into plain keys, array indexes included', async () => {
    const schema = v.object({ nodes: v.array(v.object({ name: v.string() })) });
    const err = (await rejectionOf(decryptor.decrypt(await bodyOf({ nodes: [{ name: 'a' }, { name: 5 }] }), { schema }))) as PayloadInvalidError;
    expect(err.issues.map((issue) => issue.path)).toEqual([['nodes', 1, 'name']]);
  });

  it('takes out of its messages the refused values that valibot quotes (strings, numbers, the payload itself)', async () => {
    const schema = v.object({
      email: v.pipe(v.string(), v.email()),
      limit: v.pipe(v.number(), v.maxValue(5)),
      kind: v.picklist(['a', 'b']),
    });
    const payload = { email: SECRETS[0], limit: SECRETS[2], kind: SECRETS[1] };
    const err = (await rejectionOf(decryptor.decrypt(await bodyOf(payload), { schema }))) as PayloadInvalidError;
    expect(err.issues).toHaveLength(3);
    for (const issue of err.issues) expect(issue.message).toContain('[value]'); // valibot quoted each one
    const text = everyTextOf(err);
    for (const secret of SECRETS) expect(text).not.toContain(String(secret));
  });

  it("takes out a refused value as the validator saw it after its own transforms", async () => {
    const schema = v.pipe(
      v.string(),
      v.transform((text) => text.toUpperCase()),
      v.email(),
    );
    const err = await rejectionOf(decryptor.decrypt(await bodyOf(SECRETS[0]), { schema }));
    expect(everyTextOf(err)).not.toContain(SECRETS[3]);
  });

  it('leaves words of a message alone that only contain a short refused value', async () => {
    const err = (await rejectionOf(decryptor.decrypt(await bodyOf({ n: 'a' }), { schema: v.object({ n: v.number() }) }))) as PayloadInvalidError;
    expect(err.issues[0]!.message).toBe('Invalid type: Expected number but received [value]');
  });

  it('awaits an asynchronous validator', async () => {
    const known = new Set(['kibana1']);
    const schema = v.objectAsync({
      kid: v.pipeAsync(
        v.string(),
        v.checkAsync(async (kid) => known.has(kid), 'unknown kid'),
      ),
    });
    await expect(decryptor.decrypt(await bodyOf({ kid: 'kibana1' }), { schema })).resolves.toEqual({ kid: 'kibana1' });
    const err = (await rejectionOf(decryptor.decrypt(await bodyOf({ kid: 'other' }), { schema }))) as PayloadInvalidError;
    expect(err.code).toBe(ERROR_CODES.PAYLOAD_INVALID);
    expect(err.issues).toEqual([{ path: ['kid'], message: 'unknown kid' }]);
  });
});

describe('decrypt(body, { schema }): any Standard Schema, bounded', () => {
  it(`keeps the first ${MAX_PAYLOAD_ISSUES} issues of a payload that fails everywhere`, async () => {
    const schema = z.array(z.string());
    const err = (await rejectionOf(decryptor.decrypt(await bodyOf(Array.from({ length: 1000 }, (_, i) => i)), { schema }))) as PayloadInvalidError;
    expect(err.issues).toHaveLength(MAX_PAYLOAD_ISSUES);
    expect(err.issues[0]!.path).toEqual([0]);
  });

  it('bounds a declared member name in a path to 128 characters', async () => {
    const name = 'n'.repeat(5000);
    const schema = z.object({ [name]: z.string() });
    const err = (await rejectionOf(decryptor.decrypt(await bodyOf({ [name]: 1 }), { schema }))) as PayloadInvalidError;
    expect(err.issues[0]!.path).toEqual([`${'n'.repeat(128)}…`]);
  });

  it("redacts a member name the schema does not declare, in path and message, for a hand-written validator: the name is the sender's text", async () => {
    const name = 'alice.secret@example.com';
    const schema = standardSchema((value) => ({
      issues: Object.keys(value as object).map((key) => ({ message: `unexpected member ${key} ("${key}")`, path: [{ key }, 0] })),
    }));
    const err = (await rejectionOf(decryptor.decrypt(await bodyOf({ [name]: [1] }), { schema }))) as PayloadInvalidError;
    expect(err.issues).toEqual([{ path: ['[key]', 0], message: 'unexpected member [value] ([value])' }]);
  });

  it('redacts any quoted text in a message that is not a declared member name, wherever in the payload it comes from', async () => {
    const schema = standardSchema(() => ({ issues: [{ message: 'the other member said "tok_9f8e7d6c5b4a"', path: [] }] }));
    const err = (await rejectionOf(decryptor.decrypt(await bodyOf({ deep: { deeper: 'tok_9f8e7d6c5b4a' } }), { schema }))) as PayloadInvalidError;
    expect(err.issues).toEqual([{ path: [], message: 'the other member said [value]' }]);
  });

  it('refuses with ERR_PAYLOAD_INVALID and keeps nothing of it when the validator throws', async () => {
    const schema = standardSchema(() => {
      throw new Error(`cannot read ${SECRETS[1]}`);
    });
    const err = (await rejectionOf(decryptor.decrypt(await bodyOf(SECRETS[1]), { schema }))) as PayloadInvalidError;
    expect(err.code).toBe(ERROR_CODES.PAYLOAD_INVALID);
    expect(err.issues).toEqual([]);
    expect(err).not.toHaveProperty('cause');
    expect(everyTextOf(err)).not.toContain(SECRETS[1]);
  });

  it('refuses with ERR_PAYLOAD_INVALID when the validator returns something that is not a result', async () => {
    const schema = standardSchema(() => null as never);
    expect((await rejectionOf(decryptor.decrypt(await bodyOf(1), { schema }))).code).toBe(ERROR_CODES.PAYLOAD_INVALID);
  });

  it('never hands a forged body to the validator', async () => {
    const validate = jest.fn(() => ({ value: 1 }));
    const body = await bodyOf({ a: 1 });
    const [header, key, iv, ciphertext, tag] = body.split('.');
    const flipped = Buffer.from(ciphertext!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    const forged = [header, key, iv, flipped.toString('base64url'), tag].join('.');
    expect((await rejectionOf(decryptor.decrypt(forged, { schema: standardSchema(validate) }))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    expect(validate).not.toHaveBeenCalled();
  });

  it('refuses a schema that is not a Standard Schema v1 validator with ERR_INVALID_ARGUMENT', async () => {
    const notSchemas = [{ parse: () => 1 }, { '~standard': { version: 2, validate: () => ({ value: 1 }) } }, null];
    for (const schema of notSchemas) {
      expect((await rejectionOf(decryptor.decrypt(await bodyOf(1), { schema: schema as never }))).code).toBe(ERROR_CODES.INVALID_ARGUMENT);
    }
  });

  it('is reported to onDecrypt as ERR_PAYLOAD_INVALID, with what is known of the body', async () => {
    const events: DecryptEvent[] = [];
    const observed = await createRequestDecryptor(vectors.privateJWKS, { onDecrypt: (event) => void events.push(event) });
    await rejectionOf(observed.decrypt(await bodyOf({ n: SECRETS[1] }), { schema: z.object({ n: z.number() }) }));
    expect(events).toEqual([expect.objectContaining({ ok: false, code: 'ERR_PAYLOAD_INVALID', kid: 'kibana1', format: 'jwe' })]);
  });
});
