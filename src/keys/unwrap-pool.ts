/**
 * RSA private operations off the event loop: a small pool of worker threads, shared by every
 * decryptor of the process, each running synchronous `privateDecrypt`. One RSA-4096 unwrap costs
 * about 4 ms of CPU; on the event loop, 32 bodies in flight would hold it for over 100 ms, and a
 * server's other requests would wait. On threads they also use every core.
 *
 * Jobs and answers travel through shared memory, not messages: a `postMessage` costs the event
 * loop 20–40 µs a body (serialising, waking, dispatching), a tenth of the RSA-2048 operation it
 * hands off. The event loop writes a job into a free slot and bumps a counter; whichever thread is
 * free takes it, so no body waits behind a busy thread while another sits idle. Answers land in a
 * ring the event loop drains in one go whenever it wakes, however many came in meanwhile.
 *
 * The threads run at a lower scheduling priority than the event loop where the system allows
 * it: when the cores are busy, the thread that answers requests (and hands the threads their
 * work) goes first, and RSA takes the rest.
 *
 * The workers are made from source text (`eval`), not from a file, so the pool works unchanged in
 * a bundled Lambda, CommonJS or ESM. Keys reach each thread once as `KeyObject`s; each thread
 * decrypts with its own copy, and forgets it when the key object is collected.
 *
 * @packageDocumentation
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';

import type { Keyring } from './keyset';
import { oaepHashOf, unwrapInProcess, type UnwrapKey } from './unwrap';

/**
 * Jobs in shared memory at once; more wait in a queue on the event loop. A power of two: the
 * counters are 32-bit and wrap around, and a position is the counter's low bits, which stay in
 * step across the wrap.
 */
const SLOTS = 64;
/** The largest wrapped key, and the largest answer: one 8192-bit RSA block. */
const MAX_BLOCK = 1024;
/**
 * While jobs are queued, a thread wakes the event loop for every this many answers (a power of
 * two). Measured on 2 cores with 32 bodies in flight: 8 was 1-2 % faster than 4 and as fast as 16.
 * An answer waits for a few more unwraps at most (about 1 ms at 2048 bits, twice that when an
 * earlier answer was still being written as the event loop drained).
 */
const WAKE_EVERY = 8;

// Shared memory: control words, the job queue, the answer ring, then one slot per job.
const POSTED = 0; // jobs queued so far (written by the event loop)
const TAKEN = 1; // jobs taken by a thread so far
const ANSWERED = 2; // answers so far: a thread reserves a place in the ring with it
const WRITTEN = 3; // answers written into their place so far: what the event loop waits on
const SLEEPING = 4; // threads waiting for work
const MAIL = 5; // messages sent to the threads' ports so far (keys to learn or forget)
const CONTROL_INTS = 6;
/** Where the job and answer counters sit in the shared memory (for tests that watch them). */
export const COUNTERS = { POSTED, TAKEN, ANSWERED, WRITTEN } as const;
const QUEUE_AT = CONTROL_INTS; // SLOTS ints: the slot of each queued job, in order
const RING_AT = QUEUE_AT + SLOTS; // SLOTS ints: slot + 1 of each answer, 0 while unwritten
const HEADER_INTS = RING_AT + SLOTS;
// A slot: key number, OAEP hash (0 SHA-1, 1 SHA-256), input length, answer length (-1: refused),
// then the wrapped key, then the answer.
const SLOT_INTS = 4;
const SLOT_BYTES = SLOT_INTS * 4 + 2 * MAX_BLOCK;
const SLOTS_AT = HEADER_INTS * 4;

