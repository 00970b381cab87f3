/**
 * The key types of `@elastic/request-crypto` 2.0.3, kept name for name.
 *
 * @packageDocumentation
 */
import type * as jose from 'node-jose';

/** A JSON Web Key Set: `{ keys: [...] }` (RFC 7517 §5). */
export interface JWKS<T = PublicJWK | PrivateJWK> {
  /** The keys of the set. */
  keys: T[];
}

/** How a key is meant to be used (`enc` for every key this package makes). */
export type KeyUse = 'enc' | 'desc';

/** The public members of an RSA JWK. */
export interface PublicJWK {
  /** Key type; `RSA` for every key this package uses. */
  kty: string;
  /** Key id: the name a sender encrypts for and a body carries. */
  kid: string;
  /** Intended use. */
  use: KeyUse;
  /** Key-wrapping algorithm (`RSA-OAEP` or `RSA-OAEP-256`). */
  alg: string;
  /** Public exponent, base64url. */
  e: string;
  /** Modulus, base64url. */
  n: string;
}

/** An RSA JWK with its private members. Never share one. */
export interface PrivateJWK extends PublicJWK {
  /** Private exponent. */
  d: string;
  /** First prime factor. */
  p: string;
  /** Second prime factor. */
  q: string;
  /** First factor CRT exponent. */
  dp: string;
  /** Second factor CRT exponent. */
  dq: string;
  /** First CRT coefficient. */
  qi: string;
}

/** A set of public keys: what a sender holds and a receiver publishes. */
export type PublicJWKS = JWKS<PublicJWK>;
/** A set of private keys: what only the receiver holds. */
export type PrivateJWKS = JWKS<PrivateJWK>;
/** Either kind of JWK. */
export type JWK = PrivateJWK | PublicJWK;
/** Either kind of JWK (kept for compatibility; same as {@link JWK}). */
export type UnsignedJWK = PrivateJWK | PublicJWK;

/** What a body reveals about the key it was made for. */
export type JWKMetadata = Pick<jose.JWK.Key, 'length' | 'kty' | 'kid' | 'use' | 'alg'>;

/** The result of `JWKSManager.decrypt`: node-jose's decrypt result with typed members. */
export interface JWKDecryptResult extends Omit<jose.JWE.DecryptResult, 'key' | 'header'> {
  /** Metadata of the key that opened the JWE. */
  key: JWKMetadata;
  /** The protected header's members and values. */
  header: Record<string, string>;
  /** The decrypted bytes. */
  payload: Buffer;
}

/**
 * The protected header of a body, as `getJWKMetadata` reports it: the members this package reads
 * and writes, typed as a body holds them, and any other member a sender's JOSE library added.
 *
 * Every member typed here is checked in every body, of either format, before it is reported: a
 * body whose `cty` is not a string, `iat` not a whole number of seconds or `ctx` not string pairs
 * is `ERR_BODY_MALFORMED`.
 */
export interface BodyHeader {
  /** Key-wrapping algorithm: `RSA-OAEP` or `RSA-OAEP-256`. */
  alg: string;
  /** Content encryption: `A128CBC-HS256` in a legacy body's key JWE, `A256GCM` in a `'jwe'` body. */
  enc: string;
  /** The key id the body was made for. */
  kid: string;
  /** `DEF` when the content was deflated before encryption. */
  zip?: string;
  /** Content type: `json` in the `'jwe'` bodies this package makes. */
  cty?: string;
  /** `'jwe'` bodies: the issue time, in seconds since the epoch. */
  iat?: number;
  /** `'jwe'` bodies: the bound context (string pairs). */
  ctx?: Record<string, string>;
  /** Members other JOSE libraries may add; this package neither checks nor uses them. */
  [member: string]: unknown;
}

/**
 * The body formats. `'legacy'` is `@elastic/request-crypto`'s and the default; `'jwe'` is one
 * standard compact JWE (RSA-OAEP + A256GCM) that any JOSE library can open.
 */
export type BodyFormat = 'legacy' | 'jwe';
