/**
 * The receiver's limits and their defaults, in one place: what one body may cost before and after
 * it is authenticated, and how many bodies may wait for a private-key operation. Each is an option
 * of `createRequestDecryptor`; the README's Limits table lists them.
 *
 * @packageDocumentation
 */

/**
 * Default of `maxBodyBytes`: 8 MiB of body text. A legacy body of a 4 MiB JSON payload is about
 * 7.5 MiB; API Gateway stops at 10 MB and Lambda's synchronous invocations at 6 MB.
 */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/**
 * Default of `maxPayloadBytes`: the decrypted (and inflated) JSON text, 4.5 MiB. Room for a
 * 4 MiB telemetry payload; with the value limit it keeps one body under 64 MiB of memory.
 */
export const DEFAULT_MAX_PAYLOAD_BYTES = 4.5 * 1024 * 1024;
/**
 * Default of `maxPayloadCost`: 48 Mi cost units, about 48 MiB of V8 heap or 200 ms of
 * `JSON.parse` on one core, whichever a payload's shape reaches first. Realistic 4 MiB telemetry
 * prices at 19–36 Mi units; `[{},{},…]` reaches the limit at 0.8 MB. Measurements in
 * `bench/JSON-COST.md`.
 */
export const DEFAULT_MAX_PAYLOAD_COST = 48 * 1024 * 1024;
/**
 * Cost units that one unit of the deprecated `maxPayloadValues` stands for: `maxPayloadValues: n`
 * is `maxPayloadCost: n * PAYLOAD_COST_PER_VALUE`.
 */
export const PAYLOAD_COST_PER_VALUE = 64;
/**
 * The default cost limit expressed in the deprecated `maxPayloadValues` unit:
 * {@link DEFAULT_MAX_PAYLOAD_COST} / {@link PAYLOAD_COST_PER_VALUE}.
 *
 * @deprecated Payloads are priced by cost, not counted by value: use {@link DEFAULT_MAX_PAYLOAD_COST}.
 */
export const DEFAULT_MAX_PAYLOAD_VALUES = DEFAULT_MAX_PAYLOAD_COST / PAYLOAD_COST_PER_VALUE;
/** Default of `maxPayloadDepth`: nesting of arrays and objects in one payload. */
export const DEFAULT_MAX_PAYLOAD_DEPTH = 64;
/** Default allowance for clock skew between sender and receiver when checking `iat`. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;
/**
 * Default of `maxPendingUnwraps`: bodies of one decryptor waiting for a private-key operation.
 * Enough for a burst; few enough that the last of them does not wait long (the README's Limits
 * table gives the figures).
 */
export const DEFAULT_MAX_PENDING_UNWRAPS = 256;
/**
 * Default of `maxPendingUnwrapsPerProcess`: bodies of all decryptors of the process waiting for a
 * private-key operation. Four decryptors' worth, so that one flooded decryptor never fills it.
 */
export const DEFAULT_MAX_PENDING_UNWRAPS_PER_PROCESS = 4 * DEFAULT_MAX_PENDING_UNWRAPS;

/**
 * The decryptor's limits, resolved from its options: one shape, each member named as its option,
 * in every layer that checks one (the layers take the part they check, as a `Pick` of it).
 */
export interface Limits {
  /** Longest body text, in characters (`maxBodyBytes`). */
  readonly maxBodyBytes: number;
  /** Longest plaintext, inflated or not, in bytes (`maxPayloadBytes`). */
  readonly maxPayloadBytes: number;
  /** Most cost units a payload may be priced at (`maxPayloadCost`). */
  readonly maxPayloadCost: number;
  /** Deepest nesting of arrays and objects in a payload (`maxPayloadDepth`). */
  readonly maxPayloadDepth: number;
  /** Most bodies of one decryptor waiting for a private-key operation (`maxPendingUnwraps`). */
  readonly maxPendingUnwraps: number;
  /** Most bodies of all decryptors of the process waiting for one (`maxPendingUnwrapsPerProcess`). */
  readonly maxPendingUnwrapsPerProcess: number;
}

/** The limits one body is held to. */
export type BodyLimits = Pick<Limits, 'maxBodyBytes' | 'maxPayloadBytes' | 'maxPayloadCost' | 'maxPayloadDepth'>;

/** The bound on bodies waiting for a private-key operation. */
export type PendingUnwrapLimits = Pick<Limits, 'maxPendingUnwraps' | 'maxPendingUnwrapsPerProcess'>;
