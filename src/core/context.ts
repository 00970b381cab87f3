/**
 * The bound context of a `'jwe'` body: string pairs in its authenticated protected header.
 *
 * @packageDocumentation
 */

/** String pairs bound into a `'jwe'` body's authenticated header. */
export type BodyContext = Readonly<Record<string, string>>;

/** True for a plain object whose values are all strings. */
export function isContext(value: unknown): value is BodyContext {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((item) => typeof item === 'string')
  );
}
