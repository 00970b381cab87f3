/**
 * The receiver's side: `createRequestDecryptor(privateJWKS)`. Every byte of a body is untrusted:
 * its size is checked first, its structure next, and only then is a key used.
 *
 * @packageDocumentation
 */
import type { WrapAlgorithm } from '../core/algorithms';
import { checkKnownOptions, optionNames } from '../core/known-options';
import { InvalidArgumentError, PayloadTooComplexError } from '../core/errors';
import { typedFailure } from '../core/unexpected-error';
import {
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_PAYLOAD_COST,
  DEFAULT_MAX_PAYLOAD_DEPTH,
  DEFAULT_MAX_PAYLOAD_VALUES,
  DEFAULT_MAX_PENDING_UNWRAPS,
  DEFAULT_MAX_PENDING_UNWRAPS_PER_PROCESS,
  PAYLOAD_COST_PER_VALUE,
  type BodyLimits,
  type PendingUnwrapLimits,
} from '../core/limits';
import { bodySha256, bodyText, type EncryptedBody } from '../encoding/body-text';
import { parseBoundedJson } from '../encoding/bounded-json';
import { checkContext, checkFreshness, isContext, isJweBody, JWE_BODY, type BodyContext } from '../formats/jwe/body';
import { LEGACY_BODY } from '../formats/legacy/body';
import type { InspectedBody, OpenedBody, OpenedMetadata, SealOptions, WireFormat } from '../formats/wire-format';
import { chooseKey } from '../jose/decrypt';
import { loadKeyring, type Keyring } from '../keys/keyset';
import { unwrapInProcess, UnwrapRefusedError, type KeyCustody, type UnwrapKey } from '../keys/unwrap';
import { admitUnwraps } from './unwrap-admission';
import { unwrapOnThreads } from './unwrap-pool';
import type { PrivateJWKS, PublicJWK, PublicJWKS } from '../core/types';
import { learnHeader, observeCalls, type BodyFacts, type OnDecrypt } from './decrypt-event';
import { isStandardSchema, validatePayload, type StandardSchemaV1 } from './schema';
import { keyWrapReporter, type OnKeyWrap } from './key-wrap-event';


