/**
 * `request-crypto/kms`: the receiver's private keys stay in AWS KMS.
 *
 * An asymmetric KMS key with key usage `ENCRYPT_DECRYPT` (`RSA_2048`, `RSA_3072` or `RSA_4096`)
 * decrypts `RSAES_OAEP_SHA_1` (JWE `RSA-OAEP`) and `RSAES_OAEP_SHA_256` (`RSA-OAEP-256`): exactly
 * the one private-key operation of a body. This entry gives the decryptor that operation as its
 * `unwrapKey`, and builds the public set to ship to senders from the keys' public halves.
 *
 * ```ts
 * import { KMSClient } from '@aws-sdk/client-kms';
 * import { createRequestDecryptor } from 'request-crypto/receiver';
 * import { createKmsKeyUnwrapper, kmsPublicJWKS } from 'request-crypto/kms';
 *
 * const client = new KMSClient({});
 * const keyIds = { kibana1: 'arn:aws:kms:eu-west-1:111122223333:key/…' };
 * const decryptor = await createRequestDecryptor(await kmsPublicJWKS({ client, keyIds }), {
 *   unwrapKey: createKmsKeyUnwrapper({ client, keyIds }),
 * });
 * ```
 *
 * `@aws-sdk/client-kms` is an optional peer dependency: install it to use this entry (Lambda's
 * Node.js runtimes include it). It is loaded by the functions here, on their first call, and by
 * nothing else in this package.
 *
 * @packageDocumentation
 */
export * from './custody/kms';
