/**
 * The receiver at scale, for `npm run bench`: 'jwe' decrypt against panva's jose 6 (also with a
 * busy process beside), how late a timer runs while RSA-4096 bodies are decrypted, one decryptor's
 * latency while another is flooded, a real HTTP receiver under load against the original, and a
 * soak of 100,000 bodies through one decryptor.
 */
'use strict';
/* global TextDecoder, setInterval, clearInterval, setTimeout, fetch */

const { execFileSync, fork, spawn } = require('node:child_process');
const { availableParallelism } = require('node:os');
const { constants, createPrivateKey, createPublicKey, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes } = require('node:crypto');
const path = require('node:path');

const autocannon = require('autocannon');

/** panva's jose 6 (ESM only), loaded once. */
let jose;
async function loadJose() {
  jose ??= await import('jose6');
  return jose;
}

/**
 * How long one RSA-2048 private operation takes on one thread right now, in µs: the median of
 * nine 100 ms batches. The 10 KB row with 32 in flight moves with it: that row keeps both cores
 * busy, three quarters of this package's CPU in it is RSA, and a busy host slows RSA most
 * (bench/PROFILE.md). Printed with the rows so that a run can be read against the machine's state.
 */
function rsaProbe(fixture) {
  const key = createPrivateKey({ key: fixture.privateJWKS.keys[0], format: 'jwk' });
  const padding = constants.RSA_PKCS1_OAEP_PADDING;
  const wrapped = publicEncrypt({ key: createPublicKey(key), padding }, randomBytes(32));
  const batches = [];
  for (let b = 0; b < 9; b += 1) {
    const started = performance.now();
    let n = 0;
    while (performance.now() - started < 100) {
      privateDecrypt({ key, padding }, wrapped);
      n += 1;
    }
    batches.push(((performance.now() - started) * 1000) / n);
  }
  return batches.sort((a, b) => a - b)[4];
}

/**
 * Rows: 'jwe' decrypt of ours against jose 6's compactDecrypt of the same bodies. Twice the
 * usual rounds: a 600 ms window varies by about 3 % on a shared machine, and these rows sit
 * nearest their targets, so their medians are taken over 16 windows a side, not 8. Returns the
 * rows and the machine's RSA speed just before and after them ({@link rsaProbe}).
 */
async function joseRows(compare, ours, fixture, payloadOf, config) {
  const rowConfig = { ...config, rounds: config.rounds * 2 };
  const j = await loadJose();
  const jwk = fixture.privateJWKS.keys[0];
  const key = await j.importJWK({ ...jwk, alg: 'RSA-OAEP' }, 'RSA-OAEP');
  const encryptor = await ours.createRequestEncryptor(fixture.publicJWKS);
  const decryptor = await ours.createRequestDecryptor(fixture.privateJWKS);
  const decoder = new TextDecoder();
  const joseDecrypt = async (body) => JSON.parse(decoder.decode((await j.compactDecrypt(body, key)).plaintext));
  const rows = [];
  const probeBefore = rsaProbe(fixture);
  for (const [label, bytes] of [['100 B', 100], ['10 KB', 10 * 1024]]) {
    const body = await encryptor.encrypt('kibana1', payloadOf(bytes), { format: 'jwe' });
    for (const inflight of [1, 32]) {
      rows.push(
        await compare(`jwe decrypt (ours) vs jose 6 ${label}`, inflight === 1 ? 1.3 : 1.5, {
          ours: () => decryptor.decrypt(body),
          original: () => joseDecrypt(body),
        }, inflight, rowConfig),
      );
    }
  }
  // What no design in one process can pass on this machine: one process per core, each unwrapping
  // on its own event loop one body at a time, so that nothing is handed off and every core works.
  const body = await encryptor.encrypt('kibana1', payloadOf(10 * 1024), { format: 'jwe' });
  const ceiling = inlineProcesses(body);
  try {
    rows.push(
      await compare(`ceiling: ${ceiling.count} processes one at a time (ours) vs jose 6 10 KB`, undefined, {
        ours: ceiling,
        original: () => joseDecrypt(body),
      }, 32, rowConfig),
    );
  } finally {
    ceiling.stop();
  }
  // The 10 KB row again while one other process keeps a core busy at normal priority, as on a
  // shared host: the RSA threads compete with it for the cores, and so does jose.
  const stopNeighbour = busyNeighbour();
  try {
    rows.push(
      await compare('jwe decrypt (ours) vs jose 6 10 KB, one busy process beside', 1.3, {
        ours: () => decryptor.decrypt(body),
        original: () => joseDecrypt(body),
      }, 32, rowConfig),
    );
  } finally {
    stopNeighbour();
  }
  const rsaProbeUs = { before: probeBefore, after: rsaProbe(fixture) };
  console.log(`machine: one RSA-2048 private operation on one thread took ${rsaProbeUs.before.toFixed(0)} µs before the rows against jose 6 and ${rsaProbeUs.after.toFixed(0)} µs after`);
  return { rows, rsaProbeUs };
}

