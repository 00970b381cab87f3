import { createHash } from 'node:crypto';

import {
  createRequestDecryptor,
  createRequestEncryptor,
  DEFAULT_MAX_PAYLOAD_COST,
  ERROR_CODES,
  MAX_UNKNOWN_KID_LENGTH,
  packBody,
  unpackBody,
  type DecryptEvent,
  type Decryptor,
  type DecryptorOptions,
  type Encryptor,
  type PrivateJWKS,
  type PublicJWKS,
} from '../src';
import { measureJsonCost } from '../src/encoding/bounded-json';
import { makePrivateJwk, publicOf, rejectionOf, vectors } from './helpers';

/** A payload whose marker must never reach an event. */
const PAYLOAD = { cluster_uuid: 'abc', marker: 'plaintext-only-the-receiver-reads' };

/** A decryptor over `jwks` whose events are collected. */
async function observed(jwks: PrivateJWKS | PublicJWKS = vectors.privateJWKS, options: DecryptorOptions = {}) {
  const events: DecryptEvent[] = [];
  const decryptor = await createRequestDecryptor(jwks as PrivateJWKS, { onDecrypt: (event) => void events.push(event), ...options });
  return { decryptor, events };
}

/** The same body with its key envelope made for `kid` instead (the header is not authenticated yet). */
function withKid(body: string, kid: string): string {
  const { encryptedAESKey, encryptedPayload } = unpackBody(body);
  const [header, ...rest] = encryptedAESKey.split('.');
  const decoded = JSON.parse(Buffer.from(header!, 'base64url').toString('utf8')) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...decoded, kid })).toString('base64url');
  return packBody([forged, ...rest].join('.'), encryptedPayload);
}

/** The same body with one bit of its payload's ciphertext flipped (canonical base64 kept). */
function forged(body: string): string {
  const { encryptedAESKey, encryptedPayload } = unpackBody(body);
  const sealed = Buffer.from(encryptedPayload, 'base64');
  sealed[64 + 12 + 16] = sealed[64 + 12 + 16]! ^ 0x01;
  return packBody(encryptedAESKey, sealed.toString('base64'));
}

