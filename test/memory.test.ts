import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeflateRaw, constants as zlibConstants } from 'node:zlib';

import { sealContent } from '../src/jose/content-cipher';
import { encodeProtectedHeader, serializeCompactJwe } from '../src/jose/compact';
import { wrapCek } from '../src/jose/rsa-oaep';
import { loadKeyring } from '../src/keys/keyset';
import { createRequestEncryptor, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_PAYLOAD_COST, ERROR_CODES } from '../src';
import { measureJsonCost } from '../src/encoding/bounded-json';
import { largePayload, makeKeySets, vectors } from './helpers';

/** Raw-deflates `total` zero bytes without ever holding them: about 1 MB of output per GB. */
function deflatedZeros(total: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const deflate = createDeflateRaw({ level: zlibConstants.Z_BEST_COMPRESSION });
    const out: Buffer[] = [];
    deflate.on('data', (chunk: Buffer) => out.push(chunk));
    deflate.on('end', () => resolve(Buffer.concat(out)));
    deflate.on('error', reject);
    const chunk = Buffer.alloc(1024 * 1024);
    let written = 0;
    const pump = (): void => {
      while (written < total) {
        written += chunk.length;
        if (!deflate.write(chunk)) {
          deflate.once('drain', pump);
          return;
        }
      }
      deflate.end();
    };
    pump();
  });
}

const MiB = 1024 * 1024;

/**
 * Measures, in a fresh process, how much one decrypt grows the peak RSS: the body is read from a
 * file (so making it costs the child nothing), every code path is warmed up first, and the
 * growth is the peak after the call minus the RSS before it.
 */