/**
 * One child process per core (bench/ceiling-child.js), each decrypting `body` one at a time with
 * its unwraps on its own event loop: a case for `compare` that measures its own windows, all
 * processes at once, and `stop()` to end them.
 */
function inlineProcesses(body) {
  const count = availableParallelism();
  const children = Array.from({ length: count }, () =>
    fork(path.join(__dirname, 'ceiling-child.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const runFor = (child, ms) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send({ body, ms });
    });
  return {
    count,
    async window(ms) {
      const results = await Promise.all(children.map((child) => runFor(child, ms)));
      const opsPerSec = results.reduce((sum, r) => sum + r.opsPerSec, 0);
      return { opsPerSec, latencies: results.flatMap((r) => r.latencies) };
    },
    stop: () => children.forEach((child) => child.kill('SIGKILL')),
  };
}

/** Starts a process that spins on one core at normal priority; returns what stops it. */
function busyNeighbour() {
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  return () => child.kill('SIGKILL');
}

/** Keeps `inflight` decrypts pending for `ms` while a 2 ms timer runs; reports the timer's lateness. */
async function timerLateness(decrypt, bodies, inflight, ms) {
  const late = [];
  let expected = performance.now() + 2;
  const timer = setInterval(() => {
    const now = performance.now();
    late.push(Math.max(0, now - expected));
    expected = now + 2;
  }, 2);
  const started = performance.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (performance.now() - started < ms) {
      await decrypt(bodies[(next += 1) % bodies.length]).catch(() => undefined);
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  clearInterval(timer);
  // The tick still due at the end counts too: a timer that never fired was late by the whole window.
  late.push(Math.max(0, performance.now() - expected));
  late.sort((a, b) => a - b);
  return { maxMs: late[late.length - 1] ?? NaN, p99Ms: late[Math.floor(late.length * 0.99)] ?? NaN, bodiesPerSec: (done * 1000) / (performance.now() - started) };
}

/** The event-loop figure: 32 RSA-4096 bodies in flight, ours on threads, ours on the loop, jose 6. */
async function eventLoopFigure(ours, quick) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 4096 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'big', use: 'enc', alg: 'RSA-OAEP' };
  const { kty, kid, use, alg, e, n } = jwk;
  const encryptor = await ours.createRequestEncryptor({ keys: [{ kty, kid, use, alg, e, n }] });
  const bodies = await Promise.all(Array.from({ length: 64 }, (_, i) => encryptor.encrypt('big', { i }, { format: 'jwe' })));
  const j = await loadJose();
  const joseKey = await j.importJWK(jwk, 'RSA-OAEP');
  const threads = await ours.createRequestDecryptor({ keys: [jwk] });
  const loop = await ours.createRequestDecryptor({ keys: [jwk] }, { unwrapOn: 'event-loop' });
  const ms = quick ? 1000 : 4000;
  const result = {};
  for (const [name, decrypt] of [
    ['ours (threads)', (b) => threads.decrypt(b)],
    ["ours (unwrapOn 'event-loop')", (b) => loop.decrypt(b)],
    ['jose 6', (b) => j.compactDecrypt(b, joseKey)],
  ]) {
    await timerLateness(decrypt, bodies, 32, 200);
    result[name] = await timerLateness(decrypt, bodies, 32, ms);
    const r = result[name];
    console.log(`event loop, 32 RSA-4096 bodies in flight, ${name}: 2 ms timer late by at most ${r.maxMs.toFixed(1)} ms (p99 ${r.p99Ms.toFixed(1)} ms), ${r.bodiesPerSec.toFixed(0)} bodies/s`);
  }
  return { ...result, target: 'ours (threads) late by at most 20 ms', met: result['ours (threads)'].maxMs <= 20 };
}