/** Resolves after every pending callback and promise job has run, several times over. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

let encryptor: Encryptor;
let legacyBody: string;
beforeAll(async () => {
  encryptor = await createRequestEncryptor(vectors.publicJWKS);
  legacyBody = await encryptor.encrypt('kibana1', PAYLOAD);
});

describe('onDecrypt: one event per call', () => {
  it("reports a decrypted legacy body with its kid, format, algorithms, canonical body's SHA-256, payload cost, size and duration, and nothing else", async () => {
    const { decryptor, events } = await observed();
    await decryptor.decrypt(legacyBody);
    expect(events).toEqual([
      {
        ok: true,
        kid: 'kibana1',
        format: 'legacy',
        alg: 'RSA-OAEP',
        enc: 'A128CBC-HS256',
        compressed: false,
        bodySha256: createHash('sha256').update(legacyBody).digest('hex'),
        payloadCost: measureJsonCost(Buffer.from(JSON.stringify(PAYLOAD)), { maxPayloadCost: DEFAULT_MAX_PAYLOAD_COST, maxPayloadDepth: 64 }),
        maxPayloadCost: DEFAULT_MAX_PAYLOAD_COST,
        bodyBytes: legacyBody.length,
        durationMs: expect.any(Number),
      },
    ]);
  });

  it("reports a compressed 'jwe' body as format jwe, enc A256GCM, compressed true", async () => {
    const { decryptor, events } = await observed();
    const body = await encryptor.encrypt('kibana1', PAYLOAD, { format: 'jwe', compress: true });
    await decryptor.decrypt(body);
    expect(events).toEqual([
      expect.objectContaining({ ok: true, kid: 'kibana1', format: 'jwe', alg: 'RSA-OAEP', enc: 'A256GCM', compressed: true }),
    ]);
  });

  it('reports the RSA-OAEP-256 algorithm of a body made for such a key', async () => {
    const key = makePrivateJwk('rotated', 2048, 'RSA-OAEP-256');
    const { decryptor, events } = await observed({ keys: [key] });
    const body = await (await createRequestEncryptor({ keys: [publicOf(key)] })).encrypt('rotated', 1, { format: 'jwe' });
    await decryptor.decrypt(body);
    expect(events[0]).toMatchObject({ ok: true, alg: 'RSA-OAEP-256', format: 'jwe', compressed: false });
  });

  it.each(['decrypt', 'decryptPayload', 'getJWKMetadata'] as const)('is called exactly once for each %s call', async (method) => {
    const { decryptor, events } = await observed();
    await decryptor[method](legacyBody);
    await rejectionOf(decryptor[method]('junk'));
    expect(events.map((event) => event.ok)).toEqual([true, false]);
  });

  it('reports a Uint8Array body by its length in bytes, and anything that is no body as 0 bytes', async () => {
    const { decryptor, events } = await observed();
    await decryptor.decrypt(Buffer.from(legacyBody));
    await rejectionOf(decryptor.decrypt(42 as never));
    expect(events.map((event) => event.bodyBytes)).toEqual([legacyBody.length, 0]);
  });

  it('measures durationMs from the call to its result, in milliseconds', async () => {
    const slowUnwrap = jest.fn(async () => {
      await new Promise((resolve) => setTimeout(resolve, 60));
      throw new Error('no key here');
    });
    const { decryptor, events } = await observed(vectors.publicJWKS, { unwrapKey: slowUnwrap });
    await rejectionOf(decryptor.decrypt(legacyBody));
    expect(slowUnwrap).toHaveBeenCalledTimes(1);
    expect(events[0]!.durationMs).toBeGreaterThanOrEqual(50);
    expect(events[0]!.durationMs).toBeLessThan(10_000);
  });

  it('has been called by the time the call settles, so a Lambda logs it before answering', async () => {
    const { decryptor, events } = await observed();
    const payload = await decryptor.decrypt(legacyBody);
    expect(payload).toEqual(PAYLOAD);
    expect(events).toHaveLength(1);
  });
});

describe('onDecrypt: failures', () => {
  it('reports a malformed body with its code and size only: nothing about it is known', async () => {
    const { decryptor, events } = await observed();
    await rejectionOf(decryptor.decrypt('not a body!'));
    expect(events).toEqual([{ ok: false, code: 'ERR_BODY_MALFORMED', bodyBytes: 11, durationMs: expect.any(Number) }]);
  });

  it('reports a forged body with its format, kid and algorithms, as ERR_DECRYPTION_FAILED', async () => {
    const { decryptor, events } = await observed();
    await rejectionOf(decryptor.decrypt(forged(legacyBody)));
    expect(events).toEqual([
      expect.objectContaining({ ok: false, code: 'ERR_DECRYPTION_FAILED', kid: 'kibana1', format: 'legacy', alg: 'RSA-OAEP' }),
    ]);
  });

  it('reports the kid of a body for a key the set lacks, so that senders still on a removed key show up', async () => {
    const { decryptor, events } = await observed();
    await rejectionOf(decryptor.decrypt(withKid(legacyBody, 'kibana-retired')));
    expect(events[0]).toMatchObject({ ok: false, code: 'ERR_NO_KEY_FOUND', kid: 'kibana-retired', format: 'legacy' });
  });

  it(`gives only the first ${MAX_UNKNOWN_KID_LENGTH} characters of a kid the set lacks: it is the sender's text`, async () => {
    const { decryptor, events } = await observed();
    const kid = `${'k'.repeat(MAX_UNKNOWN_KID_LENGTH)}${'x'.repeat(600)}`; // as long as a key envelope's header allows
    await rejectionOf(decryptor.decrypt(withKid(legacyBody, kid)));
    expect(events[0]!.kid).toBe('k'.repeat(MAX_UNKNOWN_KID_LENGTH));
  });

  it('gives a kid of the set whole, however long', async () => {
    const kid = `arn:aws:kms:eu-west-1:123456789012:key/${'0'.repeat(36)}:${'k'.repeat(40)}`;
    const key = makePrivateJwk(kid);
    const { decryptor, events } = await observed({ keys: [key] });
    await decryptor.decrypt(await (await createRequestEncryptor({ keys: [publicOf(key)] })).encrypt(kid, 1));
    expect(events[0]!.kid).toBe(kid);
  });

  it('reports a bad option of the call as ERR_INVALID_ARGUMENT', async () => {
    const { decryptor, events } = await observed();
    await rejectionOf(decryptor.decrypt(legacyBody, { maxAgeSeconds: -1 }));
    expect(events[0]).toMatchObject({ ok: false, code: ERROR_CODES.INVALID_ARGUMENT });
  });

  it('never carries the payload, the body, or key material', async () => {
    const { decryptor, events } = await observed();
    await decryptor.decrypt(legacyBody);
    await decryptor.getJWKMetadata(legacyBody);
    await rejectionOf(decryptor.decrypt(forged(legacyBody)));
    const text = JSON.stringify(events);
    expect(text).not.toContain(PAYLOAD.marker);
    expect(text).not.toContain(unpackBody(legacyBody).encryptedPayload.slice(0, 40));
    for (const member of ['d', 'p', 'q', 'n'] as const) {
      expect(text).not.toContain((vectors.privateJWKS.keys[0]! as unknown as Record<string, string>)[member]!.slice(0, 40));
    }
  });
});

describe('onDecrypt cannot fail or delay a call', () => {
  let unhandled: unknown[];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  beforeEach(() => {
    unhandled = [];
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('resolves with the payload when the hook throws', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, {
      onDecrypt: () => {
        throw new Error('metrics backend down');
      },
    });
    await expect(decryptor.decrypt(legacyBody)).resolves.toEqual(PAYLOAD);
  });

  it("rejects with the body's own error, not the hook's, when both fail", async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, {
      onDecrypt: () => {
        throw new Error('metrics backend down');
      },
    });
    expect((await rejectionOf(decryptor.decrypt('junk'))).code).toBe('ERR_BODY_MALFORMED');
  });

  it('swallows a rejected promise from the hook: no unhandled rejection', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, {
      onDecrypt: async () => {
        throw new Error('metrics backend down');
      },
    });
    await expect(decryptor.decrypt(legacyBody)).resolves.toEqual(PAYLOAD);
    await rejectionOf(decryptor.getJWKMetadata('junk'));
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('swallows a thenable from the hook whose then throws', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, {
      onDecrypt: () => ({
        then() {
          throw new Error('not a real promise');
        },
      }),
    });
    await expect(decryptor.decrypt(legacyBody)).resolves.toEqual(PAYLOAD);
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('does not wait for an asynchronous hook: the call resolves while the hook is still pending', async () => {
    let hookFinished = false;
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, {
      onDecrypt: async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        hookFinished = true;
      },
    });
    await decryptor.decrypt(legacyBody);
    expect(hookFinished).toBe(false);
  });

  it('resolves when the hook returns a promise that never settles', async () => {
    const decryptor: Decryptor = await createRequestDecryptor(vectors.privateJWKS, { onDecrypt: () => new Promise(() => undefined) });
    await expect(decryptor.decrypt(legacyBody)).resolves.toEqual(PAYLOAD);
  });

  it('refuses an onDecrypt that is not a function with ERR_INVALID_ARGUMENT', async () => {
    const err = await rejectionOf(createRequestDecryptor(vectors.privateJWKS, { onDecrypt: 'log' as never }));
    expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });
});

describe('onDecrypt: why a body was refused', () => {
  it('reports a payload refused as too costly with its price and the limit, and nothing of its text', async () => {
    const { decryptor, events } = await observed(vectors.privateJWKS, { maxPayloadCost: 5000 });
    const payload = { marker: PAYLOAD.marker, items: new Array(300).fill(0) };
    const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', payload, { format: 'jwe' })));
    const price = measureJsonCost(Buffer.from(JSON.stringify(payload)), { maxPayloadCost: 5000, maxPayloadDepth: 64 });
    expect(price).toBeGreaterThan(5000);
    expect(err.code).toBe(ERROR_CODES.PAYLOAD_TOO_COMPLEX);
    expect(err).toMatchObject({ cost: price, maxCost: 5000 });
    expect(events).toEqual([expect.objectContaining({ ok: false, code: ERROR_CODES.PAYLOAD_TOO_COMPLEX, payloadCost: price, maxPayloadCost: 5000 })]);
    expect(JSON.stringify(events)).not.toContain(PAYLOAD.marker);
  });

  it("reports 'public-keys-only' for a decryptor given a set without private keys", async () => {
    const { decryptor, events } = await observed(vectors.publicJWKS as unknown as PrivateJWKS);
    const err = await rejectionOf(decryptor.decrypt(legacyBody));
    expect(String(err)).toBe('Error: no key found');
    expect(events).toEqual([expect.objectContaining({ ok: false, code: ERROR_CODES.NO_KEY_FOUND, reason: 'public-keys-only', kid: 'kibana1' })]);
  });
});
