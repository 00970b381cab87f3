#!/usr/bin/env node
/**
 * `npm run bench`: this package against @elastic/request-crypto 2.0.3 in one run.
 *
 * Every case runs both libraries in alternating windows (ours, theirs, theirs, ours, ...), so that
 * machine noise falls on both alike; the table reports the median ops/s over the windows, the
 * ratio ours / original, and p50 / p99 latency over every operation. `--quick` finishes in under a
 * minute; the full run takes a few minutes. `--migration` runs bench/migration.js instead.
 *
 * Writes bench/results.json and bench/RESULTS.md (the tables, ending with a link to the findings in
 * bench/PROFILE.md).
 */
'use strict';

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ours = require('../lib');
const scale = require('./scale');
const { payloadOf } = require('./payload');
const { window } = require('./window');
const original = require('@elastic/request-crypto');
const fixture = require('../test/fixtures/elastic-request-crypto-2.0.3.json');

/**
 * A second, separate copy of this package that derives with crypto.pbkdf2, as it does where the
 * accelerator could not be built: its rows show what such an install gets.
 */
function oursWithoutAccelerator() {
  const libDir = path.join(__dirname, '..', 'lib') + path.sep;
  const saved = {};
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(libDir)) {
      saved[key] = require.cache[key];
      delete require.cache[key];
    }
  }
  const before = process.env.REQUEST_CRYPTO_NATIVE;
  process.env.REQUEST_CRYPTO_NATIVE = '0';
  try {
    const copy = require('../lib');
    if (copy === ours || copy.keyDerivationBackend() !== 'node:crypto') throw new Error('could not load a copy without the accelerator');
    return copy;
  } finally {
    if (before === undefined) delete process.env.REQUEST_CRYPTO_NATIVE;
    else process.env.REQUEST_CRYPTO_NATIVE = before;
    Object.assign(require.cache, saved);
  }
}

const QUICK = process.argv.includes('--quick');
const JOSE_ONLY = process.argv.includes('--jose-only');
const POOL_ONLY = process.argv.includes('--pool-only');
const CONFIG = QUICK
  ? { rounds: 3, windowMs: 100, minOps: 2, coldRuns: 3 }
  : { rounds: 8, windowMs: 600, minOps: 4, coldRuns: 9 };

const HERE = __dirname;
const ROOT = path.join(HERE, '..');

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function compare(name, target, fns, inflight = 1, config = CONFIG) {
  // warm both up (JIT, key caches, thread pool)
  for (const fn of [fns.ours, fns.original]) {
    if (typeof fn === 'function') await window(fn, inflight, config.windowMs / 3, 1);
    else await fn.window(config.windowMs / 3);
  }
  const runs = { ours: { ops: [], lat: [] }, original: { ops: [], lat: [] } };
  for (let round = 0; round < config.rounds; round += 1) {
    const order = round % 2 === 0 ? ['ours', 'original'] : ['original', 'ours'];
    for (const who of order) {
      const fn = fns[who];
      // A case may measure its own windows (the ceiling row runs in other processes).
      const result = typeof fn === 'function' ? await window(fn, inflight, config.windowMs, config.minOps) : await fn.window(config.windowMs);
      runs[who].ops.push(result.opsPerSec);
      runs[who].lat.push(...result.latencies);
    }
  }
  const summary = (r) => {
    const sorted = [...r.lat].sort((a, b) => a - b);
    return { opsPerSec: median(r.ops), p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples: sorted.length };
  };
  const row = { name, inflight, target, ours: summary(runs.ours), original: summary(runs.original) };
  row.ratio = row.ours.opsPerSec / row.original.opsPerSec;
  printRow(row);
  return row;
}

/** Legacy decrypt, then legacy encrypt, of one payload: `mine` against `theirs` (each `{ enc, dec }`). */
async function compareLegacy(label, target, mine, theirs, { kid, payload, body }, inflight, config = CONFIG) {
  const decrypt = await compare(`legacy decrypt ${label}`, target, {
    ours: () => mine.dec.decrypt(body),
    original: () => theirs.dec.decrypt(body),
  }, inflight, config);
  const encrypt = await compare(`legacy encrypt ${label}`, target, {
    ours: () => mine.enc.encrypt(kid, payload),
    original: () => theirs.enc.encrypt(kid, payload),
  }, inflight, config);
  return [decrypt, encrypt];
}