/** What a thread runs: take a job, answer it, wait when there is none. Keys arrive on its port. */
export const WORKER_SOURCE = `
'use strict';
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { constants, createPrivateKey, privateDecrypt } = require('node:crypto');
const { shared, port } = workerData;
const [POSTED, TAKEN, ANSWERED, WRITTEN, SLEEPING, MAIL, QUEUE_AT, RING_AT, SLOTS, SLOTS_AT, SLOT_INTS, SLOT_BYTES, MAX_BLOCK, WAKE_EVERY] = workerData.layout;
const INPUT_AT = SLOT_INTS * 4;
const ANSWER_AT = INPUT_AT + MAX_BLOCK;
const ints = new Int32Array(shared);
const bytes = new Uint8Array(shared);
const keys = new Map();
let mailRead = 0;
// Lower this thread's priority below the event loop's (Linux: a thread id is a process id here).
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  if (tid > 0) require('node:os').setPriority(tid, 10);
} catch {}
// This thread's own copy of a key: threads sharing one OpenSSL key take turns on its lock and
// its blinding values (1-3 % of throughput on 2 cores). The copy's encoding is wiped at once;
// where the key cannot be copied, the shared one serves.
function ownCopy(key) {
  let der;
  try {
    der = key.export({ format: 'der', type: 'pkcs8' });
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    return key;
  } finally {
    if (der !== undefined) der.fill(0);
  }
}
function readKeys() {
  mailRead = Atomics.load(ints, MAIL);
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    for (const [id, key] of m.message.keys) keys.set(id, ownCopy(key));
    for (const id of m.message.forget) keys.delete(id);
  }
}
// Where another thread's step between two of this thread's matters. A no-op; tests widen it.
function raceWindow(point, taken) {}
for (;;) {
  // TAKEN before POSTED: POSTED only grows, so every job counted in \`taken\` was posted by the
  // time \`posted\` is read. The other way round, another thread could take the job posted in
  // between, and this one would then take a job not yet posted: a stale slot, answered twice.
  const taken = Atomics.load(ints, TAKEN);
  raceWindow('take');
  const posted = Atomics.load(ints, POSTED);
  if (taken === posted) {
    Atomics.add(ints, SLEEPING, 1);
    Atomics.wait(ints, POSTED, posted);
    Atomics.sub(ints, SLEEPING, 1);
    continue;
  }
  // The job's queue entry is read before the job is claimed: once it is claimed, the event loop
  // may post 64 more jobs while this thread is descheduled, and the 64th reuses the entry. Until
  // the claim succeeds, job \`taken\` is unanswered, so it holds its slot and the entry stands.
  const slot = Atomics.load(ints, QUEUE_AT + (taken & (SLOTS - 1)));
  raceWindow('claim', taken);
  if (Atomics.compareExchange(ints, TAKEN, taken, taken + 1) !== taken) continue;
  const at = SLOTS_AT + slot * SLOT_BYTES;
  const words = new Int32Array(shared, at, SLOT_INTS);
  if (Atomics.load(ints, MAIL) !== mailRead) readKeys();
  let answer;
  try {
    // SHA-1 is OpenSSL's default OAEP digest and is not named (oaepOptions in unwrap.ts says why).
    const key = keys.get(words[0]);
    answer = privateDecrypt(
      words[1] === 1 ? { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } : { key, padding: constants.RSA_PKCS1_OAEP_PADDING },
      bytes.subarray(at + INPUT_AT, at + INPUT_AT + words[2]),
    );
  } catch {
    answer = undefined;
  }
  if (answer === undefined || answer.length > MAX_BLOCK) words[3] = -1;
  else {
    bytes.set(answer, at + ANSWER_AT);
    words[3] = answer.length;
    answer.fill(0);
  }
  const place = Atomics.add(ints, ANSWERED, 1);
  raceWindow('publish');
  Atomics.store(ints, RING_AT + (place & (SLOTS - 1)), slot + 1);
  // Counted once written: the event loop may have drained up to this place while it was empty,
  // and it waits for WRITTEN to move, which a reserved place alone does not do.
  Atomics.add(ints, WRITTEN, 1);
  // Waking the event loop costs it more than draining several answers at once: while work is
  // queued, wake it for every few answers only. The last answer before the queue runs dry always
  // wakes it, so no answer waits longer than a few unwraps.
  if (((place + 1) & (WAKE_EVERY - 1)) === 0 || Atomics.load(ints, TAKEN) === Atomics.load(ints, POSTED)) {
    Atomics.notify(ints, WRITTEN);
  }
}
`;

