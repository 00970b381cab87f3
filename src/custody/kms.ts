/**
 * What `request-crypto/kms` holds (see that entry, src/kms.ts, for how to use it).
 *
 * @packageDocumentation
 */
import { createPublicKey } from 'node:crypto';

import type * as KmsSdk from '@aws-sdk/client-kms';
import type { EncryptionAlgorithmSpec, GetPublicKeyCommandOutput, KMSClient } from '@aws-sdk/client-kms';

import { InvalidArgumentError, KeyServiceUnavailableError } from '../core/errors';
import { kidMap, rsaPublicJwk, wrapAlgorithmOption } from './options';
import { loadKmsSdk } from './kms-sdk';
import { isWrapAlgorithm, type WrapAlgorithm } from '../core/algorithms';
import type { UnwrapKey, UnwrapKeyRequest } from '../keys/unwrap';
import type { PublicJWK, PublicJWKS } from '../core/types';

export type { UnwrapKey, UnwrapKeyRequest } from '../keys/unwrap';
export type { WrapAlgorithm } from '../core/algorithms';

/** The KMS `EncryptionAlgorithm` for each JWE key-wrapping algorithm. */
export const KMS_ENCRYPTION_ALGORITHMS: Readonly<Record<WrapAlgorithm, EncryptionAlgorithmSpec>> = Object.freeze({
  'RSA-OAEP': 'RSAES_OAEP_SHA_1',
  'RSA-OAEP-256': 'RSAES_OAEP_SHA_256',
});

/**
 * Milliseconds a KMS call may take, every attempt of the client's retries included, unless told
 * otherwise (`timeoutMs`): a KMS `Decrypt` answers in tens of milliseconds within a Region, and
 * a body waiting longer is better answered as retryable than left pending.
 */
export const DEFAULT_KMS_TIMEOUT_MS = 5000;

/** Options of {@link createKmsKeyUnwrapper}. */
export interface KmsKeyUnwrapperOptions {
  /**
   * A `KMSClient` of `@aws-sdk/client-kms`, set up as you want it: region, credentials, retries
   * (`maxAttempts`; throttled calls are retried by the client), timeouts.
   */
  client: KMSClient;
  /**
   * Each kid of the decryptor's set, mapped to its KMS key: a key ID, key ARN, alias name or alias
   * ARN. A body for a kid not in this map is refused without calling KMS.
   */
  keyIds: Readonly<Record<string, string>>;
  /**
   * The deadline of one body's `Decrypt`, in milliseconds, all of the client's attempts included
   * (default {@link DEFAULT_KMS_TIMEOUT_MS}). It is passed to the SDK as the call's `abortSignal`,
   * and the body settles by it even if the call does not.
   */
  timeoutMs?: number;
  /**
   * Called with KMS's error whenever a `Decrypt` call fails (access denied, throttled past the
   * client's retries, key disabled, invalid ciphertext, the deadline…), for your logs. The
   * decryptor reports an outage (see {@link isKmsOutage}) as `ERR_KEY_SERVICE_UNAVAILABLE` and
   * every other failure as `ERR_DECRYPTION_FAILED`, like any forged body.
   */
  onError?: (error: unknown, request: { kid: string; alg: WrapAlgorithm; keyId: string }) => void;
}

/** Options of {@link kmsPublicJWKS}. */
export interface KmsPublicJwksOptions {
  /** A `KMSClient` of `@aws-sdk/client-kms`. */
  client: KMSClient;
  /** Each kid of the set to build, mapped to its KMS key (key ID, key ARN, alias name or alias ARN). */
  keyIds: Readonly<Record<string, string>>;
  /**
   * The key-wrapping algorithm every key of the set declares, so the one senders use:
   * `RSA-OAEP` (the default, and the only one `@elastic/request-crypto` 2.0.3 can use) or
   * `RSA-OAEP-256`. Each KMS key must list the matching `EncryptionAlgorithms`.
   */
  alg?: WrapAlgorithm;
  /**
   * The deadline of each `GetPublicKey` call, in milliseconds, all of the client's attempts
   * included (default {@link DEFAULT_KMS_TIMEOUT_MS}).
   */
  timeoutMs?: number;
}

/** The SDK's command classes, required on first use so that nothing else ever loads the SDK. */
const sdk = (): typeof KmsSdk => loadKmsSdk('request-crypto/kms');

function checkClient(client: unknown): KMSClient {
  if (typeof client !== 'object' || client === null || typeof (client as { send?: unknown }).send !== 'function') {
    throw new InvalidArgumentError('invalid argument: client must be a KMSClient of @aws-sdk/client-kms');
  }
  return client as KMSClient;
}

