// FIPS mode: `.ci/fips/test.sh` runs the whole suite with OpenSSL's FIPS provider (and the base
// provider) only, every algorithm fetched with fips=yes. Outside it, the FIPS-only tests here skip.
import { execFileSync } from 'node:child_process';
import { createHash, getFips } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { createRequestDecryptor, createRequestEncryptor, keyDerivationBackend, RequestCryptoError } from '../src';
import { FIPS, publicOf, rejectionOf, rsa1024Jwk, vectors } from './helpers';

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

  itInFips('refuses a 1024-bit key when a set is loaded, with a typed error naming it', async () => {
    // The FIPS provider refuses RSA-OAEP encryption with a key under 2048 bits; the library tries
    // each key once at load, so such a key never gets as far as a body.
    const small = rsa1024Jwk('small');
    for (const load of [() => createRequestEncryptor({ keys: [publicOf(small)] }), () => createRequestDecryptor({ keys: [small] })]) {
      const err = await rejectionOf(load());
      expect(err).toBeInstanceOf(RequestCryptoError);
      expect(err.code).toBe('ERR_INVALID_JWKS');
      expect(err.message).toContain('kid "small"');
    }
  });
});

describe('the RSA-OAEP-256 key wrap (in FIPS mode under the FIPS run)', () => {
  // SHA-1 in OAEP is not FIPS 140-3 approved, which is why 3.0 moves to RSA-OAEP-256: the opt-in
  // sender, and the receiver reading both, must work under the strict FIPS configuration.
  it.each(['legacy', 'jwe'] as const)("keyWrapAlgorithm 'RSA-OAEP-256' makes %s bodies for a key stamped RSA-OAEP that every custody opens", async (format) => {
    const v = vectors;
    const encryptor = await createRequestEncryptor(v.publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' });
    const body = await encryptor.encrypt('kibana1', { format }, { format });
    const seen: string[] = [];
    for (const options of [{}, { unwrapOn: 'event-loop' as const }]) {
      const decryptor = await createRequestDecryptor(v.privateJWKS, { ...options, onKeyWrap: ({ alg }) => void seen.push(alg) });
      await expect(decryptor.decrypt(body)).resolves.toEqual({ format });
    }
    expect(seen).toEqual(['RSA-OAEP-256', 'RSA-OAEP-256']);
    expect(getFips()).toBe(FIPS ? 1 : 0);
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
