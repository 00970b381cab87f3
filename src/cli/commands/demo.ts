/** `request-crypto demo`: a sender, a mediator and a receiver on 127.0.0.1. @packageDocumentation */
import { parseCommandLine } from '../args';
import type { Command } from '../command';

/** The `demo` command. */
export const demo: Command = {
  summary: ['demo                                                 run sender, mediator and receiver locally'],
  help: `Usage: request-crypto demo

Makes a key set in a temporary folder and runs a sender, a mediator and a receiver on 127.0.0.1.`,
  async run(args, io) {
    parseCommandLine('demo', args, {}, 0);
    const { runDemo } = await import('../demo');
    if (!(await runDemo((line) => io.stdout(`${line}\n`)))) throw new Error('the demo payload did not arrive intact');
  },
};
