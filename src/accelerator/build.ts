/**
 * `request-crypto accelerator build` and `request-crypto accelerator status`: the opt-in PBKDF2
 * accelerator. There is no install script (npm 11 warns about them, npm 12 blocks them, pnpm and
 * bun skip them, and a failed build there was silent), so building is a command a user runs, and
 * it says what it needs, what is missing, and what it gained.
 *
 * @packageDocumentation
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pbkdf2, randomBytes } from 'node:crypto';

import { LEGACY_KEY_DERIVATION } from '../core/algorithms';
import {
  ACCELERATOR_ENV,
  ACCELERATOR_FILE,
  type Accelerator,
  keyDerivationStatus,
  loadAcceleratorFile,
  NATIVE_ENV,
  packageAcceleratorPath,
  passesFormatCheck,
} from './pbkdf2-sha512';

/** Why `accelerator build` stopped. The CLI prints it as `request-crypto: ERR_ACCELERATOR_BUILD: …`. */
export class AcceleratorBuildError extends Error {
  /** The CLI's code for this failure (not one of the library's `ERROR_CODES`: only the CLI builds). */
  readonly code = 'ERR_ACCELERATOR_BUILD';
}

/** One thing node-gyp needs, and whether this machine has it. */
export interface Prerequisite {
  /** What it is, in words a user searches for. */
  name: string;
  /** `'ok'`; `'missing'` stops the build; `'network'`: node-gyp will download it. */
  state: 'ok' | 'missing' | 'network';
  /** What was found, or what to do. */
  detail: string;
}

/** What the build will run with. */
export interface BuildPlan {
  /** Each prerequisite, in the order they are printed. */
  prerequisites: Prerequisite[];
  /** The node-gyp command (program and arguments before `rebuild`), when one was found. */
  nodeGyp?: string[];
  /** Local Node headers to pass as `--nodedir`, so node-gyp needs no network. */
  nodedir?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Runs `command args` and returns its first line of output, or `undefined` when it cannot run. */
function firstLine(command: string, args: string[], env: Env): string | undefined {
  let result;
  try {
    result = spawnSync(command, args, { env: env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 15_000 });
  } catch {
    return undefined; // a command spawn refuses outright (an empty name, a NUL byte)
  }
  if (result.error !== undefined || result.status !== 0) return undefined;
  return `${result.stdout}${result.stderr}`.trim().split('\n')[0] ?? '';
}

function findOnPath(name: string, env: Env): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

function tool(name: string, command: string, env: Env, hint: string): Prerequisite {
  // CC and CXX may carry flags ("gcc -m64"): the program is the first word.
  const program = command.trim().split(/\s+/)[0] || command;
  const version = firstLine(program, ['--version'], env);
  return version === undefined
    ? { name, state: 'missing', detail: `"${program}" was not found or does not run; ${hint}` }
    : { name, state: 'ok', detail: `${program}: ${version}` };
}

function python(env: Env): Prerequisite {
  // node-gyp's own order (lib/find-python.js), less the Windows launcher.
  const candidates = [env['NODE_GYP_FORCE_PYTHON'], env['npm_config_python'], env['PYTHON'], 'python3', 'python'];
  const tried: string[] = [];
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === '') continue;
    tried.push(candidate);
    const version = firstLine(candidate, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], env);
    const [major, minor] = (version ?? '').split('.').map(Number);
    if (major !== undefined && minor !== undefined && (major > 3 || (major === 3 && minor >= 6))) {
      return { name: 'Python 3', state: 'ok', detail: `${candidate}: ${version}` };
    }
  }
  return {
    name: 'Python 3',
    state: 'missing',
    detail: `no Python 3.6 or later (tried ${tried.join(', ')}); node-gyp runs gyp with it: install python3, or set PYTHON`,
  };
}

function hasHeaders(dir: string): boolean {
  return existsSync(join(dir, 'include', 'node', 'node_api.h'));
}

