#!/usr/bin/env node
/**
 * Is the PBKDF2 accelerator worth keeping? Legacy bodies with it against the same build with
 * `REQUEST_CRYPTO_NATIVE=0` (every derivation through `crypto.pbkdf2`), side by side:
 *
 *   npm run build && npm run build:accelerator
 *   node bench/accelerator.js [rounds]        # default 6 rounds; --quick: 3
 *
 * Each round starts one child process per backend (the order reversed every other round); a
 * child times legacy decrypt and encrypt of 100 B and 10 KB bodies, one call at a time, in
 * windows of `WINDOW_MS` (default 1000) and prints ops/s. The parent prints each case's median
 * ops/s per backend and the ratio accelerator / crypto.pbkdf2.
 */
'use strict';
/* global __filename */

const { execFileSync } = require('node:child_process');
const path = require('node:path');

const LIB = path.join(__dirname, '..', 'lib');
const CASES = [
  ['decrypt', 100],
  ['decrypt', 10 * 1024],
  ['encrypt', 100],
  ['encrypt', 10 * 1024],
];

/** In a child: ops/s of every case, on whichever backend this process's environment selects. */
async function child() {
  const { generateKeyPairSync } = require('node:crypto');
  const { payloadOf } = require('./payload');
  const lib = require(LIB);
  const ms = Number(process.env.WINDOW_MS ?? 1000);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'k', use: 'enc', alg: 'RSA-OAEP' };
  const encryptor = await lib.createRequestEncryptor({ keys: [jwk] });
  const decryptor = await lib.createRequestDecryptor({ keys: [jwk] });
  const results = {};
  for (const [op, size] of CASES) {
    const payload = payloadOf(size);
    const body = await encryptor.encrypt('k', payload);
    const fn = op === 'decrypt' ? () => decryptor.decrypt(body) : () => encryptor.encrypt('k', payload);
    for (let i = 0; i < 20; i += 1) await fn(); // warm-up, and the first derivation's self-check
    const started = performance.now();
    let done = 0;
    while (performance.now() - started < ms) {
      await fn();
      done += 1;
    }
    results[`${op} ${size}`] = (done * 1000) / (performance.now() - started);
  }
  process.stdout.write(JSON.stringify({ backend: lib.keyDerivationBackend(), results }));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function main() {
  const arg = process.argv.slice(2).find((a) => /^\d+$/.test(a));
  const rounds = arg !== undefined ? Number(arg) : process.argv.includes('--quick') ? 3 : 6;
  const sides = { native: { REQUEST_CRYPTO_NATIVE: '' }, 'node:crypto': { REQUEST_CRYPTO_NATIVE: '0' } };
  const runs = { native: [], 'node:crypto': [] };
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? ['native', 'node:crypto'] : ['node:crypto', 'native'];
    for (const side of order) {
      const out = execFileSync(process.execPath, [__filename, '--child'], { env: { ...process.env, ...sides[side] }, encoding: 'utf8' });
      const { backend, results } = JSON.parse(out);
      if (backend !== side) throw new Error(`the ${side} child derived with ${backend}: build the accelerator first (npm run build:accelerator)`);
      runs[side].push(results);
    }
  }
  console.log(`node ${process.version}, ${rounds} rounds, ${process.env.WINDOW_MS ?? 1000} ms windows, one call at a time, RSA-2048, legacy bodies`);
  console.log('| case | accelerator ops/s | crypto.pbkdf2 ops/s | ratio |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [op, size] of CASES) {
    const key = `${op} ${size}`;
    const a = median(runs.native.map((r) => r[key]));
    const b = median(runs['node:crypto'].map((r) => r[key]));
    console.log(`| ${op} ${size >= 1024 ? `${size / 1024} KB` : `${size} B`} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)}× |`);
  }
}

if (process.argv.includes('--child')) {
  child().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main();
}
