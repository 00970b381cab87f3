// Deployed as users deploy it: a Lambda-style handler bundled with esbuild from the built lib/,
// run by node from a folder with no node_modules anywhere above it, as CommonJS and as ESM.
import { execFileSync } from 'node:child_process';
import { getFips } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { build } from 'esbuild';

import { createRequestDecryptor, createRequestEncryptor } from '../src';
import { vectors } from './helpers';

const ROOT = join(__dirname, '..');
const ACCELERATOR = join(ROOT, 'native', 'build', 'Release', 'pbkdf2_sha512.node');
const LIMIT_BYTES = 150 * 1024;
// What the light entries must leave out: node-jose and what it brings.
const HEAVY = /node_modules[\\/](node-jose|node-forge|lodash|pako)[\\/]/;
// The banner every ESM Lambda bundle carries, so that bundled CommonJS code has `require`.
const ESM_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

const HANDLERS = {
  receiver: `import { createRequestDecryptor, keyDerivationBackend, RequestCryptoError } from 'request-crypto/receiver';

let decryptor;
// What the unwrap pool did: threads it started, and what it warned of (a thread that cannot start).
const pool = { threads: 0, warnings: [] };
process.on('worker', () => (pool.threads += 1));
process.on('warning', (w) => w.name === 'RequestCryptoWarning' && pool.warnings.push(w.code));
export async function handler(event) {
  decryptor ??= createRequestDecryptor(process.env.PRIVATE_JWKS);
  try {
    // Many bodies at once: all but the first go to the unwrap threads.
    if (event.bodies) return { statusCode: 200, payloads: await Promise.all(event.bodies.map(async (body) => (await decryptor).decrypt(body))), pool };
    const payload = await (await decryptor).decrypt(event.body);
    return { statusCode: 200, payload, backend: keyDerivationBackend() };
  } catch (err) {
    if (err instanceof RequestCryptoError) return { statusCode: 400, code: err.code };
    throw err;
  }
}
`,
  sender: `import { createRequestEncryptor, keyDerivationBackend } from 'request-crypto/sender';

export async function handler(event) {
  const encryptor = await createRequestEncryptor(process.env.PUBLIC_JWKS);
  const legacy = await encryptor.encrypt('kibana1', event.payload);
  const jwe = await encryptor.encrypt('kibana1', event.payload, { format: 'jwe' });
  return { legacy, jwe, backend: keyDerivationBackend() };
}
`,
  root: `import { createJWKSManager, createRequestDecryptor, RequestCryptoError } from 'request-crypto';

export async function handler(event) {
  const manager = await createJWKSManager(JSON.parse(process.env.PRIVATE_JWKS));
  const kids = manager.getPublicJWKS().keys.map((key) => key.kid);
  try {
    return { statusCode: 200, payload: await (await createRequestDecryptor(process.env.PRIVATE_JWKS)).decrypt(event.body), kids };
  } catch (err) {
    if (err instanceof RequestCryptoError) return { statusCode: 400, code: err.code };
    throw err;
  }
}
`,
};
type Kind = keyof typeof HANDLERS;
type Format = 'cjs' | 'esm';

// Runs the handler once per event, in order, and prints the results as JSON. A file of its own,
// as Lambda's runtime is: \`node -e\` would define __dirname and require as globals, which an ESM
// bundle must do without.
const RUNNER = `import { pathToFileURL } from 'node:url';
const loaded = await import(pathToFileURL(process.argv[2]).href);
const handler = loaded.handler ?? loaded.default.handler;
const results = [];
for (const event of JSON.parse(process.env.EVENTS)) results.push(await handler(event));
console.log(JSON.stringify(results));
`;

let work: string;

interface Bundle {
  file: string;
  bytes: number;
  inputs: string[];
}

async function bundle(kind: Kind, format: Format): Promise<Bundle> {
  const out = join(work, `run-${kind}-${format}`);
  const file = join(out, format === 'esm' ? 'index.mjs' : 'index.cjs');
  const result = await build({
    entryPoints: [join(work, 'src', `${kind}.js`)],
    bundle: true,
    platform: 'node',
    target: 'node18',
    format,
    minify: false,
    outfile: file,
    // The package is found through a folder outside the bundle's own tree, as an install would be.
    nodePaths: [join(work, 'deps', 'node_modules')],
    metafile: true,
    logLevel: 'silent',
    ...(format === 'esm' ? { banner: { js: ESM_BANNER } } : {}),
  });
  return { file, bytes: statSync(file).size, inputs: Object.keys(result.metafile.inputs) };
}

