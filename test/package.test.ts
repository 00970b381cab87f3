import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FIPS, vectors } from './helpers';

const root = join(__dirname, '..');

describe('the package as users get it', () => {
  let dir: string;
  let files: string[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'request-crypto-pack-'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }),
    ) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = packed[0]!.files.map((f) => f.path);
    const tarball = join(dir, packed[0]!.filename);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // The runtime dependencies come from the lock-installed node_modules of this checkout: no network.
    // Without scripts first, as where no compiler is: the PBKDF2 accelerator is built by a later test.
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', tarball], {
      cwd: dir,
      encoding: 'utf8',
    });
    writeFileSync(join(dir, 'vectors.json'), JSON.stringify(vectors), { mode: 0o600 }); // holds private test keys
  }, 180_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ships the built lib with declarations, and no tests or TypeScript sources', () => {
    expect(files).toEqual(expect.arrayContaining(['lib/index.js', 'lib/index.d.ts', 'package.json', 'README.md', 'LICENSE']));
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('src/') || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('ships the accelerator as source with its build script, and no prebuilt binary', () => {
    expect(files).toEqual(expect.arrayContaining(['binding.gyp', 'native/build.js', 'native/pbkdf2_sha512.c']));
    expect(files.filter((f) => f.startsWith('build/') || f.endsWith('.node'))).toEqual([]);
  });

  it('round-trips a body through require() from a .cjs file', () => {
    writeFileSync(
      join(dir, 'check.cjs'),
      `const rc = require('request-crypto');
const v = require('./vectors.json');
(async () => {
  const body = await (await rc.createRequestEncryptor(v.publicJWKS)).encrypt('kibana1', { via: 'cjs' });
  const out = await (await rc.createRequestDecryptor(v.privateJWKS)).decrypt(body);
  const golden = await (await rc.createRequestDecryptor(v.privateJWKS)).decrypt(v.vectors[0].body);
  console.log(JSON.stringify([out, golden, typeof rc.RequestCryptoError, rc.keyDerivationBackend()]));
})().catch((e) => { console.error(e); process.exit(1); });`,
    );
    const out = execFileSync(process.execPath, ['check.cjs'], { cwd: dir, encoding: 'utf8' });
    // Installed with --ignore-scripts, so there is no accelerator: crypto.pbkdf2 derives the keys.
    expect(JSON.parse(out)).toEqual([{ via: 'cjs' }, vectors.vectors[0]!.payload, 'function', 'node:crypto']);
  });

  it('type-checks a strict TypeScript consumer against the shipped declarations', () => {
    writeFileSync(
      join(dir, 'consumer.ts'),
      `import { createRequestDecryptor, createRequestEncryptor, RequestCryptoError, type PublicJWKS, type PrivateJWKS } from 'request-crypto';
export async function roundTrip(pub: PublicJWKS, priv: PrivateJWKS): Promise<number> {
  const body: string = await (await createRequestEncryptor(pub)).encrypt('kibana1', { n: 1 });
  try {
    return (await (await createRequestDecryptor(priv)).decrypt<{ n: number }>(body)).n;
  } catch (err) {
    if (err instanceof RequestCryptoError) return err.code.length;
    throw err;
  }
}
`,
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', 'false', '--module', 'commonjs', '--moduleResolution', 'node'];
    args.push('--typeRoots', join(root, 'node_modules', '@types'), '--types', 'node', 'consumer.ts');
    // Throws, with tsc's output, if the shipped .d.ts files do not compile for a strict consumer.
    execFileSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: 'utf8' });
  });

  it('round-trips a body through named imports from a .mjs file', () => {
    writeFileSync(
      join(dir, 'check.mjs'),
      `import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES } from 'request-crypto';
import { readFileSync } from 'node:fs';
const v = JSON.parse(readFileSync('./vectors.json', 'utf8'));
const body = await (await createRequestEncryptor(v.publicJWKS)).encrypt('kibana1', { via: 'esm' });
const out = await (await createRequestDecryptor(v.privateJWKS)).decrypt(body);
console.log(JSON.stringify([out, ERROR_CODES.NO_KEY_FOUND]));`,
    );
    const out = execFileSync(process.execPath, ['check.mjs'], { cwd: dir, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([{ via: 'esm' }, 'ERR_NO_KEY_FOUND']);
  });

  it('builds the accelerator in its install script, and then derives the keys with it', () => {
    const env = { ...process.env };
    delete env['REQUEST_CRYPTO_NATIVE']; // the suite may run on the fallback; the install must not
    execFileSync('npm', ['rebuild', '--foreground-scripts', 'request-crypto'], { cwd: dir, encoding: 'utf8', env });
    expect(existsSync(join(dir, 'node_modules', 'request-crypto', 'build', 'Release', 'pbkdf2_sha512.node'))).toBe(true);
    const out = execFileSync(process.execPath, ['check.cjs'], { cwd: dir, encoding: 'utf8', env });
    // In FIPS mode (inherited through OPENSSL_CONF) the library never uses it, built or not.
    expect(JSON.parse(out)).toEqual([{ via: 'cjs' }, vectors.vectors[0]!.payload, 'function', FIPS ? 'node:crypto' : 'native']);
  }, 120_000);
});
