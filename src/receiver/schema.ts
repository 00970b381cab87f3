/**
 * Payload validation with any Standard Schema v1 validator (zod 4, valibot 1, arktype, …): the
 * `schema` option of `decrypt`. An authentic body is still untrusted input (anyone holding the
 * public key can make one), so its payload is checked before the caller sees it.
 *
 * The interface is declared here, as the Standard Schema spec invites, rather than taken from
 * `@standard-schema/spec`: the package's declarations then need no dependency for a type, and a
 * validator matches it by shape.
 *
 * @packageDocumentation
 */
import { PayloadInvalidError, type PayloadIssue } from '../core/errors';

/**
 * A Standard Schema v1 validator, the members of it this package uses. zod 4, valibot 1 and
 * arktype schemas are ones; see the spec for the rest of the interface.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly '~standard': StandardSchemaV1.Props<Input, Output>;
}

// A namespace so that the names read as the spec's (`StandardSchemaV1.InferOutput<S>`), which
// users already know; it declares types only, so it emits nothing.
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace StandardSchemaV1 {
  /** The Standard Schema properties. */
  export interface Props<Input = unknown, Output = Input> {
    /** The version of the standard: 1. */
    readonly version: 1;
    /** Validates a value; may return a promise (an asynchronous validator). */
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    /** The schema's input and output types, for inference only. */
    readonly types?: Types<Input, Output> | undefined;
  }
  /** What `validate` returns: the output value, or issues. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;
  /** A value the schema accepted, after its transforms. */
  export interface SuccessResult<Output> {
    /** The output value. */
    readonly value: Output;
    /** Absent on success. */
    readonly issues?: undefined;
  }
  /** A value the schema refused. */
  export interface FailureResult {
    /** Why. */
    readonly issues: ReadonlyArray<Issue>;
  }
  /** One reason for a refusal. */
  export interface Issue {
    /** The validator's message. */
    readonly message: string;
    /** Where in the value. */
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }
  /** A path segment given as an object. */
  export interface PathSegment {
    /** The member name or index. */
    readonly key: PropertyKey;
  }
  /** The types a schema carries for inference. */
  export interface Types<Input = unknown, Output = Input> {
    /** What the schema accepts. */
    readonly input: Input;
    /** What it returns. */
    readonly output: Output;
  }
  /** The input type of a schema. */
  export type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['input'];
  /** The output type of a schema: what `decrypt(body, { schema })` resolves to. */
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['output'];
}

/** Most issues kept: a hostile payload can fail a schema at every one of its 650,000 values. */
export const MAX_PAYLOAD_ISSUES = 100;
/** Most segments kept of an issue's path (payloads nest at most `maxPayloadDepth`, 64 by default). */
const MAX_PATH_SEGMENTS = 64;
/** Longest member name kept in a path: a name is the sender's text and may be megabytes long. */
const MAX_PATH_KEY_LENGTH = 128;
/** Longest message kept, after the refused value is taken out of it. */
const MAX_MESSAGE_LENGTH = 512;
/** What replaces a refused value quoted in a message. */
export const REDACTED_VALUE = '[value]';
/** What replaces, in a path, a member name the schema does not declare (the name is the sender's text). */
export const REDACTED_KEY = '[key]';
/** Most schema nodes read to find its declared member names: a schema is code, but may be large. */
const MAX_SCHEMA_NODES = 20_000;
/** Most members of the refused value (and of its parent) whose names and strings are taken out of a message. */
const MAX_NEARBY_MEMBERS = 1000;

/** True when `schema` has the shape of a Standard Schema v1 validator (checked before any use). */
export function isStandardSchema(schema: unknown): schema is StandardSchemaV1 {
  if ((typeof schema !== 'object' && typeof schema !== 'function') || schema === null) return false;
  const props = (schema as { '~standard'?: unknown })['~standard'];
  return (
    typeof props === 'object' &&
    props !== null &&
    (props as { version?: unknown }).version === 1 &&
    typeof (props as { validate?: unknown }).validate === 'function'
  );
}

/**
 * Validates a decrypted payload. Resolves to the validator's output (its transforms applied);
 * rejects with {@link PayloadInvalidError} when it refuses the payload, and also when it throws or
 * returns something that is not a result: whatever it threw may quote the payload, so it is not
 * kept.
 */
