// The RSA unwrap pool, driven as users drive it: through createRequestDecryptor's default
// (unwrapOn 'threads'), in this process and in child processes where threads cannot start or die.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import {
  createRequestDecryptor,
  createRequestEncryptor,
  ERROR_CODES,
  ReceiverBusyError,
  type PrivateJWKS,
  type PublicJWKS,
} from '../src';
import { makePrivateJwk, publicOf, rejectionOf, vectors } from './helpers';

const ROOT = join(__dirname, '..');

/** A set of one key and its public half. */
function keySet(kid: string, bits: number, alg = 'RSA-OAEP'): { privateJWKS: PrivateJWKS; publicJWKS: PublicJWKS } {
  const jwk = makePrivateJwk(kid, bits, alg);
  return { privateJWKS: { keys: [jwk] }, publicJWKS: { keys: [publicOf(jwk)] } };
}

/** `body` with one bit of its tag flipped: it costs a full private operation, then fails at the tag. */
function forged(body: string): string {
  const parts = body.split('.');
  const tag = Buffer.from(parts[4]!, 'base64url');
  tag[0] = tag[0]! ^ 1;
  parts[4] = tag.toString('base64url');
  return parts.join('.');
}

/** What a decrypt settles to: its payload, or its error's code. */
function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (payload) => payload,
    (err: { code?: string }) => err.code,
  );
}

/** Decrypts all bodies at once while a 2 ms timer runs; returns how the timer fared. */
async function timerDuring(run: () => Promise<unknown>): Promise<{ ticks: number; longestGapMs: number }> {
  let ticks = 0;
  let last = performance.now();
  let longestGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
    ticks += 1;
  }, 2);
  try {
    last = performance.now();
    await run();
    longestGapMs = Math.max(longestGapMs, performance.now() - last);
  } finally {
    clearInterval(timer);
  }
  return { ticks, longestGapMs };
}

let big: { privateJWKS: PrivateJWKS; publicJWKS: PublicJWKS };
let hostile: string[];
beforeAll(async () => {
  big = keySet('big', 4096);
  const encryptor = await createRequestEncryptor(big.publicJWKS);
  hostile = (await Promise.all(Array.from({ length: 200 }, (_, i) => encryptor.encrypt('big', { i }, { format: 'jwe' })))).map(forged);
});

