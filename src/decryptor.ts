/**
 * The receiver's side: `createRequestDecryptor(privateJWKS)`. Every byte of a body is untrusted:
 * its size is checked first, its structure next, and only then is a key used.
 *
 * @packageDocumentation
 */
import { BodyMalformedError, InvalidArgumentError } from './errors';
import { bodyText, openEnvelope, type EncryptedBody } from './legacy/envelope';
import { checkContext, checkFreshness, isContext, isJweBody, openJweBody, type BodyContext } from './jwe/body';
import { openKeyEnvelope } from './legacy/key-envelope';
import { loadKeyring, type Keyring } from './keys/keyset';
import { openPayload, parseSealedPayload } from './legacy/payload-cipher';
import type { BodyHeader, JWKDecryptResult, PrivateJWKS, PublicJWK, PublicJWKS } from './types';
import type { BodyFormat } from './encryptor';

/** Default of `maxBodyBytes`: 32 MiB of body text, room for about 18 MB of legacy JSON payload. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Default allowance for clock skew between sender and receiver when checking `iat`. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;

/** Options of {@link createRequestDecryptor}. */
export interface DecryptorOptions {
  /**
   * Longest body accepted, in bytes of body text (a body is ASCII, so characters = bytes),
   * checked before any decoding. Also bounds what a compressed `'jwe'` body may inflate to.
   * Default {@link DEFAULT_MAX_BODY_BYTES}.
   */
  maxBodyBytes?: number;
  /** Allowed clock skew for `maxAgeSeconds`; default {@link DEFAULT_CLOCK_TOLERANCE_SECONDS}. */
  clockToleranceSeconds?: number;
}

/** Options of one {@link Decryptor.decrypt} call. */
export interface DecryptOptions {
  /**
   * Every pair must be in the body's bound context (`'jwe'` bodies only), or the call rejects
   * with `ContextMismatchError`. A legacy body has no context, so it never matches one.
   */
  context?: BodyContext;
  /**
   * Rejects with `BodyExpiredError` a body whose `iat` is older than this many seconds. A legacy
   * body has no `iat`, so with this option set it is always rejected.
   */
  maxAgeSeconds?: number;
}

/** A JSON value, as a body decrypts to. */
export type DecryptedPayload = string | number | boolean | null | DecryptedPayload[] | { [key: string]: DecryptedPayload };

/** What a body says about its key and header (`getJWKMetadata`). */
export interface BodyMetadata extends Pick<JWKDecryptResult, 'key' | 'protected'> {
  /** The body's protected header, its members typed as the body holds them. */
  header: BodyHeader;
  /** Which format the body is in. */
  format: BodyFormat;
  /** `'jwe'` bodies: the issue time, in seconds since the epoch. */
  issuedAt?: number;
  /** `'jwe'` bodies: the bound context, if any. */
  context?: BodyContext;
}

/** Decrypts bodies made for the keys of a private set. */
export interface Decryptor {
  /** The public JWK of `kid`, or `null` when the set has no such key. */
  getPublicComponent(kid: string): PublicJWK | null;
  /** The public half of the set, to publish to senders. */
  getWellKnowns(): PublicJWKS;
  /**
   * Decrypts a body (either format, detected) to its payload. `T` only types the result; it is
   * not checked. Rejects with a `RequestCryptoError` for any bad body, never throws.
   */
  decrypt<T = DecryptedPayload>(encryptedBody: EncryptedBody, options?: DecryptOptions): Promise<T>;
  /** The same as {@link Decryptor.decrypt}: the name the original's README documents. */
  decryptPayload<T = DecryptedPayload>(encryptedBody: EncryptedBody, options?: DecryptOptions): Promise<T>;
  /**
   * The key and header a body was made with. The key envelope is authenticated first, so a
   * forged header is never reported.
   */
  getJWKMetadata(encryptedBody: EncryptedBody): Promise<BodyMetadata>;
}

