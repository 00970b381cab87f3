/**
 * The command line of one command: its options and file arguments, checked with messages of our
 * own (never the parser's), and the usage error that makes the exit status 2.
 *
 * @packageDocumentation
 */
import { parseArgs } from 'node:util';

import { InvalidArgumentError } from '../core/errors';

/**
 * A mistake on the command line: the CLI prints it and exits with status 2 (any other failure
 * exits with 1). Its code is `ERR_INVALID_ARGUMENT`.
 */
export class UsageError extends InvalidArgumentError {}

/** One option of a command: `--name VALUE` (repeatable when `multiple`) or `--name`. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
}

/** A command's options, by name without the dashes. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type ValueOf<O extends OptionSpec> = O['type'] extends 'boolean' ? boolean : O extends { readonly multiple: true } ? string[] : string;

/** The options given, by name: absent when not given. */
export type Values<S extends OptionSpecs> = { -readonly [K in keyof S]?: ValueOf<S[K]> };

/** What a command line holds. */
export interface CommandLine<S extends OptionSpecs> {
  readonly values: Values<S>;
  /** The file arguments, in order (`-` is stdin). */
  readonly files: string[];
}

/**
 * Reads `args` against `options`, taking at most `maxFiles` file arguments. A value is never
 * echoed in a message: an option may carry a secret.
 */
export function parseCommandLine<S extends OptionSpecs>(command: string, args: readonly string[], options: S, maxFiles: number): CommandLine<S> {
  const { tokens } = parseArgs({ args: [...args], options: { ...options }, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, string | boolean | string[]> = {};
  const files: string[] = [];
  const see = `(see "request-crypto help ${command}")`;
  for (const token of tokens) {
    if (token.kind === 'positional') files.push(token.value);
    if (token.kind !== 'option') continue;
    const spec = Object.prototype.hasOwnProperty.call(options, token.name) ? options[token.name] : undefined;
    if (spec === undefined) throw new UsageError(`${command} has no option ${token.rawName} ${see}`);
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
      if (values[token.name] !== undefined) throw new UsageError(`${token.rawName} is given twice`);
      values[token.name] = true;
      continue;
    }
    // A value that looks like the next option means this one's value is missing.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) throw new UsageError(`${token.rawName} needs a value`);
    if (spec.multiple === true) {
      values[token.name] = [...((values[token.name] as string[] | undefined) ?? []), token.value];
    } else {
      if (values[token.name] !== undefined) throw new UsageError(`${token.rawName} is given twice`);
      values[token.name] = token.value;
    }
  }
  if (files.length > maxFiles) throw new UsageError(maxFiles === 0 ? `${command} takes no file argument` : 'give at most one input file');
  return { values: values as Values<S>, files };
}

/** The value of a required option. */
export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

/** `--context k=v` pairs as an object, or `undefined` when none is given. */
export function parseContext(pairs: string[] | undefined): Record<string, string> | undefined {
  if (pairs === undefined || pairs.length === 0) return undefined;
  const context: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--context takes k=v, not ${JSON.stringify(pair)}`);
    context[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return context;
}
