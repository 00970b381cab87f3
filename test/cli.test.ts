import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { makeKeySets, vectors } from './helpers';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'lib', 'cli.js');

function cli(args: string[], input?: string, env: NodeJS.ProcessEnv = process.env): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { input, env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const keysIn = (path: string): string[] =>
  (JSON.parse(readFileSync(path, 'utf8')) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);

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
    for (const command of ['keygen', 'public', 'remove', 'encrypt', 'decrypt', 'inspect', 'demo', 'accelerator']) {
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

  it('says, for a body decrypted with a public set, that the set holds public keys only', () => {
    const setPath = join(dir, 'public-only.json');
    writeFileSync(setPath, JSON.stringify(vectors.publicJWKS));
    const result = cli(['decrypt', '--jwks', setPath], vectors.vectors[0]!.body);
    expect(result).toEqual({
      status: 1,
      stdout: '',
      stderr: 'request-crypto: ERR_NO_KEY_FOUND: no key found (the --jwks set holds public keys only: decrypting needs the private set)\n',
    });
  });

  it("says, for a body whose kid is not in the set, that the kid is not in it", () => {
    const setPath = join(dir, 'other.json');
    writeFileSync(setPath, JSON.stringify(makeKeySets(['other']).privateJWKS), { mode: 0o600 });
    const result = cli(['decrypt', '--jwks', setPath], vectors.vectors[0]!.body);
    expect(result.stderr).toBe("request-crypto: ERR_NO_KEY_FOUND: no key found (the body's kid is not in the --jwks set)\n");
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

describe('the CLI at its edges', () => {
  let dir: string;
  let jwks: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'request-crypto-cli-edges-'));
    jwks = join(dir, 'private.json');
    expect(cli(['keygen', '--kid', 'k1', '--jwks', jwks]).status).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--version prints the version of the package', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(cli(['--version'])).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  });

  it("a missing body file fails with the operating system's reason and the path", () => {
    const missing = join(dir, 'no-such-body.txt');
    const result = cli(['decrypt', '--jwks', jwks, missing]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`request-crypto: ERR_INVALID_ARGUMENT: cannot read body ${missing}: ENOENT: no such file or directory\n`);
  });

  it("a key set that is a directory fails with the operating system's reason", () => {
    const result = cli(['public', '--jwks', dir]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`request-crypto: ERR_INVALID_ARGUMENT: cannot read key set ${dir}: EISDIR: illegal operation on a directory\n`);
  });

  it('keygen into a missing directory names the path it was given, not a temporary file', () => {
    const target = join(dir, 'missing', 'keys.json');
    const result = cli(['keygen', '--kid', 'k9', '--jwks', target]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`request-crypto: ERR_INVALID_ARGUMENT: cannot write key set ${target}: ENOENT: no such file or directory\n`);
  });

  it('says on stderr what it waits for when stdin is a terminal', () => {
    // script(1) gives the command a terminal; its input arrives as typed, then Ctrl-D ends it.
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} decrypt --jwks ${JSON.stringify(jwks)}`;
    const body = cli(['encrypt', '--jwks', jwks, '--kid', 'k1', '--format', 'jwe'], '{"typed":true}').stdout.trim();
    const result = spawnSync('script', ['-qec', command, '/dev/null'], { input: `${body}\n\u0004`, encoding: 'utf8', timeout: 60_000 });
    expect(result.stdout).toContain('request-crypto: reading the body from stdin (end with Ctrl-D)\u2026');
    expect(result.stdout).toContain('{"typed":true}');
  });

  it('says nothing extra when stdin is a pipe', () => {
    const body = cli(['encrypt', '--jwks', jwks, '--kid', 'k1', '--format', 'jwe'], '{"piped":true}').stdout;
    expect(cli(['decrypt', '--jwks', jwks], body)).toEqual({ status: 0, stdout: '{"piped":true}\n', stderr: '' });
  });

  it('keygen refuses to add a private key to a file of public keys and leaves it untouched', () => {
    const publicPath = join(dir, 'public.json');
    writeFileSync(publicPath, cli(['public', '--jwks', jwks]).stdout, { mode: 0o644 });
    const before = readFileSync(publicPath);
    const result = cli(['keygen', '--kid', 'k2', '--jwks', publicPath]);
    expect(result.status).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^request-crypto: ERR_INVALID_ARGUMENT: .*public\.json holds public keys/);
    expect(readFileSync(publicPath)).toEqual(before);
    expect(statSync(publicPath).mode & 0o777).toBe(0o644);
  });

  it('keygen through a symbolic link adds to the file it points to, and the link stays a link', () => {
    const real = join(dir, 'real-keys.json');
    const link = join(dir, 'link-keys.json');
    expect(cli(['keygen', '--kid', 'a', '--jwks', real]).status).toBe(0);
    symlinkSync(real, link);
    expect(cli(['keygen', '--kid', 'b', '--jwks', link]).status).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(keysIn(real)).toEqual(['a', 'b']);
    expect(statSync(real).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('remove through a symbolic link removes the key from the file it points to', () => {
    const real = join(dir, 'rotating.json');
    const link = join(dir, 'current.json');
    expect(cli(['keygen', '--kid', 'old', '--jwks', real]).status).toBe(0);
    expect(cli(['keygen', '--kid', 'new', '--jwks', real]).status).toBe(0);
    symlinkSync(real, link);
    expect(cli(['remove', '--kid', 'old', '--jwks', link]).status).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(keysIn(real)).toEqual(['new']);
    expect(statSync(real).mode & 0o777).toBe(0o600);
  });
});

describe('the CLI conventions', () => {
  let dir: string;
  let jwks: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'request-crypto-cli-conventions-'));
    jwks = join(dir, 'private.json');
    expect(cli(['keygen', '--kid', 'k1', '--jwks', jwks]).status).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a bare request-crypto prints the usage on stderr and exits with 2', () => {
    const result = cli([]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(cli(['--help']).stdout);
    expect(result.stderr).toMatch(/^Usage: request-crypto <command>/);
  });

  it('"help <command>" prints the same help as "<command> --help", for every command', () => {
    for (const command of ['keygen', 'public', 'remove', 'encrypt', 'decrypt', 'inspect', 'demo', 'accelerator']) {
      const help = cli(['help', command]);
      expect(help).toEqual({ status: 0, stdout: cli([command, '--help']).stdout, stderr: '' });
      expect(help.stdout).toMatch(new RegExp(`^Usage: request-crypto ${command}`));
    }
  });

  it('"help" alone prints the usage on stdout; "help" of an unknown command is a usage error', () => {
    expect(cli(['help'])).toEqual({ status: 0, stdout: cli(['--help']).stdout, stderr: '' });
    const unknown = cli(['help', 'frobnicate']);
    expect([unknown.status, unknown.stdout]).toEqual([2, '']);
    expect(unknown.stderr).toBe('request-crypto: ERR_INVALID_ARGUMENT: unknown command "frobnicate" (see "request-crypto --help")\n');
  });

  it('-V prints the version, as --version does', () => {
    expect(cli(['-V'])).toEqual(cli(['--version']));
    expect(cli(['-V']).status).toBe(0);
  });

  it('an unknown option is refused with our message, naming the command, with status 2', () => {
    expect(cli(['decrypt', '--bogus'])).toEqual({
      status: 2,
      stdout: '',
      stderr: 'request-crypto: ERR_INVALID_ARGUMENT: decrypt has no option --bogus (see "request-crypto help decrypt")\n',
    });
    expect(cli(['--bogus']).stderr).toBe('request-crypto: ERR_INVALID_ARGUMENT: unknown option --bogus (see "request-crypto --help")\n');
  });

  it('never echoes the value of an unknown option', () => {
    const result = cli(['decrypt', '--jwks', jwks, '--secret=hunter2-marker']);
    expect(result.status).toBe(2);
    expect(result.stderr).not.toContain('hunter2-marker');
    expect(result.stderr).toContain('--secret');
  });

  it.each([
    ['an option without its value', ['encrypt', '--jwks', 'f', '--kid'], 'request-crypto: ERR_INVALID_ARGUMENT: --kid needs a value\n'],
    ['an option whose value is the next option', ['encrypt', '--kid', '--jwks', 'f'], 'request-crypto: ERR_INVALID_ARGUMENT: --kid needs a value\n'],
    ['a value given to a flag', ['encrypt', '--jwks', 'f', '--kid', 'k', '--compress=yes'], 'request-crypto: ERR_INVALID_ARGUMENT: --compress takes no value\n'],
    ['an option given twice', ['decrypt', '--jwks', 'a', '--jwks', 'b'], 'request-crypto: ERR_INVALID_ARGUMENT: --jwks is given twice\n'],
    ['a file argument to a command that takes none', ['public', '--jwks', 'f', 'extra'], 'request-crypto: ERR_INVALID_ARGUMENT: public takes no file argument\n'],
  ])('refuses %s as a usage error (status 2), in our words', (_name, args, stderr) => {
    expect(cli(args, '')).toEqual({ status: 2, stdout: '', stderr });
  });

  it('a payload file that is not JSON is a runtime error (status 1)', () => {
    const input = join(dir, 'not-json.txt');
    writeFileSync(input, 'this is not JSON');
    expect(cli(['encrypt', '--jwks', jwks, '--kid', 'k1', input])).toEqual({
      status: 1,
      stdout: '',
      stderr: 'request-crypto: ERR_INVALID_ARGUMENT: the input is not JSON\n',
    });
  });

  it('a key set file that is not JSON is a runtime error (status 1)', () => {
    const set = join(dir, 'not-json.json');
    writeFileSync(set, '{ keys: ');
    expect(cli(['public', '--jwks', set])).toEqual({ status: 1, stdout: '', stderr: `request-crypto: ERR_INVALID_ARGUMENT: key set ${set} is not JSON\n` });
  });

  it('a kid already in the key set is a runtime error (status 1): the file, not the command line, is in the way', () => {
    const result = cli(['keygen', '--kid', 'k1', '--jwks', jwks]);
    expect([result.status, result.stdout]).toEqual([1, '']);
    expect(result.stderr).toBe('request-crypto: ERR_INVALID_ARGUMENT: the key set already has kid "k1"\n');
  });
});
