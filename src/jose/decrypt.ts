/**
 * Opens a compact JWE with the key its `kid` names. Header checks come first and say what is
 * wrong; from the moment a key is chosen every failure is the same {@link DecryptionFailedError}.
 *
 * @packageDocumentation
 */
import { constants as zlibConstants, inflateRaw, inflateRawSync, type ZlibOptions } from 'node:zlib';

import {
  BodyMalformedError,
  BodyTooLargeError,
  DecryptionFailedError,
  NoKeyFoundError,
  type NoKeyFoundReason,
  UnsupportedAlgorithmError,
} from '../core/errors';
import { isWrapAlgorithm, type WrapAlgorithm } from '../core/algorithms';
import type { Keyring, RecipientKey } from '../keys/keyset';
import { CEK_LENGTH, IV_LENGTH, openContent, TAG_LENGTH, type ContentEncryption } from './content-cipher';
import type { CompactJwe } from './compact';
import { isContext } from '../core/context';
import { unwrapCek } from './rsa-oaep';
import type { UnwrapKey } from '../keys/unwrap';

/** What the caller expects of the JWE. */
export interface JweExpectations {
  /** The one content encryption accepted. */
  readonly enc: ContentEncryption;
  /** Longest accepted ciphertext when compressed, in bytes. */
  readonly maxCompressedBytes: number;
  /** Longest accepted plaintext (after inflation, or the ciphertext when not compressed), in bytes. */
  readonly maxPlaintextBytes: number;
  /** When inflation would pass `maxPlaintextBytes`: too large (a body limit) or failed (a key). */
  readonly overInflation: 'too-large' | 'failed';
}

/** The checked header of a JWE, before any key is used. */
export interface CheckedHeader {
  readonly kid: string;
  readonly alg: WrapAlgorithm;
  readonly zip: boolean;
}

/** Checks the header and the part sizes; throws a specific error, since no key is involved yet. */
export function checkJweHeader(jwe: CompactJwe, expect: JweExpectations): CheckedHeader {
  const { header } = jwe;
  if (typeof header.kid !== 'string' || header.kid.length === 0) {
    throw new BodyMalformedError('body is malformed: JWE header has no kid');
  }
  if (!isWrapAlgorithm(header.alg)) throw new UnsupportedAlgorithmError('unsupported algorithm: JWE "alg"');
  if (header.enc !== expect.enc) throw new UnsupportedAlgorithmError('unsupported algorithm: JWE "enc"');
  if (header.zip !== undefined && header.zip !== 'DEF') {
    throw new UnsupportedAlgorithmError('unsupported algorithm: JWE "zip"');
  }
  // No extension is understood here, so any critical one must be refused (RFC 7516 §4.1.13).
  if (header.crit !== undefined) throw new UnsupportedAlgorithmError('unsupported algorithm: JWE "crit"');
  // The members BodyHeader types, checked so that the type holds for every body reported.
  if (header.cty !== undefined && typeof header.cty !== 'string') {
    throw new BodyMalformedError('body is malformed: JWE "cty" is not a string');
  }
  const { iat, ctx } = header;
  if (iat !== undefined && !(typeof iat === 'number' && Number.isSafeInteger(iat) && iat >= 0)) {
    throw new BodyMalformedError('body is malformed: JWE "iat" is not a number of seconds');
  }
  if (ctx !== undefined && !isContext(ctx)) {
    throw new BodyMalformedError('body is malformed: JWE "ctx" is not an object of strings');
  }
  if (jwe.iv.length !== IV_LENGTH[expect.enc] || jwe.tag.length !== TAG_LENGTH) {
    throw new BodyMalformedError('body is malformed: JWE IV or tag has the wrong length');
  }
  if (jwe.ciphertext.length === 0) throw new BodyMalformedError('body is malformed: JWE ciphertext is empty');
  const zip = header.zip === 'DEF';
  // Both ciphers keep the plaintext's length (CBC adds at most a block), so an uncompressed
  // plaintext too large for the limit is known before any key is used.
  if (jwe.ciphertext.length > (zip ? expect.maxCompressedBytes : expect.maxPlaintextBytes + 16)) {
    throw new BodyTooLargeError('body is too large: JWE ciphertext exceeds its limit');
  }
  return { kid: header.kid, alg: header.alg, zip };
}

