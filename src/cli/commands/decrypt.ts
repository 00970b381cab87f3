/** `request-crypto decrypt`: decrypts a body with a private key set. @packageDocumentation */
import { createRequestDecryptor } from '../../receiver/decryptor';
import { parseCommandLine, parseContext, required, UsageError } from '../args';
import type { Command } from '../command';
import { readInput, readJwks } from '../io';

const OPTIONS = { jwks: { type: 'string' }, context: { type: 'string', multiple: true }, 'max-age': { type: 'string' } } as const;

/** The `decrypt` command. */
export const decrypt: Command = {
  summary: ['decrypt  --jwks FILE [--max-age S] [--context k=v]... [FILE|-]'],
  help: `Usage: request-crypto decrypt --jwks FILE [--max-age SECONDS] [--context k=v]... [FILE|-]

Decrypts the body in FILE (or stdin) with the private key set in FILE and prints the JSON payload.`,
  async run(args, io) {
    const { values, files } = parseCommandLine('decrypt', args, OPTIONS, 1);
    let maxAgeSeconds: number | undefined;
    if (values['max-age'] !== undefined) {
      maxAgeSeconds = Number(values['max-age']);
      if (!(maxAgeSeconds > 0)) throw new UsageError('--max-age must be a positive number of seconds');
    }
    const context = parseContext(values.context);
    const decryptor = await createRequestDecryptor(readJwks(required(values.jwks, '--jwks')) as never);
    // The decryptor itself ignores the line breaks a file or a pipe adds around a body.
    const body = await readInput(files, io, 'body');
    const payload = await decryptor.decrypt(body, {
      ...(context ? { context } : {}),
      ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
    });
    io.stdout(`${JSON.stringify(payload)}\n`);
  },
};
