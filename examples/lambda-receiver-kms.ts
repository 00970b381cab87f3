/**
 * The Lambda receiver of `lambda-receiver.ts` with its private keys in AWS KMS: an opt-in, in a
 * file of its own, so that the receiver without KMS bundles and type-checks with no AWS SDK.
 *
 * The keys come from the environment, loaded once per container:
 * - `KMS_KEY_IDS`: JSON mapping each kid to a KMS key ID or ARN, `{ "kibana1": "arn:aws:kms:…:key/…" }`.
 *   The public set is read from KMS (`kms:GetPublicKey`) and each body costs one KMS `Decrypt`
 *   call (`kms:Decrypt`); `KMS_ALG` (`RSA-OAEP`, the default, or `RSA-OAEP-256`) is the algorithm
 *   the public set declares. Needs `@aws-sdk/client-kms`, which Lambda's Node.js runtimes include
 *   (bundle with `--external:@aws-sdk/*` to use the runtime's copy).
 * - otherwise `PRIVATE_JWKS` or `PRIVATE_JWKS_FILE`, as `lambda-receiver.ts` reads them.
 *
 * The responses are those of `lambda-receiver.ts`: a KMS `Decrypt` refusal answers 400
 * `ERR_DECRYPTION_FAILED` like a forged body (the log says which), and a `KeyServiceUnavailableError`
 * from the unwrapper (KMS down or throttled) answers 503.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { createKmsKeyUnwrapper, kmsPublicJWKS } from 'request-crypto/kms';

import { createHandler, dropPayload, loadKeysFromEnvironment, type KeysOutsideTheProcess, type ReceiverKeys } from './lambda-receiver';

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
export async function loadKeysFromKmsOrEnvironment(): Promise<ReceiverKeys> {
  if (process.env.KMS_KEY_IDS) return keysInKms(process.env.KMS_KEY_IDS);
  return loadKeysFromEnvironment();
}

/**
 * The Lambda entry point. Pass your own `onPayload` here (store the payload, queue it, ...); this
 * one uses {@link dropPayload}.
 */
export const handler = createHandler(loadKeysFromKmsOrEnvironment, { onPayload: dropPayload });
