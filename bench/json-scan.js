/**
 * The JSON cost scan alone, JavaScript against WebAssembly SIMD: microseconds per checkJsonCost
 * call on a 10 KB and a 4 MB payload, the median of 7 runs. Needs lib/ (`npm run build`):
 * `node bench/json-scan.js`.
 */
'use strict';

const { checkJsonCost, checkJsonCostJs } = require('../lib/encoding/bounded-json');
const { simdJsonScanAvailable } = require('../lib/encoding/simd-json-scan');

/** `{"cluster_uuid":"bench","items":[{"i":0,"name":"item-0","tags":["alpha","beta"],"value":0},…]}` of about `size` bytes. */
function payload(size) {
  const items = [];
  for (let i = 0, length = 0; length < size; i += 1) {
    const item = { i, name: `item-${i}`, tags: ['alpha', 'beta'], value: i };
    items.push(item);
    length += JSON.stringify(item).length + 1;
  }
  return Buffer.from(JSON.stringify({ cluster_uuid: 'bench', items }));
}

const limits = { maxDepth: 64, maxValues: 10_000_000 };

function microsecondsPerCall(scan, bytes, calls) {
  const runs = [];
  for (let run = 0; run < 7; run += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i += 1) scan(bytes, limits);
    runs.push(Number(process.hrtime.bigint() - start) / 1000 / calls);
  }
  return runs.sort((a, b) => a - b)[3];
}

if (!simdJsonScanAvailable()) throw new Error('no WebAssembly SIMD here');
for (const [size, calls] of [
  [10_000, 20_000],
  [4_000_000, 50],
]) {
  const bytes = payload(size);
  const js = microsecondsPerCall(checkJsonCostJs, bytes, calls);
  const simd = microsecondsPerCall(checkJsonCost, bytes, calls);
  console.log(`${bytes.length} B: JavaScript ${js.toFixed(2)} µs, WebAssembly ${simd.toFixed(2)} µs (${(js / simd).toFixed(1)}×)`);
}
