import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeflateRaw, constants as zlibConstants } from 'node:zlib';

import { sealContent } from '../src/jwe/content-cipher';
import { encodeProtectedHeader, serializeCompactJwe } from '../src/jwe/compact';
import { wrapCek } from '../src/jwe/rsa-oaep';
import { loadKeyring } from '../src/keys/keyset';
import { vectors } from './helpers';

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

const CHILD = `
const { createRequestDecryptor } = require(process.argv[1]);
const fs = require('node:fs');
(async () => {
  const v = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const bomb = fs.readFileSync(process.argv[3], 'utf8');
  const decryptor = await createRequestDecryptor(v.privateJWKS);
  await decryptor.decrypt(v.vectors[0].body); // warm up every code path but inflation
  const before = process.memoryUsage().rss;
  let code = 'resolved';
  try { await decryptor.decrypt(bomb); } catch (err) { code = err.code; }
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ code, bodyLength: bomb.length, growth: peak - before }));
})();
`;

describe('memory bound on inflation', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'request-crypto-mem-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

    writeFileSync(join(dir, 'vectors.json'), JSON.stringify(vectors), { mode: 0o600 }); // holds private test keys
    writeFileSync(join(dir, 'bomb.txt'), bomb);
    const out = execFileSync(
      process.execPath,
      ['-e', CHILD, join(__dirname, '..', 'lib', 'index.js'), join(dir, 'vectors.json'), join(dir, 'bomb.txt')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    const result = JSON.parse(out) as { code: string; growth: number };
    process.stdout.write(`inflation bomb: RSS grew ${(result.growth / 1048576).toFixed(1)} MiB\n`);
    expect(result.code).toBe('ERR_BODY_TOO_LARGE');
    expect(result.growth).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);
});
