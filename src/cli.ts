#!/usr/bin/env node
/**
 * The `request-crypto` command: make and rotate keys, encrypt, decrypt and inspect bodies.
 * stdout carries only the result; any failure is one line on stderr with its error code.
 *
 * @packageDocumentation
 */
import { chmodSync, existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';

import { AcceleratorBuildError, acceleratorStatus, buildAccelerator } from './accelerator';
import { createRequestDecryptor } from './decryptor';
import { createRequestEncryptor, type BodyFormat } from './encryptor';
import { InvalidArgumentError, MissingKidError, NoKeyFoundError, RequestCryptoError } from './errors';
import { ALLOWED_MODULI, createJWKManager } from './keys/jwk';
import { CUSTODY_PUBLIC_USAGE, custodyPublic, isCustodyPublic } from './custody-cli';
import type { JWKS, PrivateJWKS } from './types';

const USAGE: Record<string, string> = {
  main: `Usage: request-crypto <command> [options]

Commands:
  keygen   --kid K [--bits N] [--alg A] --jwks FILE   add a new key to a private key set (file mode 0600)
  public   --jwks FILE                                 print the public key set
  public   --kms KEY_ID --kid K | --pkcs11-library …   print the public set of keys in AWS KMS or an HSM
  remove   --kid K --jwks FILE                         remove a key from a key set
  encrypt  --jwks FILE --kid K [--format F] [--context k=v]... [--compress] [FILE|-]
  decrypt  --jwks FILE [--max-age S] [--context k=v]... [FILE|-]
  inspect  --jwks FILE [FILE|-]                        print a body's key and header as JSON
  demo                                                 run sender, mediator and receiver locally
  accelerator build|status                             build the optional PBKDF2 accelerator, or say which backend runs

  --version                                            print the version

Run "request-crypto <command> --help" for one command.`,
  keygen: `Usage: request-crypto keygen --kid K [--bits 2048|3072|4096] [--alg RSA-OAEP|RSA-OAEP-256] --jwks FILE

Makes an RSA key and adds it to the private key set in FILE, creating the file if needed. The file
is written with mode 0600. Refuses a kid already in the set, and a file that holds public keys.
When FILE is a symbolic link, the file it points to is updated. Prints the new public key.`,
  public: `Usage: request-crypto public --jwks FILE
${CUSTODY_PUBLIC_USAGE}

With --jwks, prints the public half of the key set in FILE. The set printed is what senders need.`,
  remove: `Usage: request-crypto remove --kid K --jwks FILE

Removes the key K from the key set in FILE (for rotation: add the new key, ship the new public
set, then remove the old key). When FILE is a symbolic link, the file it points to is updated.`,
  encrypt: `Usage: request-crypto encrypt --jwks FILE --kid K [--format legacy|jwe] [--context k=v]... [--compress] [FILE|-]

Encrypts the JSON in FILE (or stdin) for key K and prints the body. --format defaults to legacy;
--context and --compress need --format jwe.`,
  decrypt: `Usage: request-crypto decrypt --jwks FILE [--max-age SECONDS] [--context k=v]... [FILE|-]

Decrypts the body in FILE (or stdin) with the private key set in FILE and prints the JSON payload.`,
  inspect: `Usage: request-crypto inspect --jwks FILE [FILE|-]

Prints, as JSON, the key and header of the body in FILE (or stdin). Needs the private key set,
since the key envelope is authenticated before anything is reported.`,
  demo: `Usage: request-crypto demo

Makes a key set in a temporary folder and runs a sender, a mediator and a receiver on 127.0.0.1.`,
  accelerator: `Usage: request-crypto accelerator build|status

build   builds the optional PBKDF2 accelerator in the package folder with node-gyp, after checking
        what it needs (C compiler, make, Python 3, Node headers), then checks it against
        crypto.pbkdf2 and prints the speed-up it measured. It only speeds up legacy bodies.
status  says which PBKDF2 backend a process with this environment uses, and why
        (FIPS mode, REQUEST_CRYPTO_NATIVE=0, REQUEST_CRYPTO_ACCELERATOR=<file>, not built).`,
};

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads all of stdin; `what` names what is read, for a prompt when stdin is a terminal. */
  readStdin: (what: string) => Promise<string>;
}

class UsageError extends InvalidArgumentError {}

