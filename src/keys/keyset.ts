/**
 * Key handling for the encryptor and decryptor: validates a JWKS once, at construction, and turns
 * every key into `node:crypto` key objects, so that no body ever pays for a key-format conversion.
 *
 * @packageDocumentation
 */
import { createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';

import { isWrapAlgorithm, LEGACY_KEY_WRAP_ALGORITHM, SUPPORTED_KEY_WRAP_ALGORITHMS, type WrapAlgorithm } from '../core/algorithms';
import { InvalidJwksError } from '../core/errors';
import { oaepOptions } from './oaep';
import { decodeBase64Url } from '../encoding/strict-base64';
import type { JWKMetadata, KeyUse, PublicJWK, PublicJWKS } from '../core/types';


/** One key of a set, ready for use. */
export interface RecipientKey {
  /** The key id. */
  readonly kid: string;
  /** The `alg` the JWK declares, if any. */
  readonly declaredAlg: string | undefined;
  /**
   * The key wraps a body for this key may use: both of {@link SUPPORTED_KEY_WRAP_ALGORITHMS}, or,
   * when the set was loaded with `pinKeyWrapAlgorithm`, only the declared `alg` (a key without
   * one still takes both).
   */
  readonly unwrapAlgorithms: readonly WrapAlgorithm[];
  /** What `getJWKMetadata` reports: the same members node-jose reports. */
  readonly metadata: JWKMetadata;
  /** The public JWK, members in node-jose's order (what `getWellKnowns` publishes). */
  readonly publicJwk: PublicJWK;
  /** The RSA public key. */
  readonly publicKey: KeyObject;
  /** The RSA private key, when the JWK has one. */
  readonly privateKey: KeyObject | undefined;
}

/** A validated key set, looked up by kid. */
export interface Keyring {
  /** The key with this kid, if the set has one. */
  get(kid: string): RecipientKey | undefined;
  /** All keys, in the order of the set. */
  readonly keys: readonly RecipientKey[];
  /** The public half of the set. */
  publicJwks(): PublicJWKS;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const;
const SECRET_MEMBERS = new Set<string>([...PRIVATE_MEMBERS, 'oth', 'k']);
// node-jose serialises these first, in this order, then everything else it was given.
const LEADING_MEMBERS = ['kty', 'kid', 'use', 'alg', 'key_ops', 'e', 'n'] as const;
/** Smallest modulus a key set may hold: the original's own test keys are 1024-bit. */
export const MIN_KEY_MODULUS_BITS = 1024;
/**
 * Largest modulus a key set may hold. Any body for a key costs one private operation, even a
 * forged one, and that cost grows with about the cube of the modulus.
 */
export const MAX_KEY_MODULUS_BITS = 8192;
/** The `key_ops` that let a key take part in key wrapping (RFC 7517 §4.3). */
const WRAPPING_OPS = new Set(['wrapKey', 'unwrapKey', 'encrypt', 'decrypt']);
const MAX_KID_IN_MESSAGE = 64;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(index: number, kid: unknown): string {
  if (typeof kid !== 'string') return `key at index ${index}`;
  const shown = kid.length > MAX_KID_IN_MESSAGE ? `${kid.slice(0, MAX_KID_IN_MESSAGE)}…` : kid;
  return `key at index ${index} (kid ${JSON.stringify(shown)})`;
}

function publicMembersOf(jwk: Record<string, unknown>): PublicJWK {
  const out: Record<string, unknown> = {};
  for (const name of LEADING_MEMBERS) {
    if (jwk[name] !== undefined) out[name] = jwk[name];
  }
  for (const [name, value] of Object.entries(jwk)) {
    if (!(name in out) && !SECRET_MEMBERS.has(name) && value !== undefined) out[name] = value;
  }
  return out as unknown as PublicJWK;
}

/**
 * An exponent of 1 makes RSA the identity (a sender would send its plaintext), and an even one has
 * no inverse: neither key protects anything.
 */
function checkExponent(e: Buffer, fail: (why: string) => never): void {
  const first = e.findIndex((byte) => byte !== 0);
  const significant = first < 0 ? Buffer.alloc(0) : e.subarray(first);
  if (significant.length === 0 || (significant.length === 1 && significant[0] === 1)) fail('has a public exponent of 0 or 1');
  if ((significant[significant.length - 1]! & 1) === 0) fail('has an even public exponent');
}

/**
 * Uses the key once, as a body would: OpenSSL must accept it (a FIPS provider refuses keys under
 * 2048 bits) and, for a private key, its private half must undo its public half (a pairwise check).
 */
function trialRoundTrip(publicKey: KeyObject, privateKey: KeyObject | undefined, alg: WrapAlgorithm, fail: (why: string) => never): void {
  const oaep = oaepOptions(alg);
  const probe = randomBytes(32);
  let wrapped: Buffer;
  try {
    wrapped = publicEncrypt({ key: publicKey, ...oaep }, probe);
  } catch {
    return fail('is refused by OpenSSL for RSA-OAEP (in FIPS mode, keys under 2048 bits are)');
  }
  if (privateKey === undefined) return;
  let unwrapped: Buffer | undefined;
  try {
    unwrapped = privateDecrypt({ key: privateKey, ...oaep }, wrapped);
  } catch {
    unwrapped = undefined;
  }
  if (unwrapped === undefined || !unwrapped.equals(probe)) fail('has a private part that does not match its public key');
}

/** How a set is loaded. */
export interface KeyringOptions {
  /** Pin each key that declares an `alg` to it: a body wrapped otherwise is refused. */
  readonly pinKeyWrapAlgorithm?: boolean;
}

function loadKey(jwk: unknown, index: number, options: KeyringOptions): RecipientKey {
  if (!isRecord(jwk)) throw new InvalidJwksError(`invalid JWKS: ${describe(index, undefined)} is not an object`);
  const where = describe(index, jwk.kid);
  const fail = (why: string): never => {
    throw new InvalidJwksError(`invalid JWKS: ${where} ${why}`);
  };
  if (typeof jwk.kid !== 'string' || jwk.kid.length === 0) fail('has no kid');
  if (jwk.kty !== 'RSA') fail('has an unsupported kty (only RSA is used)');
  for (const name of ['n', 'e'] as const) {
    const value = jwk[name];
    if (typeof value !== 'string' || value.length === 0) fail(`has no "${name}"`);
    if (decodeBase64Url(value as string) === undefined) fail(`has a "${name}" that is not base64url`);
  }
  if (jwk.alg !== undefined && !isWrapAlgorithm(jwk.alg)) fail('has an "alg" other than RSA-OAEP or RSA-OAEP-256');
  // A signing key protects nothing here: it is refused rather than silently never used.
  if (jwk.use !== undefined && jwk.use !== 'enc') fail('has a "use" other than "enc"');
  if (jwk.key_ops !== undefined) {
    const ops = jwk.key_ops;
    if (!Array.isArray(ops) || !ops.every((op) => typeof op === 'string')) fail('has a "key_ops" that is not an array of strings');
    if (!(ops as string[]).some((op) => WRAPPING_OPS.has(op))) fail('has "key_ops" that exclude key wrapping');
  }
  checkExponent(decodeBase64Url(jwk.e as string) as Buffer, fail);

  const hasPrivate = jwk.d !== undefined;
  if (hasPrivate) {
    for (const name of PRIVATE_MEMBERS) {
      const value = jwk[name];
      if (typeof value !== 'string' || decodeBase64Url(value) === undefined || value.length === 0) {
        fail(`has a private part without a valid "${name}"`);
      }
    }
  }

  let publicKey: KeyObject;
  let privateKey: KeyObject | undefined;
  try {
    publicKey = createPublicKey({ key: { kty: 'RSA', n: jwk.n as string, e: jwk.e as string }, format: 'jwk' });
    if (hasPrivate) {
      const parts: Record<string, string> = { kty: 'RSA' };
      for (const name of ['n', 'e', ...PRIVATE_MEMBERS] as const) parts[name] = jwk[name] as string;
      privateKey = createPrivateKey({ key: parts, format: 'jwk' });
    }
  } catch {
    // The cause may quote key material: report only where the bad key is.
    return fail('is not a valid RSA key');
  }
  const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_KEY_MODULUS_BITS || bits > MAX_KEY_MODULUS_BITS) {
    fail(`has a ${bits}-bit modulus (allowed: ${MIN_KEY_MODULUS_BITS} to ${MAX_KEY_MODULUS_BITS})`);
  }

  const alg = jwk.alg as WrapAlgorithm | undefined;
  trialRoundTrip(publicKey, privateKey, alg ?? LEGACY_KEY_WRAP_ALGORITHM, fail);

  const kid = jwk.kid as string;
  const use = jwk.use as string | undefined;
  return {
    kid,
    declaredAlg: alg,
    unwrapAlgorithms: options.pinKeyWrapAlgorithm === true && alg !== undefined ? [alg] : SUPPORTED_KEY_WRAP_ALGORITHMS,
    // node-jose reports absent members as empty strings; keep that.
    metadata: { kid, kty: 'RSA', length: bits, use: (use ?? '') as KeyUse, alg: alg ?? '' },
    publicJwk: publicMembersOf(jwk),
    publicKey,
    privateKey,
  };
}

/**
 * Reads the JWKS given to `createRequestEncryptor` / `createRequestDecryptor`: an object, or its
 * JSON text (the original's README passes the text of a file). Throws {@link InvalidJwksError}.
 */
export function loadKeyring(input: unknown, options: KeyringOptions = {}): Keyring {
  let jwks: unknown = input;
  if (typeof input === 'string') {
    try {
      jwks = JSON.parse(input);
    } catch {
      throw new InvalidJwksError('invalid JWKS: the text is not JSON');
    }
  }
  if (!isRecord(jwks)) throw new InvalidJwksError('invalid JWKS: expected an object with a "keys" array');
  if (!Array.isArray(jwks.keys)) throw new InvalidJwksError('invalid JWKS: "keys" is not an array');

  const byKid = new Map<string, RecipientKey>();
  const keys: RecipientKey[] = [];
  jwks.keys.forEach((jwk: unknown, index: number) => {
    const key = loadKey(jwk, index, options);
    if (byKid.has(key.kid)) {
      throw new InvalidJwksError(`invalid JWKS: ${describe(index, key.kid)} repeats a kid already in the set`);
    }
    byKid.set(key.kid, key);
    keys.push(key);
  });

  return {
    keys,
    get: (kid) => byKid.get(kid),
    publicJwks: () => ({ keys: keys.map((key) => ({ ...key.publicJwk })) }),
  };
}
