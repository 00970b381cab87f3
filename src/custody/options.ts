/**
 * What the key-custody adapters (`request-crypto/kms`, `request-crypto/pkcs11`) share: checking
 * their options, turning an RSA public key into the JWK a sender needs, and reporting an optional
 * peer dependency that is not installed.
 *
 * Nothing here loads an adapter's dependency: only the adapter entries do, on first use.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../core/errors';
import type { PublicJWK } from '../core/types';
import { isWrapAlgorithm, LEGACY_KEY_WRAP_ALGORITHM, type WrapAlgorithm } from '../core/algorithms';

/** The key-wrapping algorithm a public set declares when the caller names none. */
export const DEFAULT_CUSTODY_ALG: WrapAlgorithm = LEGACY_KEY_WRAP_ALGORITHM;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a `{ kid: name }` map (`keyIds`, `keyLabels`) into a `Map`. A `Map` and not the object
 * itself: a body's kid is looked up in it, and an object would also answer for `constructor` or
 * `__proto__`. Taking a copy also means later changes to the caller's object change nothing.
 */
export function kidMap(option: string, value: unknown): Map<string, string> {
  if (!isRecord(value)) throw new InvalidArgumentError(`invalid argument: ${option} must be an object mapping each kid to a name`);
  const entries = Object.entries(value);
  if (entries.length === 0) throw new InvalidArgumentError(`invalid argument: ${option} names no key`);
  for (const [kid, name] of entries) {
    if (kid.length === 0) throw new InvalidArgumentError(`invalid argument: ${option} has an empty kid`);
    if (typeof name !== 'string' || name.length === 0) {
      throw new InvalidArgumentError(`invalid argument: ${option}[${JSON.stringify(kid)}] must be a non-empty string`);
    }
  }
  return new Map(entries as Array<[string, string]>);
}

/** The `alg` option of the public-set builders: absent means {@link DEFAULT_CUSTODY_ALG}. */
export function wrapAlgorithmOption(alg: unknown): WrapAlgorithm {
  if (alg === undefined) return DEFAULT_CUSTODY_ALG;
  if (!isWrapAlgorithm(alg)) throw new InvalidArgumentError('invalid argument: alg must be RSA-OAEP or RSA-OAEP-256');
  return alg;
}

/**
 * The public JWK of an RSA key, members in the order node-jose writes them (as every other
 * public set of this package): `kty`, `kid`, `use`, `alg`, `e`, `n`.
 */
export function rsaPublicJwk(kid: string, alg: WrapAlgorithm, modulus: Uint8Array, exponent: Uint8Array): PublicJWK {
  const base64url = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  // PKCS#11 tokens may return big integers with leading zero bytes; a JWK has none (RFC 7518 §2).
  const unpadded = (bytes: Uint8Array): Uint8Array => {
    const first = bytes.findIndex((byte) => byte !== 0);
    return first <= 0 ? bytes : bytes.subarray(first);
  };
  return { kty: 'RSA', kid, use: 'enc', alg, e: base64url(unpadded(exponent)), n: base64url(unpadded(modulus)) };
}

/**
 * True when `err` is Node's "Cannot find module" for `name` itself (not for a file that `name`
 * needs, which is a broken install, not a missing one, and is reported as it is).
 */
export function isMissingModule(err: unknown, name: string): boolean {
  return (
    err instanceof Error &&
    (err as Error & { code?: unknown }).code === 'MODULE_NOT_FOUND' &&
    err.message.split('\n')[0]!.includes(`'${name}'`)
  );
}

/** The error for an optional peer dependency that the user has not installed. */
export function missingPeer(entry: string, name: string): InvalidArgumentError {
  return new InvalidArgumentError(`${entry} needs ${name}, an optional peer dependency that is not installed: npm install ${name}`);
}