function checkTimeout(timeoutMs: unknown): number {
  if (timeoutMs === undefined) return DEFAULT_KMS_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
    throw new InvalidArgumentError('invalid argument: timeoutMs must be an integer from 1 to 600000');
  }
  return timeoutMs;
}

// The KMS exceptions that say the service cannot answer now, whatever the ciphertext: throttled,
// failing inside, or waiting on a custom key store. Every other KMS exception is a client fault
// that may depend on the body (its algorithm, its ciphertext) and stays the forgery answer.
const OUTAGE_NAMES = new Set([
  'ThrottlingException',
  'LimitExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
  'CustomKeyStoreInvalidStateException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  // The deadline, or a transport timeout (the SDK's `requestTimeout`).
  'AbortError',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  // No credentials for the call (for example the instance metadata service did not answer).
  'CredentialsProviderError',
]);

// Node's errors for a connection that could not be made or was lost.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/**
 * Whether an error of a KMS call says that KMS was not reachable or could not answer in time
 * (an outage: `ERR_KEY_SERVICE_UNAVAILABLE`), rather than that it refused the request (the
 * forgery answer, `ERR_DECRYPTION_FAILED`). Outages are: the deadline; network errors
 * (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, `ENOTFOUND`…); throttling past the client's retries
 * (`ThrottlingException` and its kin); a server fault (`$fault: 'server'` or HTTP 5xx, such as
 * `KMSInternalException`, `DependencyTimeoutException`, `KeyUnavailableException`); no credentials.
 * Anything else, `InvalidCiphertextException`, `IncorrectKeyException`, `InvalidKeyUsageException`,
 * `AccessDeniedException`, `DisabledException`, `NotFoundException`, is a refusal.
 */
export function isKmsOutage(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { name, code, message, $fault, $metadata } = err as { name?: unknown; code?: unknown; message?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown } };
  if (typeof name === 'string' && OUTAGE_NAMES.has(name)) return true;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if ($fault === 'server') return true;
  const status = typeof $metadata === 'object' && $metadata !== null ? $metadata.httpStatusCode : undefined;
  if (typeof status === 'number') return status >= 500 || status === 429;
  // No answer came. The SDK's retry step rewraps an error it does not recognise as an Error (one
  // from another realm, as under a test runner's sandbox) as "AWS SDK error wrapper for Error:
  // connect ECONNREFUSED …", keeping only the text: the code is read from that text then.
  return $fault === undefined && typeof message === 'string' && [...NETWORK_CODES].some((known) => message.includes(` ${known} `) || message.endsWith(` ${known}`));
}

/**
 * Sends `command` with a deadline: the SDK gets an `abortSignal` that fires at `timeoutMs`, and the
 * promise rejects with an `AbortError` then even if the client ignores the signal.
 */
