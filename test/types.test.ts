/**
 * The drop-in promise at the type level: every export of @elastic/request-crypto 2.0.3 exists
 * here, and each of ours can stand where code written against the original expects its own.
 * `npm test` type-checks this file (tsc --noEmit), so an incompatible change fails the build.
 */
import * as original from '@elastic/request-crypto';
import * as jose from 'node-jose';

import * as ours from '../src';
import { vectors } from './helpers';

// Classes with a protected member are nominal in TypeScript, so two packages' classes never
// assign to each other; what code can use of them is their public members, compared here.
type Public<T> = Pick<T, keyof T>;
type PublicFactory<F> = F extends (...args: infer A) => Promise<infer R> ? (...args: A) => Promise<Public<R>> : never;

// The one deliberate difference: getJWKMetadata's header is typed as a body holds it (BodyHeader:
// `iat` a number, `ctx` an object), where 2.0.3 declared Record<string, string>, which a 'jwe'
// body's header is not. Everything else of the original's Decryptor must still fit, and so must
// the header members a legacy body has: those are what 2.0.3's users read.
interface LegacyHeader {
  alg: string;
  enc: string;
  kid: string;
  zip?: string;
}
type OriginalMetadata = Awaited<ReturnType<original.Decryptor['getJWKMetadata']>>;
type OriginalDecryptor = Omit<original.Decryptor, 'getJWKMetadata'> & {
  getJWKMetadata(encryptedBody: string): Promise<Omit<OriginalMetadata, 'header'> & { header: LegacyHeader }>;
};

// Values: ours must be assignable to the original's declared types.
const createRequestEncryptor: typeof original.createRequestEncryptor = ours.createRequestEncryptor;
const createRequestDecryptor: (privateJWKS: original.PrivateJWKS) => Promise<OriginalDecryptor> = ours.createRequestDecryptor;
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
  const decryptor: OriginalDecryptor = await ours.createRequestDecryptor({ keys: [] });
  const encryptor: original.Encryptor = await ours.createRequestEncryptor({ keys: [] });
  const manager: Public<original.JWKManager> = await ours.createJWKManager();
  const setManager: Public<original.JWKSManager> = await ours.createJWKSManager();
  const metadata: Omit<OriginalMetadata, 'header'> = await decryptor.getJWKMetadata(body);
  const { header } = await (await ours.createRequestDecryptor({ keys: [] })).getJWKMetadata(body);
  // @ts-expect-error -- on purpose: a body's header is not all strings (see BodyHeader)
  const headerAsStrings: OriginalMetadata['header'] = header;
  const publicJWKS: ours.PublicJWKS = {} as original.PublicJWKS;
  const privateJWKS: ours.PrivateJWKS = {} as original.PrivateJWKS;
  const jwk: ours.JWK = {} as original.JWK;
  const unsigned: ours.UnsignedJWK = {} as original.UnsignedJWK;
  const use: ours.KeyUse = 'enc' as original.KeyUse;
  const keyMetadata: ours.JWKMetadata = {} as original.JWKMetadata;
  const decryptResult: original.JWKDecryptResult = await setManager.decrypt(await setManager.encrypt('k', Buffer.from('')));
  const jwks: ours.JWKS = {} as original.JWKS;
  void [decryptor, encryptor, manager, metadata, headerAsStrings, publicJWKS, privateJWKS, jwk, unsigned, use, keyMetadata, decryptResult, jwks];
}

/** A subclass as 2.0.3's declarations allow it: `getKey` was declared `any`, so its result is used unchecked. */
class KidReader extends ours.JWKSManager {
  /** The kid of the key stored under `kid`. */
  public kidOf(kid: string): string {
    return this.getKey(kid).kid;
  }

  /** What `getKey` gives at run time for a kid the set lacks. */
  public lookUp(kid: string): unknown {
    return this.getKey(kid);
  }
}

describe('code written against the declarations of 2.0.3', () => {
  let body: string;
  beforeAll(async () => {
    body = await (await ours.createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', { n: 1 });
  });

  it('a JWKSManager subclass reads this.getKey(kid).kid', async () => {
    const reader = new KidReader(await ours.createJWKS(jose.JWK, vectors.privateJWKS));
    expect(reader.kidOf('kibana1')).toBe('kibana1');
  });

  it('getKey still gives null at run time for a kid the set lacks', async () => {
    const reader = new KidReader(await ours.createJWKS(jose.JWK, vectors.privateJWKS));
    expect(reader.lookUp('no-such-kid')).toBeNull();
  });

  it('createJWKManager(jwks, jose.JWK) makes a manager whose encrypt(kid, Buffer) output its decrypt opens', async () => {
    const manager = await ours.createJWKManager(vectors.privateJWKS, jose.JWK);
    const jwe: string = await manager.encrypt('kibana1', Buffer.from('secret'));
    const opened: original.JWKDecryptResult = await manager.decrypt(jwe);
    expect([opened.payload.toString(), opened.key.kid]).toEqual(['secret', 'kibana1']);
  });

  it('JWKSManager.decrypt takes a single node-jose key, as node-jose does, and a JWE typed unknown', async () => {
    const manager = await ours.createJWKSManager(vectors.privateJWKS);
    const key = await jose.JWK.asKey(vectors.privateJWKS.keys[0]!);
    const jwe: unknown = await manager.encrypt('kibana1', Buffer.from('secret'));
    expect((await manager.decrypt(jwe, key)).payload.toString()).toBe('secret');
  });

  it("unpackBody(body).encryptedAESKey is the key JWE that the manager's decrypt opens", async () => {
    const manager = await ours.createJWKSManager(vectors.privateJWKS);
    const { encryptedAESKey } = ours.unpackBody(body);
    expect((await manager.decrypt(encryptedAESKey)).payload).toHaveLength(ours.KEY_LENGTH_IN_BYTES);
  });

  it("getJWKMetadata(body).key.kid and the header's kid read as strings", async () => {
    const metadata = await (await ours.createRequestDecryptor(vectors.privateJWKS)).getJWKMetadata(body);
    const kids: string[] = [metadata.key.kid, metadata.header.kid];
    expect(kids).toEqual(['kibana1', 'kibana1']);
  });

  it("decrypt's result fits 2.0.3's declared result type without a cast", async () => {
    const payload: Awaited<ReturnType<original.Decryptor['decrypt']>> = await (await ours.createRequestDecryptor(vectors.privateJWKS)).decrypt(body);
    expect(payload).toEqual({ n: 1 });
  });
});

describe('BodyHeader', () => {
  it("types a 'jwe' body's iat as a number and ctx as an object of strings, as the body holds them", async () => {
    const encryptor = await ours.createRequestEncryptor(vectors.publicJWKS, { format: 'jwe' });
    const body = await encryptor.encrypt('kibana1', { n: 1 }, { context: { product: 'kibana' } });
    const { header } = await (await ours.createRequestDecryptor(vectors.privateJWKS)).getJWKMetadata(body);
    const iat: number | undefined = header.iat;
    const ctx: Record<string, string> | undefined = header.ctx;
    expect([typeof iat, ctx]).toEqual(['number', { product: 'kibana' }]);
  });
});

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
