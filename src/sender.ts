/**
 * `request-crypto/sender`: the sender's side alone, for bundled services and small installs.
 *
 * It holds {@link createRequestEncryptor}, every error class and the types a sender names, and
 * nothing that loads node-jose (the key manager and the rest of the drop-in API of
 * `@elastic/request-crypto` stay in the root entry, `request-crypto`). Everything here is the
 * same object as the root's export of the same name.
 *
 * ```ts
 * import { createRequestEncryptor, type PublicJWKS } from 'request-crypto/sender';
 * ```
 *
 * @packageDocumentation
 */
export { createRequestEncryptor } from './sender/encryptor';
export type { BodyFormat, EncryptOptions, Encryptor, EncryptorOptions } from './sender/encryptor';
export {
  CONTENT_ENCRYPTION_ALGORITHM,
  KEY_WRAP_ALGORITHM,
  LEGACY_KEY_WRAP_ALGORITHM,
  SUPPORTED_KEY_WRAP_ALGORITHMS,
} from './core/algorithms';
export type { WrapAlgorithm } from './core/algorithms';
export type { BodyContext } from './formats/jwe/body';
export { keyDerivationBackend } from './accelerator/pbkdf2-sha512';
export type { KeyDerivationBackend } from './accelerator/pbkdf2-sha512';
export type { JWK, JWKS, KeyUse, PublicJWK, PublicJWKS } from './core/types';
// Every error class and ERROR_CODES: a caller matches on them whichever entry it imports.
export * from './core/errors';