/** The version in `<dir>/include/node/node_version.h`, as `v20.1.2`. */
function headerVersion(dir: string): string | undefined {
  try {
    const text = readFileSync(join(dir, 'include', 'node', 'node_version.h'), 'utf8');
    const part = (name: string): string | undefined => new RegExp(`#define NODE_${name}_VERSION (\\d+)`).exec(text)?.[1];
    return `v${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
  } catch {
    return undefined;
  }
}

/** node-gyp's cache of downloaded headers (env-paths' cache folder for "node-gyp"). */
function nodeGypCache(env: Env): string {
  if (env['npm_config_devdir']) return env['npm_config_devdir'];
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'node-gyp');
  if (process.platform === 'win32') return join(env['LOCALAPPDATA'] ?? join(homedir(), 'AppData', 'Local'), 'node-gyp', 'Cache');
  return join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'node-gyp');
}

/** Where the running Node keeps its headers: the prefixes it was built for and runs from. */
export interface NodeInstall {
  /** Folders that may hold `include/node` (node's configured prefix, the folder above its bin/). */
  prefixes: string[];
  /** The version the headers must match, as `v20.1.2`. */
  version: string;
}

function thisNode(): NodeInstall {
  const configured = (process.config.variables as Record<string, unknown>)['node_prefix'];
  const prefixes = [...(typeof configured === 'string' ? [configured] : []), dirname(dirname(process.execPath))];
  return { prefixes: [...new Set(prefixes)], version: process.version };
}

function nodeHeaders(env: Env, node: NodeInstall): { prerequisite: Prerequisite; nodedir?: string } {
  const name = 'Node headers';
  const given = env['npm_config_nodedir'];
  if (given !== undefined && given !== '') {
    return hasHeaders(given)
      ? { prerequisite: { name, state: 'ok', detail: `npm_config_nodedir=${given}` }, nodedir: given }
      : { prerequisite: { name, state: 'missing', detail: `npm_config_nodedir=${given} has no include/node/node_api.h` } };
  }
  for (const prefix of node.prefixes) {
    // Headers of another Node version would build a module this Node may refuse to load.
    if (hasHeaders(prefix) && headerVersion(prefix) === node.version) {
      return { prerequisite: { name, state: 'ok', detail: `${join(prefix, 'include', 'node')} (${node.version})` }, nodedir: prefix };
    }
  }
  const cached = join(nodeGypCache(env), node.version.slice(1));
  if (hasHeaders(cached)) return { prerequisite: { name, state: 'ok', detail: `node-gyp's cache, ${cached}` } };
  const looked = node.prefixes.map((p) => join(p, 'include', 'node'));
  return {
    prerequisite: {
      name,
      state: 'network',
      detail:
        `not on this machine (looked in ${[...looked, cached].join(', ')}); node-gyp will download them for Node ` +
        `${node.version}, which needs the network (or install them, e.g. your distribution's nodejs headers package, ` +
        'and set npm_config_nodedir)',
    },
  };
}

function resolveNodeGyp(env: Env): string[] | undefined {
  // npm sets npm_config_node_gyp to its bundled node-gyp for scripts it runs.
  const fromNpm = env['npm_config_node_gyp'];
  if (fromNpm !== undefined && existsSync(fromNpm)) return [process.execPath, fromNpm];
  // Otherwise the node-gyp that ships inside npm: next to the running npm, or the one on PATH.
  const npmPlaces: string[] = [];
  if (env['npm_execpath']) npmPlaces.push(dirname(env['npm_execpath']));
  const npmOnPath = findOnPath('npm', env);
  if (npmOnPath !== undefined) {
    try {
      npmPlaces.push(dirname(realpathSync(npmOnPath)));
    } catch {
      // a dangling link: no npm there
    }
  }
  npmPlaces.push(join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm'));
  for (const place of npmPlaces) {
    try {
      return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js', { paths: [place] })];
    } catch {
      // not beside this npm
    }
  }
  const onPath = findOnPath('node-gyp', env);
  return onPath === undefined ? undefined : [onPath];
}

/**
 * Checks everything node-gyp needs to build the accelerator here, without building anything.
 * `node` describes the Node to build for (the running one unless a test says otherwise).
 */
export function planBuild(env: Env = process.env, node: NodeInstall = thisNode()): BuildPlan {
  const prerequisites: Prerequisite[] = [];
  const nodeGyp = resolveNodeGyp(env);
  prerequisites.push(
    nodeGyp === undefined
      ? { name: 'node-gyp', state: 'missing', detail: 'not found beside npm nor on PATH; npm bundles it (or: npm install -g node-gyp)' }
      : { name: 'node-gyp', state: 'ok', detail: nodeGyp[nodeGyp.length - 1] ?? '' },
  );
  if (process.platform === 'win32') {
    prerequisites.push({ name: 'C compiler', state: 'ok', detail: "not checked on Windows: node-gyp needs Visual Studio's C++ build tools" });
  } else {
    prerequisites.push(tool('C compiler', env['CC'] || 'cc', env, 'install gcc or clang, or set CC'));
    // gyp's Makefile links with $(CXX), which make defaults to g++, even for C sources.
    prerequisites.push(tool('C++ compiler (node-gyp links with it)', env['CXX'] || 'g++', env, 'install g++ or clang++, or set CXX'));
    prerequisites.push(tool('make', 'make', env, 'install make'));
  }
  prerequisites.push(python(env));
  const headers = nodeHeaders(env, node);
  prerequisites.push(headers.prerequisite);
  return { prerequisites, ...(nodeGyp === undefined ? {} : { nodeGyp }), ...(headers.nodedir === undefined ? {} : { nodedir: headers.nodedir }) };
}

/** The package folder: two above this file's folder (lib/cli/ or src/cli/). */
export function packageRoot(): string {
  if (typeof __dirname !== 'string') throw new AcceleratorBuildError('cannot find the package folder from a bundle; build from an installed package');
  return join(__dirname, '..', '..');
}

function runNodeGyp(command: string[], args: string[], cwd: string, env: Env): Promise<{ status: number; output: string }> {
  const [program, ...first] = command;
  return new Promise((resolve) => {
    const child = spawn(program ?? 'node-gyp', [...first, ...args], { cwd, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', (err) => resolve({ status: -1, output: err.message }));
    child.on('close', (status) => resolve({ status: status ?? -1, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

function nodePbkdf2(passphrase: Buffer, salt: Buffer): Promise<Buffer> {
  const { iterations, keyBytes } = LEGACY_KEY_DERIVATION;
  return new Promise((resolve, reject) => {
    pbkdf2(passphrase, salt, iterations, keyBytes, 'sha512', (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The accelerator's speed against `crypto.pbkdf2` at the legacy format's shape. */
export interface SpeedUp {
  /** Median over the rounds of (crypto.pbkdf2 time / accelerator time). */
  ratio: number;
  /** The lowest per-round ratio: with {@link SpeedUp.highest}, how noisy the machine was. */
  lowest: number;
  /** The highest per-round ratio. */
  highest: number;
  /** Median milliseconds per derivation on the accelerator. */
  acceleratorMs: number;
  /** Median milliseconds per derivation on `crypto.pbkdf2`. */
  nodeCryptoMs: number;
  /** How many interleaved rounds were timed. */
  rounds: number;
}

/**
 * Measures the speed-up on the legacy format's shape (32-byte passphrase, 64-byte salt, 10,000
 * iterations, 32-byte key): rounds of a few derivations on each, alternating which goes first so
 * that neither gains from the machine warming up, and the median of the per-round ratios.
 */
export async function measureSpeedUp(accelerator: Accelerator, rounds = 9, perRound = 4): Promise<SpeedUp> {
  const { passphraseBytes, saltBytes, iterations, keyBytes } = LEGACY_KEY_DERIVATION;
  const [passphrase, salt] = [randomBytes(passphraseBytes), randomBytes(saltBytes)];
  const time = async (derive: () => Promise<Buffer>): Promise<number> => {
    const start = performance.now();
    for (let i = 0; i < perRound; i++) await derive();
    return (performance.now() - start) / perRound;
  };
  const ours = (): Promise<Buffer> => accelerator.derive(passphrase, salt, iterations, keyBytes);
  const reference = (): Promise<Buffer> => nodePbkdf2(passphrase, salt);
  await ours();
  await reference(); // warm-up: first calls start the thread pool
  const ratios: number[] = [];
  const oursMs: number[] = [];
  const referenceMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let a: number;
    let r: number;
    if (round % 2 === 0) {
      a = await time(ours);
      r = await time(reference);
    } else {
      r = await time(reference);
      a = await time(ours);
    }
    oursMs.push(a);
    referenceMs.push(r);
    ratios.push(r / a);
  }
  return { ratio: median(ratios), lowest: Math.min(...ratios), highest: Math.max(...ratios), acceleratorMs: median(oursMs), nodeCryptoMs: median(referenceMs), rounds };
}

const MARK: Record<Prerequisite['state'], string> = { ok: 'ok', missing: 'MISSING', network: 'download' };

/** `request-crypto accelerator build`: checks, builds with node-gyp, self-checks, measures. */
export async function buildAccelerator(print: (line: string) => void, env: Env = process.env): Promise<void> {
  // binding.gyp lives in native/, not at the package root: there, npm, pnpm and bun would run
  // `node-gyp rebuild` at install on their own, the very install script this command replaces.
  const native = join(packageRoot(), 'native');
  if (!existsSync(join(native, 'binding.gyp'))) {
    throw new AcceleratorBuildError(`${join(native, 'binding.gyp')} is missing: this copy of the package has no accelerator source`);
  }
  const plan = planBuild(env);
  print('Prerequisites:');
  for (const p of plan.prerequisites) print(`  ${p.name}: ${MARK[p.state]} (${p.detail})`);
  const missing = plan.prerequisites.filter((p) => p.state === 'missing');
  if (missing.length > 0) {
    throw new AcceleratorBuildError(`missing ${missing.map((p) => p.name).join(', ')}: see the list above; nothing was built`);
  }
  const args = ['rebuild', ...(plan.nodedir === undefined ? [] : [`--nodedir=${plan.nodedir}`])];
  print(`Building in ${native}: ${[...(plan.nodeGyp ?? []), ...args].join(' ')}`);
  const result = await runNodeGyp(plan.nodeGyp ?? ['node-gyp'], args, native, env);
  if (result.status !== 0) {
    const tail = result.output.trim().split('\n').slice(-15);
    for (const line of tail) print(`  | ${line}`);
    const download = plan.prerequisites.some((p) => p.state === 'network');
    throw new AcceleratorBuildError(
      download
        ? 'node-gyp failed; it had to download the Node headers, which needs the network (see above)'
        : `node-gyp failed with status ${result.status} (its last lines are above)`,
    );
  }
  const path = join(native, 'build', 'Release', ACCELERATOR_FILE);
  const loaded = loadAcceleratorFile(path, false);
  if (loaded.accelerator === null || !(await passesFormatCheck(loaded.accelerator))) {
    throw new AcceleratorBuildError(`built ${path}, but it does not match crypto.pbkdf2, so it will not be used`);
  }
  print(`Built ${path}; it matches crypto.pbkdf2 (also at 10,000 iterations).`);
  const speed = await measureSpeedUp(loaded.accelerator);
  print(
    `Speed-up: ${speed.ratio.toFixed(2)}x over crypto.pbkdf2 for a legacy body's key derivation (median of ` +
      `${speed.rounds} interleaved rounds, which ranged ${speed.lowest.toFixed(2)}-${speed.highest.toFixed(2)}x; ` +
      `${speed.acceleratorMs.toFixed(2)} ms vs ${speed.nodeCryptoMs.toFixed(2)} ms per derivation at the format's ` +
      'shape: 32-byte passphrase, 64-byte salt, 10,000 iterations, 32-byte key).',
  );
  if (env[NATIVE_ENV] === '0') print(`Note: ${NATIVE_ENV}=0 is set here, and turns it off in every process that has it.`);
  if (env[ACCELERATOR_ENV]) print(`Note: ${ACCELERATOR_ENV} is set here, so processes with it load that file instead.`);
}

/** `request-crypto accelerator status`: which backend a process like this one uses, and why. */
export async function acceleratorStatus(print: (line: string) => void): Promise<void> {
  const status = await keyDerivationStatus();
  print(`backend: ${status.backend}`);
  print(`why: ${status.reason}`);
  if (status.path === undefined) {
    const own = packageAcceleratorPath();
    if (own !== undefined) print(`package accelerator: ${own}${existsSync(own) ? '' : ' (not built)'}`);
  } else {
    print(`file: ${status.path}`);
  }
}
