/**
 * `JWKSManager`: a node-jose key store with the original's methods, for code that manages keys
 * or uses the JWE layer directly. The encryptor and decryptor do not go through it.
 *
 * @packageDocumentation
 */
import type * as jose from 'node-jose';

import {
  BodyMalformedError,
  DecryptionFailedError,
  InvalidArgumentError,
  MissingKidError,
  NoKeyFoundError,
  RequestCryptoError,
} from '../core/errors';
import { isWrapAlgorithm, LEGACY_KEY_WRAP_ALGORITHM } from '../core/algorithms';
import { loadKeyring } from '../keys/keyset';
import { nodeJose } from './node-jose';
import { decryptAnyKeyWrap } from './any-key-wrap';
import { rsaThumbprint } from './thumbprint';
import type { JWKDecryptResult, JWKS, KeyUse, PrivateJWK, PrivateJWKS, PublicJWK, PublicJWKS } from '../core/types';

/** The key-wrapping algorithm of every key `addKey` makes unless told otherwise. */
export const RSA_ALGORITHM = LEGACY_KEY_WRAP_ALGORITHM;

/** Smallest modulus `addKey` will make. */
export const MIN_MODULUS_BITS = 2048;

/** Manages a set of RSA keys and encrypts or decrypts compact JWEs with them. */
export class JWKSManager {
  /** The node-jose key store. */
  public store: jose.JWK.KeyStore;
  /** The node-jose `JWK` namespace keys are made with. */
  public JWK: typeof jose.JWK;
  /** The node-jose `JWE` namespace JWEs are made with. */
  public JWE: typeof jose.JWE;

  /** Wraps an existing node-jose key store. */
  constructor(store: jose.JWK.KeyStore, jwk?: typeof jose.JWK, jwe?: typeof jose.JWE) {
    this.store = store;
    this.JWK = jwk ?? nodeJose().JWK;
    this.JWE = jwe ?? nodeJose().JWE;
  }

  /**
   * Makes an RSA key of `modulus` bits (2048 or more) for `alg` (`RSA-OAEP` unless given) and adds
   * it. Without `kid`, the key is named by its RFC 7638 thumbprint (SHA-256, base64url), as
   * `@elastic/request-crypto` 3.0 names it. Rejects with `InvalidArgumentError` for a smaller
   * modulus, another alg, or a kid already in the set.
   */
  public async addKey(kid: string | undefined, modulus: number, use: KeyUse, alg: string = RSA_ALGORITHM): Promise<void> {
    if (!Number.isInteger(modulus) || modulus < MIN_MODULUS_BITS || modulus % 8 !== 0) {
      throw new InvalidArgumentError(`invalid argument: modulus must be a multiple of 8 of at least ${MIN_MODULUS_BITS}`);
    }
    if (!isWrapAlgorithm(alg)) throw new InvalidArgumentError('invalid argument: alg must be RSA-OAEP or RSA-OAEP-256');
    if (kid !== undefined && this.getKey(kid)) {
      throw new InvalidArgumentError(`invalid argument: the set already has a key with kid ${JSON.stringify(kid)}`);
    }
    const made = await this.JWK.createKey('RSA', modulus, kid === undefined ? { alg, use } : { alg, use, kid });
    if (kid !== undefined) return this.insertKey(made);
    // node-jose names it with a random UUID, and a key's kid is read-only: import it again.
    const members = made.toJSON(true) as PrivateJWK;
    await this.insertKey(await this.JWK.asKey({ ...members, kid: rsaThumbprint(members) }));
  }

  /** Adds a node-jose key to the store. */
  public async insertKey(jwk: jose.JWK.Key): Promise<void> {
    await this.store.add(jwk);
  }

  /** The public JWK of `kid` (or of the first key), or `null`. */
  public getPublicJWK(kid?: string): PublicJWK | null {
    const key = this.getKey(kid);
    return key ? (key.toJSON() as PublicJWK) : null;
  }

