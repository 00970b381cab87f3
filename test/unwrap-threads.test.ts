import { execFileSync } from 'node:child_process';
import { constants, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES, type PrivateJWK, type PrivateJWKS, type PublicJWKS } from '../src';
import { COUNTERS, sharedUnwrapPool, UnwrapPool, WORKER_SOURCE } from '../src/keys/unwrap-pool';
import { rejectionOf, vectors } from './helpers';

/** A set of one RSA-4096 key: about 4 ms of CPU per unwrap, enough to see who waits for it. */
function rsa4096(): { privateJWKS: PrivateJWKS; publicJWKS: PublicJWKS } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 4096 });
  const jwk = { ...(privateKey.export({ format: 'jwk' }) as object), kid: 'big', use: 'enc', alg: 'RSA-OAEP' } as PrivateJWK;
  const { kty, kid, use, alg, e, n } = jwk;
  return { privateJWKS: { keys: [jwk] }, publicJWKS: { keys: [{ kty, kid, use, alg, e, n }] } };
}

/** Forged bodies for the key: each costs one full private operation before it fails at the tag. */
async function hostileBodies(publicJWKS: PublicJWKS, count: number): Promise<string[]> {
  const encryptor = await createRequestEncryptor(publicJWKS);
  const bodies = await Promise.all(Array.from({ length: count }, (_, i) => encryptor.encrypt('big', { i }, { format: 'jwe' })));
  return bodies.map((body) => {
    const parts = body.split('.');
    const tag = Buffer.from(parts[4]!, 'base64url');
    tag[0] = tag[0]! ^ 1;
    parts[4] = tag.toString('base64url');
    return parts.join('.');
  });
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

describe('RSA off the event loop', () => {
  let big: { privateJWKS: PrivateJWKS; publicJWKS: PublicJWKS };
  let hostile: string[];
  beforeAll(async () => {
    big = rsa4096();
    hostile = await hostileBodies(big.publicJWKS, 64);
  });

  it('keeps a timer firing while 64 hostile bodies for an RSA-4096 key are decrypted', async () => {
    const decryptor = await createRequestDecryptor(big.privateJWKS);
    await rejectionOf(decryptor.decrypt(hostile[0]!)); // start the threads
    let codes: string[] = [];
    const timer = await timerDuring(async () => {
      codes = await Promise.all(hostile.map(async (body) => (await rejectionOf(decryptor.decrypt(body))).code!));
    });
    expect(codes).toEqual(hostile.map(() => ERROR_CODES.DECRYPTION_FAILED));
    // 64 unwraps are over 200 ms of CPU; on the event loop they would run back to back.
    expect(timer.ticks).toBeGreaterThanOrEqual(3);
    expect(timer.longestGapMs).toBeLessThan(100);
  });

  it("holds the event loop for every unwrap with unwrapOn 'event-loop' (what the threads avoid)", async () => {
    const decryptor = await createRequestDecryptor(big.privateJWKS, { unwrapOn: 'event-loop' });
    const timer = await timerDuring(() => Promise.all(hostile.map((body) => rejectionOf(decryptor.decrypt(body)))));
    expect(timer.ticks).toBeLessThanOrEqual(1);
    // 64 RSA-4096 operations back to back: well over 40 ms on any machine this runs on.
    expect(timer.longestGapMs).toBeGreaterThanOrEqual(40);
  });

  it('decrypts bodies for every key size in flight together, each to its own payload, in order', async () => {
    const decryptor = await createRequestDecryptor({ keys: [...vectors.privateJWKS.keys, ...big.privateJWKS.keys] });
    const encryptor = await createRequestEncryptor({ keys: [...vectors.publicJWKS.keys, ...big.publicJWKS.keys] });
    const bodies = await Promise.all(
      Array.from({ length: 96 }, (_, i) => encryptor.encrypt(i % 3 === 0 ? 'big' : 'kibana1', { i }, { format: i % 2 === 0 ? 'jwe' : 'legacy' })),
    );
    expect(await Promise.all(bodies.map((body) => decryptor.decrypt(body)))).toEqual(bodies.map((_, i) => ({ i })));
  });

  it('turns a thread stopped mid-flight into ERR_DECRYPTION_FAILED, then starts new threads', async () => {
    const decryptor = await createRequestDecryptor(big.privateJWKS);
    const encryptor = await createRequestEncryptor(big.publicJWKS);
    const bodies = await Promise.all(Array.from({ length: 8 }, (_, i) => encryptor.encrypt('big', { i }, { format: 'jwe' })));
    const outcomes = bodies.map((body) => decryptor.decrypt(body).then((payload) => payload, (err: { code: string }) => err.code));
    await sharedUnwrapPool().close();
    for (const [i, outcome] of (await Promise.all(outcomes)).entries()) {
      // Each body either finished before the threads stopped, or failed like any forgery.
      expect([{ i }, ERROR_CODES.DECRYPTION_FAILED]).toContainEqual(outcome);
    }
    expect(await Promise.all(bodies.map((body) => decryptor.decrypt(body)))).toEqual(bodies.map((_, i) => ({ i })));
  });

  it('refuses an unwrapOn other than threads or event-loop', async () => {
    const err = await rejectionOf(createRequestDecryptor(vectors.privateJWKS, { unwrapOn: 'gpu' as never }));
    expect(err.code).toBe(ERROR_CODES.INVALID_ARGUMENT);
  });

  it('lets a process exit once its bodies are decrypted: idle threads keep nothing alive', () => {
    const script = `
      const { createRequestDecryptor, createRequestEncryptor } = require(process.argv[1]);
      const v = JSON.parse(process.argv[2]);
      (async () => {
        const encryptor = await createRequestEncryptor(v.publicJWKS);
        const decryptor = await createRequestDecryptor(v.privateJWKS);
        const bodies = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => encryptor.encrypt('kibana1', i, { format: 'jwe' })));
        console.log(JSON.stringify(await Promise.all(bodies.map((body) => decryptor.decrypt(body)))));
      })();`;
    const keys = JSON.stringify({ publicJWKS: vectors.publicJWKS, privateJWKS: vectors.privateJWKS });
    const out = execFileSync(process.execPath, ['-e', script, join(__dirname, '..', 'lib', 'index.js'), keys], { encoding: 'utf8', timeout: 20_000 });
    expect(JSON.parse(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('the unwrap pool', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const wrap = (cek: Buffer, oaepHash: 'sha1' | 'sha256'): Buffer =>
    publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, cek);

  it('answers every job with its own key, more jobs than it has slots, in any mix of OAEP digests', async () => {
    const pool = new UnwrapPool(2);
    try {
      const ceks = Array.from({ length: 200 }, () => randomBytes(32));
      const answers = await Promise.all(ceks.map((cek, i) => pool.unwrap(privateKey, i % 2 ? 'sha256' : 'sha1', wrap(cek, i % 2 ? 'sha256' : 'sha1'))));
      expect(answers.map((answer) => Buffer.from(answer).toString('hex'))).toEqual(ceks.map((cek) => cek.toString('hex')));
    } finally {
      await pool.close();
    }
  });

  it('keeps answering across the wrap of its 32-bit counters, as a server does after 2^31 bodies', async () => {
    const pool = new UnwrapPool(2, 2 ** 31 - 50);
    try {
      const ceks = Array.from({ length: 150 }, () => randomBytes(32));
      const answers = await Promise.all(ceks.map((cek) => pool.unwrap(privateKey, 'sha1', wrap(cek, 'sha1'))));
      expect(answers.map((answer) => Buffer.from(answer).toString('hex'))).toEqual(ceks.map((cek) => cek.toString('hex')));
    } finally {
      await pool.close();
    }
  });

  /**
   * The threads' program with pauses at the race windows named in `points`: every other time on
   * average, of up to `micros`, so that one thread stalls there while another passes straight through.
   */
  const widened = (points: ReadonlyArray<'take' | 'claim' | 'publish'>, micros: number): string =>
    withRaceWindow(`if (${JSON.stringify(points)}.includes(point) && Math.random() < 0.5) Atomics.wait(pauseOn, 0, 0, Math.random() * ${micros / 1000});`);

  /** The threads' program with `body` as its `raceWindow(point, taken)`, and `pauseOn` to sleep on. */
  const withRaceWindow = (body: string): string => {
    const plain = 'function raceWindow(point, taken) {}';
    if (!WORKER_SOURCE.includes(plain)) throw new Error('the worker source has no raceWindow to widen');
    return WORKER_SOURCE.replace(plain, `const pauseOn = new Int32Array(new SharedArrayBuffer(4));\nfunction raceWindow(point, taken) { ${body} }`);
  };

  /**
   * The threads' program in which one thread of each pair (odd thread ids), at one claim in five,
   * up to `times` times, stalls until 64 more jobs are posted (or 2 s pass): the event loop reuses
   * the claimed job's queue entry meanwhile.
   */
  const stalledClaims = (times: number): string =>
    withRaceWindow(`if (point !== 'claim' || require('node:worker_threads').threadId % 2 === 0) return;
  globalThis.stalls ??= 0;
  if (globalThis.stalls >= ${times} || Math.random() >= 0.2) return;
  globalThis.stalls += 1;
  const until = Date.now() + 2000;
  while (((Atomics.load(ints, ${COUNTERS.POSTED}) - taken) | 0) <= SLOTS && Date.now() < until) Atomics.wait(pauseOn, 0, 0, 0.2);`);

  /**
   * The event loop's side: after draining, waits (up to 50 ms) until every answer whose place is
   * reserved is written, so that a thread's wake-up for the answer the drain stopped at comes
   * before the event loop waits.
   */
  const untilWritten = (shared: Int32Array): void => {
    const until = performance.now() + 50;
    while (Atomics.load(shared, COUNTERS.WRITTEN) !== Atomics.load(shared, COUNTERS.ANSWERED) && performance.now() < until);
  };

  /** Holds the event loop for up to 0.3 ms, every other time on average. */
  const stall = (): void => {
    if (Math.random() < 0.5) return;
    const until = performance.now() + Math.random() * 0.3;
    while (performance.now() < until);
  };

  /**
   * Unwraps `total` fresh keys through `pool`, `inFlight` at a time; resolves to how many came back
   * as their own key, and rejects when 10 s pass without an answer (a job lost).
   */
  const drive = async (pool: UnwrapPool, total: number, inFlight: number): Promise<number> => {
    let started = 0;
    let right = 0;
    let answered = 0;
    const lane = async (): Promise<void> => {
      while (started < total) {
        started += 1;
        const cek = randomBytes(32);
        const answer = await pool.unwrap(privateKey, 'sha1', wrap(cek, 'sha1'));
        answered += 1;
        arm();
        if (Buffer.from(answer).equals(cek)) right += 1;
      }
    };
    let timer: NodeJS.Timeout | undefined;
    let fail: (reason: Error) => void = () => undefined;
    const lost = new Promise<never>((_, reject) => {
      fail = reject;
    });
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new Error(`${started - answered} of ${started} jobs never answered`)), 10_000);
    };
    arm();
    try {
      await Promise.race([Promise.all(Array.from({ length: inFlight }, lane)), lost]);
    } finally {
      clearTimeout(timer);
    }
    return right;
  };

  /** {@link drive}, then stops the pool's threads, however the drive ended. */
  const driveThenClose = async (pool: UnwrapPool, total: number, inFlight: number): Promise<number> => {
    try {
      return await drive(pool, total, inFlight);
    } finally {
      await pool.close();
    }
  };

  it('never takes a job before it is posted, however long a thread stalls between reading the two job counters', async () => {
    const pool = new UnwrapPool(2, 0, { workerSource: widened(['take'], 200) });
    expect(await driveThenClose(pool, 600, 2)).toBe(600);
  }, 60_000);

  it('reads a job before claiming it: a thread stalled for 64 posts after its claim would find its queue entry reused', async () => {
    const pool = new UnwrapPool(2, 0, { workerSource: stalledClaims(4) });
    expect(await driveThenClose(pool, 600, 8)).toBe(600);
  }, 60_000);

  it('wakes the event loop for an answer written late into a place it has already passed while draining', async () => {
    // The thread stalls between reserving its answer's place and writing it; the event loop
    // drains (stopping at that empty place), then lets it be written before it waits for more.
    const pool = new UnwrapPool(2, 0, { workerSource: widened(['publish'], 200), afterDrain: untilWritten });
    expect(await driveThenClose(pool, 600, 2)).toBe(600);
  }, 60_000);

  it('answers every job right with three threads stalling at every race window, from 1 to 100 jobs in flight', async () => {
    const pool = new UnwrapPool(3, 2 ** 31 - 300, { workerSource: widened(['take', 'claim', 'publish'], 300), afterDrain: stall });
    try {
      // 100 in flight: more jobs than slots, so the backlog is posted from inside the drain.
      for (const inFlight of [1, 3, 48, 2, 100, 17]) expect(await drive(pool, 240, inFlight)).toBe(240);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('refuses a wrapped key that does not open, and one longer than any key it could hold', async () => {
    const pool = new UnwrapPool(1);
    try {
      const forged = wrap(randomBytes(32), 'sha1');
      forged[5] = forged[5]! ^ 1;
      await expect(pool.unwrap(privateKey, 'sha1', forged)).rejects.toThrow();
      await expect(pool.unwrap(privateKey, 'sha1', Buffer.alloc(1025, 1))).rejects.toThrow();
      const cek = randomBytes(32);
      expect(Buffer.from(await pool.unwrap(privateKey, 'sha1', wrap(cek, 'sha1'))).equals(cek)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('fails every job in flight when one of its threads stops, then answers again on new threads', async () => {
    const pool = new UnwrapPool(2);
    try {
      const jobs = Array.from({ length: 40 }, () => pool.unwrap(privateKey, 'sha1', wrap(randomBytes(32), 'sha1')).then(() => 'answered', () => 'failed'));
      const { crew } = pool as unknown as { crew: { workers: Array<{ worker: { terminate(): Promise<number> } }> } };
      await crew.workers[0]!.worker.terminate();
      const outcomes = await Promise.all(jobs);
      expect(outcomes).toContain('failed');
      const cek = randomBytes(32);
      expect(Buffer.from(await pool.unwrap(privateKey, 'sha1', wrap(cek, 'sha1'))).equals(cek)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('stops waiting on the memory of threads it has stopped, so that nothing keeps it', async () => {
    const pool = new UnwrapPool(2);
    const jobs = Array.from({ length: 8 }, () => pool.unwrap(privateKey, 'sha1', wrap(randomBytes(32), 'sha1')).catch(() => 'failed'));
    const { crew } = pool as unknown as { crew: { watching: boolean } };
    expect(crew.watching).toBe(true);
    await pool.close();
    await Promise.all(jobs);
    for (let tries = 0; crew.watching && tries < 100; tries += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(crew.watching).toBe(false);
  });

  // Linux only, where a thread's scheduling priority can be read from /proc.
  const linux = process.platform === 'linux' ? it : it.skip;
  linux('runs its threads at a lower priority than the event loop', async () => {
    const niceOf = (task: string): number => Number(readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
    const before = new Set(readdirSync('/proc/self/task'));
    const pool = new UnwrapPool(2);
    try {
      await Promise.all([1, 2, 3, 4].map(() => pool.unwrap(privateKey, 'sha1', wrap(randomBytes(32), 'sha1'))));
      // A thread lowers its priority as it starts; the second may still be starting (the first
      // can answer all four jobs alone), so wait for it a little.
      const lowered = async (): Promise<number> => {
        for (let tries = 0; ; tries += 1) {
          const started = readdirSync('/proc/self/task').filter((task) => !before.has(task));
          const count = started.filter((task) => niceOf(task) > niceOf(String(process.pid))).length;
          if (count >= 2 || tries === 100) return count;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      expect(await lowered()).toBeGreaterThanOrEqual(2);
      expect(niceOf(String(process.pid))).toBe(0);
    } finally {
      await pool.close();
    }
  });
});
