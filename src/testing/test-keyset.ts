/**
 * What `request-crypto/testing` holds (see that entry, src/testing.ts, for how to use it).
 *
 * @packageDocumentation
 */
import { generateKeyPair } from 'node:crypto';

import {
  createRequestDecryptor,
  type BodyMetadata,
  type DecryptedPayload,
  type DecryptOptions,
  type DecryptorOptions,
  type DecryptResult,
  type Decryptor,
} from '../receiver/decryptor';
import { createRequestEncryptor, type Encryptor, type EncryptorOptions } from '../sender/encryptor';
import { ALLOWED_MODULI, ENC_MODULUS, isWrapAlgorithm, LEGACY_KEY_WRAP_ALGORITHM, type WrapAlgorithm } from '../core/algorithms';
import { InvalidArgumentError } from '../core/errors';
import type { EncryptedBody } from '../encoding/body-text';
import type { StandardSchemaV1 } from '../receiver/schema';
import type { PrivateJWK, PrivateJWKS, PublicJWK, PublicJWKS } from '../core/types';

/** The RSA sizes a test keyset may have: the sizes `addKey` makes, none under 2048 bits. */
export const TEST_KEY_MODULI: readonly number[] = Object.freeze([...ALLOWED_MODULI]);

/** Options of {@link createTestKeyset}. */
export interface TestKeysetOptions {
  /** One key per kid, in this order. */
  kids: readonly string[];
  /** RSA modulus in bits: 2048 (default), 3072 or 4096. Smaller keys are refused. */
  modulusLength?: number;
  /** The keys' `alg`: `RSA-OAEP` (default, as `addKey` makes) or `RSA-OAEP-256`. */
  alg?: WrapAlgorithm;
}

/** A private set and its public half, kid for kid. */
export interface TestKeyset {
  /** What a sender holds. */
  publicJWKS: PublicJWKS;
  /** What the receiver holds. */
  privateJWKS: PrivateJWKS;
}

/**
 * Keys made so far in this process, by kid, size and algorithm. The promise is kept, so calls
 * made at once (tests running in parallel) share one generation.
 */
const generated = new Map<string, Promise<PrivateJWK>>();

function makeKey(kid: string, modulusLength: number, alg: string): Promise<PrivateJWK> {
  return new Promise((resolve, reject) => {
    // Asynchronous: generation runs on the thread pool, several kids at once.
    generateKeyPair('rsa', { modulusLength, publicExponent: 0x10001 }, (err, _publicKey, privateKey) => {
      if (err !== null) {
        reject(err);
        return;
      }
      const { n, e, d, p, q, dp, dq, qi } = privateKey.export({ format: 'jwk' });
      if (!n || !e || !d || !p || !q || !dp || !dq || !qi) {
        reject(new Error('node:crypto exported an RSA key without its private members'));
        return;
      }
      // Members in the order node-jose writes them, as `addKey` makes them.
      resolve({ kty: 'RSA', kid, use: 'enc', alg, e, n, d, p, q, dp, dq, qi });
    });
  });
}

function cachedKey(kid: string, modulusLength: number, alg: string): Promise<PrivateJWK> {
  const id = JSON.stringify([kid, modulusLength, alg]);
  let key = generated.get(id);
  if (key === undefined) {
    key = makeKey(kid, modulusLength, alg);
    generated.set(id, key);
    // A failed generation is not kept: the next call tries again.
    key.catch(() => generated.delete(id));
  }
  return key;
}

const publicOf = ({ kty, kid, use, alg, e, n }: PrivateJWK): PublicJWK => ({ kty, kid, use, alg, e, n });

/**
 * A key set for tests: one RSA key per kid, made with `node:crypto` the first time this process
 * asks for that kid, size and algorithm, and the same key every time after. Each call returns
 * fresh objects, so a test may change its sets without touching another test's.
 *
 * Rejects with `InvalidArgumentError` for an empty or repeated kid, a size other than 2048, 3072
 * or 4096 bits, or another `alg`.
 *
 * (Under jest, "this process" is one test file: jest gives each file its own module registry.)
 */