/** Options of {@link createRequestDecryptor}. */
export interface DecryptorOptions {
  /**
   * Longest body accepted, in bytes of body text (a body is ASCII, so characters = bytes),
   * checked before any decoding. Default {@link DEFAULT_MAX_BODY_BYTES}.
   */
  maxBodyBytes?: number;
  /**
   * Longest payload accepted: the decrypted JSON text in bytes, after inflation for a compressed
   * `'jwe'` body (inflation stops there). Default {@link DEFAULT_MAX_PAYLOAD_BYTES}.
   */
  maxPayloadBytes?: number;
  /**
   * Most a payload may cost `JSON.parse`, in cost units (about one byte of V8 heap, or 4 ns of
   * parse time, each), priced before it is parsed from what it holds: objects, arrays, members,
   * elements, strings and their bytes, and each new sequence of member names (a hidden class).
   * A payload priced above it is `ERR_PAYLOAD_TOO_COMPLEX`. Default {@link DEFAULT_MAX_PAYLOAD_COST}
   * (48 Mi); raise it with `maxPayloadBytes`, by about 11 units per byte (the default ratio).
   */
  maxPayloadCost?: number;
  /**
   * The former limit, kept so that existing options still work: `maxPayloadValues: n` is
   * `maxPayloadCost: n * 64` ({@link PAYLOAD_COST_PER_VALUE}). Pass one of the two, not both.
   *
   * @deprecated Use `maxPayloadCost`.
   */
  maxPayloadValues?: number;
  /** Deepest nesting of arrays and objects in a payload. Default {@link DEFAULT_MAX_PAYLOAD_DEPTH}. */
  maxPayloadDepth?: number;
  /**
   * Allowed clock skew for `maxAgeSeconds`: how far in the future an issue time may be.
   * Default {@link DEFAULT_CLOCK_TOLERANCE_SECONDS}.
   */
  clockToleranceSeconds?: number;
  /**
   * The private-key operation, done outside this process (a KMS, an HSM, another thread). With it
   * the key set may hold public keys only. Called once per body, after the body's size,
   * structure and kid are checked; a rejection or a result of the wrong length is the same
   * `ERR_DECRYPTION_FAILED` as any forged body.
   */
  unwrapKey?: UnwrapKey;
  /**
   * Where the set's own private keys do the RSA private operation: `'threads'` (default), a pool
   * of worker threads shared by the process's decryptors, so that the event loop never waits on
   * RSA and every core is used; or `'event-loop'`, one thread hop fewer, for a process that only
   * ever handles one body at a time. Ignored with `unwrapKey`. Where threads cannot start, the
   * default says so once (a process warning) and unwraps on the event loop.
   */
  unwrapOn?: 'threads' | 'event-loop';
  /**
   * Most bodies of this decryptor that may wait for a private-key operation at once (on the
   * unwrap threads or in `unwrapKey`); past it a body is refused at once with `ReceiverBusyError`
   * (`ERR_RECEIVER_BUSY`, retryable), before any key is used. Not used with `unwrapOn:
   * 'event-loop'`, where no body waits. Default {@link DEFAULT_MAX_PENDING_UNWRAPS}.
   */
  maxPendingUnwraps?: number;
  /**
   * Refuses this decryptor's bodies in the same way while this many bodies of all the process's
   * decryptors wait for a private-key operation. Default
   * {@link DEFAULT_MAX_PENDING_UNWRAPS_PER_PROCESS}.
   */
  maxPendingUnwrapsPerProcess?: number;
  /**
   * Called once for every `decrypt`, `decryptPayload` and `getJWKMetadata` call, resolved or
   * rejected, with what is known of the body (format, kid, algorithms, size, duration, error
   * code), never its payload or a key. Never awaited; what it throws or rejects with is ignored.
   */
  onDecrypt?: OnDecrypt;
  /**
   * Called with `{ kid, alg, legacy }` once for each body that authenticated (`decrypt`,
   * `decryptPayload`) and once for each `getJWKMetadata`, never for a forged body: count it by
   * `alg` to watch senders move to RSA-OAEP-256. Never awaited; what it throws or rejects with is
   * ignored.
   */
  onKeyWrap?: OnKeyWrap;
  /**
   * Refuse, as `ERR_UNSUPPORTED_ALGORITHM`, a body whose key wrap is not the `alg` its key declares
   * (2.0.3's behaviour). Off by default: a body may use RSA-OAEP or RSA-OAEP-256 with any key of
   * the set, as `@elastic/request-crypto` 3.0 receivers accept. A key without `alg` takes both.
   */
  pinKeyWrapAlgorithm?: boolean;
}

/** The option names {@link createRequestDecryptor} knows; any other is refused. */
export const DECRYPTOR_OPTION_NAMES = optionNames<DecryptorOptions>({
  maxBodyBytes: true,
  maxPayloadBytes: true,
  maxPayloadCost: true,
  maxPayloadValues: true,
  maxPayloadDepth: true,
  clockToleranceSeconds: true,
  unwrapKey: true,
  unwrapOn: true,
  onDecrypt: true,
  onKeyWrap: true,
  pinKeyWrapAlgorithm: true,
  maxPendingUnwraps: true,
  maxPendingUnwrapsPerProcess: true,
});

/**
 * Options of one {@link Decryptor.decrypt} call. `S` is the type of `schema`: plain
 * `DecryptOptions` has none.
 */
export interface DecryptOptions<S extends StandardSchemaV1 | undefined = undefined> {
  /**
   * Every pair must be in the body's bound context (`'jwe'` bodies only), or the call rejects
   * with `ContextMismatchError`. A legacy body has no context, so it never matches one.
   */
  context?: BodyContext;
  /**
   * Rejects with `BodyExpiredError` a body whose `iat` is older than this many seconds. A legacy
   * body has no `iat`, so with this option set it is always rejected.
   */
  maxAgeSeconds?: number;
  /**
   * A Standard Schema v1 validator (zod 4, valibot 1, arktype, …) for the payload: `decrypt`
   * resolves to its output (transforms applied) and rejects with `PayloadInvalidError` when it
   * refuses the payload. Asynchronous validators are awaited.
   */
  schema?: S;
}

/** The option names {@link Decryptor.decrypt} knows; any other is refused. */
export const DECRYPT_OPTION_NAMES = optionNames<DecryptOptions<StandardSchemaV1>>({ context: true, maxAgeSeconds: true, schema: true });

