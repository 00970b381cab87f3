import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';

import { FIPS, vectors } from './helpers';
import { headingAnchors, linkTargets } from './markdown';

const root = join(__dirname, '..');


describe('the package as users get it', () => {
  let dir: string;
  let files: string[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'request-crypto-pack-'));
    // --ignore-scripts: the tier built lib/ already, and prepack's rebuild would remove lib/ under
    // the other test files that run it meanwhile.
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }),
    ) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = packed[0]!.files.map((f) => f.path);
    const tarball = join(dir, packed[0]!.filename);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // The runtime dependencies come from the lock-installed node_modules of this checkout: no network.
    // Scripts allowed: the package has none, so nothing is built; a later test builds the accelerator.
    // @aws-sdk/client-kms, an optional peer, as a user of request-crypto/kms (and of the Lambda
    // example's KMS variant) installs it: the version this checkout's lock file installed.
    const kmsSdk = `@aws-sdk/client-kms@${(JSON.parse(readFileSync(join(root, 'node_modules', '@aws-sdk', 'client-kms', 'package.json'), 'utf8')) as { version: string }).version}`;
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, kmsSdk], {
      cwd: dir,
      encoding: 'utf8',
    });
    writeFileSync(join(dir, 'vectors.json'), JSON.stringify(vectors), { mode: 0o600 }); // holds private test keys
  }, 180_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ships the built lib with declarations and the Lambda example, and no tests or library sources', () => {
    expect(files).toEqual(
      expect.arrayContaining(['lib/index.js', 'lib/index.d.ts', 'examples/lambda-receiver.ts', 'examples/lambda-receiver-kms.ts', 'package.json', 'README.md', 'LICENSE']),
    );
    const isSource = (f: string): boolean => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('examples/');
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('src/') || isSource(f))).toEqual([]);
  });

  it('ships source maps that resolve: every .js names a shipped map, and every map holds its sources or they are shipped', () => {
    const installed = join(dir, 'node_modules', 'request-crypto');
    const missingMaps = files
      .filter((f) => f.endsWith('.js'))
      .flatMap((f) => {
        const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(installed, f), 'utf8'))?.[1];
        return url === undefined || files.includes(posix.join(posix.dirname(f), url)) ? [] : [`${f} -> ${url}`];
      });
    const unresolved = files
      .filter((f) => f.endsWith('.js.map'))
      .flatMap((f) => {
        const map = JSON.parse(readFileSync(join(installed, f), 'utf8')) as { sources: string[]; sourceRoot?: string; sourcesContent?: Array<string | null> };
        return map.sources.flatMap((source, i) => {
          const shipped = files.includes(posix.join(posix.dirname(f), map.sourceRoot ?? '', source));
          return typeof map.sourcesContent?.[i] === 'string' || shipped ? [] : [`${f}: ${source}`];
        });
      });
    expect({ missingMaps, unresolved }).toEqual({ missingMaps: [], unresolved: [] });
  });

  it("links from the README only to files in the package, and to anchors of the README's own headings", () => {
    const readme = readFileSync(join(dir, 'node_modules', 'request-crypto', 'README.md'), 'utf8');
    const relative = linkTargets(readme).filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
    expect(relative.length).toBeGreaterThan(0); // the parser found the links there are
    const anchors = headingAnchors(readme);
    const broken = relative.filter((target) => {
      const [path = '', anchor] = target.split('#');
      if (path === '') return !anchors.has(decodeURIComponent(anchor ?? ''));
      return !files.includes(posix.normalize(decodeURIComponent(path)).replace(/^\.\//, ''));
    });
    expect(broken).toEqual([]);
  });

  it('type-checks the shipped Lambda examples against the shipped declarations, with exactOptionalPropertyTypes', () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--exactOptionalPropertyTypes', '--noUncheckedIndexedAccess', '--skipLibCheck', 'false'];
    args.push('--module', 'commonjs', '--moduleResolution', 'node', '--typeRoots', join(root, 'node_modules', '@types'), '--types', 'node');
    // Throws, with tsc's output, if the example a user copies does not compile in a strict project.
    // The KMS variant too, which needs @aws-sdk/client-kms (installed here, as its users install it).
    const examples = ['lambda-receiver.ts', 'lambda-receiver-kms.ts'].map((name) => join('node_modules', 'request-crypto', 'examples', name));
    execFileSync(process.execPath, [tsc, ...args, ...examples], {
      cwd: dir,
      encoding: 'utf8',
    });
  });

  it('ships the accelerator as source for "accelerator build", and no prebuilt binary', () => {
    expect(files).toEqual(expect.arrayContaining(['native/binding.gyp', 'native/pbkdf2_sha512.c']));
    expect(files.filter((f) => f.includes('build/') || f.endsWith('.node'))).toEqual([]);
    // At the root, binding.gyp alone would make npm, pnpm and bun run node-gyp at install.
    expect(files).not.toContain('binding.gyp');
  });

  it('has no install script, so installing builds nothing', () => {
    const installed = join(dir, 'node_modules', 'request-crypto');
    const { scripts = {} } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    expect(Object.keys(scripts).filter((name) => /^(pre|post)?install$/.test(name))).toEqual([]);
    expect(existsSync(join(installed, 'native', 'build'))).toBe(false);
    expect(existsSync(join(installed, 'build'))).toBe(false);
  });

  it('request-crypto --version prints the installed version', () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(execFileSync(join(dir, 'node_modules', '.bin', 'request-crypto'), ['--version'], { encoding: 'utf8' })).toBe(`${version}\n`);
  });

  it('loads request-crypto/receiver with require() and request-crypto/sender with import', () => {
    writeFileSync(
      join(dir, 'light.mjs'),
      `import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { createRequestEncryptor } from 'request-crypto/sender';
const { createRequestDecryptor } = createRequire(import.meta.url)('request-crypto/receiver');
const v = JSON.parse(readFileSync('./vectors.json', 'utf8'));
const body = await (await createRequestEncryptor(v.publicJWKS)).encrypt('kibana1', { via: 'light' });
console.log(JSON.stringify(await (await createRequestDecryptor(v.privateJWKS)).decrypt(body)));`,
    );
    expect(JSON.parse(execFileSync(process.execPath, ['light.mjs'], { cwd: dir, encoding: 'utf8' }))).toEqual({ via: 'light' });
  });

  it.each(['node', 'node16'])('type-checks imports of the light entries under moduleResolution %s', (resolution) => {
    writeFileSync(
      join(dir, `light-${resolution}.ts`),
      `import { createRequestDecryptor, RequestCryptoError, type Decryptor, type PrivateJWKS } from 'request-crypto/receiver';
import { createRequestEncryptor, type Encryptor, type PublicJWKS } from 'request-crypto/sender';
import { createJWKManager } from 'request-crypto';
export async function pair(pub: PublicJWKS, priv: PrivateJWKS): Promise<[Encryptor, Decryptor, boolean]> {
  await createJWKManager();
  return [await createRequestEncryptor(pub), await createRequestDecryptor(priv), new Error() instanceof RequestCryptoError];
}
`,
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const module = resolution === 'node' ? 'commonjs' : 'node16';
    const args = ['--noEmit', '--strict', '--skipLibCheck', 'false', '--module', module, '--moduleResolution', resolution];
    args.push('--typeRoots', join(root, 'node_modules', '@types'), '--types', 'node', `light-${resolution}.ts`);
    // Throws, with tsc's output, when a light entry's declarations cannot be found or do not compile.
    execFileSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: 'utf8' });
  }, 60_000);

  it.each(['node', 'node16'])('type-checks imports of request-crypto/kms and request-crypto/pkcs11 under moduleResolution %s', (resolution) => {
    writeFileSync(
      join(dir, `custody-${resolution}.ts`),
      `import { KMSClient } from '@aws-sdk/client-kms';
import { createRequestDecryptor, type Decryptor } from 'request-crypto/receiver';
import { createKmsKeyUnwrapper, kmsPublicJWKS } from 'request-crypto/kms';
import { createPkcs11KeyUnwrapper, pkcs11PublicJWKS, type Pkcs11KeyUnwrapper } from 'request-crypto/pkcs11';
export async function inKms(keyIds: Record<string, string>): Promise<Decryptor> {
  const client = new KMSClient({});
  return createRequestDecryptor(await kmsPublicJWKS({ client, keyIds, alg: 'RSA-OAEP-256' }), { unwrapKey: createKmsKeyUnwrapper({ client, keyIds }) });
}
export async function inHsm(pin: string): Promise<[Decryptor, Pkcs11KeyUnwrapper]> {
  const token = { library: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'hsm', pin, keyLabels: { kibana1: 'receiver-1' } };
  const unwrapKey = createPkcs11KeyUnwrapper(token);
  return [await createRequestDecryptor(await pkcs11PublicJWKS(token), { unwrapKey }), unwrapKey];
}
`,
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const module = resolution === 'node' ? 'commonjs' : 'node16';
    const args = ['--noEmit', '--strict', '--skipLibCheck', 'false', '--module', module, '--moduleResolution', resolution];
    args.push('--typeRoots', join(root, 'node_modules', '@types'), '--types', 'node', `custody-${resolution}.ts`);
    // Throws, with tsc's output, when an entry's declarations cannot be found or do not compile
    // (pkcs11js, not installed here, must not be needed for the types).
    execFileSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: 'utf8' });
  }, 60_000);

  it('loads request-crypto/kms and request-crypto/pkcs11, and says to install pkcs11js where it is not', () => {
    writeFileSync(
      join(dir, 'custody.cjs'),
      `const kms = require('request-crypto/kms');
const pkcs11 = require('request-crypto/pkcs11');
const { KMSClient } = require('@aws-sdk/client-kms');
const unwrap = kms.createKmsKeyUnwrapper({ client: new KMSClient({ region: 'eu-west-1' }), keyIds: { k: 'alias/k' } });
let refusal;
try { pkcs11.createPkcs11KeyUnwrapper({ library: '/nonexistent.so', tokenLabel: 't', pin: 'p', keyLabels: { k: 'l' } }); } catch (e) { refusal = [e.code, e.message]; }
console.log(JSON.stringify([typeof unwrap, refusal]));`,
    );
    const out = execFileSync(process.execPath, ['custody.cjs'], { cwd: dir, encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
    expect(JSON.parse(out)).toEqual([
      'function',
      ['ERR_INVALID_ARGUMENT', 'request-crypto/pkcs11 needs pkcs11js, an optional peer dependency that is not installed: npm install pkcs11js'],
    ]);
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
    // Nothing was built at install, so there is no accelerator: crypto.pbkdf2 derives the keys.
    expect(JSON.parse(out)).toEqual([{ via: 'cjs' }, vectors.vectors[0]!.payload, 'function', 'node:crypto']);
  });

  it('runs `npx request-crypto demo` from the install, as the README\'s first screen says', () => {
    // --no: use the installed bin or fail; never fetch from the registry.
    const out = execFileSync('npx', ['--no', 'request-crypto', 'demo'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(out).toContain('the decrypted payload equals what the sender sent');
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

  it('loads request-crypto/testing only when asked: require() of the root leaves it out of require.cache', () => {
    writeFileSync(
      join(dir, 'entries.cjs'),
      `require('request-crypto');
const loaded = () => Object.keys(require.cache).filter((path) => /request-crypto[\\\\/]lib[\\\\/]testing\\.js$/.test(path)).length;
const before = loaded();
const testing = require('request-crypto/testing');
console.log(JSON.stringify([before, loaded(), typeof testing.createTestKeyset, typeof testing.createTestPair, typeof testing.openBody]));`,
    );
    const out = execFileSync(process.execPath, ['entries.cjs'], { cwd: dir, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([0, 1, 'function', 'function', 'function']);
  });

  it('round-trips a body made with request-crypto/testing from a .mjs file', () => {
    writeFileSync(
      join(dir, 'testing.mjs'),
      `import { createTestPair, openBody } from 'request-crypto/testing';
const { encryptor, privateJWKS } = await createTestPair({ kids: ['kibana'] });
const { payload, metadata } = await openBody(await encryptor.encrypt('kibana', { via: 'testing' }), privateJWKS);
console.log(JSON.stringify([payload, metadata.key.kid]));`,
    );
    const out = execFileSync(process.execPath, ['testing.mjs'], { cwd: dir, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([{ via: 'testing' }, 'kibana']);
  });

  it.each(['node', 'node16'])(
    'type-checks a consumer of request-crypto/testing, onDecrypt and schema against the shipped declarations (moduleResolution %s)',
    (resolution) => {
      writeFileSync(
        join(dir, `dx-${resolution}.ts`),
        `import { createRequestDecryptor, PayloadInvalidError, type DecryptEvent, type StandardSchemaV1 } from 'request-crypto';
import { createTestKeyset, openBody } from 'request-crypto/testing';
declare const schema: StandardSchemaV1<unknown, { n: number }>;
export async function check(body: string): Promise<number> {
  const { privateJWKS } = await createTestKeyset({ kids: ['k'] });
  const events: DecryptEvent[] = [];
  const decryptor = await createRequestDecryptor(privateJWKS, { onDecrypt: (event) => void events.push(event) });
  try {
    const { n } = await decryptor.decrypt(body, { schema });
    return n + (await openBody(body, privateJWKS, { schema })).payload.n;
  } catch (err) {
    if (err instanceof PayloadInvalidError) return err.issues.length;
    throw err;
  }
}
`,
      );
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      const module = resolution === 'node' ? 'commonjs' : 'node16';
      const args = ['--noEmit', '--strict', '--exactOptionalPropertyTypes', '--skipLibCheck', 'false', '--module', module, '--moduleResolution', resolution];
      args.push('--typeRoots', join(root, 'node_modules', '@types'), '--types', 'node', `dx-${resolution}.ts`);
      // Throws, with tsc's output, if the subpath's types do not resolve or do not compile.
      execFileSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: 'utf8' });
    },
  );

  it('"request-crypto accelerator build" builds it in the installed package, which then derives with it', () => {
    const env = { ...process.env };
    delete env['REQUEST_CRYPTO_NATIVE']; // the suite may run on the fallback; this test must not
    delete env['REQUEST_CRYPTO_ACCELERATOR'];
    const report = execFileSync(join(dir, 'node_modules', '.bin', 'request-crypto'), ['accelerator', 'build'], { cwd: dir, encoding: 'utf8', env });
    expect(report).toContain(`Built ${join(dir, 'node_modules', 'request-crypto', 'native', 'build', 'Release', 'pbkdf2_sha512.node')}`);
    expect(report).toMatch(/^Speed-up: \d+\.\d\dx over crypto\.pbkdf2/m);
    const out = execFileSync(process.execPath, ['check.cjs'], { cwd: dir, encoding: 'utf8', env });
    // In FIPS mode (inherited through the OpenSSL configuration) the accelerator is never used.
    const backend = FIPS ? 'node:crypto' : 'native';
    expect(JSON.parse(out)).toEqual([{ via: 'cjs' }, vectors.vectors[0]!.payload, 'function', backend]);
  }, 120_000);
});
