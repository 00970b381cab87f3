/**
 * The `onKeyWrap` hook of `@elastic/request-crypto` 3.0: which key wrap each authentic body used,
 * so that a receiver can watch senders move from RSA-OAEP to RSA-OAEP-256 before the old one is
 * turned off.
 *
 * @packageDocumentation
 */
import { LEGACY_KEY_WRAP_ALGORITHM, type WrapAlgorithm } from '../core/algorithms';

/** What {@link OnKeyWrap} hears about one body. */
export interface KeyWrapInfo {
  /** The kid of the key the body was made for (a kid of the decryptor's set). */
  readonly kid: string;
  /** The key wrap the body's header names, the one its key was unwrapped with. */
  readonly alg: WrapAlgorithm;
  /**
   * True when `alg` is `RSA-OAEP` ({@link LEGACY_KEY_WRAP_ALGORITHM}, the SHA-1 wrap of 2.x
   * senders). It says nothing of the body's format.
   */
  readonly legacy: boolean;
}

/**
 * The `onKeyWrap` decryptor option. Called once for each `decrypt` or `decryptPayload` whose body
 * authenticated (its payload decrypted and its tag matched: a forged body never reaches it) and
 * once for each `getJWKMetadata` whose key envelope authenticated. Called synchronously, never
 * awaited; whatever it throws or rejects with is swallowed.
 */
export type OnKeyWrap = (info: KeyWrapInfo) => unknown;

/** Calls `hook`, and makes sure that nothing it throws or rejects with goes anywhere. */
function callSafely(hook: OnKeyWrap, info: KeyWrapInfo): void {
  try {
    const returned: unknown = hook(info);
    if ((typeof returned === 'object' || typeof returned === 'function') && returned !== null && 'then' in returned) {
      Promise.resolve(returned).catch(() => undefined);
    }
  } catch {
    // A metrics hook must not fail a request.
  }
}

/** What the decryptor tells about an authentic body: its key's kid and its header's `alg`. */
export type ReportKeyWrap = (kid: string, alg: WrapAlgorithm) => void;

/** The reporter for `hook`; without one, it does nothing. */
export function keyWrapReporter(hook: OnKeyWrap | undefined): ReportKeyWrap {
  if (hook === undefined) return () => undefined;
  return (kid, alg) => callSafely(hook, Object.freeze({ kid, alg, legacy: alg === LEGACY_KEY_WRAP_ALGORITHM }));
}
