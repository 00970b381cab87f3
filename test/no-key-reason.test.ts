import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES, NoKeyFoundError, type PrivateJWKS } from '../src';
import { makeKeySets, rejectionOf, vectors } from './helpers';

describe('why a body found no key', () => {
  let legacy: string;
  let jwe: string;
  beforeAll(async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    legacy = await encryptor.encrypt('kibana1', { a: 1 });
    jwe = await encryptor.encrypt('kibana1', { a: 1 }, { format: 'jwe' });
  });

  it.each([
    ['a set of public keys only', () => vectors.publicJWKS as unknown as PrivateJWKS, 'public-keys-only'],
    ['a set without the kid', () => makeKeySets(['other']).privateJWKS, 'unknown-kid'],
    ['a set with the kid as a public key only, beside a private key', () => ({ keys: [...makeKeySets(['other']).privateJWKS.keys, ...vectors.publicJWKS.keys] }) as PrivateJWKS, 'no-private-key'],
  ])("says, for %s, 'Error: no key found' with reason %s", async (_name, jwks, reason) => {
    const decryptor = await createRequestDecryptor(jwks());
    for (const body of [legacy, jwe]) {
      for (const call of [decryptor.decrypt(body), decryptor.getJWKMetadata(body)]) {
        const err = await rejectionOf(call);
        expect(err).toBeInstanceOf(NoKeyFoundError);
        expect(String(err)).toBe('Error: no key found');
        expect(err).toMatchObject({ code: ERROR_CODES.NO_KEY_FOUND, reason });
      }
    }
  });
});
