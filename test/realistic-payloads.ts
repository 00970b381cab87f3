/**
 * Generators of realistic telemetry payloads of about a given size, for the payload limits: each
 * is made from a seeded random source (the same payload every run) and none is tuned to a limit.
 */
import { seededRandom } from './helpers';

const hex = (next: () => number, length: number): string => {
  let out = '';
  while (out.length < length) out += Math.floor(next() * 0x100000000).toString(16).padStart(8, '0');
  return out.slice(0, length);
};
const uuid = (next: () => number): string => {
  const h = hex(next, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
};
const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
const int = (next: () => number, max: number): number => Math.floor(next() * max);

/** Grows a list with `make` until its JSON reaches `bytes`. */
function fill<T>(bytes: number, make: (i: number) => T): T[] {
  const items: T[] = [];
  let size = 2;
  for (let i = 0; size < bytes; i += 1) {
    const item = make(i);
    size += JSON.stringify(item).length + 1;
    items.push(item);
  }
  return items;
}

const VERSIONS = ['7.17.18', '8.11.4', '8.12.2', '8.13.0', '8.14.3', '8.15.1'];
const INDEX_NAMES = ['logs', 'metrics', 'traces', 'apm', 'beats', 'audit', 'alerts', 'fleet'];

/** One cluster record: a UUID, a version, a few numbers and ten `{ name, docs }` pairs. */
function clusterRecord(next: () => number): Record<string, unknown> {
  return {
    cluster_uuid: uuid(next),
    version: pick(next, VERSIONS),
    timestamp: 1_733_000_000_000 + int(next, 86_400_000),
    nodes: 1 + int(next, 40),
    shards: int(next, 5000),
    indices: Array.from({ length: 10 }, () => ({ name: `${pick(next, INDEX_NAMES)}-${int(next, 100)}`, docs: int(next, 10_000_000) })),
  };
}

/** Many small records (a UUID, a version, numbers, ten `{ name, docs }` pairs each) to about `bytes`. */
export function clusterRecords(bytes: number, seed = 1): { clusters: Array<Record<string, unknown>> } {
  const next = seededRandom(seed);
  return { clusters: fill(bytes, () => clusterRecord(next)) };
}

/** The shape of the report: exactly `count` cluster records (9,500 make about 4 MiB). */
export function clusterReport(count: number, seed = 2): { clusters: Array<Record<string, unknown>> } {
  const next = seededRandom(seed);
  return { clusters: Array.from({ length: count }, () => clusterRecord(next)) };
}

/**
 * One large nested usage object: hundreds of distinct feature names, each with counters, flags
 * and a per-day breakdown, grown by days to about `bytes`.
 */
export function usageObject(bytes: number, seed = 3): Record<string, unknown> {
  const next = seededRandom(seed);
  const features = Array.from({ length: 400 }, (_, i) => `${pick(next, ['discover', 'lens', 'maps', 'ml', 'siem', 'canvas', 'apm', 'fleet'])}_${pick(next, ['panel', 'query', 'export', 'job', 'rule', 'view'])}_${i}`);
  const usage: Record<string, Record<string, unknown>> = {};
  for (const feature of features) {
    usage[feature] = { enabled: next() > 0.2, total: int(next, 1e6), last_used: 1_733_000_000_000 + int(next, 1e9), by_day: {} };
  }
  const report = { cluster_uuid: uuid(next), stack_stats: { kibana: { usage } } };
  let size = JSON.stringify(report).length;
  for (let day = 0; size < bytes; day += 1) {
    const date = new Date(Date.UTC(2024, 0, 1 + day)).toISOString().slice(0, 10);
    for (const feature of features) {
      const entry = { count: int(next, 5000), p50_ms: Math.round(next() * 500 * 10) / 10, p99_ms: Math.round(next() * 5000) };
      (usage[feature]!.by_day as Record<string, unknown>)[date] = entry;
      size += date.length + JSON.stringify(entry).length + 4;
      if (size >= bytes) break;
    }
  }
  return report;
}

/** Log-like lines: a timestamp, a level, a logger, a message and ids, to about `bytes`. */
export function logLines(bytes: number, seed = 4): { logs: Array<Record<string, unknown>> } {
  const next = seededRandom(seed);
  const paths = ['/api/status', '/api/saved_objects/_find', '/internal/search/ese', '/api/fleet/agents', '/app/discover'];
  return {
    logs: fill(bytes, (i) => ({
      '@timestamp': new Date(1_733_000_000_000 + i * 137).toISOString(),
      level: pick(next, ['info', 'info', 'info', 'warn', 'error', 'debug']),
      logger: pick(next, ['http.server.response', 'plugins.taskManager', 'elasticsearch.query', 'plugins.fleet']),
      message: `${pick(next, ['GET', 'POST', 'PUT'])} ${pick(next, paths)}?page=${int(next, 50)} ${pick(next, [200, 200, 201, 404, 500])} ${int(next, 2000)}ms - ${int(next, 90_000)}.0B`,
      trace_id: hex(next, 32),
      user: `user-${int(next, 500)}`,
    })),
  };
}

/** Numeric time series: per series a name, tags and `[timestamp_ms, value]` points, to about `bytes`. */
export function timeSeries(bytes: number, seed = 5): { series: Array<Record<string, unknown>> } {
  const next = seededRandom(seed);
  return {
    series: fill(bytes, (i) => ({
      metric: pick(next, ['system.cpu.pct', 'system.memory.used', 'jvm.gc.time', 'http.latency.p95', 'disk.io.read']),
      tags: { host: `host-${i % 300}`, region: pick(next, ['us-east-1', 'eu-west-1', 'ap-south-1']) },
      points: Array.from({ length: 60 }, (_, t) => [1_733_000_000_000 + t * 10_000, Math.round(next() * 100_000) / 1000]),
    })),
  };
}
