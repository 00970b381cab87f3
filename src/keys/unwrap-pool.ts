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

// What a worker runs. It answers every job, with the key or with a refusal that says nothing.
const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { constants, privateDecrypt } = require('node:crypto');
parentPort.on('message', (job) => {
  let cek;
  try {
    cek = privateDecrypt({ key: job.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: job.oaepHash }, job.encryptedKey);
  } catch {
    cek = undefined;
  }
  parentPort.postMessage({ id: job.id, cek });
  if (cek !== undefined) cek.fill(0);
});
`;

interface Job {
  readonly resolve: (cek: Uint8Array) => void;
  readonly reject: (reason: Error) => void;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
}

/** A fixed-size set of worker threads, started on first use, idle ones never keeping the process alive. */
export class UnwrapPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 0;

  /** @param size how many threads at most. */
  constructor(readonly size: number) {}

  /** RSA-OAEP-decrypts `encryptedKey` with `key` on the least busy thread. */
  unwrap(key: KeyObject, oaepHash: 'sha1' | 'sha256', encryptedKey: Uint8Array): Promise<Uint8Array> {
    const target = this.leastBusy();
    const id = (this.nextId += 1);
    return new Promise<Uint8Array>((resolve, reject) => {
      // A worker with work keeps the process alive until it answers; an idle one does not.
      if (target.jobs.size === 0) target.worker.ref();
      target.jobs.set(id, { resolve, reject });
      target.worker.postMessage({ id, key, oaepHash, encryptedKey });
    });
  }

  /** Stops every thread; jobs in flight reject. The pool starts new threads on its next use. */
  async close(): Promise<void> {
    const closing = this.workers.splice(0).map(({ worker }) => worker.terminate());
    await Promise.all(closing);
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
    const entry: PoolWorker = { worker, jobs: new Map() };
    worker.unref();
    worker.on('message', (answer: { id: number; cek: Uint8Array | undefined }) => {
      const job = entry.jobs.get(answer.id);
      if (job === undefined) return;
      entry.jobs.delete(answer.id);
      if (entry.jobs.size === 0) worker.unref();
      if (answer.cek === undefined) job.reject(new Error('unwrap failed'));
      else job.resolve(answer.cek);
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

/** The process's pool: as many threads as cores, at least one. */
export function sharedUnwrapPool(): UnwrapPool {
  shared ??= new UnwrapPool(Math.max(1, availableParallelism()));
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
