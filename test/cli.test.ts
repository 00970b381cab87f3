import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { vectors } from './helpers';

const CLI = join(__dirname, '..', 'lib', 'cli.js');

function cli(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe('the request-crypto CLI', () => {
  let dir: string;
  let jwks: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'request-crypto-cli-'));
    jwks = join(dir, 'private.json');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints usage for --help and for every command', () => {
    const main = cli(['--help']);
    expect(main.status).toBe(0);
    for (const command of ['keygen', 'public', 'remove', 'encrypt', 'decrypt', 'inspect', 'demo']) {
      expect(main.stdout).toContain(command);
      const one = cli([command, '--help']);
      expect(one.status).toBe(0);
      expect(one.stdout).toMatch(new RegExp(`^Usage: request-crypto ${command}`));
    }
  });

  it('keygen creates a private key set with mode 0600 and prints only the public key', () => {
    const result = cli(['keygen', '--kid', 'k1', '--jwks', jwks]);
    expect(result.status).toBe(0);
    expect(statSync(jwks).mode & 0o777).toBe(0o600);
    const printed = JSON.parse(result.stdout) as Record<string, string>;
    expect(printed).toMatchObject({ kid: 'k1', alg: 'RSA-OAEP', use: 'enc' });
    expect(printed).not.toHaveProperty('d');
    const stored = JSON.parse(readFileSync(jwks, 'utf8')) as { keys: Array<Record<string, string>> };
    expect(stored.keys).toHaveLength(1);
    expect(typeof stored.keys[0]!.d).toBe('string');
  });

  it('keygen appends with --bits and --alg, keeps mode 0600, and refuses a duplicate kid', () => {
    const added = cli(['keygen', '--kid', 'k2', '--bits', '3072', '--alg', 'RSA-OAEP-256', '--jwks', jwks]);
    expect(added.status).toBe(0);
    expect(statSync(jwks).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(jwks, 'utf8')) as { keys: Array<Record<string, string>> };
    expect(stored.keys.map((k) => [k.kid, k.alg, Buffer.from(k.n!, 'base64url').length])).toEqual([
      ['k1', 'RSA-OAEP', 256],
      ['k2', 'RSA-OAEP-256', 384],
    ]);
    const duplicate = cli(['keygen', '--kid', 'k1', '--jwks', jwks]);
    expect(duplicate.status).not.toBe(0);
    expect(duplicate.stdout).toBe('');
    expect(duplicate.stderr).toMatch(/^request-crypto: ERR_INVALID_ARGUMENT: .*k1.*\n$/);
    expect(JSON.parse(readFileSync(jwks, 'utf8')).keys).toHaveLength(2);
  }, 60_000);

  it('public prints the public set and nothing private', () => {
    const result = cli(['public', '--jwks', jwks]);
    expect(result.status).toBe(0);
    const set = JSON.parse(result.stdout) as { keys: Array<Record<string, string>> };
    expect(set.keys.map((k) => k.kid)).toEqual(['k1', 'k2']);
    for (const key of set.keys) for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(m);
  });

  it('encrypt then decrypt round-trips JSON through stdin and files, in both formats', () => {
    const publicPath = join(dir, 'public.json');
    writeFileSync(publicPath, cli(['public', '--jwks', jwks]).stdout);
    const legacy = cli(['encrypt', '--jwks', publicPath, '--kid', 'k1'], '{"a":[1,"two"]}');
    expect(legacy.status).toBe(0);
    expect(cli(['decrypt', '--jwks', jwks], legacy.stdout).stdout).toBe('{"a":[1,"two"]}\n');

    const input = join(dir, 'payload.json');
    writeFileSync(input, '{"b":true}');
    const jwe = cli(['encrypt', '--jwks', publicPath, '--kid', 'k2', '--format', 'jwe', '--context', 'product=kibana', '--compress', input]);
    expect(jwe.status).toBe(0);
    const bodyFile = join(dir, 'body.txt');
    writeFileSync(bodyFile, jwe.stdout);
    const opened = cli(['decrypt', '--jwks', jwks, '--context', 'product=kibana', '--max-age', '60', bodyFile]);
    expect([opened.status, opened.stdout, opened.stderr]).toEqual([0, '{"b":true}\n', '']);
    const wrongContext = cli(['decrypt', '--jwks', jwks, '--context', 'product=beats', bodyFile]);
    expect(wrongContext.status).toBe(1);
    expect(wrongContext.stderr).toBe('request-crypto: ERR_CONTEXT_MISMATCH: context does not match\n');
  });

  it('decrypts a golden body of the original and inspects it', () => {
    const setPath = join(dir, 'golden.json');
    writeFileSync(setPath, JSON.stringify(vectors.privateJWKS), { mode: 0o600 });
    const vector = vectors.vectors[0]!;
    expect(JSON.parse(cli(['decrypt', '--jwks', setPath, '-'], vector.body).stdout)).toEqual(vector.payload);
    const metadata = JSON.parse(cli(['inspect', '--jwks', setPath], vector.body).stdout) as Record<string, unknown>;
    expect(metadata).toMatchObject({ format: 'legacy', protected: vector.metadata.protected, header: vector.metadata.header });
  });

  it.each([
    ['an unknown command', ['frobnicate'], 2, 'ERR_INVALID_ARGUMENT'],
    ['an unknown option', ['decrypt', '--bogus'], 2, 'ERR_INVALID_ARGUMENT'],
    ['an option of another command', ['public', '--kid', 'x', '--jwks', 'f'], 2, 'ERR_INVALID_ARGUMENT'],
    ['a missing --kid', ['encrypt', '--jwks', 'f'], 2, 'ERR_INVALID_ARGUMENT'],
    ['a bad --bits', ['keygen', '--kid', 'x', '--bits', '1024', '--jwks', 'f'], 2, 'ERR_INVALID_ARGUMENT'],
    ['a bad --context', ['decrypt', '--jwks', 'f', '--context', 'novalue'], 2, 'ERR_INVALID_ARGUMENT'],
    ['a missing key set file', ['public', '--jwks', '/nonexistent/set.json'], 1, 'ERR_INVALID_ARGUMENT'],
  ])('rejects %s with one line on stderr and nothing on stdout', (_name, args, status, code) => {
    const result = cli(args as string[], '');
    expect(result.status).toBe(status);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr).toMatch(new RegExp(`^request-crypto: ${code}: `));
  });

  it('reports a bad body with its code', () => {
    const result = cli(['decrypt', '--jwks', jwks], 'not a body');
    expect(result).toEqual({ status: 1, stdout: '', stderr: 'request-crypto: ERR_BODY_MALFORMED: body is malformed: it is not base64url\n' });
  });

  it('reports an unknown kid with the original message', () => {
    const result = cli(['encrypt', '--jwks', jwks, '--kid', 'nope'], '1');
    expect(result.stderr).toBe('request-crypto: ERR_MISSING_KID: Missing kid (nope).\n');
  });

  it('remove deletes a key and keeps the file private; removing it twice fails', () => {
    expect(cli(['remove', '--kid', 'k2', '--jwks', jwks]).status).toBe(0);
    expect(statSync(jwks).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(jwks, 'utf8')).keys.map((k: { kid: string }) => k.kid)).toEqual(['k1']);
    const again = cli(['remove', '--kid', 'k2', '--jwks', jwks]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^request-crypto: ERR_MISSING_KID: /);
  });

  it('runs the demo', () => {
    const result = cli(['demo']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('the decrypted payload equals what the sender sent');
  });
});
