#!/usr/bin/env node
/**
 * `node bench/json-cost.js [--quick] [--units-only] [--hostile-only]`, after `npm run build`:
 * what `JSON.parse` costs V8, the figures behind the weights of `maxPayloadCost`
 * (src/encoding/bounded-json.ts), and the hostile shapes under the default limits. Results are
 * recorded by hand in bench/JSON-COST.md.
 *
 * 1. Units: for each shape that isolates one thing `JSON.parse` builds (an empty object, an array,
 *    an element, a string, a member under a name seen before, a new hidden class), a fresh
 *    process parses about 4 MB of it and reports, per thing: the peak RSS growth, the heap it
 *    retains and the parse's CPU time (user + system of the process, so that other processes on
 *    the machine do not count), next to the price the scan gives it.
 * 2. Hostile: for each worst shape (empty objects, empty arrays, `[[]]` pairs, many objects with
 *    names of their own, one object with a million names), the largest payload of it the default
 *    `maxPayloadCost` accepts and the one of the default `maxPayloadBytes`, as compressed 'jwe'
 *    and legacy bodies, each decrypted in a fresh process under the default options: the result,
 *    the price, the peak RSS growth against 64 MiB + 8 × the body's length, and the longest the
 *    event loop was held (wall time, measured by a 1 ms timer) against 250 ms, and the CPU time the
 *    whole process spent in the call (all threads: an upper bound of the event loop's own). Time is
 *    the least of the runs (the one other processes disturbed least), memory the most. Each process first
 *    decrypts a 1 MB body, as a receiver that has been running has (the scan and JSON.parse warm).
 */
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const LIB = path.join(ROOT, 'lib');
const QUICK = process.argv.includes('--quick');
const MiB = 1024 * 1024;

const { measureJsonCost, JSON_COST_WEIGHTS } = require(path.join(LIB, 'encoding', 'bounded-json.js'));
const lib = require(LIB);
const { payloadOf } = require('./payload');

const name36 = (i) => `k${i.toString(36)}`;

/** Shapes of `n` things each: JSON text, and how many of the measured thing it holds. */
const UNIT_SHAPES = {
  'empty objects [{},…]': (n) => `[${new Array(n).fill('{}').join(',')}]`,
  'empty arrays [[],…]': (n) => `[${new Array(n).fill('[]').join(',')}]`,
  '[[]] pairs [[[]],…]': (n) => `[${new Array(n).fill('[[]]').join(',')}]`,
  'elements [0,…]': (n) => `[${new Array(n).fill('0').join(',')}]`,
  'elements [0.5,…]': (n) => `[${new Array(n).fill('0.5').join(',')}]`,
  'elements [0.5,true,…] (boxed)': (n) => `[${Array.from({ length: n }, (_, i) => (i % 2 ? 'true' : '0.5')).join(',')}]`,
  'distinct 8-byte strings': (n) => `[${Array.from({ length: n }, (_, i) => `"${i.toString(36).padStart(8, '_')}"`).join(',')}]`,
  'distinct 64-byte strings': (n) => `[${Array.from({ length: n }, (_, i) => `"${i.toString(36).padStart(64, '_')}"`).join(',')}]`,
  'distinct two-byte 64-byte strings': (n) => `[${Array.from({ length: n }, (_, i) => `"\u0101${i.toString(36).padStart(62, '_')}"`).join(',')}]`,
  'members, names seen before [{"a":0.5,"b":0.5},…]': (n) => `[${new Array(n / 2).fill('{"a":0.5,"b":0.5}').join(',')}]`,
  'objects with a name of their own [{"k1":0},…]': (n) => `[${Array.from({ length: n }, (_, i) => `{"${name36(i)}":0}`).join(',')}]`,
  'one object of distinct names {"k1":0,…}': (n) => `{${Array.from({ length: n }, (_, i) => `"${name36(i)}":0`).join(',')}}`,
  'objects of two names in new orders': (n) => `[${Array.from({ length: n }, (_, i) => `{"a${i % 1000}":0,"b${Math.floor(i / 1000)}":0}`).join(',')}]`,
};

// Counts per shape: about 4 MB of text, or as much as the default cost limit lets through.
const UNIT_COUNTS = {
  'empty objects [{},…]': 300_000,
  'empty arrays [[],…]': 300_000,
  '[[]] pairs [[[]],…]': 200_000,
  'elements [0,…]': 1_000_000,
  'elements [0.5,…]': 1_000_000,
  'elements [0.5,true,…] (boxed)': 1_000_000,
  'distinct 8-byte strings': 400_000,
  'distinct 64-byte strings': 60_000,
  'distinct two-byte 64-byte strings': 60_000,
  'members, names seen before [{"a":0.5,"b":0.5},…]': 500_000,
  'objects with a name of their own [{"k1":0},…]': 40_000,
  'one object of distinct names {"k1":0,…}': 100_000,
  'objects of two names in new orders': 40_000,
};