function readStdin(what: string): Promise<string> {
  // Someone typing at a terminal sees nothing happen otherwise: say what the command waits for.
  if (process.stdin.isTTY === true) process.stderr.write(`request-crypto: reading the ${what} from stdin (end with Ctrl-D)\u2026\n`);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

/** The operating system's reason in a file error, e.g. `ENOENT: no such file or directory`. */
function osReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // Node's messages are "<CODE>: <reason>, <syscall> '<path>'": the path is named by the caller,
  // and for a write it would be the temporary file's, not the user's.
  return message.replace(/, \w+(?: '.*')?$/s, '');
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${what} ${path}: ${osReason(err)}`);
  }
}

function readJwks(path: string): JWKS {
  const text = readText(path, 'key set');
  try {
    return JSON.parse(text) as JWKS;
  } catch {
    throw new InvalidArgumentError(`key set ${path} is not JSON`);
  }
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
function writePrivateJwks(path: string, jwks: PrivateJWKS): void {
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

function parseContext(pairs: string[] | undefined): Record<string, string> | undefined {
  if (pairs === undefined || pairs.length === 0) return undefined;
  const context: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--context takes k=v, not ${JSON.stringify(pair)}`);
    context[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return context;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

async function readInput(positionals: string[], io: CliIo, what: string): Promise<string> {
  if (positionals.length > 1) throw new UsageError('give at most one input file');
  const source = positionals[0] ?? '-';
  return source === '-' ? io.readStdin(what) : readText(source, what);
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  kid: { type: 'string' },
  jwks: { type: 'string' },
  bits: { type: 'string' },
  alg: { type: 'string' },
  format: { type: 'string' },
  context: { type: 'string', multiple: true },
  compress: { type: 'boolean' },
  'max-age': { type: 'string' },
} as const;

const ALLOWED: Record<string, readonly string[]> = {
  keygen: ['kid', 'jwks', 'bits', 'alg'],
  public: ['jwks'],
  remove: ['kid', 'jwks'],
  encrypt: ['kid', 'jwks', 'format', 'context', 'compress'],
  decrypt: ['jwks', 'context', 'max-age'],
  inspect: ['jwks'],
  demo: [],
  accelerator: [],
};

function version(): string {
  // Read on demand, from the package folder (lib/ and src/ sit one level below it).
  return (require('../package.json') as { version: string }).version;
}

async function run(argv: string[], io: CliIo): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(`${USAGE.main}\n`);
    return;
  }
  if (command === '--version' || command === '-v') {
    io.stdout(`${version()}\n`);
    return;
  }
  // Keys in AWS KMS or on a PKCS#11 token: options of their own (src/custody-cli.ts).
  if (command === 'public' && isCustodyPublic(rest)) {
    return custodyPublic(rest, { ...io, usage: (message) => new UsageError(message), help: USAGE.public! });
  }
  const allowed = ALLOWED[command];
  if (allowed === undefined) throw new UsageError(`unknown command ${JSON.stringify(command)} (see --help)`);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; args: string[] }>>;
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stdout(`${USAGE[command]}\n`);
    return;
  }
  for (const name of Object.keys(values)) {
    if (!allowed.includes(name)) throw new UsageError(`${command} does not take --${name}`);
  }
  if (!['encrypt', 'decrypt', 'inspect', 'accelerator'].includes(command) && positionals.length > 0) {
    throw new UsageError(`${command} takes no file argument`);
  }

  switch (command) {
    case 'keygen': {
      const kid = required(values.kid, '--kid');
      const path = required(values.jwks, '--jwks');
      const bits = values.bits === undefined ? 2048 : Number(values.bits);
      if (!ALLOWED_MODULI.includes(bits)) throw new UsageError('--bits must be 2048, 3072 or 4096');
      const alg = values.alg ?? 'RSA-OAEP';
      if (alg !== 'RSA-OAEP' && alg !== 'RSA-OAEP-256') throw new UsageError('--alg must be RSA-OAEP or RSA-OAEP-256');
      const existing = existsSync(path) ? readJwks(path) : undefined;
      const keys: unknown[] = Array.isArray(existing?.keys) ? existing.keys : [];
      // Keys that are not objects are left to the key-set checks, which name them.
      const publicKey = keys.find((key): key is { kid?: unknown } => typeof key === 'object' && key !== null && !('d' in key));
      if (publicKey !== undefined) {
        // Adding d, p, q… to a public set would put a private key where senders' keys are kept.
        throw new InvalidArgumentError(
          `${path} holds public keys (kid ${JSON.stringify(publicKey.kid)} has no private part): keygen adds keys to a private key set only`,
        );
      }
      const manager = await createJWKManager(existing);
      if (manager.getPublicJWK(kid) !== null) throw new UsageError(`the key set already has kid ${JSON.stringify(kid)}`);
      await manager.addKey(kid, { modulusLength: bits, alg });
      writePrivateJwks(path, manager.getPrivateJWKS());
      io.stdout(`${JSON.stringify(manager.getPublicJWK(kid))}\n`);
      return;
    }
    case 'public': {
      const manager = await createJWKManager(readJwks(required(values.jwks, '--jwks')));
      io.stdout(`${JSON.stringify(manager.getPublicJWKS(), null, 2)}\n`);
      return;
    }
    case 'remove': {
      const kid = required(values.kid, '--kid');
      const path = required(values.jwks, '--jwks');
      const manager = await createJWKManager(readJwks(path));
      const key = manager.getPublicJWK(kid);
      if (key === null) throw new MissingKidError(kid);
      manager.removeKey(key);
      writePrivateJwks(path, manager.getPrivateJWKS());
      return;
    }
    case 'encrypt': {
      const kid = required(values.kid, '--kid');
      const format = (values.format ?? 'legacy') as BodyFormat;
      if (format !== 'legacy' && format !== 'jwe') throw new UsageError('--format must be legacy or jwe');
      const context = parseContext(values.context);
      if (format === 'legacy' && (context !== undefined || values.compress === true)) {
        throw new UsageError('--context and --compress need --format jwe');
      }
      const encryptor = await createRequestEncryptor(readJwks(required(values.jwks, '--jwks')) as never);
      const text = await readInput(positionals, io, 'payload');
      let payload: unknown;
      try {
        payload = JSON.parse(text);
      } catch {
        throw new UsageError('the input is not JSON');
      }
      const options = format === 'jwe' ? { format, compress: values.compress === true, ...(context ? { context } : {}) } : {};
      io.stdout(`${await encryptor.encrypt(kid, payload, options)}\n`);
      return;
    }
    case 'decrypt': {
      let maxAgeSeconds: number | undefined;
      if (values['max-age'] !== undefined) {
        maxAgeSeconds = Number(values['max-age']);
        if (!(maxAgeSeconds > 0)) throw new UsageError('--max-age must be a positive number of seconds');
      }
      const context = parseContext(values.context);
      const decryptor = await createRequestDecryptor(readJwks(required(values.jwks, '--jwks')) as never);
      // The decryptor itself ignores the line breaks a file or a pipe adds around a body.
      const body = await readInput(positionals, io, 'body');
      const payload = await decryptor.decrypt(body, {
        ...(context ? { context } : {}),
        ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
      });
      io.stdout(`${JSON.stringify(payload)}\n`);
      return;
    }
    case 'inspect': {
      const decryptor = await createRequestDecryptor(readJwks(required(values.jwks, '--jwks')) as never);
      const body = await readInput(positionals, io, 'body');
      io.stdout(`${JSON.stringify(await decryptor.getJWKMetadata(body), null, 2)}\n`);
      return;
    }
    case 'accelerator': {
      const [action, ...extra] = positionals;
      if ((action !== 'build' && action !== 'status') || extra.length > 0) throw new UsageError('accelerator takes build or status');
      const print = (line: string): void => io.stdout(`${line}\n`);
      await (action === 'build' ? buildAccelerator(print) : acceleratorStatus(print));
      return;
    }
    default: {
      const { runDemo } = await import('./demo');
      if (!(await runDemo((line) => io.stdout(`${line}\n`)))) throw new Error('the demo payload did not arrive intact');
    }
  }
}

/** What a person can do about an error, where the error says more than its message. */
function explanation(err: unknown): string {
  if (err instanceof NoKeyFoundError) {
    if (err.reason === 'public-keys-only') return ' (the --jwks set holds public keys only: decrypting needs the private set)';
    if (err.reason === 'no-private-key') return " (the --jwks set holds only the public half of the body's key)";
    if (err.reason === 'unknown-kid') return " (the body's kid is not in the --jwks set)";
  }
  return '';
}

/** Runs the CLI; resolves to the exit code: 0, 1 for a failure, 2 for a usage error. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  try {
    await run(argv, io);
    return 0;
  } catch (err) {
    const code = err instanceof RequestCryptoError || err instanceof AcceleratorBuildError ? err.code : 'ERR_UNEXPECTED';
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`request-crypto: ${code}: ${message.split('\n')[0]}${explanation(err)}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin,
  }).then((status) => {
    process.exitCode = status;
  });
}
