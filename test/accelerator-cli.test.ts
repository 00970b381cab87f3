// The accelerator tier (npm run test:accelerator; needs the accelerator built, so a C compiler):
// `request-crypto accelerator status|build`, run as users run it, the built CLI in a child process.
import { spawnSync } from 'node:child_process';
import { getFips } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { itUnlessFips } from './helpers';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'lib', 'cli.js');

function cli(args: string[], input?: string, env: NodeJS.ProcessEnv = process.env): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { input, env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe('request-crypto accelerator', () => {
  const env = (extra: Record<string, string>): NodeJS.ProcessEnv => {
    const copy: NodeJS.ProcessEnv = { ...process.env, ...extra };
    if (extra['REQUEST_CRYPTO_NATIVE'] === undefined) delete copy['REQUEST_CRYPTO_NATIVE'];
    if (extra['REQUEST_CRYPTO_ACCELERATOR'] === undefined) delete copy['REQUEST_CRYPTO_ACCELERATOR'];
    return copy;
  };

  it('status says the package build is used, and where it is (or that FIPS mode keeps it off)', () => {
    const result = cli(['accelerator', 'status'], undefined, env({}));
    const built = join(ROOT, 'native', 'build', 'Release', 'pbkdf2_sha512.node');
    // A suite run in FIPS mode passes it on to the child through the OpenSSL configuration.
    const stdout =
      getFips() === 1
        ? `backend: node:crypto\nwhy: FIPS mode is on (crypto.getFips()): PBKDF2 runs in OpenSSL's FIPS provider through crypto.pbkdf2, and the accelerator is never loaded\npackage accelerator: ${built}\n`
        : `backend: native\nwhy: ${built} loaded and matches crypto.pbkdf2\nfile: ${built}\n`;
    expect(result).toEqual({ status: 0, stdout, stderr: '' });
  });

  // Skipped in FIPS mode: there the accelerator is never looked for, so this path cannot run (the FIPS-mode tests cover what happens instead).
  itUnlessFips('status says REQUEST_CRYPTO_NATIVE=0 turns it off', () => {
    const result = cli(['accelerator', 'status'], undefined, env({ REQUEST_CRYPTO_NATIVE: '0' }));
    expect(result.stdout).toMatch(/^backend: node:crypto\nwhy: REQUEST_CRYPTO_NATIVE=0 turns the accelerator off\n/);
  });

  // Skipped in FIPS mode: there the accelerator is never looked for, so this path cannot run (the FIPS-mode tests cover what happens instead).
  itUnlessFips('status says when REQUEST_CRYPTO_ACCELERATOR names a file that is not there', () => {
    const result = cli(['accelerator', 'status'], undefined, env({ REQUEST_CRYPTO_ACCELERATOR: '/nonexistent/pbkdf2_sha512.node' }));
    expect(result.stdout).toMatch(
      /^backend: node:crypto\nwhy: REQUEST_CRYPTO_ACCELERATOR=\/nonexistent\/pbkdf2_sha512.node was given, but there is no such file\n/,
    );
  });

  it('build names each missing prerequisite and builds nothing', () => {
    const emptyPath = mkdtempSync(join(tmpdir(), 'request-crypto-no-tools-'));
    const built = join(ROOT, 'native', 'build', 'Release', 'pbkdf2_sha512.node');
    const before = existsSync(built) ? statSync(built).mtimeMs : undefined;
    try {
      const result = cli(['accelerator', 'build'], undefined, { ...env({}), PATH: emptyPath, CC: '', CXX: '', PYTHON: '' });
      expect(result.status).toBe(1);
      for (const name of ['C compiler', 'C\\+\\+ compiler', 'make', 'Python 3']) {
        expect(result.stdout).toMatch(new RegExp(`^  ${name}.*: MISSING \\(`, 'm'));
      }
      // Headers are here for the machine's Node, or to be downloaded for another (the CI's Node 22 and
      // 24); node-gyp is found beside the machine's npm only. Neither is a tool the build lacks here.
      expect(result.stdout).toMatch(/^ {2}Node headers: (ok|download \(.*needs the network)/m);
      expect(result.stderr).toMatch(
        /^request-crypto: ERR_ACCELERATOR_BUILD: missing (node-gyp, )?C compiler, C\+\+ compiler \(node-gyp links with it\), make, Python 3: see the list above; nothing was built\n$/,
      );
      expect(existsSync(built) ? statSync(built).mtimeMs : undefined).toBe(before);
    } finally {
      rmSync(emptyPath, { recursive: true, force: true });
    }
  });

  it('build names Node headers as missing where npm_config_nodedir points at none', () => {
    const result = cli(['accelerator', 'build'], undefined, { ...env({}), npm_config_nodedir: '/nonexistent' });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^ {2}Node headers: MISSING \(npm_config_nodedir=\/nonexistent has no include\/node\/node_api.h\)$/m);
    expect(result.stderr).toMatch(/^request-crypto: ERR_ACCELERATOR_BUILD: missing Node headers: /);
  });

  it('refuses an action other than build or status', () => {
    const result = cli(['accelerator', 'frobnicate']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('request-crypto: ERR_INVALID_ARGUMENT: accelerator takes build or status\n');
  });
});
