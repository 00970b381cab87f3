// An option name a function does not know is refused, naming it: a typo must not leave a sender
// on SHA-1 or a receiver without its limits.
import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES, InvalidArgumentError, type Decryptor, type Encryptor } from '../src';
import { rejectionOf, vectors } from './helpers';

let encryptor: Encryptor;
let decryptor: Decryptor;
let body: string;
beforeAll(async () => {
  encryptor = await createRequestEncryptor(vectors.publicJWKS);
  decryptor = await createRequestDecryptor(vectors.privateJWKS);
  body = await encryptor.encrypt('kibana1', { ok: true });
});

const CALLS: Array<[string, (options: unknown) => Promise<unknown>]> = [
  ['createRequestEncryptor', (options) => createRequestEncryptor(vectors.publicJWKS, options as never)],
  ['encrypt', (options) => encryptor.encrypt('kibana1', 1, options as never)],
  ['createRequestDecryptor', (options) => createRequestDecryptor(vectors.privateJWKS, options as never)],
  ['decrypt', (options) => decryptor.decrypt(body, options as never)],
  ['decryptPayload', (options) => decryptor.decryptPayload(body, options as never)],
];

describe.each(CALLS)('%s', (name, call) => {
  const where = name === 'decryptPayload' ? 'decrypt' : name;

  it.each([['keyWrapAlgoritm'], ['maxBodyByte'], ['Format'], ['schemaa']])('refuses the unknown option %j with ERR_INVALID_ARGUMENT naming it and the call', async (option) => {
    const err = await rejectionOf(call({ [option]: 'RSA-OAEP-256' }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
    expect(err.message).toContain(`${where} has no option "${option}"`);
  });

  it('refuses an unknown option set to undefined too (the name is still a typo)', async () => {
    expect((await rejectionOf(call({ compres: undefined }))).message).toContain('"compres"');
  });

  it('names every unknown option, up to five, and how many more', async () => {
    const err = await rejectionOf(call(Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => [n, 1]))));
    expect(err.message).toContain('no option "a", "b", "c", "d", "e" and 2 more');
  });

  it('cuts a long unknown name at 64 characters', async () => {
    const err = await rejectionOf(call({ ['x'.repeat(500)]: 1 }));
    expect(err.message).toContain(`"${'x'.repeat(64)}…"`);
    expect(err.message).not.toContain('x'.repeat(65));
  });

  it.each([['null', null], ['a string', 'jwe'], ['an array', []], ['a number', 1]])('refuses %s as its options', async (_what, options) => {
    const err = await rejectionOf(call(options));
    expect([err.code, err.message]).toEqual([ERROR_CODES.INVALID_ARGUMENT, `invalid argument: the options of ${where} must be an object`]);
  });

  it('accepts no options and an empty object', async () => {
    await expect(call(undefined)).resolves.toBeDefined();
    await expect(call({})).resolves.toBeDefined();
  });
});

describe('every known option is accepted', () => {
  it('by createRequestEncryptor and encrypt', async () => {
    const all = await createRequestEncryptor(vectors.publicJWKS, { format: 'jwe', prepareAhead: 0, keyWrapAlgorithm: 'RSA-OAEP-256' });
    const made = await all.encrypt('kibana1', 1, { format: 'jwe', keyWrapAlgorithm: 'RSA-OAEP', context: { a: 'b' }, compress: true });
    await expect(decryptor.decrypt(made)).resolves.toBe(1);
  });

  it('by createRequestDecryptor and decrypt', async () => {
    const all = await createRequestDecryptor(vectors.privateJWKS, {
      maxBodyBytes: 1 << 20,
      maxPayloadBytes: 1 << 20,
      maxPayloadValues: 1000,
      maxPayloadDepth: 8,
      clockToleranceSeconds: 5,
      unwrapOn: 'event-loop',
      onDecrypt: () => undefined,
      onKeyWrap: () => undefined,
      pinKeyWrapAlgorithm: false,
    });
    const jwe = await encryptor.encrypt('kibana1', 2, { format: 'jwe', context: { a: 'b' } });
    const schema = { '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) } } as const;
    await expect(all.decrypt(jwe, { context: { a: 'b' }, maxAgeSeconds: 60, schema })).resolves.toBe(2);
  });
});
