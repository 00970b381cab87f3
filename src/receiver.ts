/**
 * `request-crypto/receiver`: the receiver's side alone, for bundled services such as a Lambda.
 *
 * It holds {@link createRequestDecryptor}, its defaults, every error class and the types a
 * receiver names, and nothing that loads node-jose (the key manager and the rest of the drop-in
 * API of `@elastic/request-crypto` stay in the root entry, `request-crypto`). A handler that
 * imports only this entry bundles to a small fraction of the root's size and runs without
 * `node_modules`. Everything here is the same object as the root's export of the same name.
 *
 * ```ts
 * import { createRequestDecryptor, RequestCryptoError } from 'request-crypto/receiver';
 * ```
 *
 * @packageDocumentation
 */
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
export type { BodyFormat } from './sender/encryptor';
export type { EncryptedBody } from './encoding/body-text';
export type { UnwrapKey, UnwrapKeyRequest } from './keys/unwrap';
export type { BodyContext } from './formats/jwe/body';
export { keyDerivationBackend } from './accelerator/pbkdf2-sha512';
export type { KeyDerivationBackend } from './accelerator/pbkdf2-sha512';
export type { BodyHeader, JWK, JWKMetadata, JWKS, KeyUse, PrivateJWK, PrivateJWKS, PublicJWK, PublicJWKS } from './core/types';
// Every error class and ERROR_CODES: a caller matches on them whichever entry it imports.
export * from './core/errors';
