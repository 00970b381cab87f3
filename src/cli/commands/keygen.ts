/** `request-crypto keygen`: adds a new key to a private key set. @packageDocumentation */
import { existsSync } from 'node:fs';

import { isWrapAlgorithm, LEGACY_KEY_WRAP_ALGORITHM } from '../../core/algorithms';
import { InvalidArgumentError } from '../../core/errors';
import { ALLOWED_MODULI, createJWKManager, ENC_MODULUS } from '../../compat/jwk';
import { parseCommandLine, required, UsageError } from '../args';
import type { Command } from '../command';
import { readJwks, writePrivateJwks } from '../io';

const OPTIONS = { kid: { type: 'string' }, jwks: { type: 'string' }, bits: { type: 'string' }, alg: { type: 'string' } } as const;

/** The `keygen` command. */
export const keygen: Command = {
  summary: ['keygen   --kid K [--bits N] [--alg A] --jwks FILE   add a new key to a private key set (file mode 0600)'],
  help: `Usage: request-crypto keygen --kid K [--bits 2048|3072|4096] [--alg RSA-OAEP|RSA-OAEP-256] --jwks FILE

Makes an RSA key and adds it to the private key set in FILE, creating the file if needed. The file
is written with mode 0600. Refuses a kid already in the set, and a file that holds public keys.
When FILE is a symbolic link, the file it points to is updated. Prints the new public key.`,
  async run(args, io) {
    const { values } = parseCommandLine('keygen', args, OPTIONS, 0);
    const kid = required(values.kid, '--kid');
    const path = required(values.jwks, '--jwks');
    const bits = values.bits === undefined ? ENC_MODULUS : Number(values.bits);
    if (!ALLOWED_MODULI.includes(bits)) throw new UsageError('--bits must be 2048, 3072 or 4096');
    const alg = values.alg ?? LEGACY_KEY_WRAP_ALGORITHM;
    if (!isWrapAlgorithm(alg)) throw new UsageError('--alg must be RSA-OAEP or RSA-OAEP-256');
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
    // The file's content, not the command line, is wrong: a runtime failure (status 1).
    if (manager.getPublicJWK(kid) !== null) throw new InvalidArgumentError(`the key set already has kid ${JSON.stringify(kid)}`);
    await manager.addKey(kid, { modulusLength: bits, alg });
    writePrivateJwks(path, manager.getPrivateJWKS());
    io.stdout(`${JSON.stringify(manager.getPublicJWK(kid))}\n`);
  },
};