function checkPositive(name: string, value: unknown, integer: boolean): void {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new InvalidArgumentError(`invalid argument: ${name} must be a positive ${integer ? 'integer' : 'number'}`);
  }
}

function checkDecryptOptions(options: DecryptOptions): void {
  if (options.context !== undefined && !isContext(options.context)) {
    throw new InvalidArgumentError('invalid argument: context must be an object of strings');
  }
  if (options.maxAgeSeconds !== undefined) checkPositive('maxAgeSeconds', options.maxAgeSeconds, false);
}

function parseJson(plaintext: string): unknown {
  try {
    return JSON.parse(plaintext);
  } catch {
    // Authenticated, so no oracle: the sender encrypted something that is not JSON.
    throw new BodyMalformedError('body is malformed: the payload is not JSON');
  }
}

interface Opened {
  readonly plaintext: string;
  readonly metadata: BodyMetadata;
}

async function openBody(keyring: Keyring, text: string, maxBodyBytes: number, wantPlaintext: boolean): Promise<Opened> {
  if (isJweBody(text)) {
    const opened = openJweBody(text, keyring, maxBodyBytes);
    const metadata: BodyMetadata = {
      key: opened.metadata,
      protected: opened.protected,
      header: opened.header as BodyHeader, // checked there except cty: see BodyHeader
      format: 'jwe',
    };
    if (opened.issuedAt !== undefined) metadata.issuedAt = opened.issuedAt;
    if (opened.context !== undefined) metadata.context = { ...opened.context };
    return { plaintext: opened.plaintext.toString('utf8'), metadata };
  }
  const packed = openEnvelope(text);
  // The payload's shape is settled before any key is used or PBKDF2 runs.
  const sealed = parseSealedPayload(packed.encryptedPayload);
  const envelope = openKeyEnvelope(packed.encryptedAESKey, keyring);
  const metadata: BodyMetadata = {
    key: envelope.metadata,
    protected: envelope.protected,
    header: envelope.header as BodyHeader, // alg, enc, kid, zip checked there: see BodyHeader
    format: 'legacy',
  };
  try {
    return { plaintext: wantPlaintext ? await openPayload(envelope.passphrase, sealed) : '', metadata };
  } finally {
    envelope.passphrase.fill(0);
  }
}

/**
 * Builds a decryptor for a private JWKS (an object, or its JSON text). Rejects with
 * `InvalidJwksError` for a set it cannot use, `InvalidArgumentError` for bad options.
 */
export async function createRequestDecryptor(
  privateJWKS: PrivateJWKS | string,
  options: DecryptorOptions = {},
): Promise<Decryptor> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  checkPositive('maxBodyBytes', maxBodyBytes, true);
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!(typeof tolerance === 'number' && tolerance >= 0 && Number.isFinite(tolerance))) {
    throw new InvalidArgumentError('invalid argument: clockToleranceSeconds must be a number >= 0');
  }
  const keyring = loadKeyring(privateJWKS);

  async function decrypt<T>(encryptedBody: EncryptedBody, decryptOptions: DecryptOptions = {}): Promise<T> {
    checkDecryptOptions(decryptOptions);
    const text = bodyText(encryptedBody, maxBodyBytes);
    const { plaintext, metadata } = await openBody(keyring, text, maxBodyBytes, true);
    checkContext(metadata.context, decryptOptions.context);
    checkFreshness(metadata.issuedAt, decryptOptions.maxAgeSeconds, tolerance, Date.now());
    return parseJson(plaintext) as T;
  }

  return {
    getPublicComponent(kid) {
      const key = keyring.get(kid);
      return key === undefined ? null : structuredClone(key.publicJwk);
    },
    getWellKnowns: () => keyring.publicJwks(),
    decrypt,
    decryptPayload: decrypt,
    async getJWKMetadata(encryptedBody) {
      const text = bodyText(encryptedBody, maxBodyBytes);
      return (await openBody(keyring, text, maxBodyBytes, false)).metadata;
    },
  };
}
