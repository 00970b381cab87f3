/**
 * The `'jwe'` body: one standard JWE compact serialisation that any JOSE library reads.
 * Protected header: `alg` (the sender's choice, else the key's), `enc` A256GCM, `kid`, `iat`, `cty` json, then `zip` DEF
 * when compressed and `ctx` (the bound context) when given. Plaintext: the UTF-8 JSON payload.
 *
 * @packageDocumentation
 */
import { BodyExpiredError, ContextMismatchError } from '../../core/errors';
import { JWE_CONTENT_ENCRYPTION } from '../../core/algorithms';
import type { BodyContext } from '../../core/context';
import { parseCompactJwe, type CompactJwe } from '../../jose/compact';
import { checkJweHeader, openJwe, type CheckedHeader, type JweExpectations } from '../../jose/decrypt';
import { encryptCompactJwe, wrapAlgorithmOf } from '../../jose/encrypt';
import type { BodyHeader } from '../../core/types';
import type { BodySizeLimits, InspectedBody, OpenedMetadata, SealOptions, WireFormat } from '../wire-format';

export { isContext, type BodyContext } from '../../core/context';

/** The protected-header member that carries the context. */
export const CONTEXT_HEADER = 'ctx';

/** A `'jwe'` body has four dots; a legacy body (base64url) has none. */
export function isJweBody(text: string): boolean {
  return text.includes('.');
}

/** What sealing a `'jwe'` body takes. */
export interface JweSealOptions extends SealOptions {
  /** Deflate the payload before encrypting it (`zip: "DEF"`). */
  readonly compress: boolean;
  /** String pairs bound into the protected header (`ctx`). */
  readonly context: BodyContext | undefined;
  /** The issue time, in milliseconds since the epoch (`iat`, in seconds). */
  readonly now: number;
}

/** A `'jwe'` body whose header passed its checks. */
export interface InspectedJweBody extends InspectedBody {
  readonly jwe: CompactJwe;
  readonly checked: CheckedHeader;
  readonly expect: JweExpectations;
}

function expectationsOf(limits: BodySizeLimits): JweExpectations {
  return { enc: JWE_CONTENT_ENCRYPTION, maxCompressedBytes: limits.maxBodyBytes, maxPlaintextBytes: limits.maxPayloadBytes, overInflation: 'too-large' };
}

/**
 * The `'jwe'` format, for a `text` that comes from `bodyText` (ASCII only): split and decode,
 * check the header, then unwrap and decrypt; or seal a payload into one.
 */
export const JWE_BODY: WireFormat<CompactJwe, InspectedJweBody, JweSealOptions> = {
  name: 'jwe',
  // `text` comes from bodyText, which refused every character above U+007F.
  parse: (text, limits) => parseCompactJwe(text, { maxLength: limits.maxBodyBytes, maxHeaderLength: 16384 }, true),
  inspect(jwe, limits) {
    const expect = expectationsOf(limits);
    const checked = checkJweHeader(jwe, expect);
    return { jwe, checked, expect, learned: { kid: checked.kid, alg: checked.alg, enc: expect.enc, compressed: checked.zip } };
  },
  async open({ jwe, checked, expect }, key, unwrap) {
    const plaintext = await openJwe(jwe, checked, unwrap, expect);
    const metadata: OpenedMetadata = {
      key: { ...key.metadata },
      protected: [...jwe.headerNames],
      header: { ...jwe.header } as BodyHeader,
      format: 'jwe',
    };
    const iat = jwe.header.iat as number | undefined;
    const context = jwe.header[CONTEXT_HEADER] as BodyContext | undefined;
    if (iat !== undefined) metadata.issuedAt = iat;
    if (context !== undefined) metadata.context = { ...context };
    return { plaintext, metadata };
  },
  seal(key, json, options) {
    const header: Record<string, unknown> = {
      alg: wrapAlgorithmOf(key, options.keyWrapAlgorithm),
      enc: JWE_CONTENT_ENCRYPTION,
      kid: key.kid,
      iat: Math.floor(options.now / 1000),
      cty: 'json',
    };
    if (options.compress) header.zip = 'DEF';
    if (options.context !== undefined) header[CONTEXT_HEADER] = { ...options.context };
    return encryptCompactJwe(key, JWE_CONTENT_ENCRYPTION, header, Buffer.from(json, 'utf8'), options.compress);
  },
};

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
