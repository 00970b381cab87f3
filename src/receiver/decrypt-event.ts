/**
 * The `onDecrypt` hook: one event per `decrypt`, `decryptPayload` or `getJWKMetadata` call, so an
 * operator can count bodies by format and algorithm (how many still arrive the old way during a
 * migration) and failures by code. An event describes the body, never its payload or a key.
 *
 * @packageDocumentation
 */
import { performance } from 'node:perf_hooks';

import { NoKeyFoundError, type ErrorCode, type NoKeyFoundReason, type RequestCryptoError } from '../core/errors';
import type { BodyFormat } from '../core/types';
import type { LearnedHeader } from '../formats/wire-format';
import type { WrapAlgorithm } from '../core/algorithms';
import { isUnexpected } from '../core/unexpected-error';

/** What {@link OnDecrypt} hears about one call. Members other than `ok`, `bodyBytes` and `durationMs` are present only once known. */
export interface DecryptEvent {
  /** True when the call resolved. */
  readonly ok: boolean;
  /** Why the call rejected: the error's `code`. Absent when `ok`. */
  readonly code?: ErrorCode;
  /**
   * The body's kid, once its header passed its checks (so also for `ERR_NO_KEY_FOUND`). A kid of
   * the decryptor's set is given whole; any other is the sender's text, so only its first
   * {@link MAX_UNKNOWN_KID_LENGTH} characters are given. Do not make it a metric dimension: a
   * sender can make up a new one for every body.
   */
  readonly kid?: string;
  /** The body's format, once its outer structure parsed. */
  readonly format?: BodyFormat;
  /** The key-wrapping algorithm of the body's header, once the header passed its checks. */
  readonly alg?: WrapAlgorithm;
  /**
   * The content encryption of the body's header, once the header passed its checks: `A256GCM` for
   * `'jwe'` bodies, `A128CBC-HS256` (the key envelope's) for legacy bodies.
   */
  readonly enc?: string;
  /** Whether the payload is compressed (`compress: true`, `'jwe'` only; legacy bodies: `false`). */
  readonly compressed?: boolean;
  /**
   * `ERR_NO_KEY_FOUND` only: why there was no key (`'public-keys-only'`: the decryptor was given
   * a set without private keys and no `unwrapKey`).
   */
  readonly reason?: NoKeyFoundReason;
  /**
   * The SHA-256 (lowercase hex) of the body's canonical text, once its outer structure parsed: the
   * same for every spelling a transport made of one body (quoted, line-wrapped), so it keys a
   * replay or de-duplication cache.
   */
  readonly bodySha256?: string;
  /**
   * What the payload was priced at, in cost units, once it was: always for a decrypted payload,
   * and for one refused as too costly (`ERR_PAYLOAD_TOO_COMPLEX`), so that a hostile sender can
   * be told from a limit set too low. Never the payload itself.
   */
  readonly payloadCost?: number;
  /** The decryptor's `maxPayloadCost`, given with `payloadCost`. */
  readonly maxPayloadCost?: number;
  /** The body's length: characters of a string (a body is ASCII), bytes of a `Uint8Array`, 0 for anything else. */
  readonly bodyBytes: number;
  /** Milliseconds from the call to its result, measured with `performance.now()`. */
  readonly durationMs: number;
  /**
   * Present, and `true`, when the call failed with an error the library did not raise (a bug, or a
   * foreign error from below): the caller got `ERR_DECRYPTION_FAILED`, as for a forgery, and the
   * original error is that error's non-enumerable `cause`. Alert on it: it is not the sender's doing.
   */
  readonly unexpected?: true;
}

/**
 * The `onDecrypt` option. Called once per call, synchronously just before the call's promise
 * settles (so that a Lambda logs it before it answers). Its result is never awaited, and a throw
 * or a rejection from it is swallowed: it cannot fail or delay a call, beyond the time its own
 * synchronous part takes.
 */
export type OnDecrypt = (event: DecryptEvent) => unknown;