describe('RSA off the event loop', () => {
  it('keeps a timer firing while 64 hostile bodies for an RSA-4096 key are decrypted', async () => {
    const decryptor = await createRequestDecryptor(big.privateJWKS);
    await rejectionOf(decryptor.decrypt(hostile[0]!)); // start the threads
    let codes: unknown[] = [];
    const timer = await timerDuring(async () => {
      codes = await Promise.all(hostile.slice(0, 64).map((body) => outcome(decryptor.decrypt(body))));
    });
    expect(codes).toEqual(hostile.slice(0, 64).map(() => ERROR_CODES.DECRYPTION_FAILED));
    // 64 unwraps are over 200 ms of CPU; on the event loop they would run back to back.
    expect(timer.ticks).toBeGreaterThanOrEqual(3);
    expect(timer.longestGapMs).toBeLessThan(100);
  });

  it("holds the event loop for every unwrap with unwrapOn 'event-loop' (what the threads avoid)", async () => {
    const decryptor = await createRequestDecryptor(big.privateJWKS, { unwrapOn: 'event-loop' });
    const timer = await timerDuring(() => Promise.all(hostile.slice(0, 64).map((body) => rejectionOf(decryptor.decrypt(body)))));
    expect(timer.ticks).toBeLessThanOrEqual(1);
    // 64 RSA-4096 operations back to back: well over 40 ms on any machine this runs on.
    expect(timer.longestGapMs).toBeGreaterThanOrEqual(40);
  });

  it('decrypts bodies of mixed key sizes, digests and formats, 1 to 100 in flight, each to its own payload, in order', async () => {
    const mid = keySet('mid', 3072, 'RSA-OAEP-256');
    const decryptor = await createRequestDecryptor({ keys: [...vectors.privateJWKS.keys, ...big.privateJWKS.keys, ...mid.privateJWKS.keys] });
    const encryptor = await createRequestEncryptor({ keys: [...vectors.publicJWKS.keys, ...big.publicJWKS.keys, ...mid.publicJWKS.keys] });
    const kids = ['kibana1', 'big', 'mid'];
    for (const inFlight of [1, 2, 7, 32, 100]) {
      const bodies = await Promise.all(
        Array.from({ length: inFlight }, (_, i) =>
          encryptor.encrypt(kids[i % 3]!, { inFlight, i }, i % 2 === 0 ? { format: 'jwe', compress: i % 4 === 0 } : { format: 'legacy' }),
        ),
      );
      expect(await Promise.all(bodies.map((body) => decryptor.decrypt(body)))).toEqual(bodies.map((_, i) => ({ inFlight, i })));
    }
  });

  it('answers a forged body with ERR_DECRYPTION_FAILED and the genuine bodies in flight beside it with their payloads', async () => {
    const decryptor = await createRequestDecryptor(big.privateJWKS);
    const encryptor = await createRequestEncryptor(big.publicJWKS);
    const genuine = await Promise.all(Array.from({ length: 8 }, (_, i) => encryptor.encrypt('big', { i }, { format: 'jwe' })));
    const mixed = genuine.flatMap((body, i) => [body, hostile[i]!]);
    expect(await Promise.all(mixed.map((body) => outcome(decryptor.decrypt(body))))).toEqual(
      genuine.flatMap((_, i) => [{ i }, ERROR_CODES.DECRYPTION_FAILED]),
    );
  });

  it('refuses an unwrapOn other than threads or event-loop', async () => {
    const err = await rejectionOf(createRequestDecryptor(vectors.privateJWKS, { unwrapOn: 'gpu' as never }));
    expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });

  it("runs the committed thread program: unwrap-worker-source.ts is what unwrap-worker.ts compiles to", () => {
    expect(() => execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-unwrap-worker.js'), '--check'], { cwd: ROOT, stdio: 'pipe' })).not.toThrow();
  });
});

describe('the bound on bodies waiting for a private-key operation', () => {
  let genuine: string[];
  beforeAll(async () => {
    const encryptor = await createRequestEncryptor(big.publicJWKS);
    genuine = await Promise.all(Array.from({ length: 12 }, (_, i) => encryptor.encrypt('big', { i }, { format: i % 2 ? 'jwe' : 'legacy' })));
  });

  it('refuses bodies past maxPendingUnwraps at once with ERR_RECEIVER_BUSY, never ERR_DECRYPTION_FAILED', async () => {
    const decryptor = await createRequestDecryptor(big.privateJWKS, { maxPendingUnwraps: 4 });
    const outcomes = await Promise.all(genuine.map((body) => outcome(decryptor.decrypt(body))));
    expect(outcomes).toEqual([
      ...genuine.slice(0, 4).map((_, i) => ({ i })),
      ...genuine.slice(4).map(() => ERROR_CODES.RECEIVER_BUSY),
    ]);
  });

  it('refuses with a retryable ReceiverBusyError, and the same body decrypts once the queue has room', async () => {
    const decryptor = await createRequestDecryptor(big.privateJWKS, { maxPendingUnwraps: 2 });
    const first = genuine.slice(0, 2).map((body) => decryptor.decrypt(body));
    const err = await rejectionOf(decryptor.decrypt(genuine[2]!));
    expect(err).toBeInstanceOf(ReceiverBusyError);
    expect((err as ReceiverBusyError).retryable).toBe(true);
    expect(await Promise.all(first)).toEqual([{ i: 0 }, { i: 1 }]);
    expect(await decryptor.decrypt(genuine[2]!)).toEqual({ i: 2 });
  });

  it('frees the places of forged and refused bodies: a decryptor flooded past its bound takes bodies again', async () => {
    const decryptor = await createRequestDecryptor(big.privateJWKS, { maxPendingUnwraps: 3 });
    const flood = await Promise.all(hostile.slice(0, 10).map((body) => outcome(decryptor.decrypt(body))));
    expect(flood).toEqual([...Array(3).fill(ERROR_CODES.DECRYPTION_FAILED), ...Array(7).fill(ERROR_CODES.RECEIVER_BUSY)]);
    expect(await Promise.all(genuine.slice(0, 3).map((body) => decryptor.decrypt(body)))).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
  });

  it("refuses a decryptor's bodies while maxPendingUnwrapsPerProcess bodies of all decryptors wait", async () => {
    const options = { maxPendingUnwraps: 100, maxPendingUnwrapsPerProcess: 6 };
    const one = await createRequestDecryptor(big.privateJWKS, options);
    const other = await createRequestDecryptor(big.privateJWKS, options);
    const outcomes = await Promise.all(genuine.slice(0, 10).map((body, i) => outcome((i < 5 ? one : other).decrypt(body))));
    expect(outcomes).toEqual([
      ...genuine.slice(0, 6).map((_, i) => ({ i })),
      ...genuine.slice(6, 10).map(() => ERROR_CODES.RECEIVER_BUSY),
    ]);
  });

  it('bounds the bodies waiting for an unwrapKey too', async () => {
    const waiting: Array<() => void> = [];
    // A key service that answers only when the test lets it, and then refuses.
    const unwrapKey = async (): Promise<Uint8Array> => {
      await new Promise<void>((resolve) => waiting.push(resolve));
      throw new Error('refused');
    };
    const decryptor = await createRequestDecryptor(big.publicJWKS, { unwrapKey, maxPendingUnwraps: 2 });
    const calls = genuine.slice(0, 3).map((body) => outcome(decryptor.decrypt(body)));
    expect(await calls[2]).toBe(ERROR_CODES.RECEIVER_BUSY);
    expect(waiting).toHaveLength(2);
    for (const release of waiting) release();
    expect(await Promise.all(calls.slice(0, 2))).toEqual([ERROR_CODES.DECRYPTION_FAILED, ERROR_CODES.DECRYPTION_FAILED]);
  });

  it.each([0, -1, 1.5, Number.NaN, '8'])('refuses maxPendingUnwraps and maxPendingUnwrapsPerProcess of %p', async (value) => {
    for (const name of ['maxPendingUnwraps', 'maxPendingUnwrapsPerProcess']) {
      const err = await rejectionOf(createRequestDecryptor(vectors.privateJWKS, { [name]: value as number }));
      expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
    }
  });
});

describe('fairness between decryptors', () => {
  it("lets another decryptor's bodies through while one decryptor is flooded with RSA-4096 forgeries", async () => {
    const flooded = await createRequestDecryptor(big.privateJWKS);
    const other = await createRequestDecryptor(vectors.privateJWKS);
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const bodies = await Promise.all(Array.from({ length: 8 }, (_, i) => encryptor.encrypt('kibana1', { i }, { format: 'jwe' })));
    let floodSettled = 0;
    const flood = hostile.map((body) => outcome(flooded.decrypt(body)).finally(() => (floodSettled += 1)));
    // Queued after 200 forgeries (about 2 s of RSA on 2 cores); taking turns, each of these waits
    // for about one of them. In one queue in order, they would wait for all 200. On a loaded host
    // the event loop takes answers in batches, so taking turns shows as tens (31 seen), not units.
    const seen = await Promise.all(bodies.map(async (body) => ({ payload: await other.decrypt(body), floodSettled })));
    expect(seen.map(({ payload }) => payload)).toEqual(bodies.map((_, i) => ({ i })));
    expect(Math.max(...seen.map((s) => s.floodSettled))).toBeLessThan(80);
    expect(await Promise.all(flood)).toEqual(hostile.map(() => ERROR_CODES.DECRYPTION_FAILED));
  }, 120_000);
});

describe('where threads cannot start or stop', () => {
  let dir: string;
  beforeAll(() => {
    // A folder that a child process running as another user (below) can read.
    dir = mkdtempSync(join(tmpdir(), 'request-crypto-pool-'));
    chmodSync(dir, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * A child process that builds a decryptor from the built lib/receiver.js, decrypts its bodies
   * all at once and prints what each settled to, the package's warnings, and the threads the
   * process gained (so that none is left from a failed start). The setup code replaces SETUP.
   */
  const CHILD = `
const { readdirSync, readFileSync, promises } = require('node:fs');
const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { createRequestDecryptor } = require(input.lib);
const warnings = [];
process.on('warning', (w) => { if (w.name === 'RequestCryptoWarning') warnings.push({ code: w.code, message: w.message }); });
const threads = () => readdirSync('/proc/self/task').length;
(async () => {
  await promises.readFile(process.argv[2]); // libuv's own threads start here, not under a limit below
  const decryptor = await createRequestDecryptor(input.privateJWKS);
  const before = threads();
  /*SETUP*/
  const results = await Promise.all(input.bodies.map((body) => decryptor.decrypt(body).then((p) => p, (e) => e.code)));
  await new Promise((resolve) => setTimeout(resolve, 300)); // threads being stopped finish
  console.log(JSON.stringify({ results, warnings, gained: threads() - before }));
})();
`;

  /** Sets this process's RLIMIT_NPROC to the tasks its user has now, plus `headroom`. */
  const limitThreads = (headroom: number): string => `
  const { spawnSync } = require('node:child_process');
  const uid = process.getuid();
  let tasks = 0;
  for (const pid of readdirSync('/proc')) {
    try {
      if (!/^\\d+$/.test(pid) || !readFileSync('/proc/' + pid + '/status', 'utf8').includes('\\nUid:\\t' + uid + '\\t')) continue;
      tasks += readdirSync('/proc/' + pid + '/task').length;
    } catch {}
  }
  const set = spawnSync('prlimit', ['--pid', String(process.pid), '--nproc=' + (tasks + ${headroom})]);
  if (set.status !== 0) throw new Error('prlimit: ' + set.stderr);`;

  /** Threads killed by terminate(): each, after `after` messages it posts ('ready' is the first). */
  const killThreads = (which: 'first' | 'every', after: number): string => `
  let killed = 0;
  process.on('worker', (worker) => {
    let posted = 0;
    worker.on('message', () => {
      posted += 1;
      if (posted === ${after} && (${JSON.stringify(which)} === 'every' || killed === 0)) {
        killed += 1;
        void worker.terminate();
      }
    });
  });`;

  interface ChildResult {
    results: unknown[];
    warnings: Array<{ code: string; message: string }>;
    gained: number;
  }

  let bodies: string[];
  let payloads: unknown[];
  beforeAll(async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    payloads = Array.from({ length: 24 }, (_, i) => ({ i }));
    bodies = await Promise.all(payloads.map((payload, i) => encryptor.encrypt('kibana1', payload, { format: i % 3 === 0 ? 'legacy' : 'jwe' })));
  });

  /** Runs the child with `nodeArgs`; `asOtherUser` runs it as nobody when this process is root. */
  const runChild = (name: string, setup: string, options: { nodeArgs?: string[]; asOtherUser?: boolean; esm?: boolean } = {}): ChildResult => {
    const script = join(dir, `${name}.cjs`);
    const input = join(dir, `${name}.json`);
    writeFileSync(script, CHILD.replace('/*SETUP*/', setup), { mode: 0o644 });
    writeFileSync(input, JSON.stringify({ lib: join(ROOT, 'lib', 'receiver.js'), privateJWKS: vectors.privateJWKS, bodies }), { mode: 0o644 });
    const nodeArgs = options.nodeArgs ?? [];
    // Under --input-type=module the process's own code is ESM, and threads inherit the flag.
    const entry = options.esm
      ? ['--input-type=module', '-e', `process.argv[2] = ${JSON.stringify(input)}; await import(${JSON.stringify(pathToFileURL(script).href)});`]
      : [script, input];
    const command = [process.execPath, ...nodeArgs, ...entry];
    // RLIMIT_NPROC counts a user's tasks and does not bind root: run as nobody when root.
    const argv = options.asOtherUser && process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...command] : command;
    const child = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 60_000, cwd: dir });
    if (child.status !== 0) throw new Error(`child exited with ${child.status}: ${child.stderr}`);
    return JSON.parse(child.stdout) as ChildResult;
  };

  const codes = (result: ChildResult): string[] => result.warnings.map((w) => w.code);
  const permission = Number(process.versions.node.split('.')[0]) >= 22 ? '--permission' : '--experimental-permission';

  it("decrypts every body on the event loop under Node's permission model without --allow-worker, and says why once", () => {
    const result = runChild('permission', '', { nodeArgs: [permission, '--allow-fs-read=*'] });
    expect(result.results).toEqual(payloads);
    expect(codes(result)).toEqual(['REQUEST_CRYPTO_UNWRAP_ON_EVENT_LOOP']);
    expect(result.warnings[0]!.message).toContain('ERR_ACCESS_DENIED');
  });

  it('still answers a forged body with ERR_DECRYPTION_FAILED when it unwraps on the event loop', () => {
    const saved = bodies;
    bodies = [forged(saved[1]!), saved[1]!];
    try {
      const result = runChild('permission-forged', '', { nodeArgs: [permission, '--allow-fs-read=*'] });
      expect(result.results).toEqual([ERROR_CODES.DECRYPTION_FAILED, payloads[1]]);
    } finally {
      bodies = saved;
    }
  });

  it('decrypts every body on threads in a process run with --input-type=module', () => {
    const result = runChild('esm', '', { esm: true });
    expect(result.results).toEqual(payloads);
    expect(result.warnings).toEqual([]);
    expect(result.gained).toBeGreaterThan(0);
  });

  it('decrypts every body on the event loop when a thread limit (RLIMIT_NPROC) leaves no room, and leaves no thread behind', () => {
    const result = runChild('no-room', limitThreads(0), { asOtherUser: true });
    expect(result.results).toEqual(payloads);
    expect(codes(result)).toEqual(['REQUEST_CRYPTO_UNWRAP_ON_EVENT_LOOP']);
    expect(result.warnings[0]!.message).toContain('ERR_WORKER_INIT_FAILED');
    expect(result.gained).toBe(0);
  });

  it('decrypts every body on the one thread that a thread limit leaves room for', () => {
    const result = runChild('room-for-one', limitThreads(1), { asOtherUser: true });
    expect(result.results).toEqual(payloads);
    expect(result.gained).toBe(1);
    expect(codes(result)).toEqual(['REQUEST_CRYPTO_UNWRAP_FEWER_THREADS']);
  });

  it('unwraps again the body of a thread killed mid-flight, and says so once', () => {
    // Killed right after its first answer, when the pool has just handed it its next body.
    const result = runChild('killed', killThreads('first', 2));
    expect(result.results).toEqual(payloads);
    expect(codes(result)).toEqual(['REQUEST_CRYPTO_UNWRAP_THREAD_STOPPED']);
  });

  it('decrypts every body when every thread is killed as soon as it is handed one', () => {
    // Each body's thread stops twice: the body is then unwrapped on the event loop.
    const result = runChild('killed-every', killThreads('every', 1));
    expect(result.results).toEqual(payloads);
    expect(codes(result)).toEqual(['REQUEST_CRYPTO_UNWRAP_THREAD_STOPPED']);
    expect(result.gained).toBe(0);
  });

  it('lets a process exit once its bodies are decrypted: idle threads keep nothing alive', () => {
    const script = `
      const { createRequestDecryptor, createRequestEncryptor } = require(process.argv[1]);
      const v = JSON.parse(process.argv[2]);
      (async () => {
        const encryptor = await createRequestEncryptor(v.publicJWKS);
        const decryptor = await createRequestDecryptor(v.privateJWKS, { maxPendingUnwraps: 4 });
        const bodies = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => encryptor.encrypt('kibana1', i, { format: 'jwe' })));
        console.log(JSON.stringify(await Promise.all(bodies.map((body) => decryptor.decrypt(body).catch((e) => e.code)))));
      })();`;
    const keys = JSON.stringify({ publicJWKS: vectors.publicJWKS, privateJWKS: vectors.privateJWKS });
    const out = execFileSync(process.execPath, ['-e', script, join(ROOT, 'lib', 'index.js'), keys], { encoding: 'utf8', timeout: 20_000 });
    expect(JSON.parse(out)).toEqual([1, 2, 3, 4, ...Array(4).fill(ERROR_CODES.RECEIVER_BUSY)]);
  });
});
