#!/usr/bin/env node
/**
 * `npm run bench -- --migration`: the upstream's key-wrap rollout, step two (receivers already read
 * both, senders still mixed), on this machine.
 *
 * One HTTP receiver on this package (its own process, default decryptor, `onKeyWrap` counting by
 * algorithm) takes mixed traffic from two senders at once, 64 connections in all, for about 20 s:
 * the real @elastic/request-crypto 2.0.3 (RSA-OAEP, SHA-1) on 32 connections, and this package's
 * opt-in `keyWrapAlgorithm: 'RSA-OAEP-256'` on the other 32. Both make legacy bodies for the same
 * key, stamped `alg: "RSA-OAEP"`, as every key Kibana ships. Each autocannon run is given a fixed
 * number of requests (sized from a warm-up to last the 20 s), so that every body sent is answered
 * and the receiver's `onKeyWrap` counts can be compared with the bodies sent, exactly.
 *
 * Reported: requests/s, p50/p99 per algorithm, the receiver's peak RSS, failures (must be 0), and
 * the `onKeyWrap` counts (must equal the bodies sent of each kind). Beside it, in this process,
 * one RSA-2048 unwrap with each OAEP hash and one legacy body of each kind decrypted, in
 * alternating windows: the cost of SHA-256 measured here, to set beside the upstream's "about
 * 0.1 ms (4 %)". `--quick` runs 5 s instead of 20.
 *
 * `node bench/migration.js --serve <lib> <jwks.json>` is the receiver itself.
 */
'use strict';

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { serveBodies } = require('./http-receiver');

const KID = 'kibana1';
const CONNECTIONS_EACH = 32;

/** The receiver: POST decrypts, GET /stats answers the peak RSS and the onKeyWrap counts. */
async function serve(libPath, jwksFile) {
  const lib = require(libPath);
  const counts = { 'RSA-OAEP': 0, 'RSA-OAEP-256': 0, legacyFlag: 0 };
  const decryptor = await lib.createRequestDecryptor(JSON.parse(fs.readFileSync(jwksFile, 'utf8')), {
    onKeyWrap: ({ alg, legacy }) => {
      counts[alg] += 1;
      if (legacy) counts.legacyFlag += 1;
    },
  });
  serveBodies(decryptor, () => ({ counts }));
}

function startReceiver(jwksFile) {
  const lib = path.join(__dirname, '..', 'lib');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'migration.js'), '--serve', lib, jwksFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', (chunk) => resolve({ child, port: Number(String(chunk).trim()) }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
  });
}

async function stats(port) {
  return (await globalThis.fetch(`http://127.0.0.1:${port}/stats`)).json();
}

/**
 * One autocannon run: `connections` connections posting `bodies` in turn, `amount` requests in
 * all. A fixed amount rather than a duration: autocannon drops the requests in flight when a
 * duration ends, and then the bodies sent could not be counted exactly.
 */
function load(port, bodies, { connections, amount }) {
  const autocannon = require('autocannon');
  const requests = bodies.map((body) => ({ method: 'POST', body, headers: { 'content-type': 'text/plain' } }));
  return autocannon({ url: `http://127.0.0.1:${port}`, connections, requests, amount }).then((r) => ({
    sent: r.requests.sent,
    ok: r['2xx'],
    failures: r.errors + r.timeouts + r.non2xx,
    p50: r.latency.p50,
    p99: r.latency.p99,
    seconds: r.duration,
  }));
}

/** Medians of alternating windows of each function: machine noise falls on both alike. */
function alternate(fns, { rounds, windowMs }) {
  const rates = Object.fromEntries(Object.keys(fns).map((name) => [name, []]));
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? Object.keys(fns) : Object.keys(fns).reverse();
    for (const name of order) {
      const start = performance.now();
      let n = 0;
      while (performance.now() - start < windowMs) {
        fns[name]();
        n += 1;
      }
      rates[name].push((performance.now() - start) / n);
    }
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return Object.fromEntries(Object.entries(rates).map(([name, xs]) => [name, median(xs)]));
}

