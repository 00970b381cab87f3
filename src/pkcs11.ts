/**
 * `request-crypto/pkcs11`: the receiver's private keys stay in an HSM (AWS CloudHSM, YubiHSM 2,
 * Thales Luna, SoftHSM, any token with a PKCS#11 library).
 *
 * The token decrypts each body's wrapped key with `CKM_RSA_PKCS_OAEP` (SHA-1 and MGF1-SHA1 for
 * JWE `RSA-OAEP`, SHA-256 and MGF1-SHA256 for `RSA-OAEP-256`); the private key never leaves it.
 *
 * ```ts
 * import { createRequestDecryptor } from 'request-crypto/receiver';
 * import { createPkcs11KeyUnwrapper, pkcs11PublicJWKS } from 'request-crypto/pkcs11';
 *
 * const token = { library: '/opt/cloudhsm/lib/libcloudhsm_pkcs11.so', tokenLabel: 'hsm1', pin: process.env.HSM_PIN!, keyLabels: { kibana1: 'receiver-1' } };
 * const unwrapKey = createPkcs11KeyUnwrapper(token);
 * const decryptor = await createRequestDecryptor(await pkcs11PublicJWKS(token), { unwrapKey });
 * // on shutdown: await unwrapKey.close();
 * ```
 *
 * `pkcs11js` is an optional peer dependency (a native addon, built with node-gyp when installed):
 * install it to use this entry. It is loaded by the functions here, on their first call, and by
 * nothing else in this package.
 *
 * @packageDocumentation
 */
export * from './custody/pkcs11';
