/**
 * PBKDF2-HMAC-SHA512, the legacy format's key derivation, always on libuv's thread pool.
 *
 * It runs on the optional accelerator (`native/pbkdf2_sha512.c`, built on request with
 * `request-crypto accelerator build`) when one is found and gives the same bytes as
 * `crypto.pbkdf2` in a one-time self-check; otherwise on `crypto.pbkdf2`. Both compute the same
 * function with OpenSSL's SHA-512; the accelerator only skips the digest-context copies OpenSSL 3
 * makes on every iteration.
 *
 * Nothing here runs at module load: the accelerator's location is worked out, and the file
 * loaded, at the first derivation (or the first {@link keyDerivationBackend} call). That keeps
 * bundles working where `__dirname` does not exist (ESM) or points at the bundle, not the package.
 *
 * @packageDocumentation
 */
import { getFips, pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

import { LEGACY_KEY_DERIVATION } from '../core/algorithms';
import { loadAddon } from './load-addon';

/** Where PBKDF2 runs: the native accelerator, or `crypto.pbkdf2`. */
export type KeyDerivationBackend = 'native' | 'node:crypto';

/** The accelerator's two calls (see `native/pbkdf2_sha512.c`). */
export interface Accelerator {
  /** PBKDF2-HMAC-SHA512 on libuv's thread pool. */
  derive(passphrase: Buffer, salt: Buffer, iterations: number, keyLength: number): Promise<Buffer>;
  /** The same on the calling thread; only self-checks use it. */
  deriveSync(passphrase: Buffer, salt: Buffer, iterations: number, keyLength: number): Buffer;
}

/** Why a process uses the backend it uses: what `request-crypto accelerator status` prints. */
export interface KeyDerivationStatus {
  /** The backend every derivation of this process uses. */
  backend: KeyDerivationBackend;
  /** One sentence: why. */
  reason: string;
  /** The accelerator file that was looked for or loaded, when there was one to look for. */
  path?: string;
}

/** The environment variable naming an accelerator file, for bundles that ship one beside them. */
export const ACCELERATOR_ENV = 'REQUEST_CRYPTO_ACCELERATOR';
/** The environment variable that turns the accelerator off when set to `0`. */
export const NATIVE_ENV = 'REQUEST_CRYPTO_NATIVE';
/** The accelerator's file name, as node-gyp builds it under `native/build/Release`. */
export const ACCELERATOR_FILE = 'pbkdf2_sha512.node';

// The accelerator's own bounds (it refuses more); the format uses 32, 64 and 10,000.
const MAX_INPUT_BYTES = 1024;
const MAX_KEY_LENGTH = 64;
// The format's exact shape, which the long self-check runs.
const { passphraseBytes, saltBytes, iterations: FORMAT_ITERATIONS, keyBytes } = LEGACY_KEY_DERIVATION;

/**
 * Where the package's own build puts the accelerator, or `undefined` where this code has no
 * `__dirname` (an ESM bundle). Worked out on demand only: in a CommonJS bundle `__dirname` is the
 * bundle's folder, so the path points nowhere and the fallback is used, never a wrong file.
 */
export function packageAcceleratorPath(): string | undefined {
  // src/accelerator and lib/accelerator sit two levels below the package root; node-gyp builds in native/.
  return typeof __dirname === 'string' ? join(__dirname, '..', '..', 'native', 'build', 'Release', ACCELERATOR_FILE) : undefined;
}

/** True when FIPS mode is on: then every derivation must go through OpenSSL's providers. */
function fipsMode(): boolean {
  try {
    return getFips() === 1;
  } catch {
    return false; // no FIPS support compiled in
  }
}

// The candidate: loaded and past the short, synchronous checks. undefined until looked for.
let candidate: { accelerator: Accelerator | null; status: KeyDerivationStatus } | undefined;
// The verdict after the long check; undefined until the check has run.
let verdict: KeyDerivationStatus | undefined;
// The one-time asynchronous long check that derivations wait for.
let verifying: Promise<void> | undefined;

/** The short checks: the format's shape at a few iterations, and a passphrase longer than a block. */
function passesShortChecks(accelerator: Accelerator): boolean {
  const checks: Array<[Buffer, Buffer, number]> = [
    [Buffer.alloc(32, 0x70), Buffer.alloc(64, 0x73), 3],
    [Buffer.alloc(200, 0x6b), Buffer.alloc(0), 2],
  ];
  return checks.every(([passphrase, salt, iterations]) =>
    accelerator.deriveSync(passphrase, salt, iterations, 32).equals(pbkdf2Sync(passphrase, salt, iterations, 32, 'sha512')),
  );
}

function nodePbkdf2(passphrase: Buffer, salt: Buffer, iterations: number, keyLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(passphrase, salt, iterations, keyLength, 'sha512', (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * The long check, at the format's exact shape (32-byte passphrase, 64-byte salt, 10,000
 * iterations, 32-byte key) through the call derivations use, `derive`, against `crypto.pbkdf2`:
 * a build that goes wrong only after many iterations passes the short checks but not this one.
 * Both run on the thread pool, so the event loop is not held while they run.
 */
export async function passesFormatCheck(accelerator: Accelerator): Promise<boolean> {
  const [passphrase, salt] = [randomBytes(passphraseBytes), randomBytes(saltBytes)];
  try {
    const [ours, reference] = await Promise.all([
      accelerator.derive(passphrase, salt, FORMAT_ITERATIONS, keyBytes),
      nodePbkdf2(passphrase, salt, FORMAT_ITERATIONS, keyBytes),
    ]);
    return Buffer.isBuffer(ours) && ours.equals(reference);
  } catch {
    return false;
  }
}

/** The same long check on the calling thread, for a synchronous {@link keyDerivationBackend}. */
function passesFormatCheckSync(accelerator: Accelerator): boolean {
  const [passphrase, salt] = [randomBytes(passphraseBytes), randomBytes(saltBytes)];
  try {
    const ours = accelerator.deriveSync(passphrase, salt, FORMAT_ITERATIONS, keyBytes);
    return Buffer.isBuffer(ours) && ours.equals(pbkdf2Sync(passphrase, salt, FORMAT_ITERATIONS, keyBytes, 'sha512'));
  } catch {
    return false;
  }
}

/**
 * The file `REQUEST_CRYPTO_ACCELERATOR` names, or why it names none: an absolute path, or a path
 * starting with `./` or `../` taken from the working directory, of a file ending in `.node`.
 * Anything else (a bare name, which `require` would look for in every `node_modules` folder up
 * to the root; a `.js` file, which would run as code) is refused.
 */
export function acceleratorPathOf(given: string): { path: string } | { refused: string } {
  const relative = /^\.\.?[\\/]/.test(given);
  if (!isAbsolute(given) && !relative) {
    return { refused: `${ACCELERATOR_ENV}=${given} is refused: give an absolute path or one starting with ./ (from the working directory) to a .node file` };
  }
  if (!given.endsWith('.node')) {
    return { refused: `${ACCELERATOR_ENV}=${given} is refused: the accelerator is a .node addon file, and nothing else is loaded` };
  }
  return { path: relative ? resolve(process.cwd(), given) : given };
}

/** Loads an accelerator file and runs the short checks; describes what happened either way. */
export function loadAcceleratorFile(path: string, given: boolean): { accelerator: Accelerator | null; status: KeyDerivationStatus } {
  const origin = given ? `${ACCELERATOR_ENV}=${path}` : path;
  let loaded: Accelerator;
  if (!existsSync(path)) {
    const reason = given
      ? `${origin} was given, but there is no such file`
      : `the accelerator is not built (no ${path}); run "request-crypto accelerator build"`;
    return { accelerator: null, status: { backend: 'node:crypto', reason, path } };
  }
  try {
    // Loaded as an addon from this one file: never through require's search, never as JavaScript.
    loaded = loadAddon(path) as Accelerator;
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { accelerator: null, status: { backend: 'node:crypto', reason: `${origin} could not be loaded: ${message}`, path } };
  }
  let agrees = false;
  try {
    agrees = typeof loaded.derive === 'function' && typeof loaded.deriveSync === 'function' && passesShortChecks(loaded);
  } catch {
    agrees = false;
  }
  if (!agrees) {
    return { accelerator: null, status: { backend: 'node:crypto', reason: `${origin} failed its self-check against crypto.pbkdf2`, path } };
  }
  return { accelerator: loaded, status: { backend: 'native', reason: `${origin} loaded and matches crypto.pbkdf2`, path } };
}

/** Finds and loads the accelerator once per process; never throws. */
function theCandidate(): { accelerator: Accelerator | null; status: KeyDerivationStatus } {
  if (candidate !== undefined) return candidate;
  if (process.env[NATIVE_ENV] === '0') {
    candidate = { accelerator: null, status: { backend: 'node:crypto', reason: `${NATIVE_ENV}=0 turns the accelerator off` } };
    return candidate;
  }
  const given = process.env[ACCELERATOR_ENV];
  if (given !== undefined && given !== '') {
    const named = acceleratorPathOf(given);
    if ('refused' in named) {
      // Said once, at the first derivation, where the operator looks: the process goes on with crypto.pbkdf2.
      process.emitWarning(named.refused, { code: 'REQUEST_CRYPTO_ACCELERATOR_REFUSED' });
      candidate = { accelerator: null, status: { backend: 'node:crypto', reason: named.refused } };
    } else {
      candidate = loadAcceleratorFile(named.path, true);
    }
    return candidate;
  }
  const path = packageAcceleratorPath();
  candidate =
    path === undefined
      ? {
          accelerator: null,
          status: {
            backend: 'node:crypto',
            reason: `this code runs without a package folder (an ESM bundle); set ${ACCELERATOR_ENV} to an accelerator file to use one`,
          },
        }
      : loadAcceleratorFile(path, false);
  return candidate;
}

function failedFormatCheck(status: KeyDerivationStatus): KeyDerivationStatus {
  return {
    backend: 'node:crypto',
    reason: `${status.path ?? 'the accelerator'} failed its self-check at 10,000 iterations against crypto.pbkdf2`,
    ...(status.path === undefined ? {} : { path: status.path }),
  };
}

// True once the asynchronous long check has finished (whatever it found).
let checked = false;

/** Runs the one-time asynchronous long check; every derivation waits for it once. */
function verified(): Promise<void> {
  verifying ??= (async () => {
    const { accelerator, status } = theCandidate();
    if (accelerator === null) {
      verdict ??= status;
    } else if (await passesFormatCheck(accelerator)) {
      verdict ??= status;
    } else {
      // A synchronous keyDerivationBackend() call may have decided meanwhile; a failure still wins.
      verdict = failedFormatCheck(status);
    }
    checked = true;
  })();
  return verifying;
}

const FIPS_STATUS: KeyDerivationStatus = {
  backend: 'node:crypto',
  reason: "FIPS mode is on (crypto.getFips()): PBKDF2 runs in OpenSSL's FIPS provider through crypto.pbkdf2, and the accelerator is never loaded",
};

/**
 * Why this process derives keys where it does. Waits for the one-time self-check, so the answer
 * is the one derivations get.
 */
export async function keyDerivationStatus(): Promise<KeyDerivationStatus> {
  if (fipsMode()) return FIPS_STATUS;
  await verified();
  return verdict ?? theCandidate().status;
}

/**
 * Which implementation derives legacy payload keys in this process: `'native'` when the PBKDF2
 * accelerator was found (`request-crypto accelerator build`, or a file named by
 * `REQUEST_CRYPTO_ACCELERATOR`) and passed its self-check, else `'node:crypto'`. Always
 * `'node:crypto'` while `crypto.getFips()` is on. Both produce identical keys; only the speed
 * differs. Called before the first derivation, it runs the one-time self-check synchronously
 * (about 10 ms).
 */
export function keyDerivationBackend(): KeyDerivationBackend {
  if (fipsMode()) return 'node:crypto';
  if (verdict === undefined) {
    const { accelerator, status } = theCandidate();
    verdict = accelerator === null || passesFormatCheckSync(accelerator) ? status : failedFormatCheck(status);
  }
  return verdict.backend;
}

function derive(passphrase: Buffer, salt: Buffer, iterations: number, keyLength: number): Promise<Buffer> {
  const native = verdict?.backend === 'native' ? theCandidate().accelerator : null;
  if (native && passphrase.length <= MAX_INPUT_BYTES && salt.length <= MAX_INPUT_BYTES && keyLength <= MAX_KEY_LENGTH) {
    return native.derive(passphrase, salt, iterations, keyLength);
  }
  return nodePbkdf2(passphrase, salt, iterations, keyLength);
}

/**
 * PBKDF2-HMAC-SHA512 of `passphrase` and `salt`, computed off the event loop. Both buffers are
 * copied before this returns, so a caller may wipe them at once.
 */
export function pbkdf2Sha512(passphrase: Buffer, salt: Buffer, iterations: number, keyLength: number): Promise<Buffer> {
  // Checked on every call: FIPS mode can be switched on after the accelerator was chosen.
  if (fipsMode()) return nodePbkdf2(passphrase, salt, iterations, keyLength);
  if (checked) return derive(passphrase, salt, iterations, keyLength);
  // The first derivations wait for the one-time check, on copies that are wiped afterwards.
  const [passphraseCopy, saltCopy] = [Buffer.from(passphrase), Buffer.from(salt)];
  return verified()
    .then(() => derive(passphraseCopy, saltCopy, iterations, keyLength))
    .finally(() => {
      passphraseCopy.fill(0);
      saltCopy.fill(0);
    });
}
