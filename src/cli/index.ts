/**
 * The `request-crypto` command: make and rotate keys, encrypt, decrypt and inspect bodies.
 * stdout carries only the result; any failure is one line on stderr with its error code.
 *
 * Exit status: 0 on success; 2 for a usage error (a bare `request-crypto`, an unknown command or
 * option, a missing or malformed option), printed with the usage or one line; 1 for a failure at
 * run time (a file that cannot be read or is not JSON, a refused body, a key service's refusal).
 *
 * @packageDocumentation
 */
import { AcceleratorBuildError } from '../accelerator/build';
import { NoKeyFoundError, RequestCryptoError } from '../core/errors';
import { UsageError } from './args';
import type { Command } from './command';
import { COMMANDS } from './commands';
import type { CliIo } from './io';

export type { CliIo } from './io';

/** The main usage, from the command table. */
export function mainUsage(): string {
  const lines = Object.values(COMMANDS).flatMap((command) => command.summary.map((line) => `  ${line}`));
  return `Usage: request-crypto <command> [options]

Commands:
${lines.join('\n')}
  help [COMMAND]                                       print this, or one command's help

  -V, --version                                        print the version

Run "request-crypto help <command>" for one command.`;
}

function version(): string {
  // Read on demand, from the package folder (lib/cli/ and src/cli/ sit two levels below it).
  return (require('../../package.json') as { version: string }).version;
}

/** The command of that name, or a usage error. */
function commandNamed(name: string): Command {
  const command = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)} (see "request-crypto --help")`);
  return command;
}

/** Whether `args` ask for help before any `--` (after which everything is a file). */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** Runs one command line; resolves to the exit status when it is not 0. */
async function run(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr(`${mainUsage()}\n`);
    return 2;
  }
  if (first === '--help' || first === '-h') {
    io.stdout(`${mainUsage()}\n`);
    return 0;
  }
  if (first === 'help') {
    if (rest.length > 1) throw new UsageError('help takes at most one command');
    io.stdout(`${rest[0] === undefined ? mainUsage() : commandNamed(rest[0]).help}\n`);
    return 0;
  }
  if (first === '--version' || first === '-V' || first === '-v') {
    io.stdout(`${version()}\n`);
    return 0;
  }
  if (first.startsWith('-')) throw new UsageError(`unknown option ${first.split('=')[0]} (see "request-crypto --help")`);
  const command = commandNamed(first);
  if (asksForHelp(rest)) {
    io.stdout(`${command.help}\n`);
    return 0;
  }
  await command.run(rest, io);
  return 0;
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

/** Runs the CLI; resolves to the exit status: 0, 1 for a failure, 2 for a usage error. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    const code = err instanceof RequestCryptoError || err instanceof AcceleratorBuildError ? err.code : 'ERR_UNEXPECTED';
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`request-crypto: ${code}: ${message.split('\n')[0]}${explanation(err)}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