const CHILD = `
const { createRequestDecryptor } = require(process.argv[1]);
const fs = require('node:fs');
(async () => {
  const v = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const body = fs.readFileSync(process.argv[3], 'latin1');
  const decryptor = await createRequestDecryptor(v.privateJWKS, JSON.parse(process.argv[4]));
  await decryptor.decrypt(v.vectors[0].body);
  const before = process.memoryUsage().rss;
  let code = 'resolved';
  try { await decryptor.decrypt(body); } catch (err) { code = err.code; }
  // VmHWM is this process's own peak; maxRSS may start from the spawning process's (Linux keeps it across exec).
  const hwm = /VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  const peak = (hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS) * 1024;
  process.stdout.write(JSON.stringify({ code, bodyLength: body.length, growth: peak - before }));
})();
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'request-crypto-mem-'));
  writeFileSync(join(dir, 'vectors.json'), JSON.stringify(vectors), { mode: 0o600 }); // holds private test keys
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Decrypts `body` in a child process with `options`; returns its outcome and RSS growth. */
function measure(body: string, options: object = {}): { code: string; bodyLength: number; growth: number } {
  writeFileSync(join(dir, 'body.txt'), body);
  const out = execFileSync(
    process.execPath,
    ['-e', CHILD, join(__dirname, '..', 'lib', 'index.js'), join(dir, 'vectors.json'), join(dir, 'body.txt'), JSON.stringify(options)],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return JSON.parse(out) as { code: string; bodyLength: number; growth: number };
}

const encryptor = createRequestEncryptor(vectors.publicJWKS);
const jwe = async (payload: unknown): Promise<string> => (await encryptor).encrypt('kibana1', payload, { format: 'jwe', compress: true });
const legacy = async (payload: unknown): Promise<string> => (await encryptor).encrypt('kibana1', payload);
const b64u = (text: string): string => Buffer.from(text).toString('base64url');

/** One object holding `count` distinct member names, then a string filling it to `bytes`. */
function distinctNames(count: number, bytes = 0): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let i = 0; i < count; i += 1) object[`k${i}`] = 0;
  const used = JSON.stringify(object).length;
  if (bytes > used + 16) object.fill = 'a'.repeat(bytes - used - 16);
  return object;
}

/** The largest `make(n)` the default cost limit accepts (to within 0.5 %). */
function largestAccepted<T>(make: (n: number) => T): T {
  const fits = (n: number): boolean => measureJsonCost(Buffer.from(JSON.stringify(make(n))), { maxPayloadCost: DEFAULT_MAX_PAYLOAD_COST, maxPayloadDepth: 64 }) <= DEFAULT_MAX_PAYLOAD_COST;
  let low = 1;
  let high = 2;
  while (fits(high)) high *= 2;
  while (high - low > Math.max(1, low / 200)) {
    const mid = Math.floor((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid;
  }
  return make(low);
}

/** `[0.5,…]` of `n` numbers, then a string filling the payload to its limit. */
function halvesAndFill(n: number): unknown[] {
  const numbers: unknown[] = new Array(n).fill(0.5);
  numbers.push('a'.repeat(Math.max(0, DEFAULT_MAX_PAYLOAD_BYTES - JSON.stringify(numbers).length - 16)));
  return numbers;
}

/** Bodies accepted or refused under the default options, each near a limit. */
const UNDER_DEFAULTS: Array<[string, () => Promise<string>, string]> = [
  ['a 44 KB-style compressed [{},{},…] that inflates far past the payload limit', () => jwe(new Array(11 * MiB).fill({})), ERROR_CODES.BODY_TOO_LARGE],
  ['a compressed [{},{},…] of as many objects as the cost limit allows', () => jwe(largestAccepted((n) => new Array(n).fill({}))), 'resolved'],
  ['a compressed [[],[],…] of as many arrays as the cost limit allows', () => jwe(largestAccepted((n) => new Array(n).fill([]))), 'resolved'],
  ['a compressed [0.5,0.5,…] of as many numbers as the cost limit allows beside a string filling the payload limit', () => jwe(largestAccepted(halvesAndFill)), 'resolved'],
  ['a compressed object of as many distinct member names as the cost limit allows, filled to the payload limit', () => jwe(largestAccepted((n) => distinctNames(n, DEFAULT_MAX_PAYLOAD_BYTES))), 'resolved'],
  ['a compressed array of as many objects with a member name of their own as the cost limit allows', () => jwe(largestAccepted((n) => Array.from({ length: n }, (_, i) => ({ [`k${i}`]: 0 })))), 'resolved'],
  ['a compressed [{},{},…] of 11 million objects (the old 32 MiB inflation)', () => jwe(new Array(11_000_000).fill({})), ERROR_CODES.BODY_TOO_LARGE],
  ['a legacy body at the body limit of dense JSON [0,0,…]', () => legacy(new Array(2_300_000).fill(0)), ERROR_CODES.PAYLOAD_TOO_COMPLEX],
  ['a legacy body near the body limit of one 4.4 MiB string', () => legacy('x'.repeat(4.4 * MiB)), 'resolved'],
  ['a realistic 4 MiB telemetry payload, compressed', () => jwe(largePayload(4 * MiB)), 'resolved'],
  ['a realistic 4 MiB telemetry payload in a legacy body', () => legacy(largePayload(4 * MiB)), 'resolved'],
];

describe('memory per body (peak RSS growth ≤ 64 MiB + 8 × the body length, under the default options)', () => {
  it.each(UNDER_DEFAULTS)('%s', async (_name, makeBody, expected) => {
    const result = measure(await makeBody());
    process.stdout.write(`${_name}: ${result.code}, body ${(result.bodyLength / MiB).toFixed(2)} MiB, RSS grew ${(result.growth / MiB).toFixed(1)} MiB\n`);
    expect(result.code).toBe(expected);
    expect(result.growth).toBeLessThanOrEqual(64 * MiB + 8 * result.bodyLength);
  }, 120_000);
});

/** Bodies refused before any key is used, with the size limits raised to make them large. */
const REFUSED_BEFORE_KEY: Array<[string, () => string | Promise<string>, string]> = [
  ['32 MiB of "."', () => '.'.repeat(32 * MiB), ERROR_CODES.BODY_MALFORMED],
  ['32 MiB of "A"', () => 'A'.repeat(32 * MiB), ERROR_CODES.BODY_MALFORMED],
  ['the base64url of a 24 MiB JSON object with no key in it', () => b64u(JSON.stringify({ items: new Array(12 * MiB).fill(0) })), ERROR_CODES.BODY_MALFORMED],
  ['a legacy envelope for an unknown kid with a 24 MiB payload', async () => {
    const other = await createRequestEncryptor(makeKeySets(['other']).publicJWKS);
    return other.encrypt('other', 'x'.repeat(14 * MiB));
  }, ERROR_CODES.NO_KEY_FOUND],
  ["a 'jwe' body for an unknown kid with a 24 MiB ciphertext", async () => {
    const other = await createRequestEncryptor(makeKeySets(['other']).publicJWKS);
    return other.encrypt('other', 'x'.repeat(24 * MiB), { format: 'jwe' });
  }, ERROR_CODES.NO_KEY_FOUND],
];

describe('refusal before any key is used (peak RSS growth ≤ 16 MiB + 2 × the body length)', () => {
  it.each(REFUSED_BEFORE_KEY)('%s', async (_name, makeBody, expected) => {
    const result = measure(await makeBody(), { maxBodyBytes: 40 * MiB, maxPayloadBytes: 40 * MiB });
    process.stdout.write(`${_name}: ${result.code}, body ${(result.bodyLength / MiB).toFixed(2)} MiB, RSS grew ${(result.growth / MiB).toFixed(1)} MiB\n`);
    expect(result.code).toBe(expected);
    expect(result.bodyLength).toBeGreaterThan(20 * MiB);
    expect(result.growth).toBeLessThanOrEqual(16 * MiB + 2 * result.bodyLength);
  }, 120_000);
});

describe('memory bound on inflation', () => {
  it('rejects a 2 MB body that would inflate to 1 GB with the RSS growing by less than 64 MB', async () => {
    const key = loadKeyring(vectors.publicJWKS).get('kibana1')!;
    const compressed = await deflatedZeros(1024 * 1024 * 1024);
    const protectedText = encodeProtectedHeader({
      alg: 'RSA-OAEP',
      enc: 'A256GCM',
      kid: 'kibana1',
      iat: Math.floor(Date.now() / 1000),
      cty: 'json',
      zip: 'DEF',
    });
    const cek = randomBytes(32);
    const sealed = sealContent('A256GCM', cek, Buffer.from(protectedText, 'ascii'), compressed);
    const bomb = serializeCompactJwe(protectedText, wrapCek('RSA-OAEP', key.publicKey, cek), sealed.iv, sealed.ciphertext, sealed.tag);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);

    const result = measure(bomb);
    process.stdout.write(`inflation bomb: RSS grew ${(result.growth / 1048576).toFixed(1)} MiB\n`);
    expect(result.code).toBe('ERR_BODY_TOO_LARGE');
    expect(result.growth).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);
});