/** What `decrypt` resolves to: the output of `S` when a schema is given, else `T`. */
export type DecryptResult<T, S extends StandardSchemaV1 | undefined> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : T;

/** A JSON value, as a body decrypts to. */
export type DecryptedPayload = string | number | boolean | null | DecryptedPayload[] | { [key: string]: DecryptedPayload };

/** What a body says about its key and header (`getJWKMetadata`). */
export interface BodyMetadata extends OpenedMetadata {
  /**
   * The SHA-256 (lowercase hex) of the body's canonical text: the same for every spelling a
   * transport made of one body (JSON-quoted, line-wrapped, with spaces around), so it keys a
   * replay or de-duplication cache.
   */
  bodySha256: string;
}

/** Decrypts bodies made for the keys of a private set. */
export interface Decryptor {
  /** The public JWK of `kid`, or `null` when the set has no such key. */
  getPublicComponent(kid: string): PublicJWK | null;
  /** The public half of the set, to publish to senders. */
  getWellKnowns(): PublicJWKS;
  /**
   * Decrypts a body (either format, detected) to its payload. With `options.schema` the payload
   * is validated and the call resolves to the schema's output, typed from the schema (rejecting
   * with `PayloadInvalidError` when the schema refuses it); without, `T` only types the result
   * and is not checked. Rejects with a `RequestCryptoError` for any bad body, never throws.
   *
   * One signature rather than overloads, so that a union of methods (`decryptor[name](body)`)
   * stays callable.
   */
  decrypt<T = DecryptedPayload, S extends StandardSchemaV1 | undefined = undefined>(
    encryptedBody: EncryptedBody,
    options?: DecryptOptions<S>,
  ): Promise<DecryptResult<T, S>>;
  /** The same as {@link Decryptor.decrypt}: the name the original's README documents. */
  decryptPayload<T = DecryptedPayload, S extends StandardSchemaV1 | undefined = undefined>(
    encryptedBody: EncryptedBody,
    options?: DecryptOptions<S>,
  ): Promise<DecryptResult<T, S>>;
  /**
   * The key and header a body was made with. The key envelope is authenticated first, so a
   * forged header is never reported.
   */
  getJWKMetadata(encryptedBody: EncryptedBody): Promise<BodyMetadata>;
}

function checkPositive(name: string, value: unknown, integer: boolean): void {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new InvalidArgumentError(`invalid argument: ${name} must be a positive ${integer ? 'integer' : 'number'}`);
  }
}

function checkDecryptOptions(options: DecryptOptions<StandardSchemaV1 | undefined>): void {
  checkKnownOptions(options, DECRYPT_OPTION_NAMES, 'decrypt');
  if (options.context !== undefined && !isContext(options.context)) {
    throw new InvalidArgumentError('invalid argument: context must be an object of strings');
  }
  if (options.maxAgeSeconds !== undefined) checkPositive('maxAgeSeconds', options.maxAgeSeconds, false);
  if (options.schema !== undefined && !isStandardSchema(options.schema)) {
    throw new InvalidArgumentError('invalid argument: schema must be a Standard Schema v1 validator');
  }
}

/**
 * One of this package's own unwraps, with every rejection but a refused wrapped key (a forgery)
 * and the package's own errors marked as unexpected: the client still gets
 * `ERR_DECRYPTION_FAILED`, and the operator's `onDecrypt` event says `unexpected: true`.
 */
function markingBugs(unwrap: UnwrapKey): UnwrapKey {
  return async (request) => {
    try {
      return await unwrap(request);
    } catch (err) {
      throw err instanceof UnwrapRefusedError ? err : typedFailure(err);
    }
  };
}

/** One body through its format's three steps; what each step learns goes into `facts`. */
async function openWith<P, I extends InspectedBody, S extends SealOptions>(
  format: WireFormat<P, I, S>,
  keyring: Keyring,
  text: string,
  limits: BodyLimits,
  custody: KeyCustody,
  wantPlaintext: boolean,
  facts: BodyFacts | undefined,
): Promise<OpenedBody> {
  const parsed = format.parse(text, limits);
  if (facts !== undefined) facts.format = format.name;
  const inspected = format.inspect(parsed, limits);
  learnHeader(facts, inspected.learned);
  const key = chooseKey(keyring, inspected.learned, custody.privateElsewhere);
  return format.open(inspected, key, custody.unwrap, wantPlaintext);
}

