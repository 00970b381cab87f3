#!/usr/bin/env node
/**
 * `node bench/thread-handoff.js`, after `npm run build`: where the event loop's time goes when it
 * hands RSA unwraps to threads, and what a hand-off to a thread costs on this machine. Results are
 * recorded by hand in bench/RESULTS.md ("Where the 32-in-flight row's time goes").
 *
 * 1. The decryptor: 'jwe' 10 KB bodies with 32 in flight through the default pool (threads), then
 *    one at a time (unwrapped inline): bodies/s, the CPU of the whole process against the wall
 *    time (200 % is both cores), the CPU per body, and the event loop's utilization.
 * 2. The hand-off alone: a main thread that spends 200 µs per job (about the event loop's share
 *    of a 10 KB body) and N threads that spend 250 µs per job (about one RSA-2048 private
 *    operation), each job a 256-byte message transferred and a 1-number answer: jobs/s, CPU, and
 *    how long one `postMessage` to a waiting thread keeps the main thread. With no cost to the
 *    hand-off, two cores would run 5,000 jobs/s, bound by the main thread.
 * 3. WebCrypto's RSA-OAEP on Node's own thread pool (what jose does) in place of the pool, at most
 *    2 and 3 unwraps at once, through the decryptor's `unwrapKey` option, beside the default pool.
 */
/* global setTimeout */
'use strict';

const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { createPrivateKey, webcrypto } = require('node:crypto');

const ROOT = path.join(__dirname, '..');
const lib = require(path.join(ROOT, 'lib'));
const fixture = require('../test/fixtures/elastic-request-crypto-2.0.3.json');
const { payloadOf } = require('./payload');
const { window } = require('./window');

const WINDOW_MS = 1500;

/** Keeps `inflight` calls of `fn` pending for `ms`; bodies/s, CPU %, CPU µs per call, ELU %. */
async function measure(fn, inflight, ms) {
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const started = performance.now();
  const { opsPerSec, latencies } = await window(fn, inflight, ms);
  const wall = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    perSec: opsPerSec,
    cpuPercent: (cpuMs / wall) * 100,
    cpuUsPerCall: (cpuMs * 1000) / latencies.length,
    elu: performance.eventLoopUtilization(elu0).utilization * 100,
  };
}

const line = (label, r) =>
  `${label.padEnd(44)} ${r.perSec.toFixed(0).padStart(6)}/s  cpu ${r.cpuPercent.toFixed(0).padStart(3)} %  ` +
  `${r.cpuUsPerCall.toFixed(0).padStart(4)} µs/body  event loop ${r.elu.toFixed(0).padStart(3)} % busy`;

/** WebCrypto RSA-OAEP on libuv's pool, at most `cap` at once, as an `unwrapKey`. */
async function webCryptoUnwrap(cap) {
  const keys = new Map();
  for (const jwk of fixture.privateJWKS.keys) {
    const der = createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'der' });
    const importAs = (hash) => webcrypto.subtle.importKey('pkcs8', der, { name: 'RSA-OAEP', hash }, false, ['decrypt']);
    keys.set(jwk.kid, { 'RSA-OAEP': await importAs('SHA-1'), 'RSA-OAEP-256': await importAs('SHA-256') });
  }
  const waiting = [];
  let running = 0;
  const pump = () => {
    while (running < cap && waiting.length > 0) {
      const job = waiting.shift();
      running += 1;
      webcrypto.subtle
        .decrypt({ name: 'RSA-OAEP' }, job.key, job.data)
        .finally(() => {
          running -= 1;
          pump();
        })
        .then((cek) => job.resolve(new Uint8Array(cek)), job.reject);
    }
  };
  return ({ kid, alg, encryptedKey }) =>
    new Promise((resolve, reject) => {
      waiting.push({ key: keys.get(kid)[alg], data: encryptedKey, resolve, reject });
      pump();
    });
}

/** Part 2: main spends `mainUs` per answer, each of `threads` threads `threadUs` per job. */
function handoff(threads, mainUs, threadUs, ms) {
  const spin = (us) => {
    const until = process.hrtime.bigint() + BigInt(us * 1000);
    while (process.hrtime.bigint() < until);
  };
  const source = `
    const { parentPort } = require('node:worker_threads');
    parentPort.on('message', () => {
      const until = process.hrtime.bigint() + ${threadUs * 1000}n;
      while (process.hrtime.bigint() < until);
      parentPort.postMessage(1);
    });`;
  const workers = Array.from({ length: threads }, () => new Worker(source, { eval: true }));
  let postNs = 0n;
  let posts = 0;
  let done = 0;
  let stop = false;
  const post = (worker) => {
    const job = new Uint8Array(256);
    const t = process.hrtime.bigint();
    worker.postMessage({ key: 1, encryptedKey: job }, [job.buffer]);
    postNs += process.hrtime.bigint() - t;
    posts += 1;
  };
  return new Promise((resolve) => {
    setTimeout(() => {
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      for (const worker of workers) {
        worker.on('message', () => {
          done += 1;
          spin(mainUs);
          if (!stop) post(worker);
        });
        post(worker);
      }
      setTimeout(() => {
        stop = true;
        const wall = performance.now() - started;
        const cpu = process.cpuUsage(cpu0);
        for (const worker of workers) void worker.terminate();
        resolve({ perSec: (done * 1000) / wall, cpuPercent: (cpu.user + cpu.system) / 10 / wall, postUs: Number(postNs) / posts / 1000 });
      }, ms);
    }, 300);
  });
}

async function main() {
  const encryptor = await lib.createRequestEncryptor(fixture.publicJWKS);
  const body = await encryptor.encrypt('kibana1', payloadOf(10 * 1024), { format: 'jwe' });
  const pool = await lib.createRequestDecryptor(fixture.privateJWKS);
  const web2 = await lib.createRequestDecryptor(fixture.privateJWKS, { unwrapKey: await webCryptoUnwrap(2) });
  const web3 = await lib.createRequestDecryptor(fixture.privateJWKS, { unwrapKey: await webCryptoUnwrap(3) });
  console.log(`node ${process.version}, ${require('node:os').availableParallelism()} cores; 'jwe' 10 KB bodies`);
  const runs = [
    ['pool, 32 in flight', () => pool.decrypt(body), 32],
    ['pool, one at a time (inline)', () => pool.decrypt(body), 1],
    ['WebCrypto on libuv, ≤ 2 at once, 32 in flight', () => web2.decrypt(body), 32],
    ['WebCrypto on libuv, ≤ 3 at once, 32 in flight', () => web3.decrypt(body), 32],
  ];
  for (const [, fn, inflight] of runs) await measure(fn, inflight, 300);
  // Alternating rounds: a change on the machine reaches every row alike.
  const results = runs.map(() => []);
  for (let round = 0; round < 3; round += 1) {
    for (const [i, [, fn, inflight]] of runs.entries()) results[i].push(await measure(fn, inflight, WINDOW_MS));
  }
  const byRate = (a, b) => a.perSec - b.perSec;
  for (const [i, [label]] of runs.entries()) console.log(line(label, results[i].sort(byRate)[1]));
  console.log('\nthe hand-off alone: main 200 µs per answer, each thread 250 µs per job');
  for (const threads of [1, 2, 3]) {
    const r = await handoff(threads, 200, 250, 2000);
    console.log(`${String(threads).padStart(2)} thread(s): ${r.perSec.toFixed(0).padStart(5)} jobs/s  cpu ${r.cpuPercent.toFixed(0).padStart(3)} %  postMessage ${r.postUs.toFixed(1)} µs`);
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
