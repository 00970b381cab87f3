import { generateKeyPairSync, getFips } from 'node:crypto';

import type { PrivateJWK, PrivateJWKS, PublicJWK, PublicJWKS } from '../src';
import fixture from './fixtures/elastic-request-crypto-2.0.3.json';
import rsa1024 from './fixtures/rsa-1024.json';

/** True when this process runs OpenSSL in FIPS mode (`.ci/fips/test.sh` runs the suite so). */
export const FIPS = getFips() === 1;

/** `it`, skipped in FIPS mode: only for a test of what FIPS forbids; say what at each use. */
export const itUnlessFips: jest.It = FIPS ? it.skip : it;

/**
 * A 1024-bit RSA private JWK, made once outside FIPS mode and kept in `fixtures/rsa-1024.json`:
 * FIPS refuses to generate a key that small, but such keys exist (the original's own test keys).
 */
export function rsa1024Jwk(kid: string): PrivateJWK {
  return { ...(rsa1024.jwk as PrivateJWK), kid };
}

/** The golden vectors made by @elastic/request-crypto 2.0.3. */
export const vectors = fixture as unknown as {
  privateJWKS: PrivateJWKS;
  publicJWKS: PublicJWKS;
  vectors: Array<{
    name: string;
    kid: string;
    payload: unknown;
    body: string;
    metadata: { kid: string; length: number; protected: string[]; header: Record<string, string> };
  }>;
};

/** An RSA private JWK made with node:crypto, shaped like the ones node-jose makes. */
export function makePrivateJwk(kid: string, bits = 2048, alg = 'RSA-OAEP'): PrivateJWK {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = privateKey.export({ format: 'jwk' }) as unknown as Record<string, string>;
  return {
    kty: 'RSA',
    kid,
    use: 'enc',
    alg,
    e: jwk.e!,
    n: jwk.n!,
    d: jwk.d!,
    p: jwk.p!,
    q: jwk.q!,
    dp: jwk.dp!,
    dq: jwk.dq!,
    qi: jwk.qi!,
  };
}

/** The public members of a private JWK. */
export function publicOf(jwk: PrivateJWK): PublicJWK {
  const { kty, kid, use, alg, e, n } = jwk;
  return { kty, kid, use, alg, e, n };
}

/** A private set and its public half. */
export function makeKeySets(kids: string[], bits = 2048): { privateJWKS: PrivateJWKS; publicJWKS: PublicJWKS } {
  const keys = kids.map((kid) => makePrivateJwk(kid, bits));
  return { privateJWKS: { keys }, publicJWKS: { keys: keys.map(publicOf) } };
}

/** Runs `promise` and returns the error it rejects with, failing when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Payloads of every kind a body can carry. */
export const PAYLOADS: Array<[string, unknown]> = [
  ['an object', { cluster_uuid: 'abc', stats: { docs: 42, nodes: [1, 2, 3] }, ok: true }],
  ['an array', [{ a: 1 }, 'two', null, 3.5]],
  ['a string', 'plain string payload'],
  ['a number', 12345.678],
  ['a negative integer', -7],
  ['true', true],
  ['false', false],
  ['null', null],
  ['unicode with astral characters and NUL', { text: 'héllo 世界 🚀 \u0000 end', emoji: '👍', lone: 'a\u2028b' }],
  ['an empty object', {}],
  ['an empty array', []],
  ['an empty string', ''],
];

/** A JSON object of about `bytes` bytes. */
export function largePayload(bytes: number): { items: Array<{ i: number; name: string; tags: string[] }> } {
  const items: Array<{ i: number; name: string; tags: string[] }> = [];
  let size = 0;
  for (let i = 0; size < bytes; i += 1) {
    const item = { i, name: `item-${i}-${'x'.repeat(20)}`, tags: ['alpha', 'beta', `t${i % 97}`] };
    size += JSON.stringify(item).length + 1;
    items.push(item);
  }
  return { items };
}

/** mulberry32: a small seeded source of numbers in [0, 1), so every run and every failure is repeatable. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
