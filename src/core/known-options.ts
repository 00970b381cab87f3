/**
 * Refuses option names a function does not know, so that a misspelt option (`keyWrapAlgoritm`,
 * `maxBodyByte`) fails at once instead of leaving a sender on SHA-1 or a receiver without a limit.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from './errors';

/** How much of an unknown name a message quotes, and how many names it lists. */
const MAX_NAME_SHOWN = 64;
const MAX_NAMES_SHOWN = 5;

function shown(name: string): string {
  return JSON.stringify(name.length > MAX_NAME_SHOWN ? `${name.slice(0, MAX_NAME_SHOWN)}…` : name);
}

/**
 * Throws `InvalidArgumentError` when `options` is neither `undefined` nor an object, or has an
 * own enumerable member whose name is not in `known`; the message names `where` and the unknown
 * names. A member set to `undefined` counts: its name is still a typo.
 */
export function checkKnownOptions(options: unknown, known: readonly string[], where: string): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(`invalid argument: the options of ${where} must be an object`);
  }
  const unknown = Object.keys(options).filter((name) => !known.includes(name));
  if (unknown.length === 0) return;
  const names = unknown.slice(0, MAX_NAMES_SHOWN).map(shown).join(', ');
  const more = unknown.length > MAX_NAMES_SHOWN ? ` and ${unknown.length - MAX_NAMES_SHOWN} more` : '';
  throw new InvalidArgumentError(
    `invalid argument: ${where} has no option ${names}${more} (it knows ${known.map((name) => JSON.stringify(name)).join(', ')})`,
  );
}

/**
 * The option names of an options type, from an object that must name each of them: the compiler
 * refuses a name the type lacks and a name left out, so the list cannot drift from the type.
 */
export function optionNames<T extends object>(names: { readonly [K in keyof Required<T>]: true }): readonly string[] {
  return Object.freeze(Object.keys(names));
}
