// What `request-crypto accelerator build` checks before it builds, and how it measures. The build
// itself runs in every `npm test` (npm run build:accelerator) and from an install in
// test/package.test.ts; the CLI's own reports are in test/cli.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { pbkdf2Sync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { measureSpeedUp, planBuild, type Prerequisite } from '../src/accelerator';
import type { Accelerator } from '../src/legacy/pbkdf2-sha512';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'request-crypto-accelerator-plan-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const headersOf = (prerequisites: Prerequisite[]): Prerequisite | undefined => prerequisites.find((p) => p.name === 'Node headers');

/** A Node prefix whose include/node holds the headers of `version`. */
function prefixWithHeaders(name: string, version: string): string {
  const prefix = join(dir, name);
  mkdirSync(join(prefix, 'include', 'node'), { recursive: true });
  writeFileSync(join(prefix, 'include', 'node', 'node_api.h'), '');
  const [major, minor, patch] = version.slice(1).split('.');
  writeFileSync(
    join(prefix, 'include', 'node', 'node_version.h'),
    `#define NODE_MAJOR_VERSION ${major}\n#define NODE_MINOR_VERSION ${minor}\n#define NODE_PATCH_VERSION ${patch}\n`,
  );
  return prefix;
}

describe('the Node headers prerequisite', () => {
  // An empty node-gyp cache, so only the prefixes given can hold headers.
  const env = (): Record<string, string | undefined> => ({ ...process.env, npm_config_devdir: join(dir, 'empty-cache'), npm_config_nodedir: undefined });

  it('uses headers beside node, passed to node-gyp as --nodedir, so the build needs no network', () => {
    const prefix = prefixWithHeaders('matching', 'v20.1.2');
    const plan = planBuild(env(), { prefixes: [prefix], version: 'v20.1.2' });
    expect(headersOf(plan.prerequisites)?.state).toBe('ok');
    expect(plan.nodedir).toBe(prefix);
  });

  it('ignores headers of another Node version', () => {
    const prefix = prefixWithHeaders('other-version', 'v18.0.0');
    const plan = planBuild(env(), { prefixes: [prefix], version: 'v20.1.2' });
    expect(headersOf(plan.prerequisites)?.state).toBe('network');
    expect(plan.nodedir).toBeUndefined();
  });

  it('without local headers, says that node-gyp will download them and that this needs the network', () => {
    const plan = planBuild(env(), { prefixes: [join(dir, 'no-headers')], version: 'v20.1.2' });
    const headers = headersOf(plan.prerequisites);
    expect(headers?.state).toBe('network');
    expect(headers?.detail).toMatch(/node-gyp will download them for Node v20\.1\.2, which needs the network/);
    expect(headers?.detail).toContain(join(dir, 'no-headers', 'include', 'node'));
  });

  it("finds headers node-gyp downloaded before, in its cache", () => {
    const cache = join(dir, 'cache');
    prefixWithHeaders(join('cache', '20.1.2'), 'v20.1.2');
    const plan = planBuild({ ...env(), npm_config_devdir: cache }, { prefixes: [join(dir, 'no-headers')], version: 'v20.1.2' });
    expect(headersOf(plan.prerequisites)).toMatchObject({ state: 'ok', detail: `node-gyp's cache, ${join(cache, '20.1.2')}` });
  });
});

describe('the speed-up', () => {
  const reference = (p: Buffer, s: Buffer, n: number, len: number): Buffer => pbkdf2Sync(p, s, n, len, 'sha512');

  it('is the median over interleaved rounds of crypto.pbkdf2 time over accelerator time', async () => {
    // A stand-in that answers at once is many times faster than 10,000 iterations of PBKDF2.
    const instant: Accelerator = { derive: async (p, s, n, len) => Buffer.alloc(len), deriveSync: reference };
    const speed = await measureSpeedUp(instant, 3, 1);
    expect(speed.rounds).toBe(3);
    expect(speed.ratio).toBeGreaterThan(5);
    expect(speed.lowest).toBeLessThanOrEqual(speed.ratio);
    expect(speed.highest).toBeGreaterThanOrEqual(speed.ratio);
  });
});
