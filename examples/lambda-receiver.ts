/**
 * An AWS Lambda receiver behind API Gateway (REST or HTTP API, proxy integration).
 *
 * The keys are loaded once per container and reused by every invocation, from the environment:
 * - `KMS_KEY_IDS`: the private keys stay in AWS KMS. JSON mapping each kid to a KMS key ID or ARN,
 *   `{ "kibana1": "arn:aws:kms:…:key/…" }`. The public set is read from KMS (`kms:GetPublicKey`)
 *   and each body costs one KMS `Decrypt` call (`kms:Decrypt`); `KMS_ALG` (`RSA-OAEP`, the
 *   default, or `RSA-OAEP-256`) is the algorithm the public set declares. Needs
 *   `@aws-sdk/client-kms`, which Lambda's Node.js runtimes include.
 * - otherwise `PRIVATE_JWKS` (the private set's JSON text) or `PRIVATE_JWKS_FILE` (a path).
 *
 * Each decrypted payload goes to `onPayload`, the one function you replace; the response never
 * carries the payload, because whoever posts the body (the browser that carries it, a proxy, an
 * access log) must not read it.
 *
 * Responses:
 * - 202, empty body: the payload was decrypted and `onPayload` finished without throwing.
 * - 400 `{ "error": "<code>" }`: a bad body, whatever the reason (any `RequestCryptoError`, so
 *   codes added to the decryptor later are 400 too); 413 for `ERR_BODY_TOO_LARGE`.
 * - 503 `{ "error": "<code>" }`: an `UnavailableError` (`ERR_KEY_SERVICE_UNAVAILABLE`: KMS did not
 *   answer in time, was unreachable or throttled; `ERR_RECEIVER_BUSY`): retry later.
 * - 500 `{ "error": "ERR_RECEIVER_NOT_CONFIGURED" }`: the keys cannot be loaded (no key set, or
 *   KMS refused `GetPublicKey`); tried again on the next invocation.
 * - 500 `{ "error": "ERR_RECEIVER_FAILED" }`: `onPayload` threw something other than a
 *   `RequestCryptoError`. The error goes to the function's log, never into the response.
 *
 * Metrics: every decrypt is logged as one line of CloudWatch Embedded Metric Format (EMF), from
 * which CloudWatch makes the metrics `Decrypts` (count) and `DurationMs` by format and algorithm
 * (how many bodies still arrive as 'legacy' or for RSA-OAEP during a migration) and by outcome
 * (`ok` or the error code), with no dependency and no call to CloudWatch. The line never holds the
 * payload; the kid is a property, not a dimension, because a sender can make up a kid per body.
 */
import { readFileSync } from 'node:fs';

import {
  createRequestDecryptor,
  ERROR_CODES,
  RequestCryptoError,
  UnavailableError,
  type DecryptedPayload,
  type DecryptEvent,
  type DecryptOptions,
  type DecryptorOptions,
  type Decryptor,
  type OnDecrypt,
  type PrivateJWKS,
  type PublicJWKS,
  type UnwrapKey,
} from 'request-crypto';

/** The members of an API Gateway proxy event this handler reads. */
export interface ProxyEvent {
  /** The body the mediator posted: the encrypted body's text, or base64 of its bytes. */
  body: string | null;
  /** True when API Gateway base64-encoded the body (binary media types). */
  isBase64Encoded?: boolean;
}

/** An API Gateway proxy result. */
export interface ProxyResult {
  /** The HTTP status. */
  statusCode: number;
  /** Response headers. */
  headers: Record<string, string>;
  /** The response body: empty, or a JSON error object; never the payload. */
  body: string;
}

/**
 * What the receiver does with each decrypted payload. Throw a `RequestCryptoError` to refuse the
 * payload as bad input (answered like a bad body); any other error is the receiver's fault (500).
 */
export type PayloadHandler = (payload: DecryptedPayload, event: ProxyEvent) => void | Promise<void>;

/** Options of {@link createHandler}. */
export interface HandlerOptions {
  /** Passed to the decryptor; API Gateway itself stops at 10 MB. */
  maxBodyBytes?: number;
  /** Reject bodies older than this ('jwe' bodies only carry an issue time). */
  maxAgeSeconds?: number;
  /** Receives every payload that decrypts. Defaults to {@link dropPayload}: replace it. */
  onPayload?: PayloadHandler;
  /**
   * Hears about every decrypt (see the decryptor's `onDecrypt`). Defaults to
   * `emfMetrics(DEFAULT_METRICS_NAMESPACE)`; pass `() => undefined` to log no metrics.
   */
  onDecrypt?: OnDecrypt;
}

/** The CloudWatch namespace of the default metrics. */
export const DEFAULT_METRICS_NAMESPACE = 'RequestCrypto';

