#!/usr/bin/env node
/**
 * The `request-crypto` executable (package.json "bin": lib/cli.js). The commands live in ./cli/:
 * its index dispatches through the command table to one file per command.
 *
 * @packageDocumentation
 */
import { main } from './cli/index';
import { processIo } from './cli/io';

export { main } from './cli/index';
export type { CliIo } from './cli/io';

if (require.main === module) {
  main(process.argv.slice(2), processIo()).then((status) => {
    process.exitCode = status;
  });
}
