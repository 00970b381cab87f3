/** `request-crypto remove`: removes a key from a key set. @packageDocumentation */
import { MissingKidError } from '../../core/errors';
import { createJWKManager } from '../../compat/jwk';
import { parseCommandLine, required } from '../args';
import type { Command } from '../command';
import { readJwks, writePrivateJwks } from '../io';

const OPTIONS = { kid: { type: 'string' }, jwks: { type: 'string' } } as const;

/** The `remove` command. */
export const remove: Command = {
  summary: ['remove   --kid K --jwks FILE                         remove a key from a key set'],
  help: `Usage: request-crypto remove --kid K --jwks FILE

Removes the key K from the key set in FILE (for rotation: add the new key, ship the new public
set, then remove the old key). When FILE is a symbolic link, the file it points to is updated.`,
  async run(args) {
    const { values } = parseCommandLine('remove', args, OPTIONS, 0);
    const kid = required(values.kid, '--kid');
    const path = required(values.jwks, '--jwks');
    const manager = await createJWKManager(readJwks(path));
    const key = manager.getPublicJWK(kid);
    if (key === null) throw new MissingKidError(kid);
    manager.removeKey(key);
    writePrivateJwks(path, manager.getPrivateJWKS());
  },
};