function openBody(
  keyring: Keyring,
  text: string,
  limits: BodyLimits,
  custody: KeyCustody,
  wantPlaintext: boolean,
  facts?: BodyFacts,
): Promise<OpenedBody> {
  return isJweBody(text)
    ? openWith(JWE_BODY, keyring, text, limits, custody, wantPlaintext, facts)
    : openWith(LEGACY_BODY, keyring, text, limits, custody, wantPlaintext, facts);
}

/** The payload parsed once its price is within the limit; the price goes into `facts` either way. */
function parsePriced(plaintext: Buffer, limits: BodyLimits, facts: BodyFacts | undefined): unknown {
  try {
    const { value, cost } = parseBoundedJson(plaintext, limits);
    if (facts !== undefined) {
      facts.payloadCost = cost;
      facts.maxPayloadCost = limits.maxPayloadCost;
    }
    return value;
  } catch (err) {
    if (facts !== undefined && err instanceof PayloadTooComplexError && err.cost !== undefined) {
      facts.payloadCost = err.cost;
      facts.maxPayloadCost = limits.maxPayloadCost;
    }
    throw err;
  }
}

function limitOption(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  checkPositive(name, chosen, true);
  return chosen;
}

/** `maxPayloadCost`, or the deprecated `maxPayloadValues` turned into one. */
function costLimit(options: DecryptorOptions): number {
  if (options.maxPayloadValues === undefined) return limitOption('maxPayloadCost', options.maxPayloadCost, DEFAULT_MAX_PAYLOAD_COST);
  if (options.maxPayloadCost !== undefined) {
    throw new InvalidArgumentError('invalid argument: pass maxPayloadCost or maxPayloadValues (deprecated), not both');
  }
  return limitOption('maxPayloadValues', options.maxPayloadValues, DEFAULT_MAX_PAYLOAD_VALUES) * PAYLOAD_COST_PER_VALUE;
}

/**
 * Builds a decryptor for a set whose private keys are elsewhere (a KMS, an HSM): the set may hold
 * public keys only, and `unwrapKey` does the private-key operation. Rejects with
 * `InvalidJwksError` for a set it cannot use, `InvalidArgumentError` for bad options.
 */
export function createRequestDecryptor(
  jwks: PublicJWKS | PrivateJWKS | string,
  options: DecryptorOptions & { unwrapKey: UnwrapKey },
): Promise<Decryptor>;
/**
 * Builds a decryptor for a private JWKS (an object, or its JSON text). Rejects with
 * `InvalidJwksError` for a set it cannot use, `InvalidArgumentError` for bad options.
 */
