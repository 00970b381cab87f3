/**
 * The shape every body format has, so that the receiver opens both the same way: `parse` the
 * outer structure, `inspect` the header (everything about the body is settled here, before any
 * key is used), then `open` it with the chosen key and an unwrap function. Each step returns what
 * it learned; nothing here knows about the receiver's events. On the way out the sender calls the
 * same object's `seal`, with the options that format takes.
 *
 * @packageDocumentation
 */
import type { WrapAlgorithm } from '../core/algorithms';
import type { BodyContext } from '../core/context';
import type { BodyLimits } from '../core/limits';
import type { BodyFormat, BodyHeader, JWKMetadata } from '../core/types';
import type { RecipientKey } from '../keys/keyset';
import type { UnwrapKey } from '../keys/unwrap';

/** The sizes a body may have: the decryptor's `maxBodyBytes` and `maxPayloadBytes`. */
export type BodySizeLimits = Pick<BodyLimits, 'maxBodyBytes' | 'maxPayloadBytes'>;

/** What a body's checked header says, known before any key is used. */
export interface LearnedHeader {
  readonly kid: string;
  readonly alg: WrapAlgorithm;
  /** The content encryption: the payload's (`'jwe'`) or the key envelope's (legacy). */
  readonly enc: string;
  /** Whether the payload is compressed (legacy payloads never are). */
  readonly compressed: boolean;
}

/** What every format's `inspect` step yields. */
export interface InspectedBody {
  readonly learned: LearnedHeader;
}

/** What a body says about its key and header, as `getJWKMetadata` reports it (less its hash). */
export interface OpenedMetadata {
  /** The key the body was made for, with the members node-jose reports. */
  key: JWKMetadata;
  /** The protected header's member names, in the order the body has them. */
  protected: string[];
  /** The body's protected header, its members typed as the body holds them. */
  header: BodyHeader;
  /** Which format the body is in. */
  format: BodyFormat;
  /** `'jwe'` bodies: the issue time, in seconds since the epoch. */
  issuedAt?: number;
  /** `'jwe'` bodies: the bound context, if any. */
  context?: BodyContext;
}

/** An opened body. */
export interface OpenedBody {
  /** The authenticated plaintext, or `undefined` when only the metadata was asked for. */
  readonly plaintext: Buffer | undefined;
  readonly metadata: OpenedMetadata;
}

/** What `seal` is told in every format; each format's options add what it needs. */
export interface SealOptions {
  /** The key wrap to use instead of the key's own `alg` (`RSA-OAEP` for a key without one). */
  readonly keyWrapAlgorithm?: WrapAlgorithm | undefined;
}

/** One wire format, as the receiver opens it and the sender seals it. */
export interface WireFormat<Parsed, Inspected extends InspectedBody, Seal extends SealOptions = SealOptions> {
  readonly name: BodyFormat;
  /** The outer structure; throws `BodyMalformedError` or `BodyTooLargeError`. */
  parse(text: string, limits: BodySizeLimits): Parsed;
  /** The header and every size, checked; throws a specific error, since no key is involved yet. */
  inspect(parsed: Parsed, limits: BodySizeLimits): Inspected;
  /** Unwraps the content key with `unwrap` and authenticates; any failure is `DecryptionFailedError`. */
  open(inspected: Inspected, key: RecipientKey, unwrap: UnwrapKey, wantPlaintext: boolean): Promise<OpenedBody>;
  /** Makes a body of this format for `key` holding `json`. */
  seal(key: RecipientKey, json: string, options: Seal): string;
}