export async function createTestKeyset(options: TestKeysetOptions): Promise<TestKeyset> {
  // Checked as untrusted: a JavaScript test may pass anything.
  const { kids, modulusLength = ENC_MODULUS, alg = LEGACY_KEY_WRAP_ALGORITHM }: Partial<TestKeysetOptions> = options ?? {};
  if (!Array.isArray(kids) || kids.length === 0 || !kids.every((kid) => typeof kid === 'string' && kid.length > 0)) {
    throw new InvalidArgumentError('invalid argument: kids must be a non-empty array of non-empty strings');
  }
  if (new Set(kids).size !== kids.length) throw new InvalidArgumentError('invalid argument: kids must not repeat');
  if (!TEST_KEY_MODULI.includes(modulusLength)) {
    throw new InvalidArgumentError('invalid argument: modulusLength must be 2048, 3072 or 4096');
  }
  if (!isWrapAlgorithm(alg)) {
    throw new InvalidArgumentError('invalid argument: alg must be RSA-OAEP or RSA-OAEP-256');
  }
  const keys = await Promise.all(kids.map((kid) => cachedKey(kid, modulusLength, alg)));
  return {
    publicJWKS: { keys: keys.map(publicOf) },
    privateJWKS: { keys: keys.map((key) => ({ ...key })) },
  };
}

/** Options of {@link createTestPair}: the keyset's, and each side's. */
export interface TestPairOptions extends TestKeysetOptions {
  /** Options of the encryptor (its `format`, for one). */
  encryptorOptions?: EncryptorOptions;
  /** Options of the decryptor (its limits, `onDecrypt`, …). */
  decryptorOptions?: DecryptorOptions;
}

/** A sender and a receiver that share a {@link TestKeyset}. */
export interface TestPair extends TestKeyset {
  /** Encrypts for the public set. */
  encryptor: Encryptor;
  /** Decrypts with the private set. */
  decryptor: Decryptor;
}

/**
 * An encryptor and a decryptor over one test keyset: hand the encryptor to the code under test,
 * and check what it sent with the decryptor (or {@link openBody}).
 */
export async function createTestPair(options: TestPairOptions): Promise<TestPair> {
  const keyset = await createTestKeyset(options);
  const [encryptor, decryptor] = await Promise.all([
    createRequestEncryptor(keyset.publicJWKS, options.encryptorOptions),
    createRequestDecryptor(keyset.privateJWKS, options.decryptorOptions),
  ]);
  return { ...keyset, encryptor, decryptor };
}

/** A body opened by {@link openBody}: what it carries and how it was made. */
export interface OpenedBody<P> {
  /** The decrypted payload (the schema's output when a `schema` was given). */
  payload: P;
  /** The key, header and format the body was made with (`getJWKMetadata`). */
  metadata: BodyMetadata;
}

/** Decryptors made by {@link openBody}, one per private set, so that a set is loaded once. */
const decryptors = new WeakMap<PrivateJWKS, Promise<Decryptor>>();

/**
 * Opens a body that the code under test produced: its payload and its metadata (kid, format,
 * header), so that a test can check both. `keyset` is a {@link TestKeyset} or a private set;
 * `options` are `decrypt`'s (`schema`, `context`, `maxAgeSeconds`). Rejects as `decrypt` does,
 * with a `RequestCryptoError`, when the body is not one the keyset can open.
 */
export async function openBody<T = DecryptedPayload, S extends StandardSchemaV1 | undefined = undefined>(
  body: EncryptedBody,
  keyset: TestKeyset | PrivateJWKS,
  options?: DecryptOptions<S>,
): Promise<OpenedBody<DecryptResult<T, S>>> {
  const privateJWKS = 'privateJWKS' in keyset ? keyset.privateJWKS : keyset;
  let decryptor = decryptors.get(privateJWKS);
  if (decryptor === undefined) {
    decryptor = createRequestDecryptor(privateJWKS);
    decryptors.set(privateJWKS, decryptor);
    decryptor.catch(() => decryptors.delete(privateJWKS));
  }
  const ready = await decryptor;
  const metadata = await ready.getJWKMetadata(body);
  const payload = await ready.decrypt<T, S>(body, options);
  return { payload, metadata };
}