function fmt(n, digits = 1) {
  if (!Number.isFinite(n)) return '-';
  return n >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

function printRow(row) {
  const target = row.target ? `≥ ${row.target}×` : '';
  const verdict = row.target ? (row.ratio >= row.target ? 'met' : 'MISSED') : '';
  console.log(
    [
      row.name.padEnd(44),
      String(row.inflight).padStart(3),
      fmt(row.ours.opsPerSec).padStart(9),
      fmt(row.original.opsPerSec).padStart(9),
      `${row.ratio.toFixed(2)}×`.padStart(7),
      `${fmt(row.ours.p50, 2)}/${fmt(row.ours.p99, 2)}`.padStart(14),
      `${fmt(row.original.p50, 2)}/${fmt(row.original.p99, 2)}`.padStart(14),
      target.padStart(7),
      verdict,
    ].join(' '),
  );
}

/** A fresh node process requiring `lib`, building a decryptor and decrypting one body. */
function coldStart(lib, bodyFile, jwksFile) {
  const script = `
const t0 = process.hrtime.bigint();
const lib = require(${JSON.stringify(lib)});
const fs = require('node:fs');
const jwks = JSON.parse(fs.readFileSync(${JSON.stringify(jwksFile)}, 'utf8'));
const body = fs.readFileSync(${JSON.stringify(bodyFile)}, 'utf8');
lib.createRequestDecryptor(jwks).then((d) => d.decrypt(body)).then(() => {
  process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e6));
});`;
  const started = performance.now();
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  return { wallMs: performance.now() - started, inProcessMs: Number(out) };
}

/** Peak RSS of a fresh process that decrypts one body with `lib`. */
function peakRss(lib, bodyFile, jwksFile) {
  const script = `
const lib = require(${JSON.stringify(lib)});
const fs = require('node:fs');
const jwks = JSON.parse(fs.readFileSync(${JSON.stringify(jwksFile)}, 'utf8'));
const body = fs.readFileSync(${JSON.stringify(bodyFile)}, 'utf8');
// This package refuses a 10 MB payload under its default limits; the original has none (and ignores the options).
const limits = { maxBodyBytes: 32 * 1024 * 1024, maxPayloadBytes: 24 * 1024 * 1024, maxPayloadValues: 4000000 };
lib.createRequestDecryptor(jwks, limits).then((d) => d.decrypt(body)).then((payload) => {
  if (!payload || !payload.items) throw new Error('bad payload');
  // VmHWM is this process's own peak (maxRSS can start from the spawning process's).
  const hwm = /VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  process.stdout.write(String((hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS) * 1024));
});`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return Number(result.stdout);
}

async function main() {
  const started = Date.now();
  const { privateJWKS, publicJWKS } = fixture;
  const kid = 'kibana1';
  const oursEnc = await ours.createRequestEncryptor(publicJWKS);
  const oursDec = await ours.createRequestDecryptor(privateJWKS);
  const theirEnc = await original.createRequestEncryptor(publicJWKS);
  const theirDec = await original.createRequestDecryptor(privateJWKS);
  const mine = { enc: oursEnc, dec: oursDec };
  const theirs = { enc: theirEnc, dec: theirDec };

  const backend = ours.keyDerivationBackend();
  console.log(
    `request-crypto bench${QUICK ? ' (--quick)' : ''}: node ${process.version}, ${os.cpus().length} CPUs ` +
      `(${os.cpus()[0].model}), PBKDF2 on ${backend}`,
  );
  console.log(
    [
      'case'.padEnd(44),
      'n'.padStart(3),
      'ours/s'.padStart(9),
      'orig/s'.padStart(9),
      'ratio'.padStart(7),
      'ours p50/p99'.padStart(14),
      'orig p50/p99'.padStart(14),
      'target'.padStart(7),
    ].join(' '),
  );

  if (POOL_ONLY) {
    // `npm run bench -- --pool-only`: the unwrap pool's figures (event loop, a flooded decryptor), printed, nothing written.
    await scale.eventLoopFigure(ours, QUICK);
    await scale.fairnessFigure(ours, fixture, QUICK);
    return;
  }
  if (JOSE_ONLY) {
    // `npm run bench -- --jose-only`: just the rows against jose 6, printed, nothing written.
    await scale.joseRows(compare, ours, fixture, payloadOf, CONFIG);
    return;
  }

  const rows = [];
  const sizes = [
    ['100 B', 100],
    ['10 KB', 10 * 1024],
    ['1 MB', 1024 * 1024],
  ];
  for (const [label, bytes] of sizes) {
    const payload = payloadOf(bytes);
    const body = await theirEnc.encrypt(kid, payload);
    const jweBody = await oursEnc.encrypt(kid, payload, { format: 'jwe' });
    const small = bytes <= 10 * 1024;
    for (const inflight of [1, 32]) {
      const cfg = bytes >= 1024 * 1024 && inflight === 32 ? { ...CONFIG, minOps: 32 } : CONFIG;
      const target = small ? (inflight === 1 ? 1.35 : 1.3) : undefined;
      rows.push(...(await compareLegacy(label, target, mine, theirs, { kid, payload, body }, inflight, cfg)));
    }
    rows.push(
      await compare(`jwe decrypt (ours) vs legacy ${label}`, small ? 6 : undefined, {
        ours: () => oursDec.decrypt(jweBody),
        original: () => theirDec.decrypt(body),
      }),
    );
    rows.push(
      await compare(`jwe encrypt (ours) vs legacy ${label}`, undefined, {
        ours: () => oursEnc.encrypt(kid, payload, { format: 'jwe' }),
        original: () => theirEnc.encrypt(kid, payload),
      }),
    );
  }

  // What an install without the accelerator gets (no compiler, --ignore-scripts): no targets.
  const withoutAccelerator = oursWithoutAccelerator();
  const plain = {
    enc: await withoutAccelerator.createRequestEncryptor(publicJWKS),
    dec: await withoutAccelerator.createRequestDecryptor(privateJWKS),
  };
  // --quick keeps to 100 B here, to stay under a minute.
  for (const [label, bytes] of sizes.slice(0, QUICK ? 1 : 2)) {
    const payload = payloadOf(bytes);
    const body = await theirEnc.encrypt(kid, payload);
    for (const inflight of [1, 32]) {
      rows.push(...(await compareLegacy(`${label}, crypto.pbkdf2`, undefined, plain, theirs, { kid, payload, body }, inflight)));
    }
  }

  // 'jwe' against panva's jose 6, one at a time and 32 in flight.
  const jose = await scale.joseRows(compare, ours, fixture, payloadOf, CONFIG);
  rows.push(...jose.rows);

  const threeKeys = { keys: [] };
  const manager = await ours.createJWKManager();
  for (const k of ['kibana', 'kibana1', 'kibana_dev1']) await manager.addKey(k);
  threeKeys.keys = manager.getPrivateJWKS().keys;
  rows.push(
    await compare('createRequestDecryptor (3 keys)', undefined, {
      ours: () => ours.createRequestDecryptor(threeKeys),
      original: () => original.createRequestDecryptor(threeKeys),
    }),
  );
  let n = 0;
  rows.push(
    await compare('addKey (RSA-2048)', undefined, {
      ours: async () => (await ours.createJWKManager()).addKey(`k${(n += 1)}`),
      original: async () => (await original.createJWKManager()).addKey(`k${(n += 1)}`),
    }, 1, { ...CONFIG, minOps: 2 }),
  );

  // Child-process cases.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'request-crypto-bench-'));
  const extra = {};
  try {
    const jwksFile = path.join(dir, 'private.json');
    fs.writeFileSync(jwksFile, JSON.stringify(privateJWKS), { mode: 0o600 });
    const smallBody = path.join(dir, 'small.txt');
    fs.writeFileSync(smallBody, await theirEnc.encrypt(kid, payloadOf(100)));
    const libs = { ours: path.join(ROOT, 'lib', 'index.js'), original: require.resolve('@elastic/request-crypto') };
    const cold = { ours: [], original: [] };
    for (let i = 0; i < CONFIG.coldRuns; i += 1) {
      for (const who of i % 2 === 0 ? ['ours', 'original'] : ['original', 'ours']) {
        cold[who].push(coldStart(libs[who], smallBody, jwksFile));
      }
    }
    const coldRow = {
      ours: { wallMs: median(cold.ours.map((c) => c.wallMs)), inProcessMs: median(cold.ours.map((c) => c.inProcessMs)) },
      original: { wallMs: median(cold.original.map((c) => c.wallMs)), inProcessMs: median(cold.original.map((c) => c.inProcessMs)) },
    };
    coldRow.ratio = coldRow.original.wallMs / coldRow.ours.wallMs;
    coldRow.met = coldRow.ours.wallMs <= coldRow.original.wallMs;
    extra.coldStart = coldRow;
    console.log(
      `cold start (require + decryptor + 1 decrypt, ${CONFIG.coldRuns} processes each): ours ${fmt(coldRow.ours.wallMs)} ms ` +
        `(in-process ${fmt(coldRow.ours.inProcessMs)} ms), original ${fmt(coldRow.original.wallMs)} ms ` +
        `(in-process ${fmt(coldRow.original.inProcessMs)} ms): ${coldRow.ratio.toFixed(2)}× ${coldRow.met ? 'met' : 'MISSED'}`,
    );

    const bigBody = path.join(dir, 'big.txt');
    fs.writeFileSync(bigBody, await theirEnc.encrypt(kid, payloadOf(10 * 1024 * 1024)));
    const rss = { ours: [], original: [] };
    for (let i = 0; i < (QUICK ? 1 : 3); i += 1) {
      for (const who of ['ours', 'original']) rss[who].push(peakRss(libs[who], bigBody, jwksFile));
    }
    const rssRow = { ours: median(rss.ours), original: median(rss.original), bodyBytes: fs.statSync(bigBody).size };
    rssRow.ratio = rssRow.original / rssRow.ours;
    rssRow.met = rssRow.ours <= rssRow.original;
    extra.peakRss = rssRow;
    console.log(
      `peak RSS decrypting one 10 MB payload (${(rssRow.bodyBytes / 1048576).toFixed(1)} MiB body): ours ` +
        `${(rssRow.ours / 1048576).toFixed(1)} MiB, original ${(rssRow.original / 1048576).toFixed(1)} MiB: ` +
        `${rssRow.met ? 'met' : 'MISSED'}`,
    );

    extra.eventLoop = await scale.eventLoopFigure(ours, QUICK);
    extra.fairness = await scale.fairnessFigure(ours, fixture, QUICK);

    const body100 = await theirEnc.encrypt(kid, payloadOf(100));
    const jwe100 = await oursEnc.encrypt(kid, payloadOf(100), { format: 'jwe' });
    extra.http = await scale.httpRows(
      libs,
      jwksFile,
      [
        { name: 'legacy 100 B', bodies: { ours: [body100], original: [body100] } },
        { name: "'jwe' 100 B (ours) vs legacy 100 B (original)", bodies: { ours: [jwe100], original: [body100] } },
      ],
      QUICK ? 5 : 20,
    );

    const fixtureFile = path.join(dir, 'fixture.json');
    fs.writeFileSync(fixtureFile, JSON.stringify({ privateJWKS, publicJWKS }), { mode: 0o600 });
    extra.soak = scale.soak(libs.ours, fixtureFile, QUICK ? 10_000 : 100_000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const results = {
    date: new Date().toISOString(),
    quick: QUICK,
    node: process.version,
    nproc: os.cpus().length,
    cpu: os.cpus()[0].model,
    pbkdf2Backend: backend,
    config: CONFIG,
    seconds: (Date.now() - started) / 1000,
    rows,
    rsaProbeUs: jose.rsaProbeUs,
    ...extra,
  };
  fs.writeFileSync(path.join(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  // The sections written by hand after KEPT_MARK (the migration run, the pool's findings) stay.
  const resultsFile = path.join(HERE, 'RESULTS.md');
  const previous = fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8') : '';
  const kept = previous.includes(KEPT_MARK) ? previous.slice(previous.indexOf(KEPT_MARK)) : '';
  fs.writeFileSync(resultsFile, kept === '' ? renderMarkdown(results) : `${renderMarkdown(results)}\n${kept}`);
  console.log(`done in ${results.seconds.toFixed(0)} s; wrote bench/results.json and bench/RESULTS.md`);
}

/** The line in bench/RESULTS.md after which the text is written by hand and kept by a new run. */
const KEPT_MARK = '<!-- Written by hand from here on; npm run bench keeps it. -->';

function renderMarkdown(r) {
  const lines = [];
  lines.push('# Benchmark: request-crypto against @elastic/request-crypto 2.0.3');
  lines.push('');
  lines.push(`Made by \`npm run bench${r.quick ? ' -- --quick' : ''}\` on ${r.date}: node ${r.node}, nproc ${r.nproc} (${r.cpu}), ` +
    `${r.config.rounds} alternating windows of ${r.config.windowMs} ms per library and case (${r.config.rounds * 2} for the rows against jose 6), ${r.seconds.toFixed(0)} s in all. ` +
    `This package derived PBKDF2 keys on \`${r.pbkdf2Backend}\`, except in the rows marked "crypto.pbkdf2", which show an install without the accelerator.`);
  lines.push('These machines are shared and noisy: read the ratios, measured side by side, not the absolute numbers.');
  lines.push('');
  lines.push('| case | in flight | ours ops/s | original ops/s | ratio | ours p50 / p99 ms | original p50 / p99 ms | target |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const row of r.rows) {
    const target = row.target ? `≥ ${row.target}× ${row.ratio >= row.target ? 'met' : '**missed**'}` : '';
    lines.push(
      `| ${row.name} | ${row.inflight} | ${fmt(row.ours.opsPerSec)} | ${fmt(row.original.opsPerSec)} | ${row.ratio.toFixed(2)}× | ` +
        `${fmt(row.ours.p50, 2)} / ${fmt(row.ours.p99, 2)} | ${fmt(row.original.p50, 2)} / ${fmt(row.original.p99, 2)} | ${target} |`,
    );
  }
  lines.push('');
  if (r.rsaProbeUs) {
    lines.push(`**The machine's state** around the rows against jose 6: one RSA-2048 private operation on one thread took ${fmt(r.rsaProbeUs.before)} µs ` +
      `before them and ${fmt(r.rsaProbeUs.after)} µs after. The 10 KB row with 32 in flight moves with this figure (see "The unwrap pool" below).`);
    lines.push('');
  }
  if (r.coldStart) {
    const c = r.coldStart;
    lines.push(`**Cold start** (fresh \`node\`, require, build a decryptor, decrypt one body; median of ${r.config.coldRuns} processes each): ` +
      `ours ${fmt(c.ours.wallMs)} ms, original ${fmt(c.original.wallMs)} ms (in-process ${fmt(c.ours.inProcessMs)} vs ${fmt(c.original.inProcessMs)} ms): ` +
      `${c.ratio.toFixed(2)}× — target "no slower": ${c.met ? 'met' : '**missed**'}.`);
    lines.push('');
  }
  if (r.peakRss) {
    const m = r.peakRss;
    lines.push(`**Peak RSS** of a process decrypting one 10 MB payload (${(m.bodyBytes / 1048576).toFixed(1)} MiB body): ` +
      `ours ${(m.ours / 1048576).toFixed(1)} MiB, original ${(m.original / 1048576).toFixed(1)} MiB — target "no more": ${m.met ? 'met' : '**missed**'}.`);
    lines.push('');
  }
  if (r.eventLoop) {
    lines.push('**Event loop**: a 2 ms timer while 32 bodies for an RSA-4096 key are kept in flight (target: ours on threads late by at most 20 ms: ' +
      `${r.eventLoop.met ? 'met' : '**missed**'}).`);
    lines.push('');
    lines.push('| decryptor | timer late by at most | p99 lateness | bodies/s |');
    lines.push('| --- | ---: | ---: | ---: |');
    for (const [name, e] of Object.entries(r.eventLoop)) {
      if (typeof e !== 'object') continue;
      lines.push(`| ${name} | ${fmt(e.maxMs)} ms | ${fmt(e.p99Ms)} ms | ${fmt(e.bodiesPerSec)} |`);
    }
    lines.push('');
  }
  if (r.fairness) {
    const q = r.fairness;
    const ms = (l) => `${fmt(l.p50Ms, 2)} / ${fmt(l.p99Ms, 2)} / ${fmt(l.maxMs, 2)} ms`;
    lines.push(`**A flooded decryptor beside another** (the bound on pending unwraps, ${q.maxPendingUnwraps} per decryptor, and the turns between decryptors): ` +
      `decryptor A keeps forged bodies for an RSA-4096 key in flight (refused ones sent again 5 ms later) while decryptor B decrypts genuine RSA-2048 bodies, 4 in flight. ` +
      `B alone: p50 / p99 / max ${ms(q.alone)}.`);
    lines.push('');
    lines.push("| A's bodies in flight | B's p50 / p99 / max | A answered (forgeries/s) | A refused ERR_RECEIVER_BUSY (/s) | 2 ms timer late by at most |");
    lines.push('| ---: | ---: | ---: | ---: | ---: |');
    for (const fl of q.floods) {
      lines.push(`| ${fl.floodInFlight} | ${ms(fl.latency)} | ${fmt(fl.forgeriesPerSec)} | ${fmt(fl.refusedBusyPerSec)} | ${fmt(fl.timerLateMaxMs)} ms |`);
    }
    lines.push('');
  }
  if (r.http) {
    lines.push('**HTTP receiver under load** (the demo\'s `node:http` receiver in its own process, autocannon with 64 connections, ' +
      `${r.quick ? 5 : 20} s per library, the same bodies):`);
    lines.push('');
    lines.push('| bodies | ours req/s | original req/s | ratio | ours p50 / p99 ms | original p50 / p99 ms | ours / original peak RSS | errors (ours / original) |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const h of r.http) {
      lines.push(`| ${h.name} | ${fmt(h.ours.rps)} | ${fmt(h.original.rps)} | ${h.ratio.toFixed(2)}× | ${h.ours.p50} / ${h.ours.p99} | ` +
        `${h.original.p50} / ${h.original.p99} | ${(h.ours.peakRss / 1048576).toFixed(0)} / ${(h.original.peakRss / 1048576).toFixed(0)} MiB | ${h.ours.errors} / ${h.original.errors} |`);
    }
    lines.push('');
  }
  if (r.soak) {
    const k = r.soak;
    const mib = (b) => (b / 1048576).toFixed(1);
    lines.push(`**Soak**: ${k.total.toLocaleString('en')} bodies (three in four 'jwe', one in four legacy) through one decryptor, 32 in flight, ` +
      `${k.seconds.toFixed(0)} s; RSS and heap after a full GC at every tenth:`);
    lines.push('');
    lines.push('| bodies | RSS MiB | heap used MiB | external MiB |');
    lines.push('| ---: | ---: | ---: | ---: |');
    for (const m of k.marks) lines.push(`| ${m.done.toLocaleString('en')} | ${mib(m.rss)} | ${mib(m.heapUsed)} | ${mib(m.external)} |`);
    lines.push('');
    lines.push(`From the first tenth to the end: RSS ${k.rssGrowth >= 0 ? '+' : ''}${mib(k.rssGrowth)} MiB, heap ${k.heapGrowth >= 0 ? '+' : ''}${mib(k.heapGrowth)} MiB.`);
    lines.push('');
  }
  // The findings behind these figures are one page of their own, linked rather than copied.
  lines.push('Where the time goes, and what was changed for it: [PROFILE.md](PROFILE.md).', '');
  return `${lines.join('\n')}\n`;
}

// `npm run bench -- --migration`: the key-wrap migration run alone (bench/migration.js).
(process.argv.includes('--migration') ? require('./migration').main : main)().catch((err) => {
  console.error(err);
  process.exit(1);
});
