import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES, packBody, RequestCryptoError, unpackBody } from '../src';
import { seededRandom, vectors } from './helpers';

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const CASES_PER_TARGET = Number(process.env.FUZZ_CASES ?? 220);
const CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.{}":, \u0000é';
const PAYLOAD = { cluster_uuid: 'fuzz', stats: { docs: 7, ok: true }, list: [1, 'two', null] };
const CODES = new Set<string>(Object.values(ERROR_CODES));

type Random = () => number;
const pick = (random: Random, n: number): number => Math.floor(random() * n);

function mutateText(text: string, random: Random): string {
  const at = pick(random, text.length + 1);
  const ch = CHARS.charAt(pick(random, CHARS.length));
  switch (pick(random, 4)) {
    case 0:
      return text.slice(0, at) + ch + text.slice(at + 1); // replace
    case 1:
      return text.slice(0, at) + ch + text.slice(at); // insert
    case 2:
      return text.slice(0, at) + text.slice(at + 1); // delete
    default:
      return text.slice(0, at); // truncate
  }
}

function mutateBytes(bytes: Buffer, random: Random): Buffer {
  const at = pick(random, bytes.length + 1);
  const byte = Buffer.from([pick(random, 256)]);
  switch (pick(random, 4)) {
    case 0: {
      const copy = Buffer.from(bytes);
      if (at < copy.length) copy[at] = copy[at]! ^ (1 << pick(random, 8));
      return copy;
    }
    case 1:
      return Buffer.concat([bytes.subarray(0, at), byte, bytes.subarray(at)]);
    case 2:
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    default:
      return bytes.subarray(0, at);
  }
}

function mutateCompactPart(compact: string, index: number, random: Random): string {
  const parts = compact.split('.');
  parts[index] = mutateBytes(Buffer.from(parts[index]!, 'base64url'), random).toString('base64url');
  return parts.join('.');
}

interface Target {
  name: string;
  mutate: (random: Random) => string;
}

describe(`mutation fuzz (seed ${SEED}, FUZZ_SEED to change)`, () => {
  let legacy: string;
  let jwe: string;
  let targets: Target[];

  beforeAll(async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    legacy = await encryptor.encrypt('kibana1', PAYLOAD);
    jwe = await encryptor.encrypt('kibana1', PAYLOAD, { format: 'jwe', compress: true, context: { product: 'kibana' } });
    const { encryptedAESKey, encryptedPayload } = unpackBody(legacy);
    const envelopeJson = Buffer.from(legacy, 'base64url');
    targets = [
      { name: 'legacy body text', mutate: (r) => mutateText(legacy, r) },
      { name: 'legacy envelope JSON bytes', mutate: (r) => mutateBytes(envelopeJson, r).toString('base64url') },
      ...['header', 'wrapped key', 'IV', 'ciphertext', 'tag'].map((part, index) => ({
        name: `legacy key JWE ${part}`,
        mutate: (r: Random) => packBody(mutateCompactPart(encryptedAESKey, index, r), encryptedPayload),
      })),
      { name: 'legacy key JWE text', mutate: (r) => packBody(mutateText(encryptedAESKey, r), encryptedPayload) },
      {
        name: 'legacy payload bytes',
        mutate: (r) => packBody(encryptedAESKey, mutateBytes(Buffer.from(encryptedPayload, 'base64'), r).toString('base64')),
      },
      { name: 'legacy payload text', mutate: (r) => packBody(encryptedAESKey, mutateText(encryptedPayload, r)) },
      { name: 'jwe body text', mutate: (r) => mutateText(jwe, r) },
      ...['header', 'wrapped key', 'IV', 'ciphertext', 'tag'].map((part, index) => ({
        name: `jwe ${part}`,
        mutate: (r: Random) => mutateCompactPart(jwe, index, r),
      })),
    ];
  });

  it('decrypts every mutated body to exactly the payload or rejects it with a package code within a second', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const random = seededRandom(SEED);
    const outcomes = new Map<string, number>();
    let cases = 0;
    for (const target of targets) {
      for (let i = 0; i < CASES_PER_TARGET; i += 1) {
        const body = target.mutate(random);
        const started = Date.now();
        let outcome: string;
        try {
          const result = await decryptor.decrypt(body);
          expect({ target: target.name, body, result }).toEqual({ target: target.name, body, result: PAYLOAD });
          outcome = 'decrypted';
        } catch (err) {
          if (!(err instanceof RequestCryptoError) || !CODES.has(err.code)) {
            throw new Error(`seed ${SEED}, ${target.name}, case ${i}: escaped ${String(err)} for body ${body}`);
          }
          outcome = err.code;
        }
        const elapsed = Date.now() - started;
        if (elapsed >= 1000) throw new Error(`seed ${SEED}, ${target.name}, case ${i}: took ${elapsed} ms`);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        cases += 1;
      }
    }
    expect(cases).toBeGreaterThanOrEqual(2000);
    // The mutations reach every layer: malformed text, forged crypto, and harmless no-ops.
    expect(outcomes.get(ERROR_CODES.BODY_MALFORMED)).toBeGreaterThan(0);
    expect(outcomes.get(ERROR_CODES.DECRYPTION_FAILED)).toBeGreaterThan(0);
  });
});
