import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { getFips, pbkdf2Sync, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import fc from 'fast-check';

import type * as requestCrypto from '../src';
import type * as addonLoader from '../src/accelerator/load-addon';
import type * as loader from '../src/accelerator/pbkdf2-sha512';
import { pbkdf2Sha512 } from '../src/accelerator/pbkdf2-sha512';
import { itUnlessFips, vectors } from './helpers';

const ACCELERATOR_PATH = join(__dirname, '..', 'native', 'build', 'Release', 'pbkdf2_sha512.node');
const LOAD_ADDON = '../src/accelerator/load-addon';

/**
 * Makes the loader's addon loading give `factory()` for the file at `path` (and JavaScript
 * stand-ins for `.node` paths that have a `.js` beside them, see fakeAccelerator), the real
 * addon for any other file.
 */
function mockAddon(path: string | undefined, factory?: () => unknown): void {
  jest.doMock(LOAD_ADDON, () => {
    const real = jest.requireActual<typeof addonLoader>(LOAD_ADDON);
    return {
      loadAddon: (file: string): unknown => {
        if (file === path && factory !== undefined) return factory();
        const standIn = file.replace(/\.node$/, '.js');
        if (standIn !== file && existsSync(standIn)) return jest.requireActual(standIn);
        return real.loadAddon(file);
      },
    };
  });
}

interface Accelerator {
  derive(...args: unknown[]): Promise<Buffer>;
  deriveSync(...args: unknown[]): Buffer;
}

const reference = (passphrase: Buffer, salt: Buffer, iterations: number, keyLength: number): Buffer =>
  pbkdf2Sync(passphrase, salt, iterations, keyLength, 'sha512');

describe('the PBKDF2 accelerator', () => {
  it('is built by npm test and used by default, unless FIPS mode is on', () => {
    delete process.env['REQUEST_CRYPTO_NATIVE'];
    delete process.env['REQUEST_CRYPTO_ACCELERATOR'];
    try {
      expect(isolatedLoader().keyDerivationBackend()).toBe(getFips() === 1 ? 'node:crypto' : 'native');
    } finally {
      restore();
    }
  });

  it('gives the published PBKDF2-HMAC-SHA512 vectors for "password" and "salt"', async () => {
    const password = Buffer.from('password');
    const salt = Buffer.from('salt');
    expect((await pbkdf2Sha512(password, salt, 1, 64)).toString('hex')).toBe(
      '867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce',
    );
    expect((await pbkdf2Sha512(password, salt, 2, 64)).toString('hex')).toBe(
      'e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53cf76cab2868a39b9f7840edce4fef5a82be67335c77a6068e04112754f27ccf4e',
    );
  });

  it('equals crypto.pbkdf2 for any passphrase, salt, iteration count and key length', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 64 }),
        async (passphrase, salt, iterations, keyLength) => {
          const [p, s] = [Buffer.from(passphrase), Buffer.from(salt)];
          expect(await pbkdf2Sha512(p, s, iterations, keyLength)).toEqual(reference(p, s, iterations, keyLength));
        },
      ),
      { seed: 20261128, numRuns: 300 },
    );
  });

  it('equals crypto.pbkdf2 at the format\'s shape: 32-byte passphrase, 64-byte salt, 10,000 iterations', async () => {
    for (let i = 0; i < 5; i++) {
      const [passphrase, salt] = [randomBytes(32), randomBytes(64)];
      expect(await pbkdf2Sha512(passphrase, salt, 10000, 32)).toEqual(reference(passphrase, salt, 10000, 32));
    }
  });

  it('keeps 200 derivations in flight apart', async () => {
    const inputs = Array.from({ length: 200 }, (_, i) => [randomBytes(32), randomBytes(64), 1 + (i % 50)] as const);
    const keys = await Promise.all(inputs.map(([p, s, n]) => pbkdf2Sha512(p, s, n, 32)));
    keys.forEach((key, i) => {
      const [p, s, n] = inputs[i]!;
      expect(key).toEqual(reference(p, s, n, 32));
    });
  });

  it('copies its inputs, so a caller may wipe them as soon as the call returns', async () => {
    const [passphrase, salt] = [randomBytes(32), randomBytes(64)];
    const expected = reference(passphrase, salt, 1000, 32);
    const pending = pbkdf2Sha512(passphrase, salt, 1000, 32);
    passphrase.fill(0);
    salt.fill(0);
    expect(await pending).toEqual(expected);
  });
});

