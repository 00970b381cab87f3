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
import type { PendingUnwrapLimits } from '../core/limits';
import type { UnwrapKey } from '../keys/unwrap';

/** Bodies of every decryptor of this copy of the package that wait for a private-key operation. */
let pendingInProcess = 0;


/**
 * `unwrap`, counting the bodies that wait for it until each settles, and refusing a body with
 * `ReceiverBusyError` when this decryptor's count is at `maxPendingUnwraps` or the process's (every
 * decryptor's) at `maxPendingUnwrapsPerProcess`.
 */
export function admitUnwraps(unwrap: UnwrapKey, limits: PendingUnwrapLimits): UnwrapKey {
  let pending = 0;
  const settled = (): void => {
    pending -= 1;
    pendingInProcess -= 1;
  };
  return (request) => {
    if (pending >= limits.maxPendingUnwraps || pendingInProcess >= limits.maxPendingUnwrapsPerProcess) return Promise.reject(new ReceiverBusyError());
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