/** Runs a bundle with node from its own folder; `env` adds to a copy of this process's. */
function run(file: string, events: unknown[], env: Record<string, string> = {}): Array<Record<string, unknown>> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, EVENTS: JSON.stringify(events), ...env };
  delete childEnv['NODE_PATH'];
  if (env['REQUEST_CRYPTO_ACCELERATOR'] === undefined) delete childEnv['REQUEST_CRYPTO_ACCELERATOR'];
  delete childEnv['REQUEST_CRYPTO_NATIVE'];
  const stdout = execFileSync(process.execPath, [join(work, 'run.mjs'), file], { cwd: dirname(file), env: childEnv, encoding: 'utf8' });
  return JSON.parse(stdout) as Array<Record<string, unknown>>;
}

const fips = (): boolean => getFips() === 1;

beforeAll(() => {
  // npm test builds lib/ before jest runs; the bundles are made from it, as from an install.
  expect(existsSync(join(ROOT, 'lib', 'receiver.js'))).toBe(true);
  work = mkdtempSync(join(tmpdir(), 'request-crypto-bundle-'));
  mkdirSync(join(work, 'deps', 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(work, 'deps', 'node_modules', 'request-crypto'), 'dir');
  mkdirSync(join(work, 'src'));
  for (const [kind, source] of Object.entries(HANDLERS)) writeFileSync(join(work, 'src', `${kind}.js`), source);
  writeFileSync(join(work, 'run.mjs'), RUNNER);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

it('runs bundles where no folder above them has node_modules', () => {
  for (let dir = work; ; dir = dirname(dir)) {
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    if (dirname(dir) === dir) break;
  }
});

describe.each<Format>(['cjs', 'esm'])('a handler importing request-crypto/receiver, bundled as %s', (format) => {
  let receiver: Bundle;
  let bodies: { legacy: string; jwe: string; golden: string };

  beforeAll(async () => {
    receiver = await bundle('receiver', format);
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    bodies = {
      legacy: await encryptor.encrypt('kibana1', { via: 'legacy' }),
      jwe: await encryptor.encrypt('kibana1', { via: 'jwe' }, { format: 'jwe', compress: true }),
      golden: vectors.vectors[0]!.body,
    };
  });

  it('is at most 150 KB unminified', () => {
    expect(receiver.bytes).toBeLessThanOrEqual(LIMIT_BYTES);
  });

  it('holds no node-jose, node-forge, lodash or pako', () => {
    expect(receiver.inputs.filter((input) => HEAVY.test(input))).toEqual([]);
    expect(readFileSync(receiver.file, 'utf8')).not.toMatch(HEAVY);
  });

  it('decrypts legacy, compressed jwe and 2.0.3 bodies with no node_modules, and answers 400 for a bad one', () => {
    const results = run(receiver.file, [{ body: bodies.legacy }, { body: bodies.jwe }, { body: bodies.golden }, { body: 'not a body' }], {
      PRIVATE_JWKS: JSON.stringify(vectors.privateJWKS),
    });
    expect(results.map((r) => r['payload'] ?? r['code'])).toEqual([
      { via: 'legacy' },
      { via: 'jwe' },
      vectors.vectors[0]!.payload,
      'ERR_BODY_MALFORMED',
    ]);
  });

  it('decrypts 32 bodies in flight on its unwrap threads, made from source text, not from a file', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const many = await Promise.all(Array.from({ length: 32 }, (_, i) => encryptor.encrypt('kibana1', { i }, { format: 'jwe' })));
    const [result] = run(receiver.file, [{ bodies: many }], { PRIVATE_JWKS: JSON.stringify(vectors.privateJWKS) });
    expect(result).toEqual({ statusCode: 200, payloads: Array.from({ length: 32 }, (_, i) => ({ i })), pool: { threads: expect.any(Number), warnings: [] } });
    expect((result!['pool'] as { threads: number }).threads).toBeGreaterThan(0);
  });

  it('derives on crypto.pbkdf2 when it ships without the accelerator', () => {
    const [result] = run(receiver.file, [{ body: bodies.legacy }], { PRIVATE_JWKS: JSON.stringify(vectors.privateJWKS) });
    expect(result).toMatchObject({ statusCode: 200, backend: 'node:crypto' });
  });

  it('uses the accelerator that REQUEST_CRYPTO_ACCELERATOR names', () => {
    const [result] = run(receiver.file, [{ body: bodies.legacy }], {
      PRIVATE_JWKS: JSON.stringify(vectors.privateJWKS),
      REQUEST_CRYPTO_ACCELERATOR: ACCELERATOR,
    });
    expect(result).toMatchObject({ statusCode: 200, payload: { via: 'legacy' }, backend: fips() ? 'node:crypto' : 'native' });
  });
});

describe.each<Format>(['cjs', 'esm'])('a handler importing request-crypto/sender, bundled as %s', (format) => {
  let sender: Bundle;
  beforeAll(async () => {
    sender = await bundle('sender', format);
  });

  it('is at most 150 KB unminified and holds no node-jose, node-forge, lodash or pako', () => {
    expect(sender.bytes).toBeLessThanOrEqual(LIMIT_BYTES);
    expect(sender.inputs.filter((input) => HEAVY.test(input))).toEqual([]);
  });

  it('makes legacy and jwe bodies with no node_modules that the receiver decrypts', async () => {
    const [result] = run(sender.file, [{ payload: { from: format } }], { PUBLIC_JWKS: JSON.stringify(vectors.publicJWKS) });
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    expect(await decryptor.decrypt(result!['legacy'] as string)).toEqual({ from: format });
    expect(await decryptor.decrypt(result!['jwe'] as string)).toEqual({ from: format });
    expect(result!['backend']).toBe('node:crypto');
  });
});

describe.each<Format>(['cjs', 'esm'])('a handler importing the root entry, bundled as %s', (format) => {
  let root: Bundle;
  beforeAll(async () => {
    root = await bundle('root', format);
  });

  it('carries node-jose (what the light entries leave out)', () => {
    expect(root.inputs.some((input) => HEAVY.test(input))).toBe(true);
  });

  it('runs with no node_modules: node-jose loads and the body decrypts', () => {
    const [result] = run(root.file, [{ body: vectors.vectors[0]!.body }], { PRIVATE_JWKS: JSON.stringify(vectors.privateJWKS) });
    expect(result).toEqual({ statusCode: 200, payload: vectors.vectors[0]!.payload, kids: vectors.privateJWKS.keys.map((k) => k.kid) });
  });
});

describe('examples/lambda-receiver.ts, bundled with the esbuild command of docs/lambda.md where no AWS SDK is installed', () => {
  // docs/lambda.md: npx esbuild handler.ts --bundle --platform=node --target=node20 --outfile=dist/index.js
  let dir: string;
  let file: string;
  let inputs: string[];

  beforeAll(async () => {
    // The example as a user copies it, beside nothing but the installed package (no @aws-sdk).
    dir = join(work, 'example');
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    symlinkSync(ROOT, join(dir, 'node_modules', 'request-crypto'), 'dir');
    writeFileSync(join(dir, 'handler.ts'), readFileSync(join(ROOT, 'examples', 'lambda-receiver.ts')));
    file = join(work, 'run-example', 'index.js');
    const result = await build({
      entryPoints: [join(dir, 'handler.ts')],
      bundle: true,
      platform: 'node',
      target: 'node20',
      outfile: file,
      metafile: true,
      logLevel: 'silent',
    });
    inputs = Object.keys(result.metafile.inputs);
  });

  it('is under 150 KB unminified and holds neither node-jose nor the AWS SDK', () => {
    expect(statSync(file).size).toBeLessThan(LIMIT_BYTES);
    expect(inputs.filter((input) => HEAVY.test(input) || /@aws-sdk|[\\/]kms\.js$/.test(input))).toEqual([]);
  });

  it('runs with no node_modules: 202 for a body, 400 for a bad one', async () => {
    const body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', { via: 'example' });
    const events = JSON.stringify([{ body }, { body: 'not a body' }]);
    const env: NodeJS.ProcessEnv = { ...process.env, EVENTS: events, PRIVATE_JWKS: JSON.stringify(vectors.privateJWKS) };
    delete env['NODE_PATH'];
    const stdout = execFileSync(process.execPath, [join(work, 'run.mjs'), file], { cwd: dirname(file), env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    // Its metrics lines (one per decrypt) come first; the runner prints the results last.
    const lines = stdout.trim().split('\n');
    expect(lines.slice(0, -1).map((line) => (JSON.parse(line) as { outcome: string }).outcome)).toEqual(['ok', 'ERR_BODY_MALFORMED']);
    const results = JSON.parse(lines[lines.length - 1]!) as Array<Record<string, unknown>>;
    expect(results.map((r) => [r['statusCode'], r['body']])).toEqual([
      [202, ''],
      [400, JSON.stringify({ error: 'ERR_BODY_MALFORMED' })],
    ]);
  });

  it('type-checks where no AWS SDK is installed, with exactOptionalPropertyTypes', () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--exactOptionalPropertyTypes', '--noUncheckedIndexedAccess', '--skipLibCheck', 'false'];
    args.push('--module', 'commonjs', '--moduleResolution', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node');
    // Throws, with tsc's output, if the example needs a package that is not here.
    execFileSync(process.execPath, [tsc, ...args, join(dir, 'handler.ts')], { cwd: dir, encoding: 'utf8' });
  });
});
