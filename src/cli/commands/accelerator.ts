/** `request-crypto accelerator build|status`: the optional PBKDF2 accelerator. @packageDocumentation */
import { acceleratorStatus, buildAccelerator } from '../../accelerator/build';
import { parseCommandLine, UsageError } from '../args';
import type { Command } from '../command';

/** The `accelerator` command. */
export const accelerator: Command = {
  summary: ['accelerator build|status                             build the optional PBKDF2 accelerator, or say which backend runs'],
  help: `Usage: request-crypto accelerator build|status

build   builds the optional PBKDF2 accelerator in the package folder with node-gyp, after checking
        what it needs (C compiler, make, Python 3, Node headers), then checks it against
        crypto.pbkdf2 and prints the speed-up it measured. It only speeds up legacy bodies.
status  says which PBKDF2 backend a process with this environment uses, and why
        (FIPS mode, REQUEST_CRYPTO_NATIVE=0, REQUEST_CRYPTO_ACCELERATOR=<file>, not built).`,
  async run(args, io) {
    const { files } = parseCommandLine('accelerator', args, {}, Infinity);
    const [action, ...extra] = files;
    if ((action !== 'build' && action !== 'status') || extra.length > 0) throw new UsageError('accelerator takes build or status');
    const print = (line: string): void => io.stdout(`${line}\n`);
    await (action === 'build' ? buildAccelerator(print) : acceleratorStatus(print));
  },
};