/** The same, for asynchronous calls, one in flight. */
async function alternateAsync(fns, { rounds, windowMs }) {
  const rates = Object.fromEntries(Object.keys(fns).map((name) => [name, []]));
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? Object.keys(fns) : Object.keys(fns).reverse();
    for (const name of order) {
      const start = performance.now();
      let n = 0;
      while (performance.now() - start < windowMs) {
        await fns[name](n);
        n += 1;
      }
      rates[name].push((performance.now() - start) / n);
    }
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return Object.fromEntries(Object.entries(rates).map(([name, xs]) => [name, median(xs)]));
}

async function main() {
  const quick = process.argv.includes('--quick');
  const seconds = quick ? 5 : 20;
  const ours = require('../lib');
  const original = require('@elastic/request-crypto');
  const { payloadOf } = require('./payload');
  const fixture = require('../test/fixtures/elastic-request-crypto-2.0.3.json');
  const { privateJWKS, publicJWKS } = fixture;
  console.log(`migration bench${quick ? ' (--quick)' : ''}: node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0].model})`);

  // The two senders: the real 2.0.3, and this package with the opt-in RSA-OAEP-256.
  const payload = payloadOf(1024);
  const theirs = await original.createRequestEncryptor(publicJWKS);
  const oursV3 = await ours.createRequestEncryptor(publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' });
  const bodies = { 'RSA-OAEP': [], 'RSA-OAEP-256': [] };
  for (let i = 0; i < 64; i += 1) {
    bodies['RSA-OAEP'].push(await theirs.encrypt(KID, { ...payload, i }));
    bodies['RSA-OAEP-256'].push(await oursV3.encrypt(KID, { ...payload, i }));
  }
  const algOf = (body) => JSON.parse(Buffer.from(JSON.parse(Buffer.from(body, 'base64url')).encryptedAESKey.split('.')[0], 'base64url')).alg;
  for (const [alg, list] of Object.entries(bodies)) if (!list.every((body) => algOf(body) === alg)) throw new Error(`a ${alg} sender made another alg`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-migration-'));
  const jwksFile = path.join(dir, 'private.json');
  fs.writeFileSync(jwksFile, JSON.stringify(privateJWKS));
  const { child, port } = await startReceiver(jwksFile);
  let http_;
  try {
    // Warm-up, both kinds at once, which also sizes the measured runs to last `seconds`. A fixed
    // amount, so that no warm-up body is still in flight when the counts are read.
    const warm = await Promise.all(['RSA-OAEP', 'RSA-OAEP-256'].map((alg) => load(port, bodies[alg], { connections: CONNECTIONS_EACH, amount: CONNECTIONS_EACH * 8 })));
    const before = (await stats(port)).counts;
    const amounts = warm.map((w) => Math.max(CONNECTIONS_EACH, Math.round((w.ok / w.seconds) * seconds)));
    const started = performance.now();
    const [sha1, sha256] = await Promise.all(
      ['RSA-OAEP', 'RSA-OAEP-256'].map((alg, i) => load(port, bodies[alg], { connections: CONNECTIONS_EACH, amount: amounts[i] })),
    );
    const wall = (performance.now() - started) / 1000;
    const after = await stats(port);
    const counted = { 'RSA-OAEP': after.counts['RSA-OAEP'] - before['RSA-OAEP'], 'RSA-OAEP-256': after.counts['RSA-OAEP-256'] - before['RSA-OAEP-256'] };
    http_ = { wall, sha1, sha256, counted, legacyFlag: after.counts.legacyFlag - before.legacyFlag, peakRss: after.peakRss };
  } finally {
    child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // In this process: the RSA-2048 unwrap alone, and one legacy body each, one in flight.
  const key = crypto.createPrivateKey({ key: privateJWKS.keys[0], format: 'jwk' });
  const pub = crypto.createPublicKey(key);
  const cek = crypto.randomBytes(32);
  const wrapped = {
    sha1: crypto.publicEncrypt({ key: pub, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING }, cek),
    sha256: crypto.publicEncrypt({ key: pub, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek),
  };
  const windows = quick ? { rounds: 3, windowMs: 150 } : { rounds: 8, windowMs: 300 };
  const unwrapMs = alternate(
    {
      'RSA-OAEP': () => crypto.privateDecrypt({ key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING }, wrapped.sha1),
      'RSA-OAEP-256': () => crypto.privateDecrypt({ key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped.sha256),
    },
    windows,
  );
  const decryptor = await ours.createRequestDecryptor(privateJWKS);
  const bodyMs = await alternateAsync(
    {
      'RSA-OAEP': (n) => decryptor.decrypt(bodies['RSA-OAEP'][n % 64]),
      'RSA-OAEP-256': (n) => decryptor.decrypt(bodies['RSA-OAEP-256'][n % 64]),
    },
    windows,
  );

  const h = http_;
  const total = h.sha1.ok + h.sha256.ok;
  const failures = h.sha1.failures + h.sha256.failures;
  const countsMatch = h.counted['RSA-OAEP'] === h.sha1.sent && h.counted['RSA-OAEP-256'] === h.sha256.sent && h.legacyFlag === h.counted['RSA-OAEP'];
  const lines = [
    `HTTP receiver (this package, default options, onKeyWrap counting), 64 connections (32 per sender), legacy bodies of a 1 KB payload for one key stamped RSA-OAEP, ${h.wall.toFixed(1)} s:`,
    '',
    '| sender | key wrap | bodies sent | answered 200 | req/s | p50 / p99 ms | failures | onKeyWrap count |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| @elastic/request-crypto 2.0.3 | RSA-OAEP | ${h.sha1.sent} | ${h.sha1.ok} | ${(h.sha1.ok / h.sha1.seconds).toFixed(0)} | ${h.sha1.p50} / ${h.sha1.p99} | ${h.sha1.failures} | ${h.counted['RSA-OAEP']} |`,
    `| this package, keyWrapAlgorithm 'RSA-OAEP-256' | RSA-OAEP-256 | ${h.sha256.sent} | ${h.sha256.ok} | ${(h.sha256.ok / h.sha256.seconds).toFixed(0)} | ${h.sha256.p50} / ${h.sha256.p99} | ${h.sha256.failures} | ${h.counted['RSA-OAEP-256']} |`,
    `| both | | ${h.sha1.sent + h.sha256.sent} | ${total} | ${(total / h.wall).toFixed(0)} | | ${failures} | ${h.counted['RSA-OAEP'] + h.counted['RSA-OAEP-256']} |`,
    '',
    `Receiver peak RSS ${(h.peakRss / 1048576).toFixed(0)} MiB. Failures ${failures === 0 ? '0' : `${failures} (FAILED: must be 0)`}; ` +
      `onKeyWrap counts ${countsMatch ? 'equal the bodies sent of each kind (legacy: true exactly for the RSA-OAEP ones)' : 'DIFFER from the bodies sent (FAILED)'}. ` +
      `The upstream's harness: 27,903 requests in 20 s (1,395/s), 0 failures, on a laptop.`,
    '',
    'The cost of SHA-256 here (this process, alternating windows, medians):',
    '',
    '| | RSA-OAEP | RSA-OAEP-256 | difference |',
    '| --- | ---: | ---: | ---: |',
    `| RSA-2048 private unwrap (node:crypto) | ${(unwrapMs['RSA-OAEP'] * 1000).toFixed(1)} µs | ${(unwrapMs['RSA-OAEP-256'] * 1000).toFixed(1)} µs | ` +
      `${((unwrapMs['RSA-OAEP-256'] - unwrapMs['RSA-OAEP']) * 1000).toFixed(1)} µs (${((unwrapMs['RSA-OAEP-256'] / unwrapMs['RSA-OAEP'] - 1) * 100).toFixed(1)} %) |`,
    `| one legacy body, decrypt, one in flight | ${bodyMs['RSA-OAEP'].toFixed(3)} ms | ${bodyMs['RSA-OAEP-256'].toFixed(3)} ms | ` +
      `${((bodyMs['RSA-OAEP-256'] - bodyMs['RSA-OAEP']) * 1000).toFixed(1)} µs (${((bodyMs['RSA-OAEP-256'] / bodyMs['RSA-OAEP'] - 1) * 100).toFixed(1)} %) |`,
    '',
    "The upstream reported about 0.1 ms (4 %) extra for SHA-256 per body, on its laptop.",
  ];
  console.log(lines.join('\n'));
  if (failures !== 0 || !countsMatch) process.exitCode = 1;
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3], process.argv[4]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { main };