/** How much of a kid that is not in the set an event carries. */
export const MAX_UNKNOWN_KID_LENGTH = 64;

/** What the decryption pipeline has learned about a body so far; it fills this in as it goes. */
export interface BodyFacts {
  /** Set once the body's outer structure parsed. */
  format?: BodyFormat;
  /** The header's kid, whole (bounded only when it goes into an event). */
  kid?: string;
  /** Set with `kid`, once the header passed its checks. */
  alg?: WrapAlgorithm;
  /** Set with `kid`. */
  enc?: string;
  /** Set with `kid`. */
  compressed?: boolean;
  /** Set once the body's canonical text is known. */
  bodySha256?: string;
  /** Set once the payload is priced, with `maxPayloadCost`. */
  payloadCost?: number;
  /** Set with `payloadCost`. */
  maxPayloadCost?: number;
}

/** Records what a body's checked header says. */
export function learnHeader(facts: BodyFacts | undefined, learned: LearnedHeader): void {
  if (facts === undefined) return;
  facts.kid = learned.kid;
  facts.alg = learned.alg;
  facts.enc = learned.enc;
  facts.compressed = learned.compressed;
}

function bodyBytesOf(body: unknown): number {
  if (typeof body === 'string') return body.length;
  if (body instanceof Uint8Array) return body.byteLength;
  return 0;
}

/** Calls the hook, and makes sure that nothing it throws or rejects with goes anywhere. */
function emit(hook: OnDecrypt, event: DecryptEvent): void {
  try {
    const returned: unknown = hook(Object.freeze(event));
    if ((typeof returned === 'object' || typeof returned === 'function') && returned !== null && 'then' in returned) {
      Promise.resolve(returned).catch(() => undefined);
    }
  } catch {
    // A metrics hook must not fail a request.
  }
}

/** Runs one call of the decryptor, reporting it to the hook when there is one. */
export type ObservedCall = <R>(body: unknown, run: (facts: BodyFacts | undefined) => Promise<R>) => Promise<R>;

/**
 * Wraps the decryptor's calls for `hook`; without a hook a call only runs. `run` rejects only with
 * a `RequestCryptoError` (the decryptor types every failure), whose `code` the event carries.
 */
export function observeCalls(hook: OnDecrypt | undefined, isKnownKid: (kid: string) => boolean): ObservedCall {
  if (hook === undefined) return (_body, run) => run(undefined);
  return async <R>(body: unknown, run: (facts: BodyFacts | undefined) => Promise<R>): Promise<R> => {
    const start = performance.now();
    const facts: BodyFacts = {};
    const report = (code: ErrorCode | undefined, reason?: NoKeyFoundReason, unexpected = false): void => {
      const durationMs = performance.now() - start;
      const { kid, format, alg, enc, compressed, bodySha256, payloadCost, maxPayloadCost } = facts;
      emit(hook, {
        ok: code === undefined,
        ...(code === undefined ? {} : { code }),
        ...(kid === undefined ? {} : { kid: isKnownKid(kid) ? kid : kid.slice(0, MAX_UNKNOWN_KID_LENGTH) }),
        ...(format === undefined ? {} : { format }),
        ...(alg === undefined ? {} : { alg }),
        ...(enc === undefined ? {} : { enc }),
        ...(compressed === undefined ? {} : { compressed }),
        ...(reason === undefined ? {} : { reason }),
        ...(bodySha256 === undefined || format === undefined ? {} : { bodySha256 }),
        ...(payloadCost === undefined ? {} : { payloadCost, maxPayloadCost }),
        bodyBytes: bodyBytesOf(body),
        durationMs,
        ...(unexpected ? { unexpected: true as const } : {}),
      });
    };
    let result: R;
    try {
      result = await run(facts);
    } catch (err) {
      report((err as RequestCryptoError).code, err instanceof NoKeyFoundError ? err.reason : undefined, isUnexpected(err));
      throw err;
    }
    report(undefined);
    return result;
  };
}