const UNIT_CHILD = `
const text = require('node:fs').readFileSync(process.argv[1], 'utf8');
globalThis.gc();
const heap0 = process.memoryUsage().heapUsed;
const rss0 = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const wall0 = process.hrtime.bigint();
let value = JSON.parse(text);
const wall = Number(process.hrtime.bigint() - wall0) / 1e6;
const cpu = process.cpuUsage(cpu0);
const hwm = /VmHWM:\\s+(\\d+) kB/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'));
globalThis.gc();
const heap = process.memoryUsage().heapUsed - heap0;
process.stdout.write(JSON.stringify({ wallMs: wall, cpuMs: (cpu.user + cpu.system) / 1000, heap, rss: Number(hwm[1]) * 1024 - rss0, kept: typeof value }));
`;

function runUnits(dir) {
  console.log('\n## Units: what JSON.parse builds, per thing (fresh process each)\n');
  console.log('| shape | things | JSON bytes | RSS B/thing | heap B/thing | CPU ns/thing | wall ns/thing | priced units/thing | price ÷ max(RSS, heap, CPU ns / 4) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const runs = QUICK ? 1 : 3;
  for (const [name, make] of Object.entries(UNIT_SHAPES)) {
    const n = UNIT_COUNTS[name];
    const text = make(n);
    const file = path.join(dir, 'unit.json');
    fs.writeFileSync(file, text);
    const price = measureJsonCost(Buffer.from(text, 'utf8'), { maxPayloadCost: Number.MAX_SAFE_INTEGER, maxPayloadDepth: 64 });
    // The worst of the runs: a receiver meets the slow one too.
    let worst = { wallMs: 0, cpuMs: 0, heap: 0, rss: 0 };
    for (let run = 0; run < runs; run += 1) {
      const got = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', UNIT_CHILD, file], { encoding: 'utf8' }));
      worst = { wallMs: Math.max(worst.wallMs, got.wallMs), cpuMs: Math.max(worst.cpuMs, got.cpuMs), heap: Math.max(worst.heap, got.heap), rss: Math.max(worst.rss, got.rss) };
    }
    const per = (x) => x / n;
    const actual = Math.max(per(worst.rss), per(worst.heap), (per(worst.cpuMs) * 1e6) / 4);
    console.log(
      `| ${name} | ${n.toLocaleString('en')} | ${text.length.toLocaleString('en')} | ${per(worst.rss).toFixed(0)} | ${per(worst.heap).toFixed(0)} | ` +
        `${(per(worst.cpuMs) * 1e6).toFixed(0)} | ${(per(worst.wallMs) * 1e6).toFixed(0)} | ${per(price).toFixed(0)} | ${(per(price) / actual).toFixed(2)} |`,
    );
  }
  console.log(`\nweights in use: ${JSON.stringify(JSON_COST_WEIGHTS)}`);
}

/** The largest count of a shape whose price is within `maxCost`, and whose text is within `maxBytes`. */
function largestAccepted(make, maxCost, maxBytes) {
  let low = 1;
  let high = 2;
  const fits = (n) => {
    const text = make(n);
    return text.length <= maxBytes && measureJsonCost(Buffer.from(text), { maxPayloadCost: maxCost, maxPayloadDepth: 64 }) <= maxCost;
  };
  while (fits(high)) high *= 2;
  while (high - low > Math.max(1, Math.floor(low / 500))) {
    const mid = Math.floor((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid;
  }
  return low;
}

/** The largest count of a shape whose text is within `maxBytes`. */
function largestText(make, maxBytes) {
  let low = 1;
  let high = 2;
  while (make(high).length <= maxBytes) high *= 2;
  while (high - low > Math.max(1, Math.floor(low / 500))) {
    const mid = Math.floor((low + high) / 2);
    if (make(mid).length <= maxBytes) low = mid;
    else high = mid;
  }
  return low;
}

const HOSTILE_SHAPES = {
  'empty objects': UNIT_SHAPES['empty objects [{},…]'],
  'empty arrays': UNIT_SHAPES['empty arrays [[],…]'],
  '[[]] pairs': UNIT_SHAPES['[[]] pairs [[[]],…]'],
  'objects with distinct names': UNIT_SHAPES['objects with a name of their own [{"k1":0},…]'],
  'one object of distinct names': UNIT_SHAPES['one object of distinct names {"k1":0,…}'],
};

const HOSTILE_CHILD = `
const lib = require(process.argv[1]);
const fs = require('node:fs');
const v = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const body = fs.readFileSync(process.argv[3], 'latin1');
(async () => {
  let event;
  const decryptor = await lib.createRequestDecryptor(v.privateJWKS, { onDecrypt: (e) => { event = e; } });
  // A receiver that has been running: the scan and JSON.parse are warm (a 1 MB body first).
  await decryptor.decrypt(fs.readFileSync(process.argv[4], 'latin1'));
  const before = process.memoryUsage().rss;
  let held = 0;
  let last = performance.now();
  const timer = setInterval(() => { const now = performance.now(); held = Math.max(held, now - last); last = now; }, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  let code = 'resolved';
  last = performance.now();
  const cpu0 = process.cpuUsage();
  try { await decryptor.decrypt(body); } catch (err) { code = err.code; }
  const cpu = process.cpuUsage(cpu0);
  // A collection caused by the payload holds the loop too: give it time to run.
  await new Promise((resolve) => setTimeout(resolve, 200));
  clearInterval(timer);
  const hwm = /VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  process.stdout.write(JSON.stringify({ code, cost: event.payloadCost, growth: Number(hwm[1]) * 1024 - before, heldMs: held, cpuMs: (cpu.user + cpu.system) / 1000 }));
})();
`;

async function runHostile(dir) {
  console.log('\n## Hostile shapes under the default options (fresh process each)\n');
  const maxCost = lib.DEFAULT_MAX_PAYLOAD_COST;
  const maxBytes = lib.DEFAULT_MAX_PAYLOAD_BYTES;
  const { vectors } = { vectors: JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'elastic-request-crypto-2.0.3.json'), 'utf8')) };
  const vectorsFile = path.join(dir, 'vectors.json');
  fs.writeFileSync(vectorsFile, JSON.stringify(vectors), { mode: 0o600 });
  const encryptor = await lib.createRequestEncryptor(vectors.publicJWKS);
  const warmFile = path.join(dir, 'warm.txt');
  fs.writeFileSync(warmFile, await encryptor.encrypt('kibana1', payloadOf(1024 * 1024)), 'latin1');
  console.log(`default maxPayloadCost ${maxCost.toLocaleString('en')} units, maxPayloadBytes ${maxBytes.toLocaleString('en')}\n`);
  console.log('| shape | payload | body | result | price (units) | peak RSS growth | bound 64 MiB + 8 × body | event loop held (longest) | process CPU of the call |');
  console.log('| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |');
  const runs = QUICK ? 1 : 3;
  for (const [name, make] of Object.entries(HOSTILE_SHAPES)) {
    const accepted = largestAccepted(make, maxCost, maxBytes);
    const full = largestText(make, maxBytes);
    for (const [label, count] of [[`largest accepted (${accepted.toLocaleString('en')})`, accepted], [`${(maxBytes / MiB).toFixed(1)} MiB (${full.toLocaleString('en')})`, full]]) {
      const payload = JSON.parse(make(count));
      for (const [format, options] of [['jwe+zip', { format: 'jwe', compress: true }], ['legacy', {}]]) {
        const body = await encryptor.encrypt('kibana1', payload, options);
        const bodyFile = path.join(dir, 'body.txt');
        fs.writeFileSync(bodyFile, body, 'latin1');
        let worst;
        for (let run = 0; run < runs; run += 1) {
          const got = JSON.parse(execFileSync(process.execPath, ['-e', HOSTILE_CHILD, LIB, vectorsFile, bodyFile, warmFile], { encoding: 'utf8', timeout: 120_000 }));
          // The best run's time (the one least disturbed by other processes), the worst run's memory.
          worst = {
            ...got,
            heldMs: Math.min(got.heldMs, worst?.heldMs ?? Infinity),
            cpuMs: Math.min(got.cpuMs, worst?.cpuMs ?? Infinity),
            growth: Math.max(got.growth, worst?.growth ?? 0),
          };
        }
        const bound = 64 * MiB + 8 * body.length;
        console.log(
          `| ${name} | ${label} | ${format} ${(body.length / 1024).toFixed(0)} KiB | ${worst.code} | ${(worst.cost ?? 0).toLocaleString('en')} | ` +
            `${(worst.growth / MiB).toFixed(1)} MiB${worst.growth <= bound ? '' : ' **over**'} | ${(bound / MiB).toFixed(1)} MiB | ${worst.heldMs.toFixed(0)} ms${worst.heldMs <= 250 ? '' : ' **over**'} | ${worst.cpuMs.toFixed(0)} ms |`,
        );
      }
    }
  }
}

async function main() {
  console.log(`json-cost bench${QUICK ? ' (--quick)' : ''}: node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0].model}), load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'request-crypto-json-cost-'));
  try {
    if (!process.argv.includes('--hostile-only')) runUnits(dir);
    if (!process.argv.includes('--units-only')) await runHostile(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