/** One EMF log line: the `_aws` metadata, then the dimension, metric and property members. */
export interface EmfLine {
  /** What CloudWatch extracts: the namespace, the dimension sets and the metrics. */
  _aws: {
    /** When, in milliseconds since the epoch. */
    Timestamp: number;
    /** One directive: these metrics, for each of these dimension sets. */
    CloudWatchMetrics: Array<{
      /** The CloudWatch namespace of the metrics. */
      Namespace: string;
      /** Dimension sets: each names members of the line whose values split the metrics. */
      Dimensions: string[][];
      /** The metrics: each names a numeric member of the line. */
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  /** Dimension: `'legacy'`, `'jwe'`, or `'unknown'` for a body that did not parse. */
  format: string;
  /** Dimension: `'RSA-OAEP'`, `'RSA-OAEP-256'`, or `'unknown'` before the header was checked. */
  alg: string;
  /** Dimension: `'ok'`, or the error code (a fixed set: `ERROR_CODES`). */
  outcome: string;
  /** Metric: one decrypt. */
  Decrypts: 1;
  /** Metric: how long it took. */
  DurationMs: number;
  /** Property (searchable in Logs Insights, not a dimension): the body's size. */
  bodyBytes: number;
  /** Property: the body's kid when known (at most 64 characters of one the set lacks). */
  kid?: string;
  /** Property: the body's content encryption when known. */
  enc?: string;
  /** Property: whether the payload was compressed, when known. */
  compressed?: boolean;
}

/** The EMF line for one decrypt event (a pure function, so that it can be tested alone). */
export function emfLine(event: DecryptEvent, namespace: string, timestamp: number): EmfLine {
  const line: EmfLine = {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          // A metric per combination of values: format × alg for the migration, outcome for the
          // failure rate. Both sets take their values from small fixed sets, never from the sender.
          Dimensions: [['format', 'alg'], ['outcome']],
          Metrics: [
            { Name: 'Decrypts', Unit: 'Count' },
            { Name: 'DurationMs', Unit: 'Milliseconds' },
          ],
        },
      ],
    },
    // EMF drops a metric whose dimension member is missing, so an unknown value is spelled out.
    format: event.format ?? 'unknown',
    alg: event.alg ?? 'unknown',
    outcome: event.ok ? 'ok' : (event.code ?? 'unknown'),
    Decrypts: 1,
    DurationMs: event.durationMs,
    bodyBytes: event.bodyBytes,
  };
  if (event.kid !== undefined) line.kid = event.kid;
  if (event.enc !== undefined) line.enc = event.enc;
  if (event.compressed !== undefined) line.compressed = event.compressed;
  return line;
}

/**
 * An `onDecrypt` that logs each event as one EMF line (JSON text, as CloudWatch Logs needs it) to
 * the function's log, where CloudWatch turns it into metrics of `namespace`.
 */
export function emfMetrics(namespace: string = DEFAULT_METRICS_NAMESPACE): OnDecrypt {
  return (event) => console.log(JSON.stringify(emfLine(event, namespace, Date.now())));
}

/** Keys whose private halves are elsewhere (a KMS): the public set, and the private operation. */
export interface KeysOutsideTheProcess {
  /** The public set: what senders encrypt for. */
  publicJWKS: PublicJWKS;
  /** Decrypts a body's wrapped key where the private key is (one KMS call per body). */
  unwrapKey: UnwrapKey;
}

/** What {@link createHandler} loads: a private set (object or JSON text), or keys kept outside. */
export type ReceiverKeys = PrivateJWKS | string | KeysOutsideTheProcess;

let warnedAboutDrop = false;

/**
 * REPLACE ME. The default `onPayload`: it drops the payload, and warns once per container that it
 * does, so a deployment that forgot to pass its own handler shows up in the log. It never logs
 * the payload itself.
 */
export const dropPayload: PayloadHandler = () => {
  if (warnedAboutDrop) return;
  warnedAboutDrop = true;
  console.warn('lambda-receiver: no onPayload given, decrypted payloads are dropped (replace dropPayload)');
};

const json = (statusCode: number, value: unknown): ProxyResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});

/**
 * A refused body: 503 when the receiver cannot serve it now (an `UnavailableError`: the key service
 * is down or timed out, the receiver is busy; the sender should retry), 413 past the size limit,
 * 400 for every other code, including ones added later.
 */
const refusal = (err: RequestCryptoError): ProxyResult =>
  json(err instanceof UnavailableError ? 503 : err.code === ERROR_CODES.BODY_TOO_LARGE ? 413 : 400, { error: err.code });

const isOutside = (keys: ReceiverKeys): keys is KeysOutsideTheProcess => typeof keys === 'object' && 'unwrapKey' in keys;

