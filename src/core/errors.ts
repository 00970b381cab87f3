/**
 * Every failure this package reports is a {@link RequestCryptoError} with a stable `code`.
 * One small class per failure, each with a fixed message (only the kid of `Missing kid` and the
 * position of a bad key in a keyset vary, and neither is secret).
 *
 * @packageDocumentation
 */

/** The stable codes of {@link RequestCryptoError}, one per kind of failure. */
export const ERROR_CODES = {
  /** The body is not a body this package could have made: bad encoding, bad JSON, bad shape. */
  BODY_MALFORMED: 'ERR_BODY_MALFORMED',
  /** The body is longer than `maxBodyBytes`, or its payload longer than `maxPayloadBytes` (inflated or not). */
  BODY_TOO_LARGE: 'ERR_BODY_TOO_LARGE',
  /** The payload nests deeper than `maxPayloadDepth` or is priced above `maxPayloadCost` (what `JSON.parse` would build). */
  PAYLOAD_TOO_COMPLEX: 'ERR_PAYLOAD_TOO_COMPLEX',
  /** The body names a kid that has no private key in the decryptor's set. */
  NO_KEY_FOUND: 'ERR_NO_KEY_FOUND',
  /** `encrypt` was asked for a kid that is not in the public set. */
  MISSING_KID: 'ERR_MISSING_KID',
  /** A cryptographic check failed after the key was chosen. Deliberately says nothing more. */
  DECRYPTION_FAILED: 'ERR_DECRYPTION_FAILED',
  /** OpenSSL refused to encrypt (for example a key its FIPS provider does not allow). */
  ENCRYPTION_FAILED: 'ERR_ENCRYPTION_FAILED',
  /** A header or key names an algorithm this package does not use. */
  UNSUPPORTED_ALGORITHM: 'ERR_UNSUPPORTED_ALGORITHM',
  /** A key set (JWKS) is not usable: bad shape, bad key, duplicate kid. */
  INVALID_JWKS: 'ERR_INVALID_JWKS',
  /** The payload has no JSON form (`undefined`, a function, a symbol, a BigInt, a cycle). */
  PAYLOAD_NOT_SERIALIZABLE: 'ERR_PAYLOAD_NOT_SERIALIZABLE',
  /** A `'jwe'` body's bound context differs from the one the receiver expects. */
  CONTEXT_MISMATCH: 'ERR_CONTEXT_MISMATCH',
  /** A body is older than `maxAgeSeconds`, from the future, or has no issue time. */
  BODY_EXPIRED: 'ERR_BODY_EXPIRED',
  /** An option or argument passed by the caller is not valid. */
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  /** The payload decrypted, but the `schema` passed to `decrypt` refused it. */
  PAYLOAD_INVALID: 'ERR_PAYLOAD_INVALID',
  /** Too many bodies already wait for a private-key operation: retry later. Says nothing about the body. */
  RECEIVER_BUSY: 'ERR_RECEIVER_BUSY',
  /** The key service (KMS, HSM, `unwrapKey`) is down, timed out or throttled: retry later. Says nothing about the body. */
  KEY_SERVICE_UNAVAILABLE: 'ERR_KEY_SERVICE_UNAVAILABLE',
} as const;

/** One of the strings in {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/**
 * Whose failure a {@link RequestCryptoError} is, so that a receiver can answer without reading
 * messages:
 * - `'body'`: the body (or its payload) was refused. The sender's fault: an HTTP receiver answers 400.
 * - `'caller'`: the calling code or its configuration is wrong (a bad option, a bad key set, a kid
 *   the set lacks, a payload with no JSON form, a decryptor handed a set with no private key:
 *   `ERR_NO_KEY_FOUND` with reason `'public-keys-only'`). The server's fault: an HTTP receiver
 *   answers 500.
 * - `'unavailable'`: the receiver cannot serve now ({@link UnavailableError}): answer 503, retry later.
 */
export type ErrorKind = 'body' | 'caller' | 'unavailable';

const KIND_OF: Readonly<Record<ErrorCode, ErrorKind>> = {
  ERR_BODY_MALFORMED: 'body',
  ERR_BODY_TOO_LARGE: 'body',
  ERR_PAYLOAD_TOO_COMPLEX: 'body',
  ERR_NO_KEY_FOUND: 'body',
  ERR_MISSING_KID: 'caller',
  ERR_DECRYPTION_FAILED: 'body',
  ERR_ENCRYPTION_FAILED: 'caller',
  ERR_UNSUPPORTED_ALGORITHM: 'body',
  ERR_INVALID_JWKS: 'caller',
  ERR_PAYLOAD_NOT_SERIALIZABLE: 'caller',
  ERR_CONTEXT_MISMATCH: 'body',
  ERR_BODY_EXPIRED: 'body',
  ERR_INVALID_ARGUMENT: 'caller',
  ERR_PAYLOAD_INVALID: 'body',
  ERR_RECEIVER_BUSY: 'unavailable',
  ERR_KEY_SERVICE_UNAVAILABLE: 'unavailable',
};