describe('the native module', () => {
  it('loads and derives in a worker thread while the main thread has it loaded too', async () => {
    jest.requireActual(ACCELERATOR_PATH);
    const [passphrase, salt] = [randomBytes(32), randomBytes(64)];
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const accelerator = require(workerData.path);
       accelerator.derive(Buffer.from(workerData.passphrase), Buffer.from(workerData.salt), 100, 32)
         .then((key) => parentPort.postMessage(key));`,
      { eval: true, workerData: { path: ACCELERATOR_PATH, passphrase, salt } },
    );
    const key = await new Promise<Uint8Array>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(Buffer.from(key)).toEqual(reference(passphrase, salt, 100, 32));
  });
});

describe('the native module checks its arguments', () => {
  // The accelerator is loaded directly here; the library never calls it outside these bounds.
  const accelerator = (): Accelerator => jest.requireActual<Accelerator>(ACCELERATOR_PATH);
  const ok = [Buffer.alloc(32), Buffer.alloc(64), 1, 32];

  it.each([
    ['a passphrase that is a string', ['secret', ok[1], 1, 32], 'TypeError'],
    ['a missing salt', [ok[0], undefined, 1, 32], 'TypeError'],
    ['too few arguments', [ok[0], ok[1], 1], 'TypeError'],
    ['a passphrase over 1024 bytes', [Buffer.alloc(1025), ok[1], 1, 32], 'RangeError'],
    ['a salt over 1024 bytes', [ok[0], Buffer.alloc(1025), 1, 32], 'RangeError'],
    ['zero iterations', [ok[0], ok[1], 0, 32], 'RangeError'],
    ['a key length of 0', [ok[0], ok[1], 1, 0], 'RangeError'],
    ['a key length over 64', [ok[0], ok[1], 1, 65], 'RangeError'],
    ['iterations that are not a number', [ok[0], ok[1], '1', 32], 'RangeError'],
  ])('refuses %s, in both calls', (_name, args, errorName) => {
    // Native errors come from Node's own realm, not jest's, so they are told apart by name.
    const thrownName = (call: () => unknown): string | undefined => {
      try {
        call();
      } catch (err) {
        return (err as Error).name;
      }
      return undefined;
    };
    expect(thrownName(() => accelerator().deriveSync(...args))).toBe(errorName);
    expect(thrownName(() => accelerator().derive(...args))).toBe(errorName);
  });
});

const ENV_NAMES = ['REQUEST_CRYPTO_NATIVE', 'REQUEST_CRYPTO_ACCELERATOR'] as const;
const savedEnv = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]));

/** Puts the two variables back as the suite found them and drops this file's module mocks. */
function restore(): void {
  for (const name of ENV_NAMES) {
    const value = savedEnv[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  jest.dontMock(LOAD_ADDON);
  jest.dontMock('node:crypto');
  // A module a mock factory made stays cached in jest's registry; the next test's factory must run.
  jest.resetModules();
}

/**
 * node:crypto as in a process whose FIPS mode is `on.value` (switchable), so that tests of the
 * accelerator being chosen hold in a suite run in FIPS mode too.
 */
function fipsCrypto(on: { value: boolean }): void {
  jest.doMock('node:crypto', () => ({ ...jest.requireActual<object>('node:crypto'), getFips: () => (on.value ? 1 : 0) }));
}

/** A fresh copy of the package, which decides its backend anew. */
function isolated(): typeof requestCrypto {
  let loaded: typeof requestCrypto | undefined;
  jest.isolateModules(() => {
    loaded = jest.requireActual<typeof requestCrypto>('../src');
  });
  return loaded!;
}

/** A fresh copy of the loader alone, for its status. */
function isolatedLoader(): typeof loader {
  let loaded: typeof loader | undefined;
  jest.isolateModules(() => {
    loaded = jest.requireActual<typeof loader>('../src/accelerator/pbkdf2-sha512');
  });
  return loaded!;
}

describe('without the accelerator', () => {
  // Only these tests' own settings and mocks may decide; a file named by the environment may not.
  beforeEach(() => delete process.env['REQUEST_CRYPTO_ACCELERATOR']);
  afterEach(restore);

  it('REQUEST_CRYPTO_NATIVE=0 derives with crypto.pbkdf2 and still opens the golden bodies', async () => {
    process.env['REQUEST_CRYPTO_NATIVE'] = '0';
    const rc = isolated();
    expect(rc.keyDerivationBackend()).toBe('node:crypto');
    const decryptor = await rc.createRequestDecryptor(vectors.privateJWKS);
    for (const v of vectors.vectors.slice(0, 3)) expect(await decryptor.decrypt(v.body)).toEqual(v.payload);
  });

  it('is decided once per process: unsetting REQUEST_CRYPTO_NATIVE later does not switch it on', () => {
    process.env['REQUEST_CRYPTO_NATIVE'] = '0';
    const rc = isolated();
    expect(rc.keyDerivationBackend()).toBe('node:crypto');
    delete process.env['REQUEST_CRYPTO_NATIVE'];
    expect(rc.keyDerivationBackend()).toBe('node:crypto');
  });

  // Skipped in FIPS mode: there the accelerator is never looked for, so this path cannot run (the FIPS-mode tests cover what happens instead).
  itUnlessFips('tries to load a missing accelerator only once', async () => {
    delete process.env['REQUEST_CRYPTO_NATIVE']; // so that only the mock can turn it off
    let attempts = 0;
    mockAddon(ACCELERATOR_PATH, () => {
      attempts += 1;
      throw new Error('not built');
    });
    const rc = isolated();
    const decryptor = await rc.createRequestDecryptor(vectors.privateJWKS);
    for (const v of vectors.vectors.slice(0, 3)) await decryptor.decrypt(v.body);
    expect(rc.keyDerivationBackend()).toBe('node:crypto');
    expect(attempts).toBe(1);
  });

  it('an accelerator that cannot be loaded leaves crypto.pbkdf2 in use', async () => {
    delete process.env['REQUEST_CRYPTO_NATIVE']; // so that only the mock can turn it off
    mockAddon(ACCELERATOR_PATH, () => {
      throw new Error('not built');
    });
    const rc = isolated();
    expect(rc.keyDerivationBackend()).toBe('node:crypto');
    const body = await (await rc.createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', { n: 1 });
    expect(await (await rc.createRequestDecryptor(vectors.privateJWKS)).decrypt(body)).toEqual({ n: 1 });
  });

  it('an accelerator whose bytes differ from crypto.pbkdf2 is never used', () => {
    delete process.env['REQUEST_CRYPTO_NATIVE']; // so that only the mock can turn it off
    const derive = jest.fn();
    mockAddon(ACCELERATOR_PATH, () => ({
      derive,
      deriveSync: (p: Buffer, s: Buffer, n: number, len: number) => {
        const key = reference(p, s, n, len);
        key[0]! ^= 1;
        return key;
      },
    }));
    const rc = isolated();
    expect(rc.keyDerivationBackend()).toBe('node:crypto');
    expect(derive).not.toHaveBeenCalled();
  });
});

describe('the self-check', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'request-crypto-fake-accelerator-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(restore);

  /**
   * A JavaScript stand-in for the accelerator, named by REQUEST_CRYPTO_ACCELERATOR, that gives
   * crypto.pbkdf2's bytes below 100 iterations and flips a bit from 100 on, in the calls listed.
   * The loader is given `<name>.node`; mockAddon loads the `.js` beside it in its place.
   */
  function fakeAccelerator(name: string, wrongIn: Array<'derive' | 'deriveSync'>): string {
    mockAddon(undefined);
    const path = join(dir, `${name}.js`);
    writeFileSync(
      path,
      `const { pbkdf2Sync } = require('node:crypto');
const right = (p, s, n, len) => pbkdf2Sync(p, s, n, len, 'sha512');
const wrong = (p, s, n, len) => { const key = right(p, s, n, len); if (n >= 100) key[0] ^= 1; return key; };
module.exports = {
  deriveSync: ${wrongIn.includes('deriveSync') ? 'wrong' : 'right'},
  derive: async (p, s, n, len) => (${wrongIn.includes('derive') ? 'wrong' : 'right'})(p, s, n, len),
};
`,
    );
    // The file the loader is named: present, so that it is loaded (mockAddon gives the .js instead).
    const addon = path.replace(/\.js$/, '.node');
    writeFileSync(addon, '');
    return addon;
  }

  const [passphrase, salt] = [randomBytes(32), randomBytes(64)];

  // Skipped in FIPS mode: there the accelerator is never looked for, so this path cannot run (the FIPS-mode tests cover what happens instead).
  itUnlessFips('rejects an accelerator that is right at a few iterations and wrong at 10,000', async () => {
    delete process.env['REQUEST_CRYPTO_NATIVE'];
    process.env['REQUEST_CRYPTO_ACCELERATOR'] = fakeAccelerator('wrong-when-long', ['derive', 'deriveSync']);
    const fresh = isolatedLoader();
    // The first derivation waits for the one-time check, so even it gets crypto.pbkdf2's key.
    expect(await fresh.pbkdf2Sha512(passphrase, salt, 10000, 32)).toEqual(reference(passphrase, salt, 10000, 32));
    expect(fresh.keyDerivationBackend()).toBe('node:crypto');
    expect((await fresh.keyDerivationStatus()).reason).toMatch(/failed its self-check at 10,000 iterations/);
  });

  it('checks the call derivations use: an accelerator whose derive alone is wrong at 10,000 is rejected', async () => {
    delete process.env['REQUEST_CRYPTO_NATIVE'];
    process.env['REQUEST_CRYPTO_ACCELERATOR'] = fakeAccelerator('async-wrong-when-long', ['derive']);
    const fresh = isolatedLoader();
    expect(await fresh.pbkdf2Sha512(passphrase, salt, 10000, 32)).toEqual(reference(passphrase, salt, 10000, 32));
    expect(fresh.keyDerivationBackend()).toBe('node:crypto');
  });

  it('rejects it too when keyDerivationBackend() is asked before any derivation', () => {
    delete process.env['REQUEST_CRYPTO_NATIVE'];
    process.env['REQUEST_CRYPTO_ACCELERATOR'] = fakeAccelerator('asked-first', ['derive', 'deriveSync']);
    expect(isolatedLoader().keyDerivationBackend()).toBe('node:crypto');
  });

  it('accepts an accelerator that is right everywhere', async () => {
    delete process.env['REQUEST_CRYPTO_NATIVE'];
    process.env['REQUEST_CRYPTO_ACCELERATOR'] = fakeAccelerator('right', []);
    fipsCrypto({ value: false });
    const fresh = isolatedLoader();
    expect(await fresh.pbkdf2Sha512(passphrase, salt, 10000, 32)).toEqual(reference(passphrase, salt, 10000, 32));
    expect(fresh.keyDerivationBackend()).toBe('native');
  });
});

describe('where the accelerator is looked for', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'request-crypto-accelerator-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(restore);

  it('nowhere while the module loads: the first derivation looks for it', async () => {
    delete process.env['REQUEST_CRYPTO_NATIVE'];
    delete process.env['REQUEST_CRYPTO_ACCELERATOR'];
    fipsCrypto({ value: false });
    let attempts = 0;
    mockAddon(ACCELERATOR_PATH, () => {
      attempts += 1;
      return jest.requireActual<typeof addonLoader>(LOAD_ADDON).loadAddon(ACCELERATOR_PATH);
    });
    const rc = isolated();
    expect(attempts).toBe(0);
    await (await rc.createRequestEncryptor(vectors.publicJWKS, { prepareAhead: 0 })).encrypt('kibana1', { n: 1 });
    expect(attempts).toBe(1);
  });

  it('REQUEST_CRYPTO_ACCELERATOR loads the file it names, as a bundle that ships the binary does', async () => {
    delete process.env['REQUEST_CRYPTO_NATIVE'];
    const shipped = join(dir, 'shipped-pbkdf2_sha512.node');
    copyFileSync(ACCELERATOR_PATH, shipped);
    process.env['REQUEST_CRYPTO_ACCELERATOR'] = shipped;
    fipsCrypto({ value: false });
    const fresh = isolatedLoader();
    expect(await fresh.keyDerivationStatus()).toMatchObject({ backend: 'native', path: shipped });
  });

  // Skipped in FIPS mode: there the accelerator is never looked for, so this path cannot run (the FIPS-mode tests cover what happens instead).
  itUnlessFips('REQUEST_CRYPTO_ACCELERATOR naming a missing file means crypto.pbkdf2, not the package build', async () => {
    delete process.env['REQUEST_CRYPTO_NATIVE'];
    process.env['REQUEST_CRYPTO_ACCELERATOR'] = join(dir, 'missing.node');
    const fresh = isolatedLoader();
    const status = await fresh.keyDerivationStatus();
    expect(status).toMatchObject({ backend: 'node:crypto', path: join(dir, 'missing.node') });
    expect(status.reason).toMatch(/no such file/);
  });

  it('REQUEST_CRYPTO_NATIVE=0 wins over REQUEST_CRYPTO_ACCELERATOR', () => {
    process.env['REQUEST_CRYPTO_NATIVE'] = '0';
    process.env['REQUEST_CRYPTO_ACCELERATOR'] = ACCELERATOR_PATH;
    expect(isolatedLoader().keyDerivationBackend()).toBe('node:crypto');
  });
});

describe('in FIPS mode', () => {
  afterEach(restore);

  it('keyDerivationBackend() is node:crypto and the accelerator is never loaded', async () => {
    delete process.env['REQUEST_CRYPTO_NATIVE'];
    delete process.env['REQUEST_CRYPTO_ACCELERATOR'];
    fipsCrypto({ value: true });
    let attempts = 0;
    mockAddon(ACCELERATOR_PATH, () => {
      attempts += 1;
      return jest.requireActual<typeof addonLoader>(LOAD_ADDON).loadAddon(ACCELERATOR_PATH);
    });
    const rc = isolated();
    expect(rc.keyDerivationBackend()).toBe('node:crypto');
    const body = await (await rc.createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', { n: 1 });
    expect(await (await rc.createRequestDecryptor(vectors.privateJWKS)).decrypt(body)).toEqual({ n: 1 });
    expect(attempts).toBe(0);
  });

  it('switched on after the accelerator was chosen, derivations leave the accelerator', async () => {
    delete process.env['REQUEST_CRYPTO_NATIVE'];
    delete process.env['REQUEST_CRYPTO_ACCELERATOR'];
    const fips = { value: false };
    fipsCrypto(fips);
    const real = jest.requireActual<Accelerator>(ACCELERATOR_PATH);
    const derive = jest.fn((...args: unknown[]) => real.derive(...args));
    mockAddon(ACCELERATOR_PATH, () => ({ derive, deriveSync: real.deriveSync }));
    const fresh = isolatedLoader();
    expect(fresh.keyDerivationBackend()).toBe('native');
    fips.value = true;
    derive.mockClear();
    const [p, s] = [randomBytes(32), randomBytes(64)];
    expect(await fresh.pbkdf2Sha512(p, s, 10000, 32)).toEqual(reference(p, s, 10000, 32));
    expect(fresh.keyDerivationBackend()).toBe('node:crypto');
    expect(derive).not.toHaveBeenCalled();
  });
});
