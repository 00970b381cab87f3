import { createRequestEncryptor, unpackBody, type Encryptor } from '../src';
import { vectors } from './helpers';

const BODIES = 40;
let encryptor: Encryptor;
beforeAll(async () => {
  encryptor = await createRequestEncryptor(vectors.publicJWKS);
});

const distinct = (values: string[]): number => new Set(values).size;

describe('every body gets its own random values', () => {
  it("gives every 'jwe' body its own A256GCM IV and its own wrapped content key", async () => {
    const bodies = await Promise.all(Array.from({ length: BODIES }, () => encryptor.encrypt('kibana1', { same: 'payload' }, { format: 'jwe' })));
    const parts = bodies.map((body) => body.split('.'));
    expect(distinct(parts.map((p) => p[2]!))).toBe(BODIES); // IV
    expect(distinct(parts.map((p) => p[1]!))).toBe(BODIES); // wrapped CEK
    expect(distinct(parts.map((p) => p[3]!))).toBe(BODIES); // ciphertext of the same payload
  });

  it('gives every compressed body its own IV too', async () => {
    const bodies = await Promise.all(
      Array.from({ length: BODIES }, () => encryptor.encrypt('kibana1', { same: 'payload' }, { format: 'jwe', compress: true })),
    );
    expect(distinct(bodies.map((body) => body.split('.')[2]!))).toBe(BODIES);
  });

  it('gives every legacy body its own passphrase envelope IV, payload salt and payload IV', async () => {
    const bodies = await Promise.all(Array.from({ length: BODIES }, () => encryptor.encrypt('kibana1', { same: 'payload' })));
    const unpacked = bodies.map((body) => unpackBody(body));
    const envelopes = unpacked.map(({ encryptedAESKey }) => encryptedAESKey.split('.'));
    const payloads = unpacked.map(({ encryptedPayload }) => Buffer.from(encryptedPayload, 'base64'));
    expect(distinct(envelopes.map((p) => p[2]!))).toBe(BODIES); // A128CBC-HS256 IV of the key envelope
    expect(distinct(envelopes.map((p) => p[1]!))).toBe(BODIES); // wrapped CEK of the key envelope
    expect(distinct(payloads.map((p) => p.subarray(0, 64).toString('hex')))).toBe(BODIES); // PBKDF2 salt
    expect(distinct(payloads.map((p) => p.subarray(64, 76).toString('hex')))).toBe(BODIES); // GCM IV
  });
});
