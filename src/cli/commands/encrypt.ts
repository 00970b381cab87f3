/** `request-crypto encrypt`: encrypts a JSON payload for one key of a public set. @packageDocumentation */
import { isWrapAlgorithm } from '../../core/algorithms';
import { createRequestEncryptor, type BodyFormat } from '../../sender/encryptor';
import { InvalidArgumentError } from '../../core/errors';
import { parseCommandLine, parseContext, required, UsageError } from '../args';
import type { Command } from '../command';
import { readInput, readJwks } from '../io';

const OPTIONS = {
  kid: { type: 'string' },
  jwks: { type: 'string' },
  format: { type: 'string' },
  'key-wrap': { type: 'string' },
  context: { type: 'string', multiple: true },
  compress: { type: 'boolean' },
} as const;

/** The `encrypt` command. */
export const encrypt: Command = {
  summary: ['encrypt  --jwks FILE --kid K [--format F] [--key-wrap A] [--context k=v]... [--compress] [FILE|-]'],
  help: `Usage: request-crypto encrypt --jwks FILE --kid K [--format legacy|jwe] [--key-wrap RSA-OAEP|RSA-OAEP-256]
                              [--context k=v]... [--compress] [FILE|-]

Encrypts the JSON in FILE (or stdin) for key K and prints the body. --format defaults to legacy;
--context and --compress need --format jwe. --key-wrap RSA-OAEP-256 wraps with SHA-256 whatever
the key's alg (what @elastic/request-crypto 3.0 sends; a 2.x receiver cannot read it); by default
the key's own alg is used (RSA-OAEP for a key without one).`,
  async run(args, io) {
    const { values, files } = parseCommandLine('encrypt', args, OPTIONS, 1);
    const kid = required(values.kid, '--kid');
    const format = (values.format ?? 'legacy') as BodyFormat;
    if (format !== 'legacy' && format !== 'jwe') throw new UsageError('--format must be legacy or jwe');
    const context = parseContext(values.context);
    if (format === 'legacy' && (context !== undefined || values.compress === true)) {
      throw new UsageError('--context and --compress need --format jwe');
    }
    const keyWrapAlgorithm = values['key-wrap'];
    if (keyWrapAlgorithm !== undefined && !isWrapAlgorithm(keyWrapAlgorithm)) {
      throw new UsageError('--key-wrap must be RSA-OAEP or RSA-OAEP-256');
    }
    const encryptor = await createRequestEncryptor(readJwks(required(values.jwks, '--jwks')) as never);
    const text = await readInput(files, io, 'payload');
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      // The input, not the command line, is wrong: a runtime failure (status 1).
      throw new InvalidArgumentError('the input is not JSON');
    }
    const options = {
      ...(keyWrapAlgorithm !== undefined ? { keyWrapAlgorithm } : {}),
      ...(format === 'jwe' ? { format, compress: values.compress === true, ...(context ? { context } : {}) } : {}),
    };
    io.stdout(`${await encryptor.encrypt(kid, payload, options)}\n`);
  },
};
