// The sender's side of the key-wrap migration: keyWrapAlgorithm 'RSA-OAEP-256' is opt-in, the
// default stays 2.0.3's, and what the opt-in sender makes is read by other implementations.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as original from '@elastic/request-crypto';
import nodeCrypto from '@elastic/node-crypto';
import * as jose from 'node-jose';

import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES, unpackBody, type PrivateJWK } from '../src';
import { main } from '../src/cli';
import { makePrivateJwk, publicOf, rejectionOf, vectors } from './helpers';

const ROOT = join(__dirname, '..');
const FORMATS = ['legacy', 'jwe'] as const;
const PAYLOAD = { cluster_uuid: 'abc', stats: { docs: 42 }, text: 'zürich ☃' };

/** The protected header of a body's key JWE (legacy) or of the body (jwe), as its text. */
function headerTextOf(body: string): string {
  const compact = body.includes('.') ? body : unpackBody(body).encryptedAESKey;
  return Buffer.from(compact.split('.')[0]!, 'base64url').toString('utf8');
}
const algOf = (body: string): string => (JSON.parse(headerTextOf(body)) as { alg: string }).alg;

function withoutAlg<T extends { alg?: string }>(jwk: T): Omit<T, 'alg'> {
  const copy: Partial<T> = { ...jwk };
  delete copy.alg;
  return copy as Omit<T, 'alg'>;
}

/**
 * Opens bodies with node-jose 2.2.0 given the key imported without `alg` (node-jose wraps and
 * unwraps only with a key's own alg otherwise), as a v3 receiver built on it would: the key
 * envelope gives the passphrase, and @elastic/node-crypto (2.0.3's payload cipher) the payload.
 */
async function nodeJoseOpens(jwk: PrivateJWK, body: string): Promise<unknown> {
  const key = await jose.JWK.asKey(withoutAlg(jwk));
  if (body.includes('.')) return JSON.parse((await jose.JWE.createDecrypt(key).decrypt(body)).plaintext.toString('utf8'));
  const { encryptedAESKey, encryptedPayload } = unpackBody(body);
  const passphrase = (await jose.JWE.createDecrypt(key).decrypt(encryptedAESKey)).plaintext;
  return nodeCrypto({ encryptionKey: passphrase }).decrypt(encryptedPayload);
}

/** Opens bodies with panva jose 6 (ESM, so in a child process), as a 3.0 receiver does. */
function jose6Opens(jwk: PrivateJWK, bodies: string[]): unknown[] {
  const script = `
    import * as jose from 'jose6';
    const { jwk, bodies } = JSON.parse(await new Promise((resolve) => { let s = ''; process.stdin.on('data', (c) => (s += c)).on('end', () => resolve(s)); }));
    const out = [];
    for (const body of bodies) {
      const legacy = !body.includes('.');
      const compact = legacy ? JSON.parse(Buffer.from(body, 'base64url').toString()).encryptedAESKey : body;
      const key = await jose.importJWK(jwk, 'RSA-OAEP-256');
      const { plaintext, protectedHeader } = await jose.compactDecrypt(compact, key, { keyManagementAlgorithms: ['RSA-OAEP-256'] });
      out.push({ protectedHeader, plaintext: legacy ? Buffer.from(plaintext).length : JSON.parse(new TextDecoder().decode(plaintext)) });
    }
    console.log(JSON.stringify(out));`;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, input: JSON.stringify({ jwk, bodies }), encoding: 'utf8' });
  return JSON.parse(stdout) as unknown[];
}

