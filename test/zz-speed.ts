import { measureJsonCost } from '../src/encoding/bounded-json';
import * as g from './realistic-payloads';
const MB = 4 * 1024 * 1024;
const b = Buffer.from(JSON.stringify(g.clusterRecords(MB)));
let a = 1e9;
for (let r = 0; r < 30; r++) {
  const t0 = process.hrtime.bigint(); measureJsonCost(b, { maxCost: 48 * 1024 * 1024, maxDepth: 64 }); a = Math.min(a, Number(process.hrtime.bigint() - t0) / 1e6);
}
console.log('new', a.toFixed(1));
