// Whose failure an error is, without reading its message: `kind` is 'caller' for the calling
// code's mistakes (answer 500), 'body' for a refused body (400), 'unavailable' for the receiver's
// condition (503). And a failure the library did not raise itself answers the client as a forgery
// but is marked for the operator.
import type * as Crypto from 'node:crypto';

import * as boundedJson from '../src/encoding/bounded-json';
import {
  BodyExpiredError,
  BodyMalformedError,
  BodyTooLargeError,
  ContextMismatchError,
  createRequestDecryptor,
  createRequestEncryptor,
  DecryptionFailedError,
  EncryptionFailedError,
  ERROR_CODES,
  InvalidArgumentError,
  InvalidJwksError,
  KeyServiceUnavailableError,
  MissingKidError,
  NoKeyFoundError,
  PayloadInvalidError,
  PayloadNotSerializableError,
  PayloadTooComplexError,
  ReceiverBusyError,
  RequestCryptoError,
  UnsupportedAlgorithmError,
  type DecryptEvent,
  type ErrorKind,
} from '../src';
import { makeKeySets, rejectionOf, vectors } from './helpers';

const MARKER = 'payload-text-only-the-receiver-may-read';

afterEach(() => jest.restoreAllMocks());

describe('kind', () => {
  const cases: Array<[string, RequestCryptoError, ErrorKind]> = [
    ['InvalidArgumentError', new InvalidArgumentError('invalid argument: x'), 'caller'],
    ['InvalidJwksError', new InvalidJwksError(), 'caller'],
    ['MissingKidError', new MissingKidError('k'), 'caller'],
    ['PayloadNotSerializableError', new PayloadNotSerializableError(), 'caller'],
    ['EncryptionFailedError', new EncryptionFailedError(), 'caller'],
    ['BodyMalformedError', new BodyMalformedError(), 'body'],
    ['BodyTooLargeError', new BodyTooLargeError(), 'body'],
    ['PayloadTooComplexError', new PayloadTooComplexError(), 'body'],
    ['NoKeyFoundError', new NoKeyFoundError(), 'body'],
    ['DecryptionFailedError', new DecryptionFailedError(), 'body'],
    ['UnsupportedAlgorithmError', new UnsupportedAlgorithmError(), 'body'],
    ['ContextMismatchError', new ContextMismatchError(), 'body'],
    ['BodyExpiredError', new BodyExpiredError(), 'body'],
    ['PayloadInvalidError', new PayloadInvalidError(), 'body'],
    ['ReceiverBusyError', new ReceiverBusyError(), 'unavailable'],
    ['KeyServiceUnavailableError', new KeyServiceUnavailableError(), 'unavailable'],
  ];

  it.each(cases)('%s has the kind of its code', (_name, err, kind) => {
    expect(err.kind).toBe(kind);
    expect(err).toBeInstanceOf(RequestCryptoError);
  });

  it('covers every code in ERROR_CODES', () => {
    expect(cases.map(([, err]) => err.code).sort()).toEqual(Object.values(ERROR_CODES).sort());
  });

  it('is not enumerable: an error serialises as in 2.0.3, and the 2.0.3 strings stay exact', () => {
    const err = new MissingKidError('kibana9');
    expect(Object.keys(err).sort()).toEqual(['code', 'kid', 'name']);
    expect(String(err)).toBe('Error: Missing kid (kibana9).');
    expect(String(new NoKeyFoundError())).toBe('Error: no key found');
  });

  it('is "caller" for ERR_NO_KEY_FOUND when the decryptor was handed a set of public keys only, "body" for a kid its set lacks', async () => {
    const body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', { a: 1 });
    const handedPublicSet = await rejectionOf((await createRequestDecryptor(vectors.publicJWKS as never)).decrypt(body));
    expect(handedPublicSet).toMatchObject({ code: ERROR_CODES.NO_KEY_FOUND, reason: 'public-keys-only', kind: 'caller' });
    expect(String(handedPublicSet)).toBe('Error: no key found');
    const kidLacking = await rejectionOf((await createRequestDecryptor(makeKeySets(['other']).privateJWKS)).decrypt(body));
    expect(kidLacking).toMatchObject({ code: ERROR_CODES.NO_KEY_FOUND, reason: 'unknown-kid', kind: 'body' });
  });

  it('is "caller" for a key set the decryptor cannot use', async () => {
    const err = await rejectionOf(createRequestDecryptor({ keys: 'nope' } as never));
    expect(err).toBeInstanceOf(InvalidJwksError);
    expect((err as RequestCryptoError).kind).toBe('caller');
  });

  it('is "caller" for a bad option to decrypt, and "body" for a refused body, from the same decryptor', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const option = await rejectionOf(decryptor.decrypt(vectors.vectors[0]!.body, { maxAgeSeconds: -1 }));
    expect((option as RequestCryptoError).kind).toBe('caller');
    const body = await rejectionOf(decryptor.decrypt('not a body'));
    expect((body as RequestCryptoError).kind).toBe('body');
  });

  it('is "caller" for encrypting to a kid the public set lacks', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const err = await rejectionOf(encryptor.encrypt('no-such-kid', {}));
    expect(err).toBeInstanceOf(MissingKidError);
    expect((err as RequestCryptoError).kind).toBe('caller');
  });

  it('is "body" for a body whose header names an algorithm we do not use', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const header = Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: 'kibana1' })).toString('base64url');
    const err = await rejectionOf(decryptor.decrypt(`${header}.AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA`));
    expect(err).toBeInstanceOf(RequestCryptoError);
    expect((err as RequestCryptoError).kind).toBe('body');
  });
});