async function sendWithin<T>(timeoutMs: number, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const err = Object.assign(new Error(`KMS did not answer within ${timeoutMs} ms`), { name: 'AbortError' });
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    const sent = send(controller.signal);
    // A rejection that loses the race is still handled: it must not become an unhandled rejection.
    sent.catch(() => undefined);
    return await Promise.race([sent, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An `unwrapKey` for `createRequestDecryptor` that asks AWS KMS to decrypt each body's wrapped
 * key: one `Decrypt` call per body, with `KeyId` from `keyIds[kid]` and the `EncryptionAlgorithm`
 * that matches the body's `alg`. The private key never leaves KMS. The caller needs
 * `kms:Decrypt` on those keys only.
 *
 * Throws `InvalidArgumentError` for bad options or when `@aws-sdk/client-kms` is not installed.
 * The function it returns rejects for a kid not in `keyIds` and whenever KMS refuses; the
 * decryptor turns every such rejection into `ERR_DECRYPTION_FAILED`, with nothing of KMS's
 * message. A call that outlives `timeoutMs`, cannot reach KMS or is throttled past the client's
 * retries ({@link isKmsOutage}) rejects with `KeyServiceUnavailableError`
 * (`ERR_KEY_SERVICE_UNAVAILABLE`, retryable), which the decryptor passes on.
 */
export function createKmsKeyUnwrapper(options: KmsKeyUnwrapperOptions): UnwrapKey {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('invalid argument: options must be an object');
  const client = checkClient(options.client);
  const keyIds = kidMap('keyIds', options.keyIds);
  const { onError } = options;
  if (onError !== undefined && typeof onError !== 'function') throw new InvalidArgumentError('invalid argument: onError must be a function');
  const timeoutMs = checkTimeout(options.timeoutMs);
  const { DecryptCommand } = sdk();

  return async ({ kid, alg, encryptedKey }: UnwrapKeyRequest): Promise<Uint8Array> => {
    const keyId = keyIds.get(kid);
    // Checked before anything is sent: KMS is never asked about a key it was not given for.
    if (keyId === undefined) throw new InvalidArgumentError(`no KMS key for kid ${JSON.stringify(kid)}`);
    if (!isWrapAlgorithm(alg)) throw new InvalidArgumentError('unsupported key-wrapping algorithm');
    const algorithm = KMS_ENCRYPTION_ALGORITHMS[alg];
    let plaintext: Uint8Array | undefined;
    try {
      const command = new DecryptCommand({ KeyId: keyId, CiphertextBlob: encryptedKey, EncryptionAlgorithm: algorithm });
      ({ Plaintext: plaintext } = await sendWithin(timeoutMs, (abortSignal) => client.send(command, { abortSignal })));
    } catch (err) {
      onError?.(err, { kid, alg, keyId });
      // A refusal is thrown as KMS gave it, so that it becomes the forgery answer: an outage is not one.
      if (isKmsOutage(err)) throw new KeyServiceUnavailableError();
      throw err;
    }
    if (!(plaintext instanceof Uint8Array)) throw new InvalidArgumentError('KMS returned no plaintext');
    return plaintext;
  };
}

function publicJwkOf(kid: string, keyId: string, alg: WrapAlgorithm, out: GetPublicKeyCommandOutput): PublicJWK {
  const refuse = (why: string): never => {
    throw new InvalidArgumentError(`the KMS key of kid ${JSON.stringify(kid)} (${keyId}) ${why}`);
  };
  if (out.KeyUsage !== 'ENCRYPT_DECRYPT') refuse(`has key usage ${String(out.KeyUsage)}, not ENCRYPT_DECRYPT`);
  // KeySpec replaced CustomerMasterKeySpec in 2021; KMS still sends both.
  const spec = out.KeySpec ?? out.CustomerMasterKeySpec;
  if (typeof spec !== 'string' || !spec.startsWith('RSA_')) refuse(`is a ${String(spec)} key, not RSA`);
  const needed = KMS_ENCRYPTION_ALGORITHMS[alg];
  if (!(out.EncryptionAlgorithms ?? []).includes(needed)) refuse(`does not offer ${needed}, which ${alg} needs`);
  if (!(out.PublicKey instanceof Uint8Array)) return refuse('has no public key in the GetPublicKey answer');
  let jwk: { n?: unknown; e?: unknown };
  try {
    const key = createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'rsa') return refuse('has a public key that is not RSA');
    jwk = key.export({ format: 'jwk' });
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    return refuse('has a public key that is not valid SPKI DER');
  }
  if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return refuse('has a public key that is not RSA');
  return rsaPublicJwk(kid, alg, Buffer.from(jwk.n, 'base64url'), Buffer.from(jwk.e, 'base64url'));
}

/**
 * The public set of KMS keys, to ship to senders and to give `createRequestDecryptor` with
 * {@link createKmsKeyUnwrapper}: one `GetPublicKey` call per kid (needs `kms:GetPublicKey`), its
 * SPKI public key turned into a JWK with that kid, `use: 'enc'` and `alg` (default `RSA-OAEP`).
 * Keys come in the order of `keyIds`.
 *
 * Rejects with `InvalidArgumentError` for bad options, a missing `@aws-sdk/client-kms`, or a KMS
 * key that cannot serve: key usage other than `ENCRYPT_DECRYPT`, not RSA, or without the
 * encryption algorithm that `alg` needs. A `GetPublicKey` call that outlives `timeoutMs`, cannot
 * reach KMS or is throttled past the client's retries rejects with `KeyServiceUnavailableError`;
 * any other failed call rejects with the SDK's own error (its `name` says why:
 * `AccessDeniedException`, `NotFoundException`…).
 */
export async function kmsPublicJWKS(options: KmsPublicJwksOptions): Promise<PublicJWKS> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('invalid argument: options must be an object');
  const client = checkClient(options.client);
  const keyIds = kidMap('keyIds', options.keyIds);
  const alg = wrapAlgorithmOption(options.alg);
  const timeoutMs = checkTimeout(options.timeoutMs);
  const { GetPublicKeyCommand } = sdk();
  const getPublicKey = async (keyId: string): Promise<GetPublicKeyCommandOutput> => {
    const command = new GetPublicKeyCommand({ KeyId: keyId });
    try {
      return await sendWithin(timeoutMs, (abortSignal) => client.send(command, { abortSignal }));
    } catch (err) {
      if (isKmsOutage(err)) throw new KeyServiceUnavailableError();
      throw err;
    }
  };
  const keys = await Promise.all([...keyIds].map(async ([kid, keyId]) => publicJwkOf(kid, keyId, alg, await getPublicKey(keyId))));
  return { keys };
}
