/**
 * The drop-in promise at the type level: every export of @elastic/request-crypto 2.0.3 exists
 * here, and each of ours can stand where code written against the original expects its own.
 * `npm test` type-checks this file (tsc --noEmit), so an incompatible change fails the build.
 */
import * as original from '@elastic/request-crypto';

import * as ours from '../src';

// Classes with a protected member are nominal in TypeScript, so two packages' classes never
// assign to each other; what code can use of them is their public members, compared here.
type Public<T> = Pick<T, keyof T>;
type PublicFactory<F> = F extends (...args: infer A) => Promise<infer R> ? (...args: A) => Promise<Public<R>> : never;

// Values: ours must be assignable to the original's declared types.
const createRequestEncryptor: typeof original.createRequestEncryptor = ours.createRequestEncryptor;
const createRequestDecryptor: typeof original.createRequestDecryptor = ours.createRequestDecryptor;
const createJWKManager: PublicFactory<typeof original.createJWKManager> = ours.createJWKManager;
const createJWKS: typeof original.createJWKS = ours.createJWKS;
const createJWKSManager: PublicFactory<typeof original.createJWKSManager> = ours.createJWKSManager;
const packBody: typeof original.packBody = ours.packBody;
const unpackBody: typeof original.unpackBody = ours.unpackBody;
const generatePassphrase: typeof original.generatePassphrase = ours.generatePassphrase;
const ENC_MODULUS: typeof original.ENC_MODULUS = ours.ENC_MODULUS;
const RSA_ALGORITHM: typeof original.RSA_ALGORITHM = ours.RSA_ALGORITHM;
const KEY_LENGTH_IN_BYTES: typeof original.KEY_LENGTH_IN_BYTES = ours.KEY_LENGTH_IN_BYTES;

// Types: values of ours fit the original's types and the other way round.
async function typeLevelChecks(body: string): Promise<void> {
  const decryptor: original.Decryptor = await ours.createRequestDecryptor({ keys: [] });
  const encryptor: original.Encryptor = await ours.createRequestEncryptor({ keys: [] });
  const manager: Public<original.JWKManager> = await ours.createJWKManager();
  const setManager: Public<original.JWKSManager> = await ours.createJWKSManager();
  const metadata: Awaited<ReturnType<original.Decryptor['getJWKMetadata']>> = await decryptor.getJWKMetadata(body);
  const publicJWKS: ours.PublicJWKS = {} as original.PublicJWKS;
  const privateJWKS: ours.PrivateJWKS = {} as original.PrivateJWKS;
  const jwk: ours.JWK = {} as original.JWK;
  const unsigned: ours.UnsignedJWK = {} as original.UnsignedJWK;
  const use: ours.KeyUse = 'enc' as original.KeyUse;
  const keyMetadata: ours.JWKMetadata = {} as original.JWKMetadata;
  const decryptResult: original.JWKDecryptResult = await setManager.decrypt(await setManager.encrypt('k', Buffer.from('')));
  const jwks: ours.JWKS = {} as original.JWKS;
  void [decryptor, encryptor, manager, metadata, publicJWKS, privateJWKS, jwk, unsigned, use, keyMetadata, decryptResult, jwks];
}

describe('the type surface of @elastic/request-crypto 2.0.3', () => {
  it('has every runtime export of the original, of the same kind', () => {
    for (const name of Object.keys(original)) {
      expect([name, typeof (ours as Record<string, unknown>)[name]]).toEqual([name, typeof (original as Record<string, unknown>)[name]]);
    }
    expect(ours.JWKManager.prototype).toBeInstanceOf(ours.JWKSManager);
  });

  it('type-checks the assignments above (they are also real values)', () => {
    expect([ENC_MODULUS, RSA_ALGORITHM, KEY_LENGTH_IN_BYTES]).toEqual([2048, 'RSA-OAEP', 32]);
    expect(
      [createRequestEncryptor, createRequestDecryptor, createJWKManager, createJWKS, createJWKSManager, packBody, unpackBody, generatePassphrase].every(
        (f) => typeof f === 'function',
      ),
    ).toBe(true);
    expect(typeof typeLevelChecks).toBe('function');
  });
});
