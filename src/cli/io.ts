/**
 * What the CLI reads and writes: stdout and stderr, stdin, key-set files (written 0600, atomically,
 * through symbolic links). A file that cannot be read or is not JSON is a runtime failure
 * (`InvalidArgumentError`, exit status 1), not a usage error.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { InvalidArgumentError } from '../core/errors';
import type { JWKS, PrivateJWKS } from '../core/types';

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads all of stdin; `what` names what is read, for a prompt when stdin is a terminal. */
  readStdin: (what: string) => Promise<string>;
}

/** Reads all of the process's stdin. */
export function readStdin(what: string): Promise<string> {
  // Someone typing at a terminal sees nothing happen otherwise: say what the command waits for.
  if (process.stdin.isTTY === true) process.stderr.write(`request-crypto: reading the ${what} from stdin (end with Ctrl-D)\u2026\n`);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

/** The process's own stdout, stderr and stdin. */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin,
  };
}

/** The operating system's reason in a file error, e.g. `ENOENT: no such file or directory`. */
function osReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // Node's messages are "<CODE>: <reason>, <syscall> '<path>'": the path is named by the caller,
  // and for a write it would be the temporary file's, not the user's.
  return message.replace(/, \w+(?: '.*')?$/s, '');
}

/** The text of a file; `what` names it in the error. */
export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${what} ${path}: ${osReason(err)}`);
  }
}

/** The key set in a file, parsed (its keys are checked by whoever uses it). */
export function readJwks(path: string): JWKS {
  const text = readText(path, 'key set');
  try {
    return JSON.parse(text) as JWKS;
  } catch {
    throw new InvalidArgumentError(`key set ${path} is not JSON`);
  }
}

/** The input of a command: the one file argument, or stdin for none or `-`. */
export async function readInput(files: string[], io: CliIo, what: string): Promise<string> {
  const source = files[0] ?? '-';
  return source === '-' ? io.readStdin(what) : readText(source, what);
}

/**
 * The file a key-set path stands for: a symbolic link is followed, so that an update replaces the
 * file it points to (which a receiver may load by its real name) and the link stays a link.
 */
function keySetFile(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    // Not there yet; a dangling link names the file to create.
  }
  let target = path;
  for (let hops = 0; hops < 40; hops++) {
    try {
      if (!lstatSync(target).isSymbolicLink()) break;
    } catch {
      break;
    }
    target = resolve(dirname(target), readlinkSync(target));
  }
  return target;
}

/**
 * Writes a private key set: a 0600 file beside the real file (links followed), then an atomic
 * rename over it. Errors name the user's path, not the temporary file.
 */
export function writePrivateJwks(path: string, jwks: PrivateJWKS): void {
  const target = keySetFile(path);
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temporary, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(temporary, 0o600);
    renameSync(temporary, target);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw new InvalidArgumentError(`cannot write key set ${path}: ${osReason(err)}`);
  }
}