/**
 * Base class of every error this package reports. Match on `code`, never on `message`.
 */
export class RequestCryptoError extends Error {
  /** A stable, machine-readable identifier of the failure. */
  readonly code: ErrorCode;
  /**
   * Whose failure this is: the body's, the caller's, or the receiver's availability. See
   * {@link ErrorKind}. Not enumerable, so an error serialises as it did in 2.0.3 and 2.1.
   */
  declare readonly kind: ErrorKind;

  /** @internal */
  constructor(code: ErrorCode, message: string, kind: ErrorKind = (KIND_OF as Partial<Record<string, ErrorKind>>)[code] ?? 'body') {
    super(message);
    this.code = code;
    Object.defineProperty(this, 'kind', { value: kind, enumerable: false, writable: false, configurable: true });
    this.name = new.target.name;
    // Keep the prototype chain when compiled to targets that lose it.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** The body is not a body this package could have made. */
export class BodyMalformedError extends RequestCryptoError {
  /** @internal */
  constructor(message = 'body is malformed') {
    super(ERROR_CODES.BODY_MALFORMED, message);
  }
}

/** The body exceeds the decryptor's size limit. */
export class BodyTooLargeError extends RequestCryptoError {
  /** @internal */
  constructor(message = 'body is too large') {
    super(ERROR_CODES.BODY_TOO_LARGE, message);
  }
}

/**
 * Why a decryptor had no key for a body:
 * - `'unknown-kid'`: the body's kid is not in the set (a body for another receiver, or a key
 *   not yet deployed);
 * - `'no-private-key'`: the kid is in the set, but only as a public key;
 * - `'public-keys-only'`: the set holds no private key at all and no `unwrapKey` was given; the
 *   receiver was most likely handed the public set by mistake.
 */
export type NoKeyFoundReason = 'unknown-kid' | 'no-private-key' | 'public-keys-only';

/**
 * The body's kid has no private key in the set. `String(err)` is exactly
 * `Error: no key found`, as with `@elastic/request-crypto`; `reason` says why.
 */
export class NoKeyFoundError extends RequestCryptoError {
  /** Why there was no key, when the decryptor could tell (the manager's `decrypt` cannot). */
  readonly reason?: NoKeyFoundReason;

  /** @internal */
  constructor(reason?: NoKeyFoundReason) {
    // A set with no private key refuses every body: the receiver's configuration, not the sender.
    super(ERROR_CODES.NO_KEY_FOUND, 'no key found', reason === 'public-keys-only' ? 'caller' : 'body');
    if (reason !== undefined) this.reason = reason;
    // The original's users compare `String(err)`; keep the name that prints as `Error`.
    this.name = 'Error';
  }
}

/**
 * `encrypt` was asked for a kid the public set lacks. `String(err)` is exactly
 * `Error: Missing kid (<kid>).`, as with `@elastic/request-crypto`.
 */
export class MissingKidError extends RequestCryptoError {
  /** The kid that was asked for. */
  readonly kid: string;

  /** @internal */
  constructor(kid: string) {
    super(ERROR_CODES.MISSING_KID, `Missing kid (${kid}).`);
    this.kid = kid;
    this.name = 'Error';
  }
}

/**
 * A cryptographic check failed once a key was chosen: RSA-OAEP unwrap, JWE tag, GCM tag, wrong
 * passphrase. All of them give this one error with this one message, so that a sender of forged
 * bodies learns nothing about the key.
 */
export class DecryptionFailedError extends RequestCryptoError {
  /** @internal */
  constructor() {
    super(ERROR_CODES.DECRYPTION_FAILED, 'decryption failed');
  }
}

/**
 * The payload is authentic but too costly to hand over: nested deeper than `maxPayloadDepth`, or
 * priced above `maxPayloadCost`. Settled before `JSON.parse` runs.
 */
export class PayloadTooComplexError extends RequestCryptoError {
  /** What the payload was priced at, in cost units, when it was refused for its cost. */
  readonly cost?: number;
  /** The `maxPayloadCost` it was refused under, when it was refused for its cost. */
  readonly maxCost?: number;

  /** @internal */
  constructor(message = 'payload is too complex', priced?: { readonly cost: number; readonly maxCost: number }) {
    super(ERROR_CODES.PAYLOAD_TOO_COMPLEX, message);
    if (priced !== undefined) {
      this.cost = priced.cost;
      this.maxCost = priced.maxCost;
    }
  }
}

/** OpenSSL refused to encrypt. The message never carries OpenSSL's own text, which may quote a key. */
export class EncryptionFailedError extends RequestCryptoError {
  /** @internal */
  constructor(message = 'encryption failed') {
    super(ERROR_CODES.ENCRYPTION_FAILED, message);
  }
}

/**
 * A header or key names an algorithm this package does not use: `kind` is `'body'` for a body's
 * header, `'caller'` for a key the caller chose.
 */
export class UnsupportedAlgorithmError extends RequestCryptoError {
  /** @internal */
  constructor(message = 'unsupported algorithm', kind: ErrorKind = 'body') {
    super(ERROR_CODES.UNSUPPORTED_ALGORITHM, message, kind);
  }
}

/** A key set is not usable. The message names the index and kid of the bad key. */
export class InvalidJwksError extends RequestCryptoError {
  /** @internal */
  constructor(message = 'invalid JWKS') {
    super(ERROR_CODES.INVALID_JWKS, message);
  }
}

/** The payload has no JSON form. */
export class PayloadNotSerializableError extends RequestCryptoError {
  /** @internal */
  constructor(message = 'payload is not JSON-serializable') {
    super(ERROR_CODES.PAYLOAD_NOT_SERIALIZABLE, message);
  }
}

/** A `'jwe'` body's context is not the one the receiver expects. */
export class ContextMismatchError extends RequestCryptoError {
  /** @internal */
  constructor() {
    super(ERROR_CODES.CONTEXT_MISMATCH, 'context does not match');
  }
}

/** A body is older than allowed, issued in the future, or carries no issue time. */
export class BodyExpiredError extends RequestCryptoError {
  /** @internal */
  constructor(message = 'body is expired') {
    super(ERROR_CODES.BODY_EXPIRED, message);
  }
}

/** An option or argument passed by the caller is not valid. */
export class InvalidArgumentError extends RequestCryptoError {
  /** @internal */
  constructor(message: string) {
    super(ERROR_CODES.INVALID_ARGUMENT, message);
  }
}

/**
 * One reason a `schema` refused a payload: where, and what the validator said. Never the value
 * that was refused.
 */
export interface PayloadIssue {
  /**
   * The path of the refused value inside the payload: array indexes, and member names where the
   * schema declares them (a zod `shape`, a valibot `entries`); any other name is `'[key]'`, since
   * a member name is the sender's text (an e-mail address, a token).
   */
  readonly path: ReadonlyArray<PropertyKey>;
  /**
   * The validator's message, with the refused value, the member names and strings around it, and
   * any quoted text other than a declared member name replaced by `[value]`.
   */
  readonly message: string;
}

/**
 * The payload decrypted and is authentic, but the `schema` passed to `decrypt` refused it: anyone
 * holding the public key can make an authentic body, so its payload is validated like any input.
 * `issues` holds the validator's paths and messages (the first 100), never
 * the values refused, so the error can be logged as it is.
 */
export class PayloadInvalidError extends RequestCryptoError {
  /** Where and why the payload was refused, first issues first. */
  readonly issues: ReadonlyArray<PayloadIssue>;

  /** @internal */
  constructor(issues: ReadonlyArray<PayloadIssue> = [], message = 'payload is invalid') {
    super(ERROR_CODES.PAYLOAD_INVALID, message);
    this.issues = Object.freeze([...issues]);
  }
}

/**
 * Base of the failures that come from the receiver's own condition, not from the body: the body
 * may well be valid, so the sender should retry (an HTTP receiver answers 503). `retryable` is
 * `true` on these and only on these.
 */
export class UnavailableError extends RequestCryptoError {
  /** Always `true`: the same body may succeed later. */
  readonly retryable = true;
}

/**
 * Too many bodies already wait for a private-key operation (the decryptor's or the process's
 * queue is full). Refused at once, before any key is used.
 */
export class ReceiverBusyError extends UnavailableError {
  /** @internal */
  constructor(message = 'receiver is busy') {
    super(ERROR_CODES.RECEIVER_BUSY, message);
  }
}

/**
 * The key service did not answer in time, was unreachable, or throttled past its retries. A
 * refusal of the ciphertext itself is never this error: it is {@link DecryptionFailedError}.
 * An `unwrapKey` signals an outage by rejecting with this class.
 */
export class KeyServiceUnavailableError extends UnavailableError {
  /** @internal */
  constructor(message = 'key service is unavailable') {
    super(ERROR_CODES.KEY_SERVICE_UNAVAILABLE, message);
  }
}