export function createRequestDecryptor(privateJWKS: PrivateJWKS | string, options?: DecryptorOptions): Promise<Decryptor>;
export async function createRequestDecryptor(
  privateJWKS: PublicJWKS | PrivateJWKS | string,
  options: DecryptorOptions = {},
): Promise<Decryptor> {
  checkKnownOptions(options, DECRYPTOR_OPTION_NAMES, 'createRequestDecryptor');
  const limits: BodyLimits = {
    maxBodyBytes: limitOption('maxBodyBytes', options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES),
    maxPayloadBytes: limitOption('maxPayloadBytes', options.maxPayloadBytes, DEFAULT_MAX_PAYLOAD_BYTES),
    maxPayloadCost: costLimit(options),
    maxPayloadDepth: limitOption('maxPayloadDepth', options.maxPayloadDepth, DEFAULT_MAX_PAYLOAD_DEPTH),
  };
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!(typeof tolerance === 'number' && tolerance >= 0 && Number.isFinite(tolerance))) {
    throw new InvalidArgumentError('invalid argument: clockToleranceSeconds must be a number >= 0');
  }
  if (options.unwrapKey !== undefined && typeof options.unwrapKey !== 'function') {
    throw new InvalidArgumentError('invalid argument: unwrapKey must be a function');
  }
  if (options.onDecrypt !== undefined && typeof options.onDecrypt !== 'function') {
    throw new InvalidArgumentError('invalid argument: onDecrypt must be a function');
  }
  if (options.onKeyWrap !== undefined && typeof options.onKeyWrap !== 'function') {
    throw new InvalidArgumentError('invalid argument: onKeyWrap must be a function');
  }
  if (options.pinKeyWrapAlgorithm !== undefined && typeof options.pinKeyWrapAlgorithm !== 'boolean') {
    throw new InvalidArgumentError('invalid argument: pinKeyWrapAlgorithm must be a boolean');
  }
  const unwrapOn = options.unwrapOn ?? 'threads';
  if (unwrapOn !== 'threads' && unwrapOn !== 'event-loop') {
    throw new InvalidArgumentError('invalid argument: unwrapOn must be "threads" or "event-loop"');
  }
  const pendingLimits: PendingUnwrapLimits = {
    maxPendingUnwraps: limitOption('maxPendingUnwraps', options.maxPendingUnwraps, DEFAULT_MAX_PENDING_UNWRAPS),
    maxPendingUnwrapsPerProcess: limitOption('maxPendingUnwrapsPerProcess', options.maxPendingUnwrapsPerProcess, DEFAULT_MAX_PENDING_UNWRAPS_PER_PROCESS),
  };
  const keyring = loadKeyring(privateJWKS, { pinKeyWrapAlgorithm: options.pinKeyWrapAlgorithm === true });
  let custody: KeyCustody;
  if (options.unwrapKey !== undefined) custody = { unwrap: admitUnwraps(options.unwrapKey, pendingLimits), privateElsewhere: true };
  else if (unwrapOn === 'event-loop') custody = { unwrap: markingBugs(unwrapInProcess(keyring)), privateElsewhere: false };
  else custody = { unwrap: admitUnwraps(markingBugs(unwrapOnThreads(keyring, () => inFlight === 1)), pendingLimits), privateElsewhere: false };
  // Bodies between the start and the end of a decrypt or getJWKMetadata call.
  let inFlight = 0;

  const observe = observeCalls(options.onDecrypt, (kid) => keyring.get(kid) !== undefined);
  const reportKeyWrap = keyWrapReporter(options.onKeyWrap);
  // The header's alg was checked against the supported two before the key was used.
  const authenticated = (metadata: OpenedMetadata): void => reportKeyWrap(metadata.key.kid, metadata.header.alg as WrapAlgorithm);

  /** Runs one call: counted as in flight while it runs, and whatever it throws leaves typed. */
  const guarded = async <R>(call: () => Promise<R>): Promise<R> => {
    inFlight += 1;
    try {
      return await call();
    } catch (err) {
      throw typedFailure(err);
    } finally {
      inFlight -= 1;
    }
  };

  const decrypt = <T, S extends StandardSchemaV1 | undefined>(
    encryptedBody: EncryptedBody,
    decryptOptions: DecryptOptions<S> = {},
  ): Promise<DecryptResult<T, S>> =>
    observe(encryptedBody, (facts) =>
      guarded(async () => {
        checkDecryptOptions(decryptOptions);
        const text = bodyText(encryptedBody, limits.maxBodyBytes);
        if (facts !== undefined) facts.bodySha256 = bodySha256(text);
        const { plaintext, metadata } = await openBody(keyring, text, limits, custody, true, facts);
        authenticated(metadata);
        checkContext(metadata.context, decryptOptions.context);
        checkFreshness(metadata.issuedAt, decryptOptions.maxAgeSeconds, tolerance, Date.now());
        const payload = parsePriced(plaintext as Buffer, limits, facts);
        const { schema } = decryptOptions;
        return (schema === undefined ? payload : await validatePayload(schema, payload)) as DecryptResult<T, S>;
      }),
    );

  return {
    getPublicComponent(kid) {
      const key = keyring.get(kid);
      return key === undefined ? null : structuredClone(key.publicJwk);
    },
    getWellKnowns: () => keyring.publicJwks(),
    decrypt,
    decryptPayload: decrypt,
    getJWKMetadata: (encryptedBody) =>
      observe(encryptedBody, (facts) =>
        guarded(async () => {
          const text = bodyText(encryptedBody, limits.maxBodyBytes);
          const sha256 = bodySha256(text);
          if (facts !== undefined) facts.bodySha256 = sha256;
          const { metadata } = await openBody(keyring, text, limits, custody, false, facts);
          authenticated(metadata);
          return { ...metadata, bodySha256: sha256 };
        }),
      ),
  };
}