/** Why a body found no key: most useful first, a set that can decrypt nothing. */
function whyNoKey(keyring: Keyring, key: RecipientKey | undefined, privateElsewhere: boolean): NoKeyFoundReason {
  if (!privateElsewhere && keyring.keys.length > 0 && keyring.keys.every((each) => each.privateKey === undefined)) return 'public-keys-only';
  return key === undefined ? 'unknown-kid' : 'no-private-key';
}

/**
 * The key a checked header asks for, or {@link NoKeyFoundError}. Without `privateElsewhere` the
 * key must hold its private half in this process. The header's `alg` (one of the supported two,
 * `checkJweHeader` made sure) is the one the key is used with, unless the set pins the key to
 * its declared `alg`.
 */
export function chooseKey(keyring: Keyring, checked: Pick<CheckedHeader, 'kid' | 'alg'>, privateElsewhere: boolean): RecipientKey {
  const key = keyring.get(checked.kid);
  if (key === undefined || (key.privateKey === undefined && !privateElsewhere)) throw new NoKeyFoundError(whyNoKey(keyring, key, privateElsewhere));
  if (!key.unwrapAlgorithms.includes(checked.alg)) {
    throw new UnsupportedAlgorithmError('unsupported algorithm: JWE "alg" is not the key\'s');
  }
  return key;
}

/**
 * Largest inflation done on the event loop: about a millisecond of zlib. A body that inflates
 * further (a few kilobytes can inflate to megabytes) is inflated again on libuv's thread pool.
 */
export const INFLATE_ON_LOOP_MAX_BYTES = 256 * 1024;

/** Options that make zlib stop at `limit` bytes of output, in one chunk. */
function boundedOptions(limit: number): ZlibOptions & { maxOutputLength: number } {
  // One output chunk as large as the limit allows: zlib returns it without the copy that joins
  // smaller chunks, and pages the inflation never writes cost no memory.
  return { maxOutputLength: limit, chunkSize: Math.max(limit + 1, zlibConstants.Z_MIN_CHUNK) };
}

function isOverLimit(err: unknown): boolean {
  return err instanceof RangeError || (err as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE';
}

/**
 * Inflates raw DEFLATE `content` to at most `limit` bytes; past it, throws zlib's RangeError. Small
 * outputs inflate right here; larger ones on the thread pool, so one body cannot hold the event
 * loop for the tens of milliseconds a multi-megabyte inflation takes.
 */
export async function inflateBounded(content: Buffer, limit: number): Promise<Buffer> {
  try {
    return inflateRawSync(content, boundedOptions(Math.min(limit, INFLATE_ON_LOOP_MAX_BYTES)));
  } catch (err) {
    if (!(isOverLimit(err) && limit > INFLATE_ON_LOOP_MAX_BYTES)) throw err;
  }
  return new Promise<Buffer>((resolve, reject) => {
    inflateRaw(content, boundedOptions(limit), (err, inflated) => (err === null ? resolve(inflated) : reject(err)));
  });
}

/** Unwraps, authenticates, decrypts and (bounded) inflates. Every failure is the same error. */
export async function openJwe(
  jwe: CompactJwe,
  checked: CheckedHeader,
  unwrap: UnwrapKey,
  expect: JweExpectations,
): Promise<Buffer> {
  const cek = await unwrapCek(unwrap, checked.kid, checked.alg, jwe.encryptedKey, CEK_LENGTH[expect.enc]);
  const content = openContent(
    expect.enc,
    cek,
    Buffer.from(jwe.protectedText, 'ascii'),
    jwe.iv,
    jwe.ciphertext,
    jwe.tag,
  );
  cek.fill(0);
  if (content === undefined) throw new DecryptionFailedError();
  if (!checked.zip) {
    if (content.length > expect.maxPlaintextBytes) throw new BodyTooLargeError();
    return content;
  }
  try {
    return await inflateBounded(content, Math.max(1, expect.maxPlaintextBytes));
  } catch (err) {
    if (isOverLimit(err) && expect.overInflation === 'too-large') {
      throw new BodyTooLargeError('body is too large: it inflates past the limit');
    }
    throw new DecryptionFailedError();
  }
}
