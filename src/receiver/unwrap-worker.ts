/**
 * What an unwrap thread runs: it answers one RSA-OAEP decryption at a time, posted by the pool
 * in `unwrap-pool.ts`, and posts the result back on the same port.
 *
 * The pool starts it from text, not from a file (`unwrap-worker-source.ts`, generated from this
 * module by `scripts/build-unwrap-worker.js`), so that it runs inside a bundle with no
 * `node_modules`. That text is an ES module loaded from a `data:` URL, the same under CommonJS,
 * ESM or `--input-type=module`; so this module may import only Node's built-in modules, and
 * types.
 *
 * @packageDocumentation
 */
import { constants, createPrivateKey, privateDecrypt, type KeyObject } from 'node:crypto';
import { parentPort, type MessagePort } from 'node:worker_threads';

/** One RSA-OAEP decryption for the thread. */
export interface UnwrapJob {
  /** The pool's number for the private key. */
  readonly key: number;
  /** The key itself, sent with the first job for it that this thread gets, and only then. */
  readonly privateKey?: KeyObject;
  /** The OAEP digest (label hash and MGF1 alike). */
  readonly oaepHash: 'sha1' | 'sha256';
  /** The wrapped content key, in a buffer of its own (transferred). */
  readonly encryptedKey: Uint8Array;
}

/** Tells the thread that the pool's key `forget` is gone: the thread drops its copy. */
export interface ForgetKey {
  readonly forget: number;
}

/** What the pool posts to a thread. */
export type ToUnwrapThread = UnwrapJob | ForgetKey;

/**
 * What a thread posts back: `'ready'` once when it is listening; then, for each job in turn, the
 * content key, `'refused'` when RSA-OAEP refused the wrapped key (a forgery, as far as the thread
 * can tell), or `'unknown-key'` when the thread was never sent the key (the pool's mistake, never
 * the body's).
 */
export type FromUnwrapThread = 'ready' | Uint8Array | 'refused' | 'unknown-key';

/**
 * This thread's own copy of a key: threads that share one OpenSSL key take turns on its lock and
 * its blinding values. The copy's encoding is wiped at once; where the key cannot be copied, the
 * shared one serves.
 */
function ownCopy(key: KeyObject): KeyObject {
  let der: Buffer | undefined;
  try {
    der = key.export({ format: 'der', type: 'pkcs8' });
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    return key;
  } finally {
    der?.fill(0);
  }
}

/** Serves jobs posted on `port`, one at a time, in the order they arrive. */
function serve(port: MessagePort): void {
  const keys = new Map<number, KeyObject>();
  const answer = (job: UnwrapJob): FromUnwrapThread => {
    if (job.privateKey !== undefined) keys.set(job.key, ownCopy(job.privateKey));
    const key = keys.get(job.key);
    if (key === undefined) return 'unknown-key';
    let cek: Buffer;
    try {
      // SHA-1 is OpenSSL's default OAEP digest and is not named (oaepOptions in keys/oaep.ts says why).
      const padding = constants.RSA_PKCS1_OAEP_PADDING;
      cek = privateDecrypt(job.oaepHash === 'sha256' ? { key, padding, oaepHash: 'sha256' } : { key, padding }, job.encryptedKey);
    } catch {
      // Any throw: in FIPS mode OpenSSL refuses padding without an error code to tell it by.
      return 'refused';
    }
    // Sent in a buffer of its own, transferred: no copy stays behind on this thread.
    const own = new Uint8Array(cek.length);
    own.set(cek);
    cek.fill(0);
    return own;
  };
  port.on('message', (message: ToUnwrapThread) => {
    if ('forget' in message) {
      keys.delete(message.forget);
      return;
    }
    const result = answer(message);
    // The answer's buffer is its own (made above), never a SharedArrayBuffer.
    if (result instanceof Uint8Array) port.postMessage(result, [result.buffer as ArrayBuffer]);
    else port.postMessage(result);
  });
  port.postMessage('ready' satisfies FromUnwrapThread);
}

if (parentPort !== null) serve(parentPort);
