/**
 * A failure the library did not raise itself (a bug, a `TypeError` from a caller's proxy, a
 * foreign error from below) still answers the client as {@link DecryptionFailedError}, so that it
 * tells a sender nothing; but the operator must be able to tell it from a forgery. It is marked
 * here (the `onDecrypt` event then says `unexpected: true`) and the original error is kept as the
 * error's non-enumerable `cause`: never in its message, its enumerable members or its JSON, since a
 * foreign error's text may quote anything, a payload included.
 *
 * @packageDocumentation
 */
import { DecryptionFailedError, RequestCryptoError } from './errors';

const unexpected = new WeakSet<RequestCryptoError>();

/** `err` as the decryptor rejects with it: ours as it is, anything else as a marked `DecryptionFailedError`. */
export function typedFailure(err: unknown): RequestCryptoError {
  if (err instanceof RequestCryptoError) return err;
  const failure = new DecryptionFailedError();
  Object.defineProperty(failure, 'cause', { value: err, enumerable: false, writable: false, configurable: true });
  unexpected.add(failure);
  return failure;
}

/** True for an error that {@link typedFailure} made from a failure the library did not raise. */
export function isUnexpected(err: unknown): boolean {
  return err instanceof RequestCryptoError && unexpected.has(err);
}
