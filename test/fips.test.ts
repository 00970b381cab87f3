// FIPS mode: `.ci/fips/test.sh` runs the whole suite with OpenSSL's FIPS provider (and the base
// provider) only, every algorithm fetched with fips=yes. Outside it, the FIPS-only tests here skip.
import { execFileSync } from 'node:child_process';
import { createHash, getFips } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { createRequestDecryptor, createRequestEncryptor, keyDerivationBackend, RequestCryptoError } from '../src';
import rsa1024 from './fixtures/rsa-1024.json';
import { FIPS, publicOf, rejectionOf, rsa1024Jwk } from './helpers';

const root = join(__dirname, '..');
const itInFips = FIPS ? it : it.skip;

describe('the FIPS run', () => {
  // Only the FIPS run sets it; there this test fails if FIPS mode did not reach the workers.
  (process.env['REQUEST_CRYPTO_EXPECT_FIPS'] === '1' ? it : it.skip)(
    'is in FIPS mode in this jest worker and in the processes it starts',
    () => {
      expect(getFips()).toBe(1);
      expect(() => createHash('md5')).toThrow(); // only the FIPS provider's algorithms are there
      const child = execFileSync(process.execPath, ['-p', "require('node:crypto').getFips()"], { encoding: 'utf8' });
      expect(child.trim()).toBe('1');
    },
  );
});

describe('in FIPS mode', () => {
  itInFips('derives legacy keys with crypto.pbkdf2, never the accelerator', () => {
    expect(keyDerivationBackend()).toBe('node:crypto');
  });

  itInFips('opens bodies made outside FIPS mode for a 1024-bit key (the provider still decrypts with one)', async () => {
    const decryptor = await createRequestDecryptor({ keys: [rsa1024Jwk('small')] });
    await expect(decryptor.decrypt(rsa1024.bodies.legacy)).resolves.toEqual(rsa1024.payload);
    await expect(decryptor.decrypt(rsa1024.bodies.jwe)).resolves.toEqual(rsa1024.payload);
  });

  // KNOWN LIBRARY BUG (reported to the main engineer): in FIPS mode the provider refuses RSA-OAEP
  // encryption for a key under 2048 bits, and the encryptor lets OpenSSL's own error escape
  // (Error, code ERR_OSSL_INVALID_KEY_LENGTH, "error:1C800069:Provider routines::invalid key
  // length") instead of a RequestCryptoError. `.failing` passes while the bug is there; once it is
  // fixed this fails: then make it a plain FIPS test (itInFips).
  (FIPS ? it.failing : it.skip)('gives a typed error for a key the provider refuses (1024-bit RSA)', async () => {
    const publicJWKS = { keys: [publicOf(rsa1024Jwk('small'))] };
    for (const format of ['legacy', 'jwe'] as const) {
      const err = await rejectionOf((async () => (await createRequestEncryptor(publicJWKS, { format })).encrypt('small', [1]))());
      expect(err).toBeInstanceOf(RequestCryptoError);
    }
  });
});

describe('the sender and receiver paths, in a fresh process', () => {
  // In-process checks cannot tell: other test files in this jest worker load node-jose and the
  // accelerator. The built lib/ runs as users run it (`npm test` builds it first).
  it('never load node-jose or node-forge, and in FIPS mode never the PBKDF2 accelerator', () => {
    const script = `
      const rc = require(${JSON.stringify(join(root, 'lib'))});
      const v = require(${JSON.stringify(join(__dirname, 'fixtures', 'elastic-request-crypto-2.0.3.json'))});
      (async () => {
        const encryptor = await rc.createRequestEncryptor(v.publicJWKS);
        const decryptor = await rc.createRequestDecryptor(v.privateJWKS);
        const out = [];
        for (const format of ['legacy', 'jwe']) {
          const body = await encryptor.encrypt('kibana1', { format }, { format });
          out.push(await decryptor.decrypt(body), (await decryptor.getJWKMetadata(body)).key.kid);
        }
        out.push(await decryptor.decrypt(v.vectors[0].body));
        const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](node-jose|node-forge)[\\\\/]/.test(f));
        const maps = '/proc/self/maps';
        const accelerator = require('node:fs').existsSync(maps) ? require('node:fs').readFileSync(maps, 'utf8').includes('pbkdf2_sha512') : null;
        console.log(JSON.stringify({ out, loaded, accelerator, backend: rc.keyDerivationBackend(), fips: require('node:crypto').getFips() }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(result['out']).toEqual([{ format: 'legacy' }, 'kibana1', { format: 'jwe' }, 'kibana1', expect.anything()]);
    expect(result['loaded']).toEqual([]);
    expect(result['fips']).toBe(getFips());
    if (FIPS) {
      expect(result['backend']).toBe('node:crypto');
      if (existsSync('/proc/self/maps')) expect(result['accelerator']).toBe(false);
    }
  });
});
