/**
 * PBKDF2-HMAC-SHA512, the legacy format's key derivation, always on libuv's thread pool.
 *
 * It runs on the accelerator built at install (`native/pbkdf2_sha512.c`) when that is present and
 * gives the same bytes as `crypto.pbkdf2` in a self-check at first use; otherwise on
 * `crypto.pbkdf2`. Both compute the same function with OpenSSL's SHA-512; the accelerator only
 * skips the digest-context copies OpenSSL 3 makes on every iteration.
 *
 * @packageDocumentation
 */
import { getFips, pbkdf2, pbkdf2Sync } from 'node:crypto';
import { join } from 'node:path';

/** Where PBKDF2 runs: the native accelerator, or `crypto.pbkdf2`. */
export type KeyDerivationBackend = 'native' | 'node:crypto';

interface Accelerator {
  derive(passphrase: Buffer, salt: Buffer, iterations: number, keyLength: number): Promise<Buffer>;
  deriveSync(passphrase: Buffer, salt: Buffer, iterations: number, keyLength: number): Buffer;
}

// src/legacy and lib/legacy sit two levels below the package root, where node-gyp builds.
const ACCELERATOR_PATH = join(__dirname, '..', '..', 'build', 'Release', 'pbkdf2_sha512.node');
// The accelerator's own bounds (it refuses more); the format uses 32, 64 and 10,000.
const MAX_INPUT_BYTES = 1024;
const MAX_KEY_LENGTH = 64;

// undefined until the first derivation decides, once per process; null when there is none.
let accelerator: Accelerator | null | undefined;

function theAccelerator(): Accelerator | null {
  // In FIPS mode every derivation stays inside OpenSSL's providers, and the accelerator's SHA-512
  // is outside them. Asked on every call (crypto.setFips can turn FIPS on later) and before any
  // loading, so a FIPS process never even loads the native module.
  if (getFips()) return null;
  if (accelerator === undefined) accelerator = loadAccelerator();
  return accelerator;
}

/** True when `candidate` gives crypto.pbkdf2's bytes for the format's shapes and for a long key. */
function agreesWithNodeCrypto(candidate: Accelerator): boolean {
  const checks: Array<[Buffer, Buffer, number]> = [
    [Buffer.alloc(32, 0x70), Buffer.alloc(64, 0x73), 3],
    [Buffer.alloc(200, 0x6b), Buffer.alloc(0), 2],
  ];
  return checks.every(([passphrase, salt, iterations]) =>
    candidate.deriveSync(passphrase, salt, iterations, 32).equals(pbkdf2Sync(passphrase, salt, iterations, 32, 'sha512')),
  );
}

function loadAccelerator(): Accelerator | null {
  if (process.env['REQUEST_CRYPTO_NATIVE'] === '0') return null;
  try {
    const candidate = require(ACCELERATOR_PATH) as Accelerator;
    return agreesWithNodeCrypto(candidate) ? candidate : null;
  } catch {
    return null; // not built (no compiler, --ignore-scripts) or not loadable here: use crypto.pbkdf2
  }
}

/**
 * Which implementation derives legacy payload keys in this process: `'native'` when the
 * accelerator was built at install and passed its self-check, else `'node:crypto'`; always
 * `'node:crypto'` while `crypto.getFips()` is on.
 * Both produce identical keys; only the speed differs.
 */
export function keyDerivationBackend(): KeyDerivationBackend {
  return theAccelerator() ? 'native' : 'node:crypto';
}

/** PBKDF2-HMAC-SHA512 of `passphrase` and `salt`, computed off the event loop. */
export function pbkdf2Sha512(passphrase: Buffer, salt: Buffer, iterations: number, keyLength: number): Promise<Buffer> {
  const native = theAccelerator();
  if (native && passphrase.length <= MAX_INPUT_BYTES && salt.length <= MAX_INPUT_BYTES && keyLength <= MAX_KEY_LENGTH) {
    return native.derive(passphrase, salt, iterations, keyLength);
  }
  return new Promise((resolve, reject) => {
    pbkdf2(passphrase, salt, iterations, keyLength, 'sha512', (err, key) => (err ? reject(err) : resolve(key)));
  });
}
