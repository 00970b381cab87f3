/**
 * How many bodies may wait for a private-key operation at once, per decryptor and per process.
 * Every body for a key costs one private operation, a forged one too, and holds its memory while
 * it waits: past the bound a body is refused at once with `ReceiverBusyError`, which says nothing
 * about the body (it depends on the receiver's state alone) and passes through `unwrapCek`
 * instead of becoming a forgery.
 *
 * @packageDocumentation
 */
import { ReceiverBusyError } from '../core/errors';
import type { UnwrapKey } from '../keys/unwrap';

/** Bodies of every decryptor of this copy of the package that wait for a private-key operation. */
let pendingInProcess = 0;

/** The bounds of {@link admitUnwraps}. */
export interface PendingUnwrapLimits {
  /** Most bodies of this decryptor that may wait at once. */
  readonly perDecryptor: number;
  /** Past this many bodies waiting in the process (every decryptor's), this decryptor's are refused. */
  readonly perProcess: number;
}

/**
 * `unwrap`, counting the bodies that wait for it until each settles, and refusing a body with
 * `ReceiverBusyError` when either count is at its bound.
 */
export function admitUnwraps(unwrap: UnwrapKey, limits: PendingUnwrapLimits): UnwrapKey {
  let pending = 0;
  const settled = (): void => {
    pending -= 1;
    pendingInProcess -= 1;
  };
  return (request) => {
    if (pending >= limits.perDecryptor || pendingInProcess >= limits.perProcess) return Promise.reject(new ReceiverBusyError());
    pending += 1;
    pendingInProcess += 1;
    let result: Promise<Uint8Array>;
    try {
      result = Promise.resolve(unwrap(request));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(settled, settled);
    return result;
  };
}
