import { createRequestDecryptor, createRequestEncryptor, DEFAULT_MAX_PAYLOAD_BYTES, type Decryptor, type Encryptor } from '../src';
import { vectors } from './helpers';
import { clusterRecords, clusterReport, logLines, timeSeries, usageObject } from './realistic-payloads';

const MiB = 1024 * 1024;

/** Realistic telemetry of about 4 MiB, and one filled to the default payload limit. */
const SHAPES: Array<[string, () => unknown]> = [
  ['many small records with UUIDs, versions, numbers and ten { name, docs } pairs (4 MiB)', () => clusterRecords(4 * MiB)],
  ['the same records filled to the default maxPayloadBytes', () => clusterRecords(DEFAULT_MAX_PAYLOAD_BYTES - 64 * 1024)],
  ["the issue's report of 9,500 cluster records", () => clusterReport(9500)],
  ['one large nested usage object with hundreds of distinct member names (4 MiB)', () => usageObject(4 * MiB)],
  ['log-like lines (4 MiB)', () => logLines(4 * MiB)],
  ['numeric time series (4 MiB)', () => timeSeries(4 * MiB)],
  ['numeric time series filled to the default maxPayloadBytes', () => timeSeries(DEFAULT_MAX_PAYLOAD_BYTES - 64 * 1024)],
];

let encryptor: Encryptor;
let decryptor: Decryptor;
beforeAll(async () => {
  encryptor = await createRequestEncryptor(vectors.publicJWKS);
  decryptor = await createRequestDecryptor(vectors.privateJWKS);
});

describe.each([
  ['legacy', {}],
  ["'jwe'", { format: 'jwe' }],
  ["compressed 'jwe'", { format: 'jwe', compress: true }],
] as const)('realistic payloads under the default limits, %s bodies', (_format, options) => {
  it.each(SHAPES)('decrypts %s', async (_name, make) => {
    const payload = make();
    const size = Buffer.byteLength(JSON.stringify(payload));
    expect(size).toBeGreaterThan(3.9 * MiB);
    expect(size).toBeLessThanOrEqual(DEFAULT_MAX_PAYLOAD_BYTES);
    await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', payload, options))).resolves.toEqual(payload);
  }, 60_000);
});
