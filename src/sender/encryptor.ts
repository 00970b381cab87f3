/**
 * The sender's side: `createRequestEncryptor(publicJWKS)` and its `encrypt(kid, payload)`.
 *
 * @packageDocumentation
 */
import { isWrapAlgorithm, type WrapAlgorithm } from '../core/algorithms';
import { checkKnownOptions, optionNames } from '../core/known-options';
import {
  EncryptionFailedError,
  InvalidArgumentError,
  MissingKidError,
  PayloadNotSerializableError,
  RequestCryptoError,
} from '../core/errors';
import { isContext, JWE_BODY, type BodyContext } from '../formats/jwe/body';
import { MAX_CONTEXT_PAIRS } from '../jose/compact';
import { loadKeyring, type Keyring } from '../keys/keyset';
import { LEGACY_BODY } from '../formats/legacy/body';
import { PreparedKeys } from '../formats/legacy/prepared-keys';
import type { BodyFormat, PublicJWKS } from '../core/types';

export type { BodyFormat } from '../core/types';


/** Options of {@link createRequestEncryptor}. */
export interface EncryptorOptions {
  /** Default format of every body; `'legacy'` unless set. */
  format?: BodyFormat;
  /**
   * Legacy bodies: how many payload keys (passphrase, salt, PBKDF2 output) to derive ahead on the
   * thread pool, so that `encrypt` finds one ready. Default 1; 0 derives each key on demand.
   * Derivation starts with the first legacy `encrypt`, never before.
   */
  prepareAhead?: number;
  /**
   * The key wrap of every body, in both formats, whatever `alg` the public JWK declares:
   * `'RSA-OAEP-256'` (SHA-256, what `@elastic/request-crypto` 3.0 emits; only receivers that
   * accept it can read such bodies, and a 2.x receiver answers `no key found`) or `'RSA-OAEP'`.
   * Unset, each key's own `alg` is used, and `RSA-OAEP` for a key without one, as in 2.0.3.
   */
  keyWrapAlgorithm?: WrapAlgorithm;
}

/** The option names {@link createRequestEncryptor} knows; any other is refused. */
export const ENCRYPTOR_OPTION_NAMES = optionNames<EncryptorOptions>({ format: true, prepareAhead: true, keyWrapAlgorithm: true });

/** Options of one {@link Encryptor.encrypt} call. */
export interface EncryptOptions {
  /** Format of this body; overrides the encryptor's default. */
  format?: BodyFormat;
  /** The key wrap of this body; overrides the encryptor's `keyWrapAlgorithm`. */
  keyWrapAlgorithm?: WrapAlgorithm;
  /** `'jwe'` only: string pairs bound into the authenticated header, checked by the receiver. */
  context?: BodyContext;
  /** `'jwe'` only: deflate the payload before encrypting (`zip` DEF). */
  compress?: boolean;
}

/** The option names {@link Encryptor.encrypt} knows; any other is refused. */
export const ENCRYPT_OPTION_NAMES = optionNames<EncryptOptions>({ format: true, keyWrapAlgorithm: true, context: true, compress: true });

/** Encrypts payloads for the keys of a public set. */
export interface Encryptor {
  /**
   * Encrypts the JSON form of `input` for the key `kid`; resolves to the body text.
   * Rejects with `MissingKidError` (`Error: Missing kid (<kid>).`) for a kid not in the set and
   * `PayloadNotSerializableError` for an input without a JSON form.
   */
  encrypt(kid: string, input: unknown, options?: EncryptOptions): Promise<string>;
}

/** Serialises like `JSON.stringify`, refusing what has no JSON form. */
export function serializePayload(input: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(input);
  } catch {
    // Cycles and BigInts throw; the message may quote the payload, so it is not kept.
    throw new PayloadNotSerializableError();
  }
  if (json === undefined) throw new PayloadNotSerializableError();
  return json;
}

function checkFormat(format: unknown): BodyFormat {
  if (format === 'legacy' || format === 'jwe') return format;
  throw new InvalidArgumentError('invalid argument: format must be "legacy" or "jwe"');
}

function checkKeyWrapAlgorithm(alg: unknown): WrapAlgorithm | undefined {
  if (alg === undefined || isWrapAlgorithm(alg)) return alg;
  throw new InvalidArgumentError('invalid argument: keyWrapAlgorithm must be "RSA-OAEP" or "RSA-OAEP-256"');
}

async function encryptLegacy(
  keyring: Keyring,
  keys: PreparedKeys,
  kid: string,
  json: string,
  alg: WrapAlgorithm | undefined,
): Promise<string> {
  const key = keyring.get(kid);
  if (key === undefined) throw new MissingKidError(kid);
  const payloadKey = await keys.take();
  return LEGACY_BODY.seal(key, json, { payloadKey, keyWrapAlgorithm: alg });
}

/**
 * Builds an encryptor for a public JWKS (an object, or its JSON text). Rejects with
 * `InvalidJwksError` for a set it cannot use.
 */
export async function createRequestEncryptor(
  publicJWKS: PublicJWKS | string,
  options: EncryptorOptions = {},
): Promise<Encryptor> {
  checkKnownOptions(options, ENCRYPTOR_OPTION_NAMES, 'createRequestEncryptor');
  const defaultFormat = checkFormat(options.format ?? 'legacy');
  const defaultKeyWrap = checkKeyWrapAlgorithm(options.keyWrapAlgorithm);
  const depth = options.prepareAhead ?? 1;
  if (!Number.isInteger(depth) || depth < 0 || depth > 64) {
    throw new InvalidArgumentError('invalid argument: prepareAhead must be an integer from 0 to 64');
  }
  const keyring = loadKeyring(publicJWKS);
  const preparedKeys = new PreparedKeys(depth);
  async function encrypt(kid: string, input: unknown, callOptions: EncryptOptions = {}): Promise<string> {
    checkKnownOptions(callOptions, ENCRYPT_OPTION_NAMES, 'encrypt');
    const format = checkFormat(callOptions.format ?? defaultFormat);
    const keyWrapAlgorithm = checkKeyWrapAlgorithm(callOptions.keyWrapAlgorithm) ?? defaultKeyWrap;
    if (typeof kid !== 'string') throw new MissingKidError(String(kid));
    const json = serializePayload(input);
    if (format === 'legacy') {
      if (callOptions.context !== undefined || callOptions.compress !== undefined) {
        throw new InvalidArgumentError('invalid argument: context and compress need format "jwe"');
      }
      return encryptLegacy(keyring, preparedKeys, kid, json, keyWrapAlgorithm);
    }
    if (callOptions.context !== undefined && !isContext(callOptions.context)) {
      throw new InvalidArgumentError('invalid argument: context must be an object of strings');
    }
    // A receiver bounds a header's members, so a larger context would make a body no one accepts.
    if (callOptions.context !== undefined && Object.keys(callOptions.context).length > MAX_CONTEXT_PAIRS) {
      throw new InvalidArgumentError(`invalid argument: context may hold at most ${MAX_CONTEXT_PAIRS} pairs`);
    }
    const key = keyring.get(kid);
    if (key === undefined) throw new MissingKidError(kid);
    return JWE_BODY.seal(key, json, {
      compress: callOptions.compress === true,
      context: callOptions.context,
      now: Date.now(),
      keyWrapAlgorithm,
    });
  }
  return {
    async encrypt(kid, input, callOptions) {
      try {
        return await encrypt(kid, input, callOptions);
      } catch (err) {
        // OpenSSL's own errors may quote what it was given: keep only that it refused.
        throw err instanceof RequestCryptoError ? err : new EncryptionFailedError();
      }
    },
  };
}
