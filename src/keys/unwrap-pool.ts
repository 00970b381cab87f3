/**
 * RSA private operations off the event loop: a small pool of worker threads, shared by every
 * decryptor of the process, each running synchronous `privateDecrypt`. One RSA-4096 unwrap costs
 * about 4 ms of CPU; on the event loop, 32 bodies in flight would hold it for over 100 ms, and a
 * server's other requests would wait. On threads they also use every core.
 *
 * The workers are made from source text (`eval`), not from a file, so the pool works unchanged in
 * a bundled Lambda, CommonJS or ESM. Keys travel with each job as `KeyObject`s, which Node clones
 * between threads by reference to the same OpenSSL key: nothing is re-parsed, nothing stays behind.
 *
 * @packageDocumentation
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';

import type { Keyring } from './keyset';
import { oaepHashOf, unwrapInProcess, type UnwrapKey } from './unwrap';

// What a worker runs: batches of jobs, each answered with the key or with a refusal that says
// nothing. Keys arrive once per worker and are kept by number until the pool says to forget them.
const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { constants, privateDecrypt } = require('node:crypto');
const keys = new Map();
parentPort.on('message', (message) => {
  for (const [id, key] of message.keys) keys.set(id, key);
  for (const id of message.forget) keys.delete(id);
  const answers = [];
  for (const job of message.jobs) {
    let cek;
    try {
      cek = privateDecrypt({ key: keys.get(job.key), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: job.oaepHash }, job.encryptedKey);
    } catch {
      cek = undefined;
    }
    answers.push({ id: job.id, cek });
  }
  if (answers.length > 0) parentPort.postMessage(answers);
  for (const answer of answers) if (answer.cek !== undefined) answer.cek.fill(0);
});
`;

interface Job {
  readonly resolve: (cek: Uint8Array) => void;
  readonly reject: (reason: Error) => void;
}

interface Outgoing {
  keys: Array<[number, KeyObject]>;
  forget: number[];
  jobs: Array<{ id: number; key: number; oaepHash: string; encryptedKey: Uint8Array }>;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
  /** The numbers of the keys this worker holds. */
  readonly known: Set<number>;
  /** What goes to the worker at the end of this turn of the event loop, in one message. */
  outgoing: Outgoing | undefined;
}

/**
 * A fixed-size set of worker threads, started on first use, idle ones never keeping the process
 * alive. Jobs asked for in one turn of the event loop go to a thread in one message, and a key
 * crosses to a thread once: with many bodies in flight, the hop costs little.
 */
export class UnwrapPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 0;
  private nextKey = 0;
  private readonly keyNumbers = new WeakMap<KeyObject, number>();
  // When a key object is collected, the threads forget it too.
  private readonly forgotten = new FinalizationRegistry<number>((number) => {
    for (const entry of this.workers) {
      if (entry.known.delete(number)) this.outgoingOf(entry).forget.push(number);
    }
  });

  /** @param size how many threads at most. */
  constructor(readonly size: number) {}

  /** RSA-OAEP-decrypts `encryptedKey` with `key` on the least busy thread. */
  unwrap(key: KeyObject, oaepHash: 'sha1' | 'sha256', encryptedKey: Uint8Array): Promise<Uint8Array> {
    const target = this.leastBusy();
    const id = (this.nextId += 1);
    let number = this.keyNumbers.get(key);
    if (number === undefined) {
      number = this.nextKey += 1;
      this.keyNumbers.set(key, number);
      this.forgotten.register(key, number);
    }
    const outgoing = this.outgoingOf(target);
    if (!target.known.has(number)) {
      target.known.add(number);
      outgoing.keys.push([number, key]);
    }
    outgoing.jobs.push({ id, key: number, oaepHash, encryptedKey });
    return new Promise<Uint8Array>((resolve, reject) => {
      // A worker with work keeps the process alive until it answers; an idle one does not.
      if (target.jobs.size === 0) target.worker.ref();
      target.jobs.set(id, { resolve, reject });
    });
  }

  /** Stops every thread; jobs in flight reject. The pool starts new threads on its next use. */
  async close(): Promise<void> {
    const closing = this.workers.splice(0).map(({ worker }) => worker.terminate());
    await Promise.all(closing);
  }

  private outgoingOf(entry: PoolWorker): Outgoing {
    if (entry.outgoing === undefined) {
      const outgoing: Outgoing = { keys: [], forget: [], jobs: [] };
      entry.outgoing = outgoing;
      // Sent once the current run of promise callbacks is over: every job asked for by then rides along.
      queueMicrotask(() => {
        entry.outgoing = undefined;
        entry.worker.postMessage(outgoing);
      });
    }
    return entry.outgoing;
  }

  private leastBusy(): PoolWorker {
    let best: PoolWorker | undefined;
    for (const candidate of this.workers) {
      if (best === undefined || candidate.jobs.size < best.jobs.size) best = candidate;
    }
    if (best !== undefined && (best.jobs.size === 0 || this.workers.length >= this.size)) return best;
    return this.start();
  }

  private start(): PoolWorker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'request-crypto unwrap' });
    const entry: PoolWorker = { worker, jobs: new Map(), known: new Set(), outgoing: undefined };
    worker.unref();
    worker.on('message', (answers: Array<{ id: number; cek: Uint8Array | undefined }>) => {
      for (const answer of answers) {
        const job = entry.jobs.get(answer.id);
        if (job === undefined) continue;
        entry.jobs.delete(answer.id);
        if (answer.cek === undefined) job.reject(new Error('unwrap failed'));
        else job.resolve(answer.cek);
      }
      if (entry.jobs.size === 0) worker.unref();
    });
    const fail = (): void => {
      const index = this.workers.indexOf(entry);
      if (index >= 0) this.workers.splice(index, 1);
      for (const job of entry.jobs.values()) job.reject(new Error('unwrap thread stopped'));
      entry.jobs.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    this.workers.push(entry);
    return entry;
  }
}

let shared: UnwrapPool | undefined;

/**
 * The process's pool: one thread more than there are cores. The extra one keeps the cores busy
 * while a thread waits for the event loop to hand it work (measured: on 2 cores, 3 threads decrypt
 * 10 KB bodies 1.17× faster than 2 with 32 in flight, and no slower one at a time).
 */
export function sharedUnwrapPool(): UnwrapPool {
  shared ??= new UnwrapPool(availableParallelism() + 1);
  return shared;
}

/**
 * Largest modulus whose unwrap may run inline when its body is the only one in flight: about
 * 0.3 ms of CPU at 2048 bits, where a round trip to a thread costs 0.1–0.2 ms more. From 3072 bits
 * on (2 ms and up), every unwrap goes to a thread.
 */
export const INLINE_UNWRAP_MAX_BITS = 2048;

/**
 * Unwraps with the private keys of `keyring` on `pool`'s threads. When `alone()` says this body is
 * the only one in flight and the key is small, the unwrap runs inline instead: nothing else is
 * waiting for the event loop, and the body skips the thread hop.
 */
export function unwrapOnThreads(keyring: Keyring, alone: () => boolean, pool: UnwrapPool = sharedUnwrapPool()): UnwrapKey {
  const inline = unwrapInProcess(keyring);
  return async (request) => {
    const key = keyring.get(request.kid);
    const privateKey = key?.privateKey;
    if (key === undefined || privateKey === undefined) throw new Error('no private key');
    if (alone() && key.metadata.length <= INLINE_UNWRAP_MAX_BITS) return inline(request);
    return pool.unwrap(privateKey, oaepHashOf(request.alg), request.encryptedKey);
  };
}
