import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES, unpackBody } from '../src';
import { PreparedKeys } from '../src/formats/legacy/prepared-keys';
import { rejectionOf, vectors } from './helpers';

const saltOf = (body: string): string => Buffer.from(unpackBody(body).encryptedPayload, 'base64').subarray(0, 64).toString('hex');

describe('payload keys prepared ahead', () => {
  it('never hands out the same key twice', async () => {
    const keys = new PreparedKeys(2);
    const taken = await Promise.all(Array.from({ length: 40 }, () => keys.take()));
    expect(new Set(taken.map((k) => k.passphrase.toString('hex'))).size).toBe(40);
    expect(new Set(taken.map((k) => k.salt.toString('hex'))).size).toBe(40);
    expect(new Set(taken.map((k) => k.key.toString('hex'))).size).toBe(40);
  });

  it('keeps `depth` keys in preparation after each take, and none before the first', async () => {
    const keys = new PreparedKeys(3) as unknown as { ahead: unknown[]; take: () => Promise<unknown> };
    expect(keys.ahead).toHaveLength(0);
    await keys.take();
    expect(keys.ahead).toHaveLength(3);
    await keys.take();
    expect(keys.ahead).toHaveLength(3);
  });

  it.each([0, 1, 4])('gives every body its own salt with prepareAhead %i, serially and concurrently', async (prepareAhead) => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS, { prepareAhead });
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const bodies: string[] = [];
    for (let i = 0; i < 5; i += 1) bodies.push(await encryptor.encrypt('kibana1', { i }));
    bodies.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => encryptor.encrypt('kibana1', { i: i + 5 })))));
    expect(new Set(bodies.map(saltOf)).size).toBe(15);
    const passphrases = new Set(bodies.map((b) => unpackBody(b).encryptedAESKey.split('.')[1]));
    expect(passphrases.size).toBe(15);
    expect(await Promise.all(bodies.map((b) => decryptor.decrypt(b)))).toEqual(Array.from({ length: 15 }, (_, i) => ({ i })));
  });

  it.each([-1, 1.5, 65, '1'])('refuses prepareAhead %p', async (value) => {
    const err = await rejectionOf(createRequestEncryptor(vectors.publicJWKS, { prepareAhead: value as number }));
    expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });
});