/**
 * The queue's bound and fairness: decryptor A is flooded with forged bodies for an RSA-4096 key
 * while decryptor B decrypts genuine RSA-2048 bodies, 4 in flight; once with as many of A's in
 * flight as its bound of pending unwraps (`DEFAULT_MAX_PENDING_UNWRAPS`), once with twice as many
 * (the rest refused with ERR_RECEIVER_BUSY, and sent again 5 ms later, as a hostile sender does).
 * Reports B's latency without and with each flood, A's answers and refusals per second, and how
 * late a 2 ms timer ran meanwhile.
 */
async function fairnessFigure(ours, fixture, quick) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 4096 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'big', use: 'enc', alg: 'RSA-OAEP' };
  const { kty, kid, use, alg, e, n } = jwk;
  const bigEncryptor = await ours.createRequestEncryptor({ keys: [{ kty, kid, use, alg, e, n }] });
  const forged = (await Promise.all(Array.from({ length: 64 }, (_, i) => bigEncryptor.encrypt('big', { i }, { format: 'jwe' })))).map((body) => {
    const parts = body.split('.');
    const tag = Buffer.from(parts[4], 'base64url');
    tag[0] ^= 1;
    parts[4] = tag.toString('base64url');
    return parts.join('.');
  });
  const flooded = await ours.createRequestDecryptor({ keys: [jwk] });
  const other = await ours.createRequestDecryptor(fixture.privateJWKS);
  const encryptor = await ours.createRequestEncryptor(fixture.publicJWKS);
  const genuine = await Promise.all(Array.from({ length: 16 }, (_, i) => encryptor.encrypt('kibana1', { i }, { format: 'jwe' })));
  const ms = quick ? 1500 : 5000;
  const f = (x) => x.toFixed(1);

  const measureOther = async () => {
    const latencies = [];
    const started = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (performance.now() - started < ms) {
        const t = performance.now();
        await other.decrypt(genuine[(next += 1) % genuine.length]);
        latencies.push(performance.now() - t);
      }
    }));
    latencies.sort((a, b) => a - b);
    const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
    return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: latencies[latencies.length - 1], bodiesPerSec: (latencies.length * 1000) / (performance.now() - started) };
  };

  const underFlood = async (floodInFlight) => {
    let stop = false;
    const counts = { refusedBusy: 0, failed: 0, other: 0 };
    const flood = Promise.all(Array.from({ length: floodInFlight }, async (_, lane) => {
      for (let i = lane; !stop; i += 1) {
        try {
          await flooded.decrypt(forged[i % forged.length]);
          counts.other += 1;
        } catch (err) {
          if (err.code === 'ERR_RECEIVER_BUSY') {
            counts.refusedBusy += 1;
            await new Promise((resolve) => setTimeout(resolve, 5));
          } else if (err.code === 'ERR_DECRYPTION_FAILED') counts.failed += 1;
          else counts.other += 1;
        }
      }
    }));
    // Let the flood fill the queue before B's bodies and the timer start.
    await new Promise((resolve) => setTimeout(resolve, 200));
    let late = 0;
    let expected = performance.now() + 2;
    const timer = setInterval(() => {
      const now = performance.now();
      late = Math.max(late, now - expected);
      expected = now + 2;
    }, 2);
    const started = performance.now();
    const before = { ...counts };
    const latency = await measureOther();
    const seconds = (performance.now() - started) / 1000;
    clearInterval(timer);
    stop = true;
    await flood;
    const result = {
      floodInFlight,
      latency,
      forgeriesPerSec: (counts.failed - before.failed) / seconds,
      refusedBusyPerSec: (counts.refusedBusy - before.refusedBusy) / seconds,
      unexpected: counts.other,
      timerLateMaxMs: late,
    };
    console.log(
      `fairness: decryptor B's RSA-2048 bodies (4 in flight) while decryptor A keeps ${floodInFlight} RSA-4096 forgeries in flight: p50/p99/max ` +
        `${f(latency.p50Ms)}/${f(latency.p99Ms)}/${f(latency.maxMs)} ms; A: ${result.forgeriesPerSec.toFixed(0)} forgeries/s answered, ` +
        `${result.refusedBusyPerSec.toFixed(0)}/s refused busy, ${result.unexpected} other; 2 ms timer late by at most ${f(late)} ms`,
    );
    return result;
  };

  await measureOther(); // warm up
  const alone = await measureOther();
  console.log(`fairness: decryptor B's RSA-2048 bodies (4 in flight) alone: p50/p99/max ${f(alone.p50Ms)}/${f(alone.p99Ms)}/${f(alone.maxMs)} ms`);
  const bound = ours.DEFAULT_MAX_PENDING_UNWRAPS;
  return { maxPendingUnwraps: bound, alone, floods: [await underFlood(bound), await underFlood(2 * bound)] };
}

