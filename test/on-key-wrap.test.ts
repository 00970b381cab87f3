// onKeyWrap({ kid, alg, legacy }): once per authentic body, the count a migration is watched by.
import {
  createRequestDecryptor,
  createRequestEncryptor,
  ERROR_CODES,
  packBody,
  unpackBody,
  type Encryptor,
  type KeyWrapInfo,
  type OnKeyWrap,
} from '../src';
import v3 from './fixtures/key-wrap-v3.json';
import { rejectionOf, vectors } from './helpers';

const frozen = v3 as unknown as { privateJWKS: typeof vectors.privateJWKS; vectors: Array<{ body: string; kid: string; format: string }> };
const ALGS = ['RSA-OAEP', 'RSA-OAEP-256'] as const;
const FORMATS = ['legacy', 'jwe'] as const;

/** The same body with one bit of its payload's ciphertext flipped: authentic key, forged payload. */
function forgedPayload(body: string): string {
  if (body.includes('.')) {
    const parts = body.split('.');
    const ciphertext = Buffer.from(parts[3]!, 'base64url');
    ciphertext[0] = ciphertext[0]! ^ 0x01;
    parts[3] = ciphertext.toString('base64url');
    return parts.join('.');
  }
  const { encryptedAESKey, encryptedPayload } = unpackBody(body);
  const sealed = Buffer.from(encryptedPayload, 'base64');
  sealed[64 + 12 + 16] = sealed[64 + 12 + 16]! ^ 0x01;
  return packBody(encryptedAESKey, sealed.toString('base64'));
}

/** The same legacy body with one bit of its key envelope's tag flipped. */
function forgedEnvelope(body: string): string {
  const { encryptedAESKey, encryptedPayload } = unpackBody(body);
  const parts = encryptedAESKey.split('.');
  const tag = Buffer.from(parts[4]!, 'base64url');
  tag[0] = tag[0]! ^ 0x01;
  parts[4] = tag.toString('base64url');
  return packBody(parts.join('.'), encryptedPayload);
}

