/**
 * RSA private operations off the event loop: a few worker threads, shared by every decryptor of
 * the process, each running synchronous `privateDecrypt`. An RSA unwrap is milliseconds of CPU at
 * the larger key sizes; on the event loop, bodies in flight would hold it in turn and a server's
 * other requests would wait. On threads they also use every core.
 *
 * The design has no protocol of its own: jobs wait in one queue on the event loop, a job is
 * posted to a thread only when that thread is idle (so no body waits behind a busy thread while
 * another is free), and the thread posts its answer back. The queue has one lane per decryptor,
 * served in turn, so that one decryptor's flood delays another's bodies by one job per turn at
 * most. A key crosses to each thread once, with the first job for it; the thread keeps its own
 * copy, and forgets it when the key object is collected here.
 *
 * Where a thread cannot start (Node's permission model without `--allow-worker`, a process thread
 * limit), the pool keeps the threads it has, says why once (a process warning), and with none
 * unwraps on the event loop, one job per turn of it. A thread that stops takes no body with it:
 * its job is unwrapped again, on another thread or, the second time, on the event loop. Only
 * RSA-OAEP refusing the wrapped key rejects a job. docs/receiver-pool.md has the whole story.
 *
 * @packageDocumentation
 */
import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

import type { WrapAlgorithm } from '../core/algorithms';
import type { Keyring } from '../keys/keyset';
import { oaepHashOf } from '../keys/oaep';
import { unwrapInProcess, unwrapWith, UnwrapRefusedError, type UnwrapKey } from '../keys/unwrap';
import type { ForgetKey, FromUnwrapThread, UnwrapJob } from './unwrap-worker';
import { UNWRAP_WORKER_SOURCE } from './unwrap-worker-source';

/**
 * How long a thread may take to start before the pool gives up on it: generous, since a busy host
 * can take seconds to start one.
 */
const START_DEADLINE_MS = 10_000;
/** A job whose thread stopped this many times is unwrapped on the event loop instead. */
const MAX_LOSSES = 2;
/** The `type` of the pool's process warnings. */
const WARNING_TYPE = 'RequestCryptoWarning';
/** Warning codes (docs/receiver-pool.md): each is emitted once per process at most. */
const NO_THREADS = 'REQUEST_CRYPTO_UNWRAP_ON_EVENT_LOOP';
const FEWER_THREADS = 'REQUEST_CRYPTO_UNWRAP_FEWER_THREADS';
const THREAD_STOPPED = 'REQUEST_CRYPTO_UNWRAP_THREAD_STOPPED';


/** A short, key-free description of why a thread did not start or stopped. */
function why(err: unknown): string {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  const text = [code, message].filter((part) => typeof part === 'string' && part !== '').join(': ');
  return (text === '' ? String(err) : text).slice(0, 200);
}

interface Job {
  /** The decryptor's lane it waits in, and goes back to when its thread stops. */
  readonly lane: Lane;
  /** The pool's number for `privateKey`. */
  readonly key: number;
  /** Held so that the key cannot be collected, and forgotten by the threads, while the job waits. */
  readonly privateKey: KeyObject;
  readonly alg: WrapAlgorithm;
  readonly encryptedKey: Uint8Array;
  readonly resolve: (cek: Uint8Array) => void;
  readonly reject: (reason: Error) => void;
  /** How many threads stopped while holding it. */
  losses: number;
}

/** One decryptor's jobs, oldest first. */
interface Lane {
  readonly jobs: Job[];
}

interface Thread {
  readonly worker: Worker;
  /** True once its program runs and listens: it has posted `'ready'`. */
  ready: boolean;
  /** The one job it is working on. */
  job: Job | undefined;
  /** The pool's numbers of the keys it was sent. */
  readonly known: Set<number>;
}

/** Unwraps one wrapped key with `privateKey`, through one decryptor's lane of the pool. */
export type LaneUnwrap = (privateKey: KeyObject, alg: WrapAlgorithm, encryptedKey: Uint8Array) => Promise<Uint8Array>;

let workerUrl: URL | undefined;

/**
 * Worker threads that start on demand, up to a fixed number, and never keep the process alive
 * while idle. One queue on the event loop feeds them, a decryptor's lane at a time.
 */
class UnwrapPool {
  private readonly threads: Thread[] = [];
  /** Lanes with jobs waiting, in the order of their next turn. */
  private readonly turns: Lane[] = [];
  /** Jobs waiting in all lanes. */
  private waiting = 0;
  /** True once no thread could start: jobs are unwrapped on the event loop. */
  private onEventLoop = false;
  private turnHereScheduled = false;
  private readonly warned = new Set<string>();
  private lastKey = 0;
  private readonly keyNumbers = new WeakMap<KeyObject, number>();
  // When a key object is collected, the threads forget their copies too.
  private readonly collected = new FinalizationRegistry<number>((key) => this.forget(key));

