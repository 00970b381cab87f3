/**
 * request-crypto: encrypt a request body for a receiver's public key; only the receiver can
 * decrypt it. A drop-in replacement for `@elastic/request-crypto` 2.0.3.
 *
 * @packageDocumentation
 */
export { createRequestEncryptor } from './encryptor';
export type { BodyFormat, EncryptOptions, Encryptor, EncryptorOptions } from './encryptor';
export {
  createRequestDecryptor,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_MAX_BODY_BYTES,
} from './decryptor';
export type { BodyMetadata, DecryptedPayload, DecryptOptions, Decryptor, DecryptorOptions } from './decryptor';
export { packBody, unpackBody } from './envelope';
export type { EncryptedBody, PackedBody } from './envelope';
export type { BodyContext } from './jwe-body';
export { generatePassphrase, KEY_LENGTH_IN_BYTES } from './passphrase';
export { keyDerivationBackend } from './pbkdf2-sha512';
export type { KeyDerivationBackend } from './pbkdf2-sha512';
export { createJWKS, createJWKSManager, JWKSManager, MIN_MODULUS_BITS, RSA_ALGORITHM } from './jwks';
export { ALLOWED_MODULI, createJWKManager, ENC_MODULUS, JWKManager } from './jwk';
export type { AddKeyOptions } from './jwk';
export type {
  JWK,
  JWKDecryptResult,
  JWKMetadata,
  JWKS,
  KeyUse,
  PrivateJWK,
  PrivateJWKS,
  PublicJWK,
  PublicJWKS,
  UnsignedJWK,
} from './types';
export {
  BodyExpiredError,
  BodyMalformedError,
  BodyTooLargeError,
  ContextMismatchError,
  DecryptionFailedError,
  ERROR_CODES,
  InvalidArgumentError,
  InvalidJwksError,
  MissingKidError,
  NoKeyFoundError,
  PayloadNotSerializableError,
  RequestCryptoError,
  UnsupportedAlgorithmError,
} from './errors';
export type { ErrorCode } from './errors';
