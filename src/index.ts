/**
 * request-crypto: encrypt a request body for a receiver's public key; only the receiver can
 * decrypt it. A drop-in replacement for `@elastic/request-crypto` 2.0.3.
 *
 * @packageDocumentation
 */
export { createRequestEncryptor } from './sender/encryptor';
export type { BodyFormat, EncryptOptions, Encryptor, EncryptorOptions } from './sender/encryptor';
export { createRequestDecryptor } from './receiver/decryptor';
export {
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_PAYLOAD_DEPTH,
  DEFAULT_MAX_PAYLOAD_COST,
  DEFAULT_MAX_PAYLOAD_VALUES,
  DEFAULT_MAX_PENDING_UNWRAPS,
  DEFAULT_MAX_PENDING_UNWRAPS_PER_PROCESS,
  PAYLOAD_COST_PER_VALUE,
} from './core/limits';
export type { BodyMetadata, DecryptedPayload, DecryptOptions, DecryptResult, Decryptor, DecryptorOptions } from './receiver/decryptor';
export { MAX_UNKNOWN_KID_LENGTH } from './receiver/decrypt-event';
export type { DecryptEvent, OnDecrypt } from './receiver/decrypt-event';
export type { KeyWrapInfo, OnKeyWrap } from './receiver/key-wrap-event';
export {
  CONTENT_ENCRYPTION_ALGORITHM,
  KEY_WRAP_ALGORITHM,
  LEGACY_KEY_WRAP_ALGORITHM,
  MAX_DECOMPRESSED_LENGTH,
  SUPPORTED_KEY_WRAP_ALGORITHMS,
} from './core/algorithms';
export type { WrapAlgorithm } from './core/algorithms';
export { MAX_PAYLOAD_ISSUES } from './receiver/schema';
export type { StandardSchemaV1 } from './receiver/schema';
export { packBody, unpackBody } from './formats/legacy/envelope';
export type { PackedBody } from './formats/legacy/envelope';
export type { EncryptedBody } from './encoding/body-text';
export type { UnwrapKey, UnwrapKeyRequest } from './keys/unwrap';
export type { BodyContext } from './formats/jwe/body';
export { generatePassphrase, KEY_LENGTH_IN_BYTES } from './formats/legacy/passphrase';
export { keyDerivationBackend } from './accelerator/pbkdf2-sha512';
export type { KeyDerivationBackend } from './accelerator/pbkdf2-sha512';
export { createJWKS, createJWKSManager, JWKSManager, MIN_MODULUS_BITS, RSA_ALGORITHM } from './compat/jwks';
export { ALLOWED_MODULI, createJWKManager, ENC_MODULUS, JWKManager } from './compat/jwk';
export type { AddKeyOptions } from './compat/jwk';
export type {
  BodyHeader,
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
} from './core/types';
export {
  BodyExpiredError,
  BodyMalformedError,
  BodyTooLargeError,
  ContextMismatchError,
  DecryptionFailedError,
  EncryptionFailedError,
  ERROR_CODES,
  InvalidArgumentError,
  InvalidJwksError,
  KeyServiceUnavailableError,
  MissingKidError,
  NoKeyFoundError,
  PayloadInvalidError,
  PayloadNotSerializableError,
  PayloadTooComplexError,
  ReceiverBusyError,
  RequestCryptoError,
  UnavailableError,
  UnsupportedAlgorithmError,
} from './core/errors';
export type { ErrorCode, ErrorKind, NoKeyFoundReason, PayloadIssue } from './core/errors';