  /** @param size the most threads it runs. */
  constructor(private size: number) {}

  /** A new lane: the unwraps of one decryptor, which take their turn with every other lane's. */
  lane(): LaneUnwrap {
    const lane: Lane = { jobs: [] };
    return (privateKey, alg, encryptedKey) =>
      new Promise<Uint8Array>((resolve, reject) => {
        const job: Job = { lane, key: this.numberOf(privateKey), privateKey, alg, encryptedKey, resolve, reject, losses: 0 };
        this.enqueue(job, 'last');
        this.dispatch();
      });
  }

  private numberOf(privateKey: KeyObject): number {
    let key = this.keyNumbers.get(privateKey);
    if (key === undefined) {
      key = this.lastKey += 1;
      this.keyNumbers.set(privateKey, key);
      this.collected.register(privateKey, key);
    }
    return key;
  }

  private enqueue(job: Job, where: 'first' | 'last'): void {
    const { jobs } = job.lane;
    if (where === 'first') jobs.unshift(job);
    else jobs.push(job);
    if (jobs.length === 1) this.turns.push(job.lane);
    this.waiting += 1;
  }

  /** The oldest job of the lane whose turn it is; the lane goes to the back of the line. */
  private next(): Job | undefined {
    const lane = this.turns.shift();
    const job = lane?.jobs.shift();
    if (lane === undefined || job === undefined) return undefined;
    if (lane.jobs.length > 0) this.turns.push(lane);
    this.waiting -= 1;
    return job;
  }

  /** Hands waiting jobs to idle threads, starting threads while there are fewer than jobs. */
  private dispatch(): void {
    while (this.waiting > 0) {
      if (this.onEventLoop) {
        this.turnHere();
        return;
      }
      const idle = this.threads.find((thread) => thread.ready && thread.job === undefined);
      if (idle === undefined) {
        this.grow();
        // Unless the threads could not start (and the jobs now wait for the event loop), the
        // threads starting or busy take the jobs when they are ready.
        if (!this.onEventLoop) return;
        continue;
      }
      const job = this.next();
      if (job === undefined) return;
      this.send(idle, job);
    }
  }

  private grow(): void {
    let starting = this.threads.filter((thread) => !thread.ready).length;
    while (!this.onEventLoop && this.threads.length < this.size && starting < this.waiting) {
      this.start();
      starting += 1;
    }
  }

  private start(): void {
    let worker: Worker;
    try {
      workerUrl ??= new URL(`data:text/javascript,${encodeURIComponent(UNWRAP_WORKER_SOURCE)}`);
      worker = new Worker(workerUrl, { name: 'request-crypto unwrap' });
    } catch (err) {
      this.couldNotStart(why(err));
      return;
    }
    const thread: Thread = { worker, ready: false, job: undefined, known: new Set() };
    this.threads.push(thread);
    // A thread that is not listening in time is stopped: no thread is left from a failed start.
    const deadline = setTimeout(() => {
      this.stopped(thread, `it did not start within ${START_DEADLINE_MS} ms`);
      void worker.terminate();
    }, START_DEADLINE_MS);
    deadline.unref();
    worker.on('message', (message: FromUnwrapThread) => {
      if (message !== 'ready') {
        this.answered(thread, message);
        return;
      }
      clearTimeout(deadline);
      thread.ready = true;
      this.dispatch();
      if (thread.job === undefined) worker.unref();
    });
    worker.on('error', (err) => {
      clearTimeout(deadline);
      this.stopped(thread, why(err));
    });
    worker.on('exit', (code) => {
      clearTimeout(deadline);
      this.stopped(thread, `exit code ${code}`);
    });
  }

  private send(thread: Thread, job: Job): void {
    thread.job = job;
    // A thread with work keeps the process alive until it answers; an idle one does not.
    thread.worker.ref();
    // A buffer of its own, transferred: a view's whole underlying buffer would be copied.
    const encryptedKey = new Uint8Array(job.encryptedKey.length);
    encryptedKey.set(job.encryptedKey);
    const first = !thread.known.has(job.key);
    const message: UnwrapJob = { key: job.key, oaepHash: oaepHashOf(job.alg), encryptedKey, ...(first ? { privateKey: job.privateKey } : {}) };
    try {
      thread.worker.postMessage(message, [encryptedKey.buffer]);
      thread.known.add(job.key);
    } catch {
      // The message could not be sent (a key object that does not cross threads): here instead.
      thread.job = undefined;
      thread.worker.unref();
      this.runHere(job);
    }
  }

