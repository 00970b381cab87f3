/** `request-crypto inspect`: prints a body's key and header. @packageDocumentation */
import { createRequestDecryptor } from '../../receiver/decryptor';
import { parseCommandLine, required } from '../args';
import type { Command } from '../command';
import { readInput, readJwks } from '../io';

const OPTIONS = { jwks: { type: 'string' } } as const;

/** The `inspect` command. */
export const inspect: Command = {
  summary: ["inspect  --jwks FILE [FILE|-]                        print a body's key and header as JSON"],
  help: `Usage: request-crypto inspect --jwks FILE [FILE|-]

Prints, as JSON, the key and header of the body in FILE (or stdin). Needs the private key set,
since the key envelope is authenticated before anything is reported.`,
  async run(args, io) {
    const { values, files } = parseCommandLine('inspect', args, OPTIONS, 1);
    const decryptor = await createRequestDecryptor(readJwks(required(values.jwks, '--jwks')) as never);
    const body = await readInput(files, io, 'body');
    io.stdout(`${JSON.stringify(await decryptor.getJWKMetadata(body), null, 2)}\n`);
  },
};