export async function validatePayload<S extends StandardSchemaV1>(
  schema: S,
  payload: unknown,
): Promise<StandardSchemaV1.InferOutput<S>> {
  let result: unknown;
  try {
    result = await schema['~standard'].validate(payload);
  } catch {
    throw new PayloadInvalidError([], 'payload is invalid: the schema failed');
  }
  if (typeof result !== 'object' || result === null) {
    throw new PayloadInvalidError([], 'payload is invalid: the schema failed');
  }
  const { issues } = result as { issues?: unknown };
  // The spec: a result with `issues` defined is a refusal, whatever else it holds.
  if (issues !== undefined) {
    throw new PayloadInvalidError(Array.isArray(issues) ? cleanIssues(issues, payload, declaredNames(schema)) : []);
  }
  return (result as { value: StandardSchemaV1.InferOutput<S> }).value;
}

// The member names a schema declares, found once per schema.
const declaredCache = new WeakMap<object, ReadonlySet<string>>();

/**
 * The member names `schema` declares: the keys of every `shape` (zod) or `entries` (valibot)
 * object reachable from it through plain properties (never calling a function). A name found here
 * is the schema's text, not the sender's, so a path may show it.
 */
function declaredNames(schema: object): ReadonlySet<string> {
  const known = declaredCache.get(schema);
  if (known !== undefined) return known;
  const names = new Set<string>();
  const seen = new Set<object>();
  const queue: object[] = [schema];
  while (queue.length > 0 && seen.size < MAX_SCHEMA_NODES) {
    const node = queue.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    let members: string[];
    try {
      members = Object.keys(node);
    } catch {
      continue;
    }
    for (const member of members) {
      let value: unknown;
      try {
        value = (node as Record<string, unknown>)[member];
      } catch {
        continue;
      }
      if (typeof value !== 'object' || value === null) continue;
      if ((member === 'shape' || member === 'entries') && !Array.isArray(value)) {
        for (const name of Object.keys(value)) names.add(name);
      }
      queue.push(value);
    }
  }
  declaredCache.set(schema, names);
  return names;
}

/**
 * The paths and messages of a validator's issues, and nothing else it attached: valibot, for one,
 * puts the refused value and the whole input on every issue and path segment. A member name is
 * the sender's text as much as a value is (an e-mail address, a token), so a path keeps only the
 * names the schema declares, and {@link REDACTED_KEY} for any other.
 */
