/**
 * One measuring window, shared by the bench scripts: `fn` kept `inflight` times pending.
 */
'use strict';

/**
 * Runs `fn` with `inflight` calls always pending, for at least `windowMs` and `minOps` calls;
 * the calls per second and each call's latency in ms.
 */
async function window(fn, inflight, windowMs, minOps = 1) {
  const latencies = [];
  const started = performance.now();
  let done = 0;
  const worker = async () => {
    while (performance.now() - started < windowMs || done < minOps) {
      const t = performance.now();
      await fn();
      latencies.push(performance.now() - t);
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const elapsed = performance.now() - started;
  return { opsPerSec: (done * 1000) / elapsed, latencies };
}

module.exports = { window };