/** Builds a handler that calls `loadKeys` once per container, on its first invocation. */
export function createHandler(
  loadKeys: () => ReceiverKeys | Promise<ReceiverKeys>,
  options: HandlerOptions = {},
): (event: ProxyEvent) => Promise<ProxyResult> {
  const { maxBodyBytes, maxAgeSeconds, onPayload = dropPayload, onDecrypt = emfMetrics() } = options;
  // Only set options that were given: under exactOptionalPropertyTypes an explicit undefined is
  // not the same as an absent member.
  const decryptorOptions: DecryptorOptions = maxBodyBytes === undefined ? { onDecrypt } : { maxBodyBytes, onDecrypt };
  const decryptOptions: DecryptOptions = maxAgeSeconds === undefined ? {} : { maxAgeSeconds };
  let decryptor: Promise<Decryptor> | undefined;

  return async (event) => {
    let ready: Decryptor;
    try {
      decryptor ??= (async () => {
        const keys = await loadKeys();
        return isOutside(keys)
          ? createRequestDecryptor(keys.publicJWKS, { ...decryptorOptions, unwrapKey: keys.unwrapKey })
          : createRequestDecryptor(keys, decryptorOptions);
      })();
      ready = await decryptor;
    } catch (err) {
      decryptor = undefined; // let the next invocation try again
      console.error('lambda-receiver: cannot load the keys:', err);
      return json(500, { error: 'ERR_RECEIVER_NOT_CONFIGURED' });
    }

    // A missing body goes to the decryptor too, as an empty one: it is refused there as
    // ERR_BODY_MALFORMED like any other bad body, and counted in the metrics with them.
    const text = typeof event.body === 'string' ? event.body : '';
    // With binary media types API Gateway hands over base64 of the bytes the mediator sent.
    const body = event.isBase64Encoded === true ? Buffer.from(text, 'base64') : text;

    let payload: DecryptedPayload;
    try {
      payload = await ready.decrypt(body, decryptOptions);
    } catch (err) {
      // The decryptor rejects only with RequestCryptoError; anything else would be a bug in it,
      // which is still not the sender's input to judge, so it is the receiver's fault below.
      if (err instanceof RequestCryptoError) return refusal(err);
      console.error('lambda-receiver: decrypt failed unexpectedly:', err);
      return json(500, { error: 'ERR_RECEIVER_FAILED' });
    }

    try {
      await onPayload(payload, event);
    } catch (err) {
      if (err instanceof RequestCryptoError) return refusal(err);
      console.error('lambda-receiver: onPayload failed:', err);
      return json(500, { error: 'ERR_RECEIVER_FAILED' });
    }
    return { statusCode: 202, headers: {}, body: '' };
  };
}

/**
 * The keys in AWS KMS named by `KMS_KEY_IDS` (see the top of this file). The region and
 * credentials are the function's own (its execution role needs `kms:GetPublicKey` and
 * `kms:Decrypt` on those keys, and nothing else).
 */
async function keysInKms(keyIdsJson: string): Promise<KeysOutsideTheProcess> {
  let keyIds: Record<string, string>;
  try {
    keyIds = JSON.parse(keyIdsJson) as Record<string, string>;
  } catch {
    throw new Error('KMS_KEY_IDS is not JSON: give {"<kid>": "<KMS key ID or ARN>", ...}');
  }
  const alg = process.env.KMS_ALG ?? 'RSA-OAEP';
  if (alg !== 'RSA-OAEP' && alg !== 'RSA-OAEP-256') throw new Error('KMS_ALG must be RSA-OAEP or RSA-OAEP-256');
  // Loaded only here, so that a receiver holding its own keys needs no AWS SDK.
  const { KMSClient } = await import('@aws-sdk/client-kms');
  const { createKmsKeyUnwrapper, kmsPublicJWKS } = await import('request-crypto/kms');
  const client = new KMSClient({});
  return {
    publicJWKS: await kmsPublicJWKS({ client, keyIds, alg }),
    unwrapKey: createKmsKeyUnwrapper({
      client,
      keyIds,
      // A KMS refusal answers 400 ERR_DECRYPTION_FAILED like a forged body, an outage 503; the log says which.
      onError: (err, { kid }) => console.error(`lambda-receiver: KMS Decrypt for kid ${kid} failed:`, (err as Error).name),
    }),
  };
}

/** The receiver's keys from the environment: `KMS_KEY_IDS`, else `PRIVATE_JWKS` or `PRIVATE_JWKS_FILE`. */
export async function loadKeysFromEnvironment(): Promise<ReceiverKeys> {
  if (process.env.KMS_KEY_IDS) return keysInKms(process.env.KMS_KEY_IDS);
  if (process.env.PRIVATE_JWKS) return process.env.PRIVATE_JWKS;
  if (process.env.PRIVATE_JWKS_FILE) return readFileSync(process.env.PRIVATE_JWKS_FILE, 'utf8');
  throw new Error('set KMS_KEY_IDS, PRIVATE_JWKS or PRIVATE_JWKS_FILE');
}

/**
 * The Lambda entry point. Pass your own `onPayload` here (store the payload, queue it, ...); this
 * one uses {@link dropPayload}.
 */
export const handler = createHandler(loadKeysFromEnvironment, { onPayload: dropPayload });
