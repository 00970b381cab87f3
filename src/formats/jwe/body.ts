/**
 * The `'jwe'` body: one standard JWE compact serialisation that any JOSE library reads.
 * Protected header: `alg` (the sender's choice, else the key's), `enc` A256GCM, `kid`, `iat`, `cty` json, then `zip` DEF
 * when compressed and `ctx` (the bound context) when given. Plaintext: the UTF-8 JSON payload.
 *
 * @packageDocumentation
 */
import { BodyExpiredError, ContextMismatchError } from '../../core/errors';
import type { WrapAlgorithm } from '../../core/algorithms';
import type { BodyContext } from '../../core/context';
import { learnHeader, type BodyFacts } from '../../receiver/decrypt-event';
import { parseCompactJwe } from '../../jose/compact';
import { checkJweHeader, chooseKey, openJwe, type JweExpectations } from '../../jose/decrypt';
import { encryptCompactJwe, wrapAlgorithmOf } from '../../jose/encrypt';
import type { Keyring, RecipientKey } from '../../keys/keyset';
import type { KeyCustody } from '../../keys/unwrap';
import type { BodyHeader, JWKMetadata } from '../../core/types';

export { isContext, type BodyContext } from '../../core/context';

/** The protected-header member that carries the context. */
export const CONTEXT_HEADER = 'ctx';

/** A `'jwe'` body has four dots; a legacy body (base64url) has none. */
export function isJweBody(text: string): boolean {
  return text.includes('.');
}

/** Makes a `'jwe'` body. */
export function sealJweBody(
  key: RecipientKey,
  json: string,
  options: { compress: boolean; context: BodyContext | undefined; now: number; keyWrapAlgorithm?: WrapAlgorithm | undefined },
): string {
  const header: Record<string, unknown> = {
    alg: wrapAlgorithmOf(key, options.keyWrapAlgorithm),
    enc: 'A256GCM',
    kid: key.kid,
    iat: Math.floor(options.now / 1000),
    cty: 'json',
  };
  if (options.compress) header.zip = 'DEF';
  if (options.context !== undefined) header[CONTEXT_HEADER] = { ...options.context };
  return encryptCompactJwe(key, 'A256GCM', header, Buffer.from(json, 'utf8'), options.compress);
}

/** An opened `'jwe'` body. */
export interface OpenedJweBody {
  readonly plaintext: Buffer;
  readonly key: RecipientKey;
  readonly protected: string[];
  readonly header: BodyHeader;
  readonly metadata: JWKMetadata;
  readonly issuedAt: number | undefined;
  readonly context: BodyContext | undefined;
}

/** The sizes a `'jwe'` body may have. */
export interface JweBodyLimits {
  /** Longest body text, in characters. */
  readonly maxBodyBytes: number;
  /** Longest plaintext, inflated or not, in bytes. */
  readonly maxPayloadBytes: number;
}

/**
 * Parses, checks and opens a `'jwe'` body, whose `text` comes from `bodyText` (ASCII only).
 * Everything but the unwrap and the content decryption (size, structure, header, kid) is settled
 * before `custody.unwrap` is called. What is learned on the way goes into `facts`, for the
 * `onDecrypt` event of a body that fails later.
 */
export async function openJweBody(
  text: string,
  keyring: Keyring,
  limits: JweBodyLimits,
  custody: KeyCustody,
  facts?: BodyFacts,
): Promise<OpenedJweBody> {
  const expect: JweExpectations = {
    enc: 'A256GCM',
    maxCompressedBytes: limits.maxBodyBytes,
    maxPlaintextBytes: limits.maxPayloadBytes,
    overInflation: 'too-large',
  };
  // `text` comes from bodyText, which refused every character above U+007F.
  const jwe = parseCompactJwe(text, { maxLength: limits.maxBodyBytes, maxHeaderLength: 16384 }, true);
  if (facts !== undefined) facts.format = 'jwe';
  const checked = checkJweHeader(jwe, expect);
  learnHeader(facts, checked, expect.enc, checked.zip);
  const iat = jwe.header.iat as number | undefined;
  const context = jwe.header[CONTEXT_HEADER] as BodyContext | undefined;
  const key = chooseKey(keyring, checked, custody.privateElsewhere);
  const plaintext = await openJwe(jwe, checked, custody.unwrap, expect);
  return {
    plaintext,
    key,
    protected: [...jwe.headerNames],
    header: { ...jwe.header } as BodyHeader,
    metadata: { ...key.metadata },
    issuedAt: iat as number | undefined,
    context,
  };
}

/** Rejects unless every expected pair is present and equal. */
export function checkContext(actual: BodyContext | undefined, expected: BodyContext | undefined): void {
  if (expected === undefined) return;
  for (const [name, value] of Object.entries(expected)) {
    if (actual === undefined || !Object.prototype.hasOwnProperty.call(actual, name) || actual[name] !== value) {
      throw new ContextMismatchError();
    }
  }
}

/**
 * Rejects a body issued more than `maxAgeSeconds` ago, or more than `toleranceSeconds` in the
 * future. The tolerance is for clocks that disagree, so it widens only the future side: a body
 * 310 s old is refused under `maxAgeSeconds: 300` whatever the tolerance.
 */
export function checkFreshness(
  issuedAt: number | undefined,
  maxAgeSeconds: number | undefined,
  toleranceSeconds: number,
  now: number,
): void {
  if (maxAgeSeconds === undefined) return;
  if (issuedAt === undefined) throw new BodyExpiredError('body is expired: it carries no issue time');
  const nowSeconds = Math.floor(now / 1000);
  if (issuedAt > nowSeconds + toleranceSeconds) throw new BodyExpiredError('body is expired: issued in the future');
  if (nowSeconds - issuedAt > maxAgeSeconds) throw new BodyExpiredError();
}
