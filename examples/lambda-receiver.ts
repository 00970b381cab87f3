/**
 * An AWS Lambda receiver behind API Gateway (REST or HTTP API, proxy integration).
 *
 * The private key set is loaded once per container, from `PRIVATE_JWKS` (its JSON text) or
 * `PRIVATE_JWKS_FILE` (a path), and reused by every invocation. A bad body is the sender's fault,
 * never the receiver's: it gets 400 with the error code, or 413 past the size limit; 500 is kept
 * for the receiver's own faults (no key set configured).
 */
import { readFileSync } from 'node:fs';

import {
  createRequestDecryptor,
  ERROR_CODES,
  RequestCryptoError,
  type Decryptor,
  type PrivateJWKS,
} from 'request-crypto';

/** The members of an API Gateway proxy event this handler reads. */
export interface ProxyEvent {
  body: string | null;
  isBase64Encoded?: boolean;
}

/** An API Gateway proxy result. */
export interface ProxyResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Options of {@link createHandler}. */
export interface HandlerOptions {
  /** Passed to the decryptor; API Gateway itself stops at 10 MB. */
  maxBodyBytes?: number;
  /** Reject bodies older than this ('jwe' bodies only carry an issue time). */
  maxAgeSeconds?: number;
}

const json = (statusCode: number, value: unknown): ProxyResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});

/** Builds a handler that calls `loadJwks` once per container, on its first invocation. */
export function createHandler(
  loadJwks: () => PrivateJWKS | string,
  options: HandlerOptions = {},
): (event: ProxyEvent) => Promise<ProxyResult> {
  let decryptor: Promise<Decryptor> | undefined;

  return async (event) => {
    try {
      decryptor ??= createRequestDecryptor(loadJwks(), { maxBodyBytes: options.maxBodyBytes });
      await decryptor;
    } catch {
      decryptor = undefined; // let the next invocation try again
      return json(500, { error: 'ERR_RECEIVER_NOT_CONFIGURED' });
    }

    if (typeof event.body !== 'string' || event.body.length === 0) {
      return json(400, { error: ERROR_CODES.BODY_MALFORMED });
    }
    // With binary media types API Gateway hands over base64 of the bytes the mediator sent.
    const body = event.isBase64Encoded === true ? Buffer.from(event.body, 'base64') : event.body;
    try {
      const payload = await (await decryptor).decrypt(body, options.maxAgeSeconds ? { maxAgeSeconds: options.maxAgeSeconds } : {});
      // ... handle the payload here; this example echoes it.
      return json(200, payload);
    } catch (err) {
      if (!(err instanceof RequestCryptoError)) throw err;
      return json(err.code === ERROR_CODES.BODY_TOO_LARGE ? 413 : 400, { error: err.code });
    }
  };
}

/** The Lambda entry point. */
export const handler = createHandler(() => {
  if (process.env.PRIVATE_JWKS) return process.env.PRIVATE_JWKS;
  if (process.env.PRIVATE_JWKS_FILE) return readFileSync(process.env.PRIVATE_JWKS_FILE, 'utf8');
  throw new Error('set PRIVATE_JWKS or PRIVATE_JWKS_FILE');
});