describe('an error the library did not raise', () => {
  /** A decryptor whose JSON step has a bug: it throws a TypeError quoting the payload. */
  async function buggy(events: DecryptEvent[]) {
    jest.spyOn(boundedJson, 'parseBoundedJson').mockImplementation(() => {
      throw new TypeError(`cannot read ${MARKER}`);
    });
    return createRequestDecryptor(vectors.privateJWKS, { onDecrypt: (event) => void events.push(event) });
  }

  it('answers the caller ERR_DECRYPTION_FAILED, as for a forgery', async () => {
    const err = await rejectionOf((await buggy([])).decrypt(vectors.vectors[0]!.body));
    expect(err).toBeInstanceOf(DecryptionFailedError);
    expect(err.message).toBe('decryption failed');
    expect((err as RequestCryptoError).kind).toBe('body');
  });

  it('keeps the original error as a non-enumerable cause, out of the message, the keys and the JSON', async () => {
    const err = await rejectionOf((await buggy([])).decrypt(vectors.vectors[0]!.body));
    const cause = (err as Error & { cause?: unknown }).cause;
    expect(cause).toBeInstanceOf(TypeError);
    expect((cause as Error).message).toContain(MARKER);
    expect(Object.keys(err).sort()).toEqual(['code', 'name']);
    expect(`${String(err)} ${err.stack ?? ''} ${JSON.stringify(err)}`).not.toContain(MARKER);
  });

  it('says unexpected: true on the onDecrypt event, and the event quotes nothing of it', async () => {
    const events: DecryptEvent[] = [];
    await rejectionOf((await buggy(events)).decrypt(vectors.vectors[0]!.body));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ ok: false, code: 'ERR_DECRYPTION_FAILED', unexpected: true });
    expect(JSON.stringify(events[0])).not.toContain(MARKER);
  });

  it('is not said of a forged body, or of a success', async () => {
    const events: DecryptEvent[] = [];
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { onDecrypt: (event) => void events.push(event) });
    const body = vectors.vectors[0]!.body;
    await decryptor.decrypt(body);
    const forged = body.slice(0, -8) + (body.slice(-8, -7) === 'A' ? 'B' : 'A') + body.slice(-7);
    const err = await rejectionOf(decryptor.decrypt(forged));
    expect(err).toBeInstanceOf(RequestCryptoError);
    expect((err as Error & { cause?: unknown }).cause).toBeUndefined();
    expect(events.map((event) => 'unexpected' in event)).toEqual([false, false]);
  });
});

describe('the private-key operation', () => {
  /** A 'jwe' body whose wrapped key (its second part) has one byte changed: RSA-OAEP refuses it. */
  async function bodyWithForgedKey(): Promise<string> {
    const body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', { a: 1 }, { format: 'jwe' });
    const parts = body.split('.');
    const key = Buffer.from(parts[1]!, 'base64url');
    key[10] = key[10]! ^ 1;
    parts[1] = key.toString('base64url');
    return parts.join('.');
  }

  it.each(['threads', 'event-loop'] as const)('refusing a wrapped key is a forgery, never unexpected (unwrapOn %s)', async (unwrapOn) => {
    const events: DecryptEvent[] = [];
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { unwrapOn, onDecrypt: (event) => void events.push(event) });
    const forged = await bodyWithForgedKey();
    const errors = await Promise.all([1, 2, 3, 4].map(() => rejectionOf(decryptor.decrypt(forged))));
    for (const err of errors) expect(err).toBeInstanceOf(DecryptionFailedError);
    expect(events.map((event) => [event.code, 'unexpected' in event])).toEqual(Array(4).fill(['ERR_DECRYPTION_FAILED', false]));
  });

  it.each(['threads', 'event-loop'] as const)('a throw with no OpenSSL code, as FIPS mode raises for bad padding, is a forgery too (unwrapOn %s)', async (unwrapOn) => {
    const events: DecryptEvent[] = [];
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { unwrapOn, onDecrypt: (event) => void events.push(event) });
    const body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', { a: 1 }, { format: 'jwe' });
    // One body in flight with a 2048-bit key: unwrapped on this thread, where the spy is.
    jest.spyOn(jest.requireActual<typeof Crypto>('node:crypto'), 'privateDecrypt').mockImplementation(() => {
      throw new Error(`error:02000079:rsa routines::oaep decoding error ${MARKER}`);
    });
    const err = await rejectionOf(decryptor.decrypt(body));
    expect(err).toBeInstanceOf(DecryptionFailedError);
    expect(err.message).toBe('decryption failed');
    expect(events).toEqual([expect.objectContaining({ ok: false, code: 'ERR_DECRYPTION_FAILED' })]);
    expect('unexpected' in events[0]!).toBe(false);
    expect(JSON.stringify(events[0])).not.toContain(MARKER);
  });
});
