/**
 * The names of the algorithms this package uses, in one place: every module that names a
 * key-wrapping algorithm or the key envelope's content encryption imports it from here. The
 * exported names and values are those of `@elastic/request-crypto` 3.0.
 *
 * @packageDocumentation
 */

/**
 * The key wrap `@elastic/request-crypto` 3.0 senders emit: RSAES-OAEP with SHA-256 and
 * MGF1-SHA-256 (RFC 7518 §4.3). This package's senders emit it when asked
 * (`keyWrapAlgorithm: 'RSA-OAEP-256'`); its receivers read it by default.
 */
export const KEY_WRAP_ALGORITHM = 'RSA-OAEP-256';

/**
 * The key wrap of `@elastic/request-crypto` 2.x, and this package's default for a key without
 * `alg`: RSAES-OAEP with SHA-1 and MGF1-SHA-1. Every 2.x receiver reads only this one.
 */
export const LEGACY_KEY_WRAP_ALGORITHM = 'RSA-OAEP';

/** A key-wrapping algorithm this package uses: {@link LEGACY_KEY_WRAP_ALGORITHM} or {@link KEY_WRAP_ALGORITHM}. */
export type WrapAlgorithm = typeof LEGACY_KEY_WRAP_ALGORITHM | typeof KEY_WRAP_ALGORITHM;

/**
 * Every key wrap a receiver accepts, chosen per body from its protected header. Checked before
 * any key is used; any other `alg` is `ERR_UNSUPPORTED_ALGORITHM`.
 */
export const SUPPORTED_KEY_WRAP_ALGORITHMS: readonly WrapAlgorithm[] = Object.freeze([LEGACY_KEY_WRAP_ALGORITHM, KEY_WRAP_ALGORITHM]);

/** True for the names in {@link SUPPORTED_KEY_WRAP_ALGORITHMS}. */
export function isWrapAlgorithm(alg: unknown): alg is WrapAlgorithm {
  return alg === LEGACY_KEY_WRAP_ALGORITHM || alg === KEY_WRAP_ALGORITHM;
}

/**
 * The content encryption of a legacy body's key envelope (`encryptedAESKey`), in 2.x and 3.0
 * alike. (A `'jwe'` body of this package uses `A256GCM`.)
 */
export const CONTENT_ENCRYPTION_ALGORITHM = 'A128CBC-HS256';

/**
 * The most a key envelope may inflate to under `@elastic/request-crypto` 3.0 (`jose` 6's
 * default), in bytes. This package's receiver stops far below it: a key envelope holds a 32-byte
 * passphrase, and inflation stops at 32 bytes.
 */
export const MAX_DECOMPRESSED_LENGTH = 250000;

/** The content encryption of a `'jwe'` body (this package's own format, not a name of 3.0). */
export const JWE_CONTENT_ENCRYPTION = 'A256GCM';

/** The content encryptions this package reads and writes: the legacy key envelope's and the `'jwe'` body's. */
export type ContentEncryption = typeof CONTENT_ENCRYPTION_ALGORITHM | typeof JWE_CONTENT_ENCRYPTION;

/** Modulus of the RSA keys this package makes by default (`addKey(kid)`, keygen, test keysets), in bits. */
export const ENC_MODULUS = 2048;

/** The RSA moduli this package makes keys of, in bits. */
export const ALLOWED_MODULI: readonly number[] = [2048, 3072, 4096];

/**
 * The legacy format's key derivation: PBKDF2-HMAC-SHA512 of a fresh 32-byte passphrase with a
 * 64-byte salt, 10,000 iterations, giving the payload's 32-byte AES-256-GCM key.
 */
export const LEGACY_KEY_DERIVATION = Object.freeze({ passphraseBytes: 32, saltBytes: 64, iterations: 10_000, keyBytes: 32 } as const);