let senders: Record<(typeof ALGS)[number], Encryptor>;
beforeAll(async () => {
  senders = {
    'RSA-OAEP': await createRequestEncryptor(vectors.publicJWKS),
    'RSA-OAEP-256': await createRequestEncryptor(vectors.publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' }),
  };
});

async function hooked(hook?: OnKeyWrap) {
  const infos: KeyWrapInfo[] = [];
  const decryptor = await createRequestDecryptor(vectors.privateJWKS, { onKeyWrap: hook ?? ((info) => void infos.push(info)) });
  return { decryptor, infos };
}

describe('onKeyWrap', () => {
  it.each(ALGS.flatMap((alg) => FORMATS.map((format) => [alg, format] as const)))(
    'is called once with exactly { kid, alg, legacy } for a %s %s body that decrypted',
    async (alg, format) => {
      const { decryptor, infos } = await hooked();
      await decryptor.decrypt(await senders[alg].encrypt('kibana1', { n: 1 }, { format }));
      expect(infos).toEqual([{ kid: 'kibana1', alg, legacy: alg === 'RSA-OAEP' }]);
      expect(Object.keys(infos[0]!)).toEqual(['kid', 'alg', 'legacy']);
      expect(Object.isFrozen(infos[0])).toBe(true);
    },
  );

  it('is called for decryptPayload and for getJWKMetadata, once each', async () => {
    const { decryptor, infos } = await hooked();
    const body = await senders['RSA-OAEP-256'].encrypt('kibana1', 1);
    await decryptor.decryptPayload(body);
    await decryptor.getJWKMetadata(body);
    expect(infos).toEqual([
      { kid: 'kibana1', alg: 'RSA-OAEP-256', legacy: false },
      { kid: 'kibana1', alg: 'RSA-OAEP-256', legacy: false },
    ]);
  });

  it('reports the frozen bodies of node-jose and jose 6 as RSA-OAEP-256, not legacy', async () => {
    const infos: KeyWrapInfo[] = [];
    const decryptor = await createRequestDecryptor(frozen.privateJWKS, { onKeyWrap: (info) => void infos.push(info) });
    for (const vector of frozen.vectors) await decryptor.decrypt(vector.body);
    expect(infos).toEqual(frozen.vectors.map((v) => ({ kid: v.kid, alg: 'RSA-OAEP-256', legacy: false })));
  });

  it.each(ALGS.flatMap((alg) => FORMATS.map((format) => [alg, format] as const)))(
    'is never called for a %s %s body whose payload fails to authenticate',
    async (alg, format) => {
      const { decryptor, infos } = await hooked();
      const err = await rejectionOf(decryptor.decrypt(forgedPayload(await senders[alg].encrypt('kibana1', 1, { format }))));
      expect(err.code).toBe(ERROR_CODES.DECRYPTION_FAILED);
      expect(infos).toEqual([]);
    },
  );

  it('is never called when the key envelope fails to authenticate, in decrypt or getJWKMetadata', async () => {
    const { decryptor, infos } = await hooked();
    const body = forgedEnvelope(await senders['RSA-OAEP-256'].encrypt('kibana1', 1));
    expect((await rejectionOf(decryptor.decrypt(body))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    expect((await rejectionOf(decryptor.getJWKMetadata(body))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    expect(infos).toEqual([]);
  });

  it('is never called for a malformed body or one for a kid the set lacks', async () => {
    const { decryptor, infos } = await hooked();
    await rejectionOf(decryptor.decrypt('not a body'));
    const other = await createRequestEncryptor({ keys: [{ ...vectors.publicJWKS.keys[0]!, kid: 'elsewhere' }] });
    expect((await rejectionOf(decryptor.decrypt(await other.encrypt('elsewhere', 1)))).code).toBe(ERROR_CODES.NO_KEY_FOUND);
    expect(infos).toEqual([]);
  });

  it('counts exactly the authentic bodies of each algorithm among 240 concurrent ones, forgeries interleaved', async () => {
    const counts = { 'RSA-OAEP': 0, 'RSA-OAEP-256': 0, legacyFlag: 0 };
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, {
      onKeyWrap: ({ alg, legacy }) => {
        counts[alg] += 1;
        if (legacy) counts.legacyFlag += 1;
      },
    });
    const plan = Array.from({ length: 240 }, (_, i) => ({ alg: ALGS[i % 2]!, format: FORMATS[(i >> 1) % 2]!, forged: i % 5 === 0, i }));
    const bodies = await Promise.all(
      plan.map(async ({ alg, format, forged, i }) => {
        const body = await senders[alg].encrypt('kibana1', { i }, { format });
        return forged ? forgedPayload(body) : body;
      }),
    );
    const settled = await Promise.allSettled(bodies.map((body) => decryptor.decrypt(body)));
    expect(settled.map((s) => s.status)).toEqual(plan.map((p) => (p.forged ? 'rejected' : 'fulfilled')));
    const authentic = (alg: string): number => plan.filter((p) => p.alg === alg && !p.forged).length;
    expect(counts).toEqual({ 'RSA-OAEP': authentic('RSA-OAEP'), 'RSA-OAEP-256': authentic('RSA-OAEP-256'), legacyFlag: authentic('RSA-OAEP') });
  });

  it('is called for an authentic body that a later check refuses (its schema, context or age), since it did decrypt', async () => {
    const { decryptor, infos } = await hooked();
    const body = await senders['RSA-OAEP-256'].encrypt('kibana1', 1, { format: 'jwe' });
    expect((await rejectionOf(decryptor.decrypt(body, { context: { product: 'other' } }))).code).toBe(ERROR_CODES.CONTEXT_MISMATCH);
    expect(infos).toHaveLength(1);
  });

  describe('a hook that fails', () => {
    let unhandled: unknown[];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    beforeEach(() => {
      unhandled = [];
      process.on('unhandledRejection', onUnhandled);
    });
    afterEach(() => process.off('unhandledRejection', onUnhandled));

    it.each([
      ['throws', () => { throw new Error('hook threw'); }],
      ['rejects', async () => { throw new Error('hook rejected'); }],
      ['returns a rejected thenable', () => ({ then: (_ok: unknown, fail: (e: Error) => void) => fail(new Error('thenable rejected')) })],
    ])('never fails the call when it %s, and leaves no unhandled rejection', async (_what, hook) => {
      const { decryptor } = await hooked(hook as OnKeyWrap);
      for (const alg of ALGS) {
        const body = await senders[alg].encrypt('kibana1', { alg });
        await expect(decryptor.decrypt(body)).resolves.toEqual({ alg });
        await expect(decryptor.getJWKMetadata(body)).resolves.toMatchObject({ format: 'legacy' });
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    });
  });

  it.each([['a string', 'log'], ['an object', {}], ['null', null]])('refuses %s for onKeyWrap with ERR_INVALID_ARGUMENT', async (_name, hook) => {
    const err = await rejectionOf(createRequestDecryptor(vectors.privateJWKS, { onKeyWrap: hook as never }));
    expect([err.code, err.message]).toEqual([ERROR_CODES.INVALID_ARGUMENT, 'invalid argument: onKeyWrap must be a function']);
  });
});
