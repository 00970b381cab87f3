/**
 * `request-crypto public`: prints the public half of a key set in a file, or (./public-custody.ts)
 * the public set of keys in AWS KMS or on a PKCS#11 token.
 *
 * @packageDocumentation
 */
import { createJWKManager } from '../../compat/jwk';
import { parseCommandLine, required, UsageError } from '../args';
import type { Command } from '../command';
import { readJwks } from '../io';
import { CUSTODY_OPTIONS, CUSTODY_PUBLIC_USAGE, custodyPublic } from './public-custody';

const OPTIONS = { jwks: { type: 'string' }, ...CUSTODY_OPTIONS } as const;

/** The `public` command. */
export const publicCommand: Command = {
  summary: [
    'public   --jwks FILE                                 print the public key set',
    'public   --kms KEY_ID --kid K | --pkcs11-library …   print the public set of keys in AWS KMS or an HSM',
  ],
  help: `Usage: request-crypto public --jwks FILE
${CUSTODY_PUBLIC_USAGE}

With --jwks, prints the public half of the key set in FILE. The set printed is what senders need.`,
  async run(args, io) {
    // Refused before parsing, so that no message can echo it.
    if (args.some((arg) => /^--pin(=|$)/.test(arg))) {
      throw new UsageError('a PIN is never taken on the command line: name an environment variable with --pin-env VAR, or use --pin-stdin');
    }
    const { values } = parseCommandLine('public', args, OPTIONS, 0);
    const { jwks, ...custody } = values;
    const where = custody.kms !== undefined ? '--kms' : custody['pkcs11-library'] !== undefined ? '--pkcs11-library' : undefined;
    if (where !== undefined) {
      if (jwks !== undefined) throw new UsageError(`--jwks does not go with ${where}`);
      return custodyPublic(custody, io);
    }
    const other = Object.keys(custody)[0];
    if (other !== undefined) throw new UsageError(`public --jwks does not take --${other}`);
    const manager = await createJWKManager(readJwks(required(jwks, '--jwks')));
    io.stdout(`${JSON.stringify(manager.getPublicJWKS(), null, 2)}\n`);
  },
};