// Atomics.waitAsync is in Node since 16; the library's lib setting (ES2021) does not declare it.
type WaitAsync = (
  ints: Int32Array,
  index: number,
  value: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * The places where another thread's step, between two of this pool's, matters. Tests widen them
 * to show that the pool stays right however threads interleave; normally both are no-ops.
 */
export interface RaceWindows {
  /** What the threads run: {@link WORKER_SOURCE}, whose `raceWindow` marks its own places. */
  readonly workerSource?: string;
  /** Called on the event loop between draining the answers and waiting for the next ones. */
  readonly afterDrain?: (shared: Int32Array) => void;
}

interface Job {
  readonly key: number;
  /** Held so that the key cannot be collected, and forgotten by the threads, while the job waits. */
  readonly keyObject: KeyObject;
  readonly oaepHash: 0 | 1;
  readonly encryptedKey: Uint8Array;
  readonly resolve: (cek: Uint8Array) => void;
  readonly reject: (reason: Error) => void;
}

/** One generation of threads and the shared memory they work in. */
interface Crew {
  readonly ints: Int32Array;
  readonly bytes: Uint8Array;
  readonly workers: Array<{ readonly worker: Worker; readonly port: MessagePort }>;
  /** The job in each slot, or `undefined` when the slot is free. */
  readonly slots: Array<Job | undefined>;
  readonly free: number[];
  /** Answers read from the ring so far. */
  drained: number;
  /** True while an `Atomics.waitAsync` for answers is pending. */
  watching: boolean;
  /** True while threads are kept referenced (some job is in flight). */
  holding: boolean;
}

/**
 * A fixed-size set of worker threads, started together on first use, never keeping the process
 * alive when idle. Jobs and answers go through shared memory; a key crosses to each thread once.
 */
export class UnwrapPool {
  private crew: Crew | undefined;
  /** Jobs waiting for a free slot, oldest first. */
  private backlog: Job[] = [];
  private inFlight = 0;
  private nextKey = 0;
  private readonly keyNumbers = new WeakMap<KeyObject, number>();
  private readonly liveKeys = new Map<number, WeakRef<KeyObject>>();
  // When a key object is collected, the threads forget it too.
  private readonly forgotten = new FinalizationRegistry<number>((number) => {
    this.liveKeys.delete(number);
    if (this.crew !== undefined) this.mail(this.crew, { keys: [], forget: [number] });
  });

  /**
   * @param size how many threads.
   * @param firstCount where the shared 32-bit job counters start (tests start them just below
   *   the wrap that a server reaches after 2³¹ bodies).
   * @param windows for tests: the race windows, widened.
   */
  constructor(
    readonly size: number,
    private readonly firstCount = 0,
    private readonly windows: RaceWindows = {},
  ) {}

  /** RSA-OAEP-decrypts `encryptedKey` with `key` on the first free thread. */
  unwrap(key: KeyObject, oaepHash: 'sha1' | 'sha256', encryptedKey: Uint8Array): Promise<Uint8Array> {
    if (encryptedKey.length > MAX_BLOCK) return Promise.reject(new Error('wrapped key too long'));
    const crew = this.crew ?? this.start();
    let number = this.keyNumbers.get(key);
    if (number === undefined) {
      number = this.nextKey += 1;
      this.keyNumbers.set(key, number);
      this.liveKeys.set(number, new WeakRef(key));
      this.forgotten.register(key, number);
      // Sent before any job that uses it is queued: a thread reads new mail before its next job.
      this.mail(crew, { keys: [[number, key]], forget: [] });
    }
    const keyNumber = number;
    return new Promise<Uint8Array>((resolve, reject) => {
      const job: Job = { key: keyNumber, keyObject: key, oaepHash: oaepHash === 'sha256' ? 1 : 0, encryptedKey, resolve, reject };
      this.inFlight += 1;
      this.hold(crew, true);
      const slot = crew.free.pop();
      if (slot === undefined) this.backlog.push(job);
      else this.post(crew, slot, job);
      this.watch(crew);
    });
  }

  /** Stops every thread; jobs in flight reject. The pool starts new threads on its next use. */
  async close(): Promise<void> {
    const crew = this.crew;
    if (crew === undefined) return;
    this.abandon(crew, new Error('unwrap threads stopped'));
    await Promise.all(crew.workers.map(({ worker }) => worker.terminate()));
  }

  private start(): Crew {
    const shared = new SharedArrayBuffer(SLOTS_AT + SLOTS * SLOT_BYTES);
    const crew: Crew = {
      ints: new Int32Array(shared),
      bytes: new Uint8Array(shared),
      workers: [],
      slots: new Array<Job | undefined>(SLOTS).fill(undefined),
      free: Array.from({ length: SLOTS }, (_, i) => SLOTS - 1 - i),
      drained: this.firstCount | 0,
      watching: false,
      holding: false,
    };
    const layout = [POSTED, TAKEN, ANSWERED, WRITTEN, SLEEPING, MAIL, QUEUE_AT, RING_AT, SLOTS, SLOTS_AT, SLOT_INTS, SLOT_BYTES, MAX_BLOCK, WAKE_EVERY];
    const keys: Array<[number, KeyObject]> = [];
    for (const [number, ref] of this.liveKeys) {
      const key = ref.deref();
      if (key !== undefined) keys.push([number, key]);
    }
    for (const counter of [POSTED, TAKEN, ANSWERED, WRITTEN]) crew.ints[counter] = crew.drained;
    for (let i = 0; i < this.size; i += 1) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(this.windows.workerSource ?? WORKER_SOURCE, {
        eval: true,
        name: 'request-crypto unwrap',
        workerData: { shared, port: port2, layout },
        transferList: [port2],
      });
      worker.unref();
      port1.unref();
      if (keys.length > 0) port1.postMessage({ keys, forget: [] });
      // A thread that stops takes its job with it: every body in flight fails like a forgery.
      const fail = (): void => {
        if (this.crew !== crew) return;
        this.abandon(crew, new Error('unwrap thread stopped'));
        for (const other of crew.workers) void other.worker.terminate();
      };
      worker.on('error', fail);
      worker.on('exit', fail);
      crew.workers.push({ worker, port: port1 });
    }
    Atomics.add(crew.ints, MAIL, 1);
    this.crew = crew;
    return crew;
  }

  /** Sends every thread of `crew` the same keys to learn or forget. */
  private mail(crew: Crew, message: { keys: Array<[number, KeyObject]>; forget: number[] }): void {
    for (const { port } of crew.workers) port.postMessage(message);
    Atomics.add(crew.ints, MAIL, 1);
  }

  /** Forgets `crew`: its jobs, queued or running, reject with `reason`. */
  private abandon(crew: Crew, reason: Error): void {
    this.crew = undefined;
    // Ends a pending wait for answers on the old memory, which nothing else would wake.
    Atomics.notify(crew.ints, WRITTEN);
    const jobs = [...crew.slots.filter((job): job is Job => job !== undefined), ...this.backlog];
    crew.slots.fill(undefined);
    this.backlog = [];
    this.inFlight = 0;
    for (const job of jobs) job.reject(reason);
  }

  private post(crew: Crew, slot: number, job: Job): void {
    crew.slots[slot] = job;
    const at = SLOTS_AT + slot * SLOT_BYTES;
    const words = new Int32Array(crew.ints.buffer, at, SLOT_INTS);
    words[0] = job.key;
    words[1] = job.oaepHash;
    words[2] = job.encryptedKey.length;
    crew.bytes.set(job.encryptedKey, at + SLOT_INTS * 4);
    const posted = Atomics.load(crew.ints, POSTED);
    Atomics.store(crew.ints, QUEUE_AT + (posted & (SLOTS - 1)), slot);
    Atomics.add(crew.ints, POSTED, 1);
    if (Atomics.load(crew.ints, SLEEPING) > 0) Atomics.notify(crew.ints, POSTED, 1);
  }

  /** Reads every answer in the ring, settles its job, and gives its slot to the backlog. */
  private drain(crew: Crew): void {
    for (;;) {
      const place = RING_AT + (crew.drained & (SLOTS - 1));
      const entry = Atomics.load(crew.ints, place);
      if (entry === 0) return;
      Atomics.store(crew.ints, place, 0);
      crew.drained = (crew.drained + 1) | 0;
      const slot = entry - 1;
      const job = crew.slots[slot];
      crew.slots[slot] = undefined;
      const at = SLOTS_AT + slot * SLOT_BYTES;
      const length = crew.ints[at / 4 + 3] ?? -1;
      const answerAt = at + SLOT_INTS * 4 + MAX_BLOCK;
      const answer = length < 0 ? undefined : crew.bytes.slice(answerAt, answerAt + length);
      if (length > 0) crew.bytes.fill(0, answerAt, answerAt + length);
      const next = this.backlog.shift();
      if (next === undefined) crew.free.push(slot);
      else this.post(crew, slot, next);
      if (job === undefined) continue;
      this.inFlight -= 1;
      if (answer === undefined) job.reject(new Error('unwrap failed'));
      else job.resolve(answer);
    }
  }

  /** Waits for answers while any job is in flight, without holding the event loop. */
  private watch(crew: Crew): void {
    while (!crew.watching && this.crew === crew) {
      // Every answer written before this read is drained below, unless it sits behind a place
      // reserved but not yet written; writing that place moves WRITTEN, so the wait ends.
      const seen = Atomics.load(crew.ints, WRITTEN);
      this.drain(crew);
      this.windows.afterDrain?.(crew.ints);
      if (this.inFlight === 0) {
        this.hold(crew, false);
        return;
      }
      const wait = waitAsync(crew.ints, WRITTEN, seen);
      if (wait.async) {
        crew.watching = true;
        void wait.value.then(() => {
          crew.watching = false;
          this.watch(crew);
        });
      }
    }
  }

  /** A thread with work keeps the process alive until it answers; idle ones do not. */
  private hold(crew: Crew, busy: boolean): void {
    if (crew.holding === busy) return;
    crew.holding = busy;
    for (const { worker } of crew.workers) {
      if (busy) worker.ref();
      else worker.unref();
    }
  }
}

let shared: UnwrapPool | undefined;

/**
 * The process's pool: one thread per core. A thread never waits for the event loop to hand it
 * work (it takes the next job from shared memory), so no extra thread is needed to keep the cores
 * busy: measured on 2 cores with 32 bodies of 10 KB in flight, 2, 3 and 4 threads were within 2 %.
 */
export function sharedUnwrapPool(): UnwrapPool {
  shared ??= new UnwrapPool(availableParallelism());
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
  return (request) => {
    const key = keyring.get(request.kid);
    const privateKey = key?.privateKey;
    if (key === undefined || privateKey === undefined) return Promise.reject(new Error('no private key'));
    if (alone() && key.metadata.length <= INLINE_UNWRAP_MAX_BITS) return inline(request);
    return pool.unwrap(privateKey, oaepHashOf(request.alg), request.encryptedKey);
  };
}