function startReceiver(lib, jwksFile) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'http-receiver.js'), lib, jwksFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', (chunk) => resolve({ child, port: Number(String(chunk).trim()) }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
  });
}

async function stats(port) {
  const res = await fetch(`http://127.0.0.1:${port}/stats`);
  return res.json();
}

/** One load run: 64 connections for `seconds`, every request a POST of one of `bodies`. */
async function load(port, bodies, seconds) {
  const requests = bodies.map((body) => ({ method: 'POST', body, headers: { 'content-type': 'text/plain' } }));
  const result = await autocannon({ url: `http://127.0.0.1:${port}`, connections: 64, duration: seconds, requests });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    total: result.requests.total,
  };
}

/** HTTP rows: the demo's receiver, ours against the original, on the same bodies. */
async function httpRows(libs, jwksFile, cases, seconds) {
  const rows = [];
  for (const { name, bodies } of cases) {
    const row = { name };
    for (const who of ['ours', 'original']) {
      const { child, port } = await startReceiver(libs[who], jwksFile);
      try {
        await load(port, bodies[who], 2); // warm up
        const result = await load(port, bodies[who], seconds);
        row[who] = { ...result, peakRss: (await stats(port)).peakRss };
      } finally {
        child.kill();
      }
    }
    row.ratio = row.ours.rps / row.original.rps;
    rows.push(row);
    const mib = (b) => (b / 1048576).toFixed(0);
    console.log(
      `HTTP ${name}, 64 connections, ${seconds} s: ours ${row.ours.rps.toFixed(0)} req/s (p50/p99 ${row.ours.p50}/${row.ours.p99} ms, ` +
        `${mib(row.ours.peakRss)} MiB peak, ${row.ours.errors} errors), original ${row.original.rps.toFixed(0)} req/s ` +
        `(p50/p99 ${row.original.p50}/${row.original.p99} ms, ${mib(row.original.peakRss)} MiB peak, ${row.original.errors} errors): ${row.ratio.toFixed(2)}×`,
    );
  }
  return rows;
}

const SOAK_CHILD = `
const lib = require(process.argv[1]);
const v = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'));
const total = Number(process.argv[3]);
(async () => {
  const encryptor = await lib.createRequestEncryptor(v.publicJWKS);
  const decryptor = await lib.createRequestDecryptor(v.privateJWKS);
  const bodies = [];
  for (let i = 0; i < 64; i += 1) bodies.push(await encryptor.encrypt('kibana1', { i, text: 'x'.repeat(200 + i) }, { format: i % 4 === 0 ? 'legacy' : 'jwe', compress: i % 4 === 1 ? true : undefined }));
  const marks = [];
  let done = 0;
  const mark = () => { global.gc(); const m = process.memoryUsage(); marks.push({ done, rss: m.rss, heapUsed: m.heapUsed, external: m.external }); };
  const started = Date.now();
  const worker = async () => {
    while (done < total) {
      const i = done++;
      const out = await decryptor.decrypt(bodies[i % 64]);
      if (out.i !== i % 64) throw new Error('wrong payload');
      if ((i + 1) % (total / 10) === 0) mark();
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  process.stdout.write(JSON.stringify({ marks, seconds: (Date.now() - started) / 1000 }));
})();
`;

/** The soak: `total` bodies through one decryptor, 32 in flight; RSS and heap after GC at every tenth. */
function soak(libFile, fixtureFile, total) {
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', SOAK_CHILD, libFile, fixtureFile, String(total)], { encoding: 'utf8', maxBuffer: 1e7 });
  const { marks, seconds } = JSON.parse(out);
  const warm = marks[0];
  const last = marks[marks.length - 1];
  const mib = (b) => (b / 1048576).toFixed(1);
  const result = {
    total,
    seconds,
    afterWarmUp: warm,
    atEnd: last,
    rssGrowth: last.rss - warm.rss,
    heapGrowth: last.heapUsed - warm.heapUsed,
    marks,
  };
  console.log(
    `soak: ${total} bodies (3 in 4 'jwe', 1 in 4 legacy), 32 in flight, ${seconds.toFixed(0)} s: after ${warm.done} RSS ${mib(warm.rss)} MiB ` +
      `heap ${mib(warm.heapUsed)} MiB; after ${last.done} RSS ${mib(last.rss)} MiB heap ${mib(last.heapUsed)} MiB`,
  );
  return result;
}

module.exports = { joseRows, eventLoopFigure, fairnessFigure, httpRows, soak };