function cleanIssues(issues: readonly unknown[], payload: unknown, declared: ReadonlySet<string>): PayloadIssue[] {
  return issues.slice(0, MAX_PAYLOAD_ISSUES).map((issue) => {
    const record = typeof issue === 'object' && issue !== null ? (issue as Record<string, unknown>) : {};
    const rawPath = Array.isArray(record.path) ? (record.path as unknown[]) : [];
    const keys = pathKeys(rawPath);
    // Validators may quote the refused value in their messages (valibot: `received "…"`), so each
    // form in which it may be known is taken out: the value at the path in the payload, and the
    // value the validator itself reports (after its transforms). So are the member names and
    // strings at and around the path (zod names unrecognized members: `Unrecognized key: "…"`),
    // the names zod lists in `keys`, and the path's own names.
    const at = valueAt(payload, keys);
    const refused = [
      at,
      record.input,
      segmentValue(rawPath[rawPath.length - 1]),
      ...(Array.isArray(record.keys) ? (record.keys as unknown[]) : []).slice(0, MAX_NEARBY_MEMBERS),
      ...keys,
      ...nearby(at),
      ...nearby(keys.length > 0 ? valueAt(payload, keys.slice(0, -1)) : undefined),
    ];
    // A declared name is the schema's text: the message may keep it ("unknown kid" for member `kid`).
    const secret = refused.filter((value) => typeof value !== 'string' || !declared.has(value));
    const message = redactQuoted(redact(typeof record.message === 'string' ? record.message : '', secret), declared);
    return Object.freeze({
      path: Object.freeze(keys.slice(0, MAX_PATH_SEGMENTS).map((key) => pathKey(key, declared))),
      message: message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH)}…` : message,
    });
  });
}

/** The member names and string values directly inside `value` (an object or array), a bounded number. */
function nearby(value: unknown): unknown[] {
  if (typeof value !== 'object' || value === null) return [];
  const found: unknown[] = [];
  for (const [name, member] of Object.entries(value).slice(0, MAX_NEARBY_MEMBERS)) {
    found.push(name);
    if (typeof member === 'string') found.push(member);
  }
  return found;
}

/** A path segment as kept: an index or a declared name as it is, any other name redacted. */
function pathKey(key: PropertyKey, declared: ReadonlySet<string>): PropertyKey {
  if (typeof key === 'number') return key;
  if (typeof key === 'string' && declared.has(key)) return boundKey(key);
  return REDACTED_KEY;
}

/**
 * `message` with every quoted text ("…", '…', `…`) replaced by {@link REDACTED_VALUE}, unless it is
 * a member name the schema declares or already a redaction: a validator of any kind may quote the
 * payload's text anywhere in its message.
 */
function redactQuoted(message: string, declared: ReadonlySet<string>): string {
  return message.replace(/"[^"]*"|'[^']*'|`[^`]*`/g, (quoted) => {
    const inner = quoted.slice(1, -1);
    return declared.has(inner) || inner === REDACTED_VALUE ? quoted : REDACTED_VALUE;
  });
}

const isPropertyKey = (key: unknown): key is PropertyKey =>
  typeof key === 'string' || typeof key === 'number' || typeof key === 'symbol';

/** The keys of a path given as keys or `{ key }` segments; it stops at anything else. */
function pathKeys(path: readonly unknown[]): PropertyKey[] {
  const keys: PropertyKey[] = [];
  for (const segment of path) {
    const key = typeof segment === 'object' && segment !== null ? (segment as { key?: unknown }).key : segment;
    if (!isPropertyKey(key)) break;
    keys.push(key);
  }
  return keys;
}

const boundKey = (key: PropertyKey): PropertyKey =>
  typeof key === 'string' && key.length > MAX_PATH_KEY_LENGTH ? `${key.slice(0, MAX_PATH_KEY_LENGTH)}…` : key;

/** The value a path names in a parsed JSON payload (own members only), or `undefined`. */
function valueAt(payload: unknown, keys: readonly PropertyKey[]): unknown {
  let value = payload;
  for (const key of keys) {
    if (typeof value !== 'object' || value === null || typeof key === 'symbol') return undefined;
    if (!Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

const segmentValue = (segment: unknown): unknown =>
  typeof segment === 'object' && segment !== null ? (segment as { value?: unknown }).value : undefined;

const isWordCharacter = (character: string | undefined): boolean => character !== undefined && /[A-Za-z0-9_]/.test(character);

/** Every spelling of `value` a message may hold: a string bare and quoted, a number or boolean as text. */
function spellings(value: unknown): string[] {
  if (typeof value === 'string') return value.length === 0 ? [] : [JSON.stringify(value), `"${value}"`, `'${value}'`, value];
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return [String(value)];
  // Validators name an object or array by its type, never by its contents; null is a type name too.
  return [];
}

/**
 * `message` with every spelling of each refused value replaced by {@link REDACTED_VALUE}, longest
 * spelling first. A bare spelling is replaced only where it is not part of a longer word, so that
 * a refused `"a"` does not take the `a` out of `Invalid`.
 */
function redact(message: string, refused: readonly unknown[]): string {
  const all = [...new Set(refused.flatMap(spellings))].sort((a, b) => b.length - a.length);
  let text = message;
  for (const spelling of all) {
    let out = '';
    let from = 0;
    for (let at = text.indexOf(spelling); at !== -1; at = text.indexOf(spelling, at + 1)) {
      if (at < from) continue;
      const end = at + spelling.length;
      if (isWordCharacter(spelling[0]) && isWordCharacter(text[at - 1])) continue;
      if (isWordCharacter(spelling[spelling.length - 1]) && isWordCharacter(text[end])) continue;
      out += text.slice(from, at) + REDACTED_VALUE;
      from = end;
    }
    text = out + text.slice(from);
  }
  return text;
}
