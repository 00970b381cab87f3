/**
 * The CLI's command table: each command's name and its module (one file per command under
 * ./commands/). The main usage lists them in this order.
 *
 * @packageDocumentation
 */
import type { Command } from './command';
import { accelerator } from './commands/accelerator';
import { decrypt } from './commands/decrypt';
import { demo } from './commands/demo';
import { encrypt } from './commands/encrypt';
import { inspect } from './commands/inspect';
import { keygen } from './commands/keygen';
import { publicCommand } from './commands/public';
import { remove } from './commands/remove';

/** Every command, by name. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  keygen,
  public: publicCommand,
  remove,
  encrypt,
  decrypt,
  inspect,
  demo,
  accelerator,
};
