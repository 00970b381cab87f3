/**
 * One entry of the CLI's command table (src/cli/commands.ts): its lines in the main usage, its
 * help, and what it does with the arguments after its name.
 *
 * @packageDocumentation
 */
import type { CliIo } from './io';

/** A `request-crypto` command. */
export interface Command {
  /** Its lines in the main usage: synopsis and what it does, aligned as in the other commands. */
  readonly summary: readonly string[];
  /** Printed by `request-crypto help <command>` and `request-crypto <command> --help`. */
  readonly help: string;
  /** Runs it with the arguments after its name; rejects with a `UsageError` for a bad command line. */
  run(args: string[], io: CliIo): Promise<void>;
}