describe("keyWrapAlgorithm: 'RSA-OAEP-256' (opt-in)", () => {
  const key = vectors.privateJWKS.keys[0]!; // stamped RSA-OAEP, as every key Kibana ships

  it('wraps a legacy body\'s key envelope with RSA-OAEP-256 for a key stamped RSA-OAEP, header exactly as 3.0 emits it', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' });
    expect(headerTextOf(await encryptor.encrypt('kibana1', PAYLOAD))).toBe('{"zip":"DEF","enc":"A128CBC-HS256","alg":"RSA-OAEP-256","kid":"kibana1"}');
  });

  it('wraps a jwe body with RSA-OAEP-256 for a key stamped RSA-OAEP', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256', format: 'jwe' });
    expect(JSON.parse(headerTextOf(await encryptor.encrypt('kibana1', PAYLOAD)))).toMatchObject({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'kibana1' });
  });

  it.each(FORMATS)('makes %s bodies this package opens, whose RSA-OAEP-256 wrap only SHA-256 undoes', async (format) => {
    const body = await (await createRequestEncryptor(vectors.publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' })).encrypt('kibana1', PAYLOAD, { format });
    await expect((await createRequestDecryptor(vectors.privateJWKS)).decrypt(body)).resolves.toEqual(PAYLOAD);
    // node-jose with the key as stamped (RSA-OAEP, SHA-1 only) cannot unwrap it.
    const stamped = await jose.JWK.asKey(key);
    const compact = format === 'jwe' ? body : unpackBody(body).encryptedAESKey;
    await expect(jose.JWE.createDecrypt(stamped).decrypt(compact)).rejects.toThrow();
  });

  it.each(FORMATS)('makes %s bodies node-jose 2.2.0 opens with the key imported without alg', async (format) => {
    const body = await (await createRequestEncryptor(vectors.publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' })).encrypt('kibana1', PAYLOAD, { format });
    await expect(nodeJoseOpens(key, body)).resolves.toEqual(PAYLOAD);
  });

  it('makes bodies of both formats that jose 6 opens, told to accept RSA-OAEP-256 only', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' });
    const bodies = [await encryptor.encrypt('kibana1', PAYLOAD), await encryptor.encrypt('kibana1', PAYLOAD, { format: 'jwe' })];
    expect(jose6Opens(key, bodies)).toEqual([
      { protectedHeader: { zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA-OAEP-256', kid: 'kibana1' }, plaintext: 32 },
      { protectedHeader: expect.objectContaining({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'kibana1' }), plaintext: PAYLOAD },
    ]);
  });

  it('makes bodies the real 2.0.3 cannot read: "no key found" (why it is not the default)', async () => {
    const body = await (await createRequestEncryptor(vectors.publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' })).encrypt('kibana1', PAYLOAD);
    expect(String(await rejectionOf((await original.createRequestDecryptor(vectors.privateJWKS)).decrypt(body)))).toBe('Error: no key found');
  });

  it('is overridden per call, either way', async () => {
    const sha256 = await createRequestEncryptor(vectors.publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' });
    const sha1 = await createRequestEncryptor(vectors.publicJWKS);
    expect(algOf(await sha256.encrypt('kibana1', 1, { keyWrapAlgorithm: 'RSA-OAEP' }))).toBe('RSA-OAEP');
    expect(algOf(await sha1.encrypt('kibana1', 1, { keyWrapAlgorithm: 'RSA-OAEP-256' }))).toBe('RSA-OAEP-256');
    expect(algOf(await sha1.encrypt('kibana1', 1, { format: 'jwe', keyWrapAlgorithm: 'RSA-OAEP-256' }))).toBe('RSA-OAEP-256');
    expect(algOf(await sha256.encrypt('kibana1', 1))).toBe('RSA-OAEP-256');
  });

  it.each([['RSA-OAEP-384'], ['rsa-oaep-256'], [''], [256], [null]])('refuses keyWrapAlgorithm %j with ERR_INVALID_ARGUMENT, on the encryptor and per call', async (alg) => {
    const encryptorErr = await rejectionOf(createRequestEncryptor(vectors.publicJWKS, { keyWrapAlgorithm: alg as never }));
    expect([encryptorErr.code, encryptorErr.message]).toEqual([ERROR_CODES.INVALID_ARGUMENT, expect.stringContaining('keyWrapAlgorithm')]);
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const callErr = await rejectionOf(encryptor.encrypt('kibana1', 1, { keyWrapAlgorithm: alg as never }));
    expect([callErr.code, callErr.message]).toEqual([ERROR_CODES.INVALID_ARGUMENT, expect.stringContaining('keyWrapAlgorithm')]);
  });
});

describe('the default key wrap (2.0.3\'s)', () => {
  it.each(FORMATS)('is RSA-OAEP for a key stamped RSA-OAEP, in a %s body the real 2.0.3 reads (legacy) or jose reads as RSA-OAEP', async (format) => {
    const body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', PAYLOAD, { format });
    expect(algOf(body)).toBe('RSA-OAEP');
    if (format === 'legacy') await expect((await original.createRequestDecryptor(vectors.privateJWKS)).decrypt(body)).resolves.toEqual(PAYLOAD);
    else await expect(nodeJoseOpens(vectors.privateJWKS.keys[0]!, body)).resolves.toEqual(PAYLOAD);
  });

  it("is the key's own alg for a key stamped RSA-OAEP-256, and RSA-OAEP for a key without alg", async () => {
    const stamped = makePrivateJwk('k256', 2048, 'RSA-OAEP-256');
    const bare = makePrivateJwk('kbare');
    const encryptor = await createRequestEncryptor({ keys: [publicOf(stamped), withoutAlg(publicOf(bare))] as never });
    expect(algOf(await encryptor.encrypt('k256', 1))).toBe('RSA-OAEP-256');
    expect(algOf(await encryptor.encrypt('kbare', 1))).toBe('RSA-OAEP');
    // The original reads the RSA-OAEP body for the key without alg, as ever.
    await expect((await original.createRequestDecryptor({ keys: [withoutAlg(bare)] } as never)).decrypt(await encryptor.encrypt('kbare', 'x'))).resolves.toBe('x');
  });

  it("keyWrapAlgorithm: 'RSA-OAEP' makes SHA-1 bodies even for a key stamped RSA-OAEP-256", async () => {
    const stamped = makePrivateJwk('k256', 2048, 'RSA-OAEP-256');
    const body = await (await createRequestEncryptor({ keys: [publicOf(stamped)] }, { keyWrapAlgorithm: 'RSA-OAEP' })).encrypt('k256', 5);
    expect(algOf(body)).toBe('RSA-OAEP');
    await expect((await createRequestDecryptor({ keys: [stamped] })).decrypt(body)).resolves.toBe(5);
  });
});

describe('the CLI: encrypt --key-wrap', () => {
  async function cli(args: string[], input: string): Promise<{ status: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const status = await main(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), readStdin: async () => input });
    return { status, stdout, stderr };
  }
  let publicFile: string;
  beforeAll(() => {
    publicFile = join(mkdtempSync(join(tmpdir(), 'rc-keywrap-')), 'public.json');
    writeFileSync(publicFile, JSON.stringify(vectors.publicJWKS));
  });

  it.each([
    [['--key-wrap', 'RSA-OAEP-256'], 'RSA-OAEP-256'],
    [['--key-wrap', 'RSA-OAEP-256', '--format', 'jwe'], 'RSA-OAEP-256'],
    [['--key-wrap', 'RSA-OAEP'], 'RSA-OAEP'],
    [[], 'RSA-OAEP'],
  ])('with %j wraps with %s', async (flags, alg) => {
    const run = await cli(['encrypt', '--jwks', publicFile, '--kid', 'kibana1', ...flags], JSON.stringify(PAYLOAD));
    expect([run.status, run.stderr]).toEqual([0, '']);
    const body = run.stdout.trim();
    expect(algOf(body)).toBe(alg);
    await expect((await createRequestDecryptor(vectors.privateJWKS)).decrypt(body)).resolves.toEqual(PAYLOAD);
  });

  it('refuses an unknown --key-wrap as a usage error', async () => {
    const run = await cli(['encrypt', '--jwks', publicFile, '--kid', 'kibana1', '--key-wrap', 'RSA1_5'], '1');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--key-wrap must be RSA-OAEP or RSA-OAEP-256');
  });
});