  /** The private JWK of `kid` (or of the first key), or `null`. */
  public getPrivateJWK(kid?: string): PrivateJWK | null {
    const key = this.getKey(kid);
    return key ? (key.toJSON(true) as PrivateJWK) : null;
  }

  /** The public half of the set. */
  public getPublicJWKS(): PublicJWKS {
    return this.store.toJSON() as PublicJWKS;
  }

  /** The whole set, private members included. Never publish it. */
  public getPrivateJWKS(): PrivateJWKS {
    return this.store.toJSON(true) as PrivateJWKS;
  }

  /**
   * Removes a key: a node-jose key of this store, or a JWK naming it by `kid`. (The original
   * silently ignored a plain JWK; removing the key it names is what a caller means.)
   */
  public removeKey(key: PublicJWK | PrivateJWK | jose.JWK.Key): void {
    const inStore = this.store.all({ kid: key.kid });
    if (inStore.includes(key as jose.JWK.Key)) {
      this.store.remove(key as jose.JWK.Key);
      return;
    }
    for (const stored of inStore) this.store.remove(stored);
  }

  /**
   * Encrypts `input` to a compact JWE (`zip` DEF, A128CBC-HS256, the key's alg) for `kid`.
   * Rejects with `MissingKidError` when the set has no such key.
   */
  public async encrypt(kid: string, input: Buffer): Promise<string> {
    const publicJWK = this.getKey(kid);
    if (!publicJWK) throw new MissingKidError(kid);
    return this.JWE.createEncrypt({ format: 'compact', zip: true }, publicJWK).update(input).final() as unknown as Promise<string>;
  }

  /**
   * Decrypts a JWE (compact or JSON serialisation) with node-jose, with the keys of `jwks` or one
   * key, and returns node-jose's result. Rejects with `BodyMalformedError` for anything but a
   * string or object, `NoKeyFoundError` when no key opens it and `DecryptionFailedError` for every
   * other failure. (`payload` is `unknown`, not a JWE type, because 2.0.3 declared it `any` and
   * the checks here are at run time.)
   */
  public async decrypt(payload: unknown, jwks: jose.JWK.KeyStore | jose.JWK.Key = this.store): Promise<JWKDecryptResult> {
    if (typeof payload !== 'string' && (typeof payload !== 'object' || payload === null)) {
      throw new BodyMalformedError('body is malformed: expected a JWE');
    }
    try {
      return (await decryptAnyKeyWrap(this.JWK, this.JWE, payload, jwks)) as unknown as JWKDecryptResult;
    } catch (err) {
      if (err instanceof RequestCryptoError) throw err;
      if (err instanceof Error && err.message === 'no key found') throw new NoKeyFoundError();
      throw new DecryptionFailedError();
    }
  }

  /**
   * The node-jose key of `kid`, or of the first key when `kid` is not given; `null` at run time
   * when there is none. Typed non-null, as node-jose types `KeyStore.get`, because 2.0.3 declared
   * `any` here and its subclasses call `this.getKey(kid).kid` unchecked: check it before use.
   */
  protected getKey(kid?: string): jose.JWK.Key {
    return this.store.get(kid as string);
  }
}

/**
 * A node-jose key store holding `jwks` (an object or its JSON text), or an empty one. Rejects with
 * `InvalidJwksError` for a set that is not usable.
 */
export async function createJWKS(jwk: typeof jose.JWK, jwks?: JWKS | string): Promise<jose.JWK.KeyStore> {
  if (jwks === undefined || jwks === null) return jwk.createKeyStore();
  loadKeyring(jwks);
  const checked = typeof jwks === 'string' ? (JSON.parse(jwks) as JWKS) : jwks;
  return jwk.asKeyStore(checked as unknown as object);
}

/** A {@link JWKSManager} over `jwks`, or over an empty set. */
export async function createJWKSManager(jwks?: JWKS | string): Promise<JWKSManager> {
  const JWK = nodeJose().JWK;
  return new JWKSManager(await createJWKS(JWK, jwks), JWK);
}