  private answered(thread: Thread, answer: Exclude<FromUnwrapThread, 'ready'>): void {
    const { job } = thread;
    if (job === undefined) return;
    thread.job = undefined;
    // The thread's next job first, so that it does not wait while this one settles.
    this.dispatch();
    if (thread.job === undefined) thread.worker.unref();
    if (answer instanceof Uint8Array) job.resolve(answer);
    else if (answer === 'refused') job.reject(new UnwrapRefusedError());
    else {
      // 'unknown-key': the pool's mistake, never the body's.
      thread.known.delete(job.key);
      this.runHere(job);
    }
  }

  /** A thread stopped, or never started: its job (if any) is unwrapped again. */
  private stopped(thread: Thread, reason: string): void {
    const at = this.threads.indexOf(thread);
    if (at < 0) return;
    this.threads.splice(at, 1);
    if (!thread.ready) this.couldNotStart(reason);
    else this.warn(THREAD_STOPPED, `an unwrap thread stopped (${reason}); its body is unwrapped again`);
    const { job } = thread;
    thread.job = undefined;
    if (job !== undefined) {
      job.losses += 1;
      if (job.losses >= MAX_LOSSES) this.runHere(job);
      else this.enqueue(job, 'first');
    }
    this.dispatch();
  }

  /** The pool keeps the threads it has and starts no more; with none, it unwraps on the event loop. */
  private couldNotStart(reason: string): void {
    const wanted = this.size;
    this.size = this.threads.length;
    if (this.size > 0) {
      this.warn(FEWER_THREADS, `only ${this.size} of ${wanted} unwrap threads could start (${reason})`);
      return;
    }
    this.onEventLoop = true;
    this.warn(NO_THREADS, `no unwrap thread could start (${reason}): private-key operations run on the event loop`);
  }

  /** Unwraps the next waiting job on the event loop, one per turn of it, so that timers still run between. */
  private turnHere(): void {
    if (this.turnHereScheduled) return;
    this.turnHereScheduled = true;
    setImmediate(() => {
      this.turnHereScheduled = false;
      const job = this.next();
      if (job !== undefined) this.runHere(job);
      this.dispatch();
    });
  }

  private runHere(job: Job): void {
    try {
      job.resolve(unwrapWith(job.privateKey, job.alg, job.encryptedKey));
    } catch (err) {
      job.reject(err as Error);
    }
  }

  private forget(key: number): void {
    for (const thread of this.threads) {
      if (thread.known.delete(key)) thread.worker.postMessage({ forget: key } satisfies ForgetKey);
    }
  }

  private warn(code: string, message: string): void {
    if (this.warned.has(code)) return;
    this.warned.add(code);
    process.emitWarning(`request-crypto: ${message}`, { type: WARNING_TYPE, code });
  }
}

let shared: UnwrapPool | undefined;

/**
 * The process's pool: one thread more than the cores. Between two jobs a thread waits for the
 * event loop to hand it the next one; the extra thread keeps the cores busy meanwhile (one more
 * measured faster, two more slower: bench/PROFILE.md).
 */
function sharedUnwrapPool(): UnwrapPool {
  shared ??= new UnwrapPool(availableParallelism() + 1);
  return shared;
}

/**
 * Largest modulus whose unwrap may run inline when its body is the only one in flight: at 2048
 * bits a round trip to a thread adds a large share of the unwrap's own cost. From 3072 bits on,
 * the unwrap is dear enough that every one goes to a thread (figures: bench/PROFILE.md).
 */
export const INLINE_UNWRAP_MAX_BITS = 2048;

/**
 * Unwraps with the private keys of `keyring` on the process's unwrap threads, in a lane of its
 * own. When `alone()` says this body is the only one in flight and the key is small, the unwrap
 * runs inline instead: nothing else is waiting for the event loop, and the body skips the hop.
 */
export function unwrapOnThreads(keyring: Keyring, alone: () => boolean): UnwrapKey {
  const inline = unwrapInProcess(keyring);
  const onThreads = sharedUnwrapPool().lane();
  return (request) => {
    const key = keyring.get(request.kid);
    const privateKey = key?.privateKey;
    if (key === undefined || privateKey === undefined) return Promise.reject(new Error('no private key'));
    // Longer than the modulus: RSA refuses it without a private operation, and it is not copied.
    if (request.encryptedKey.length > Math.ceil(key.metadata.length / 8)) return Promise.reject(new UnwrapRefusedError());
    if (alone() && key.metadata.length <= INLINE_UNWRAP_MAX_BITS) return inline(request);
    return onThreads(privateKey, request.alg, request.encryptedKey);
  };
}
