// What `request-crypto accelerator build` checks before it builds, and how it measures. The build
// itself runs in every `npm test` (npm run build:accelerator) and from an install in
// test/package.test.ts; the CLI's own reports are in test/cli.test.ts.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { getFips, pbkdf2Sync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { measureSpeedUp, planBuild, type Prerequisite } from '../src/accelerator/build';
import type { Accelerator } from '../src/accelerator/pbkdf2-sha512';
import { itUnlessFips } from './helpers';

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

// In child processes on the built lib/ (npm run build, npm run build:accelerator), installed under
// a folder whose node_modules holds a planted JavaScript package named like the accelerator.
describe('the file REQUEST_CRYPTO_ACCELERATOR names', () => {
  const ROOT = join(__dirname, '..');
  const BUILT = join(ROOT, 'native', 'build', 'Release', 'pbkdf2_sha512.node');
  let top: string;
  let install: string;
  let marker: string;

  beforeAll(() => {
    top = mkdtempSync(join(tmpdir(), 'request-crypto-planted-'));
    install = join(top, 'app', 'node_modules', 'request-crypto');
    cpSync(join(ROOT, 'lib'), join(install, 'lib'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(install, 'package.json'));
    // tslib and node-jose, where the copy finds them; the planted package sits above them all.
    symlinkSync(join(ROOT, 'node_modules'), join(install, 'node_modules'), 'dir');
    marker = join(top, 'planted-was-loaded');
    const planted = join(top, 'node_modules', 'pbkdf2_sha512.node');
    mkdirSync(planted, { recursive: true });
    // Correct PBKDF2 (it would pass every self-check), and it leaves a mark when it runs.
    writeFileSync(
      join(planted, 'index.js'),
      `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'loaded');
const { pbkdf2Sync } = require('node:crypto');
const deriveSync = (p, s, n, len) => pbkdf2Sync(p, s, n, len, 'sha512');
module.exports = { deriveSync, derive: async (p, s, n, len) => deriveSync(p, s, n, len) };
`,
    );
    writeFileSync(join(top, 'stand-in.js'), `module.exports = require(${JSON.stringify(join(planted, 'index.js'))});\n`);
    cpSync(BUILT, join(top, 'app', 'pbkdf2_sha512.node'));
  });
  afterAll(() => rmSync(top, { recursive: true, force: true }));
  beforeEach(() => rmSync(marker, { force: true }));

  /** Runs one legacy body through the installed copy with `value` in the environment, from `cwd`. */
  function derivedWith(value: string, cwd = join(top, 'app')): { backend: string; reason: string; path?: string; stderr: string } {
    const script = `const rc = require(${JSON.stringify(join(install, 'lib', 'index.js'))});
(async () => {
  const { publicJWKS, privateJWKS } = await require(${JSON.stringify(join(install, 'lib', 'testing.js'))}).createTestKeyset({ kids: ['k'] });
  const body = await (await rc.createRequestEncryptor(publicJWKS)).encrypt('k', { n: 1 });
  const payload = await (await rc.createRequestDecryptor(privateJWKS)).decrypt(body);
  if (payload.n !== 1) throw new Error('wrong payload');
  const status = await require(${JSON.stringify(join(install, 'lib', 'accelerator', 'pbkdf2-sha512.js'))}).keyDerivationStatus();
  console.log(JSON.stringify({ backend: rc.keyDerivationBackend(), reason: status.reason, path: status.path }));
})().catch((err) => { console.error(err); process.exit(1); });`;
    const env: NodeJS.ProcessEnv = { ...process.env, REQUEST_CRYPTO_ACCELERATOR: value };
    delete env['REQUEST_CRYPTO_NATIVE'];
    const result = spawnSync(process.execPath, ['-e', script], { cwd, env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`);
    return { ...(JSON.parse(result.stdout) as { backend: string; reason: string; path?: string }), stderr: result.stderr };
  }

  /** In FIPS mode nothing is loaded at all, whatever is named: the reason says that instead. */
  const reasonOr = (outsideFips: RegExp): RegExp => (getFips() === 1 ? /FIPS mode is on/ : outsideFips);

  it('never loads a package of that name from node_modules: a bare name is refused with a warning, and the backend stays node:crypto', () => {
    const result = derivedWith('pbkdf2_sha512.node');
    expect(existsSync(marker)).toBe(false);
    expect(result.backend).toBe('node:crypto');
    expect(result.reason).toMatch(reasonOr(/REQUEST_CRYPTO_ACCELERATOR=pbkdf2_sha512\.node is refused: give an absolute path or one starting with \.\//));
    if (getFips() !== 1) expect(result.stderr).toContain('REQUEST_CRYPTO_ACCELERATOR=pbkdf2_sha512.node is refused');
  });

  it('never runs a JavaScript file, even named by an absolute path', () => {
    const result = derivedWith(join(top, 'stand-in.js'));
    expect(existsSync(marker)).toBe(false);
    expect(result.backend).toBe('node:crypto');
    expect(result.reason).toMatch(reasonOr(/is refused: the accelerator is a \.node addon file/));
  });

  it('never runs JavaScript through a file named .node: it is loaded as an addon, which it is not', () => {
    cpSync(join(top, 'node_modules', 'pbkdf2_sha512.node', 'index.js'), join(top, 'script.node'));
    const result = derivedWith(join(top, 'script.node'));
    expect(existsSync(marker)).toBe(false);
    expect(result.backend).toBe('node:crypto');
    expect(result.reason).toMatch(reasonOr(/could not be loaded/));
  });

  itUnlessFips('resolves ./ against the working directory, not the package folder', () => {
    const result = derivedWith('./pbkdf2_sha512.node');
    expect(result).toMatchObject({ backend: 'native', path: join(top, 'app', 'pbkdf2_sha512.node') });
    expect(existsSync(marker)).toBe(false);
  });

  itUnlessFips('loads an absolute path to a .node file', () => {
    expect(derivedWith(join(top, 'app', 'pbkdf2_sha512.node'), top)).toMatchObject({ backend: 'native', path: join(top, 'app', 'pbkdf2_sha512.node') });
  });
});
