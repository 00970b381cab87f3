/**
 * node-jose, loaded on first use: the encryptor and decryptor never need it, so a receiver that
 * only decrypts does not pay for loading it at cold start.
 *
 * @packageDocumentation
 */
import type * as jose from 'node-jose';

let loaded: typeof jose | undefined;

/** The node-jose module. */
export function nodeJose(): typeof jose {
  loaded ??= require('node-jose') as typeof jose;
  return loaded;
}
