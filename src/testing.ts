/**
 * `request-crypto/testing`: real keys and real bodies for the unit tests of code that sends or
 * receives them, in place of `jest.mock('request-crypto')`. A test that mocks the package proves
 * only that it called the mock; one written with these helpers proves that what it sent decrypts
 * to what it meant to send.
 *
 * Keys are RSA from `node:crypto` (so the helpers work in FIPS mode too), made once per process
 * for each kid, size and algorithm and reused: a suite pays for key generation once. The root
 * entry (`request-crypto`) never loads this module.
 *
 * @packageDocumentation
 */
export * from './testing/test-keyset';
