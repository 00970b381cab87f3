// request-crypto/pkcs11 against SoftHSM2, with RSA keys generated inside the token: the decryptor
// gets the public set read from the token and an unwrapKey; no private key is ever in the process.
//
// SoftHSM 2.6 (Debian 12's) decrypts CKM_RSA_PKCS_OAEP with SHA-1 and MGF1-SHA1 only: it answers
// CKR_ARGUMENTS_BAD for SHA-256. So RSA-OAEP is tested end to end, and for RSA-OAEP-256 what is
// tested is the mechanism asked for and that the token's refusal is a plain ERR_DECRYPTION_FAILED.
import { execFileSync } from 'node:child_process';
import { createPublicKey, pbkdf2 as nodePbkdf2 } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';


import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES, packBody, unpackBody, type Decryptor, type Encryptor } from '../src';
import { createPkcs11KeyUnwrapper, pkcs11PublicJWKS, type Pkcs11KeyUnwrapper } from '../src/pkcs11';
import type * as Pkcs11Entry from '../src/pkcs11';
import { makeKeySets, rejectionOf } from './helpers';
import { createSoftHsmToken, SOFTHSM_LIBRARY, type SoftHsmToken } from './softhsm';

/**
 * What the token processes ask of the token, seen through test/pkcs11-shim.js (the pkcs11Module
 * every unwrapper here is given): each C_DecryptInit's mechanism, and how many C_DecryptAsync run
 * on each session at once, read from the log the shim writes.
 */
const SHIM = join(__dirname, 'pkcs11-shim.js');
const shimDir = mkdtempSync(join(tmpdir(), 'request-crypto-pkcs11-shim-'));
process.env['PKCS11_SHIM_LOG'] = join(shimDir, 'log');
process.env['PKCS11_SHIM_CONTROL'] = join(shimDir, 'control.json');
/** Sets what the shim does from the next call on (see test/pkcs11-shim.js). */
const shimControl = (control: Record<string, unknown>): void => writeFileSync(process.env['PKCS11_SHIM_CONTROL']!, JSON.stringify(control));
const shimEntries = (): Array<{ op: string; session: string; mechanism?: unknown; pid: number }> =>
  readFileSync(process.env['PKCS11_SHIM_LOG']!, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
const mockToken = {
  get mechanisms(): unknown[] {
    return shimEntries().filter((entry) => entry.op === 'init').map((entry) => entry.mechanism);
  },
  /** The most calls in flight at once on one session, on all sessions, and the sessions used. */
  concurrency(): { perSession: number; total: number; sessions: number } {
    const now = new Map<string, number>();
    let perSession = 0;
    let total = 0;
    for (const { op, session, pid } of shimEntries()) {
      if (op === 'init') continue;
      const id = `${pid}:${session}`;
      now.set(id, (now.get(id) ?? 0) + (op === 'start' ? 1 : -1));
      perSession = Math.max(perSession, now.get(id)!);
      total = Math.max(total, [...now.values()].reduce((x, y) => x + y, 0));
    }
    return { perSession, total, sessions: now.size };
  },
  reset(): void {
    writeFileSync(process.env['PKCS11_SHIM_LOG']!, '');
    shimControl({});
  },
};
mockToken.reset();
afterAll(() => rmSync(shimDir, { recursive: true, force: true }));

const FORMATS = ['legacy', 'jwe'] as const;
const KEY_LABELS = { kibana1: 'receiver-1', kibana2: 'receiver-2' };

/** The same body with one bit of its RSA-OAEP wrapped key flipped. */
function withForgedWrappedKey(body: string, format: 'legacy' | 'jwe'): string {
  const flip = (compact: string): string => {
    const segments = compact.split('.');
    const wrapped = Buffer.from(segments[1]!, 'base64url');
    wrapped[10] = wrapped[10]! ^ 0x01;
    segments[1] = wrapped.toString('base64url');
    return segments.join('.');
  };
  if (format === 'jwe') return flip(body);
  const { encryptedAESKey, encryptedPayload } = unpackBody(body);
  return packBody(flip(encryptedAESKey), encryptedPayload);
}

// Needs no token.
describe('without pkcs11js installed', () => {
  it('throws ERR_INVALID_ARGUMENT saying to install it', () => {
    jest.doMock('pkcs11js', () => {
      throw Object.assign(new Error("Cannot find module 'pkcs11js'"), { code: 'MODULE_NOT_FOUND' });
    });
    try {
      jest.isolateModules(() => {
        const entry = jest.requireActual<typeof Pkcs11Entry>('../src/pkcs11');
        expect(() => entry.createPkcs11KeyUnwrapper({ library: SOFTHSM_LIBRARY, tokenLabel: 'any', pin: 'any', keyLabels: KEY_LABELS })).toThrow(
          expect.objectContaining({ code: ERROR_CODES.INVALID_ARGUMENT, message: expect.stringContaining('npm install pkcs11js') }),
        );
      });
    } finally {
      jest.dontMock('pkcs11js');
    }
  });
});

/** The pkcs11js constants these tests name (pkcs11js is installed for this tier only). */
type OaepConstants = Record<'CKM_RSA_PKCS_OAEP' | 'CK_PARAMS_RSA_OAEP' | 'CKM_SHA_1' | 'CKM_SHA256' | 'CKG_MGF1_SHA1' | 'CKG_MGF1_SHA256', number>;

describe('request-crypto/pkcs11 on SoftHSM2', () => {
  let token: SoftHsmToken;
  let js: OaepConstants;
  let unwrapKey: Pkcs11KeyUnwrapper;
  let decryptor: Decryptor;
  let encryptor: Encryptor;

  const tokenOptions = () => ({ library: token.library, tokenLabel: token.tokenLabel, pin: token.pin, keyLabels: KEY_LABELS, pkcs11Module: SHIM });

  beforeAll(async () => {
    token = createSoftHsmToken([
      { label: 'receiver-1' },
      { label: 'receiver-2', bits: 3072 },
      { label: 'no-decrypt', decrypt: false },
      { label: 'private-only', dropPublic: true },
      { label: 'twin' },
      { label: 'twin' },
    ], 'request-crypto-test');
    js = jest.requireActual<OaepConstants>('pkcs11js');
  }, 60_000);

  afterAll(() => token?.remove());

  beforeEach(() => mockToken.reset());

  // First, while nothing in this process is logged in to the token: PKCS#11 logs in the
  // application, not a session, so while one session is logged in the token checks no PIN.
  describe('logging in', () => {
    it('pkcs11PublicJWKS refuses a wrong PIN with ERR_INVALID_ARGUMENT naming the CKR, not the PIN', async () => {
      const err = await rejectionOf(pkcs11PublicJWKS({ ...tokenOptions(), pin: '000000' }));
      expect([err.code, err.message]).toEqual([ERROR_CODES.INVALID_ARGUMENT, 'PKCS#11: logging in to token "request-crypto-test" failed (CKR_PIN_INCORRECT)']);
    });

    it('createPkcs11KeyUnwrapper refuses a wrong PIN at creation with ERR_INVALID_ARGUMENT naming the CKR, not the PIN', () => {
      expect(() => createPkcs11KeyUnwrapper({ ...tokenOptions(), pin: '000000' })).toThrow(
        expect.objectContaining({ code: ERROR_CODES.INVALID_ARGUMENT, message: 'PKCS#11: logging in to token "request-crypto-test" failed (CKR_PIN_INCORRECT)' }),
      );
    });
  });

  describe('with a receiver whose keys are in the token', () => {
    beforeAll(async () => {
      unwrapKey = createPkcs11KeyUnwrapper(tokenOptions());
      const publicJWKS = await pkcs11PublicJWKS(tokenOptions());
      decryptor = await createRequestDecryptor(publicJWKS, { unwrapKey });
      encryptor = await createRequestEncryptor(publicJWKS);
    });

    afterAll(() => unwrapKey?.close());

    describe('pkcs11PublicJWKS', () => {
      it("reads each key's CKA_MODULUS and CKA_PUBLIC_EXPONENT as a JWK with the kid, use enc and alg RSA-OAEP by default", async () => {
        const set = await pkcs11PublicJWKS(tokenOptions());
        expect(set.keys.map((key) => Object.keys(key))).toEqual([
          ['kty', 'kid', 'use', 'alg', 'e', 'n'],
          ['kty', 'kid', 'use', 'alg', 'e', 'n'],
        ]);
        expect(set.keys.map(({ kty, kid, use, alg, e }) => ({ kty, kid, use, alg, e }))).toEqual([
          { kty: 'RSA', kid: 'kibana1', use: 'enc', alg: 'RSA-OAEP', e: 'AQAB' },
          { kty: 'RSA', kid: 'kibana2', use: 'enc', alg: 'RSA-OAEP', e: 'AQAB' },
        ]);
        const bits = set.keys.map((key) => createPublicKey({ key: { kty: 'RSA', n: key.n, e: key.e }, format: 'jwk' }).asymmetricKeyDetails?.modulusLength);
        expect(bits).toEqual([2048, 3072]);
      });

      it('declares the alg it is given on every key', async () => {
        const set = await pkcs11PublicJWKS({ ...tokenOptions(), alg: 'RSA-OAEP-256' });
        expect(set.keys.map((key) => key.alg)).toEqual(['RSA-OAEP-256', 'RSA-OAEP-256']);
      });

      it('reads the modulus from the private key object when the token keeps no public key object', async () => {
        const set = await pkcs11PublicJWKS({ ...tokenOptions(), keyLabels: { k: 'private-only' } });
        const unwrap = createPkcs11KeyUnwrapper({ ...tokenOptions(), keyLabels: { k: 'private-only' } });
        try {
          const body = await (await createRequestEncryptor(set)).encrypt('k', { from: 'private-only' });
          await expect((await createRequestDecryptor(set, { unwrapKey: unwrap })).decrypt(body)).resolves.toEqual({ from: 'private-only' });
        } finally {
          await unwrap.close();
        }
      });

      it('reads public key objects without a PIN', async () => {
        const withoutPin = { library: token.library, tokenLabel: token.tokenLabel, keyLabels: KEY_LABELS };
        expect(await pkcs11PublicJWKS(withoutPin)).toEqual(await pkcs11PublicJWKS(tokenOptions()));
      });

      it.each([
        ['an unknown token label', { tokenLabel: 'no-such-token' }, /no token labelled "no-such-token"/],
        ['an unknown key label', { keyLabels: { k: 'no-such-key' } }, /no RSA key labelled "no-such-key" \(kid "k"\)/],
        ['a label two keys share', { keyLabels: { k: 'twin' } }, /more than one RSA key labelled "twin"/],
        ['a library that is not there', { library: '/nonexistent/libpkcs11.so' }, /no library at \/nonexistent\/libpkcs11.so/],
        ['an unknown alg', { alg: 'RSA1_5' }, /alg must be/],
        ['no keyLabels', { keyLabels: {} }, /keyLabels names no key/],
      ])('refuses %s with ERR_INVALID_ARGUMENT', async (_name, change, message) => {
        const err = await rejectionOf(pkcs11PublicJWKS({ ...tokenOptions(), ...change } as never));
        expect([err.code, err.message]).toEqual([ERROR_CODES.INVALID_ARGUMENT, expect.stringMatching(message)]);
        expect(err.message).not.toContain(token.pin);
      });
    });

    describe('createPkcs11KeyUnwrapper', () => {
      describe.each([
        ['kibana1', 2048],
        ['kibana2', 3072],
      ] as const)('with the %s key (%i bits) in the token', (kid, bits) => {
        it.each(FORMATS)('decrypts a %s body end to end: public set from the token, wrapped key decrypted by it', async (format) => {
          const body = await encryptor.encrypt(kid, { kid, format }, { format });
          await expect(decryptor.decrypt(body)).resolves.toEqual({ kid, format });
          expect(mockToken.mechanisms).toHaveLength(1);
          expect((await decryptor.getJWKMetadata(body)).key.length).toBe(bits);
        });
      });

      it('asks the token for CKM_RSA_PKCS_OAEP with SHA-1 and MGF1-SHA1, the empty label, for an RSA-OAEP body', async () => {
        await decryptor.decrypt(await encryptor.encrypt('kibana1', 1, { format: 'jwe' }));
        expect(mockToken.mechanisms).toEqual([{
          mechanism: js.CKM_RSA_PKCS_OAEP,
          parameter: { type: js.CK_PARAMS_RSA_OAEP, hashAlg: js.CKM_SHA_1, mgf: js.CKG_MGF1_SHA1, source: 1 },
        }]);
      });

      it.each(FORMATS)(
        'asks for SHA-256 and MGF1-SHA256 for an RSA-OAEP-256 %s body, and turns SoftHSM 2.6 refusing them into ERR_DECRYPTION_FAILED',
        async (format) => {
          const set256 = await pkcs11PublicJWKS({ ...tokenOptions(), alg: 'RSA-OAEP-256' });
          const decryptor256 = await createRequestDecryptor(set256, { unwrapKey });
          const body = await (await createRequestEncryptor(set256)).encrypt('kibana1', 1, { format });
          expect((await rejectionOf(decryptor256.decrypt(body))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
          expect(mockToken.mechanisms).toEqual([
            { mechanism: js.CKM_RSA_PKCS_OAEP, parameter: { type: js.CK_PARAMS_RSA_OAEP, hashAlg: js.CKM_SHA256, mgf: js.CKG_MGF1_SHA256, source: 1 } },
          ]);
        },
      );

      it.each(FORMATS)(
        'asks for SHA-256 and MGF1-SHA256 for an RSA-OAEP-256 %s body to a key published as RSA-OAEP (the opt-in sender), then SHA-1 for the next RSA-OAEP body',
        async (format) => {
          const publicJWKS = await pkcs11PublicJWKS(tokenOptions());
          const body256 = await (await createRequestEncryptor(publicJWKS, { keyWrapAlgorithm: 'RSA-OAEP-256' })).encrypt('kibana1', 1, { format });
          // SoftHSM 2.6 refuses OAEP with SHA-256 (see the top of this file): the mechanism asked is what is tested.
          expect((await rejectionOf(decryptor.decrypt(body256))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
          await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', 2, { format }))).resolves.toBe(2);
          expect(mockToken.mechanisms).toEqual([
            { mechanism: js.CKM_RSA_PKCS_OAEP, parameter: { type: js.CK_PARAMS_RSA_OAEP, hashAlg: js.CKM_SHA256, mgf: js.CKG_MGF1_SHA256, source: 1 } },
            { mechanism: js.CKM_RSA_PKCS_OAEP, parameter: { type: js.CK_PARAMS_RSA_OAEP, hashAlg: js.CKM_SHA_1, mgf: js.CKG_MGF1_SHA1, source: 1 } },
          ]);
        },
      );

      it('decrypts 32 bodies in flight, each to its own payload, in order', async () => {
        const bodies = await Promise.all(
          Array.from({ length: 32 }, (_, i) => encryptor.encrypt(i % 2 ? 'kibana1' : 'kibana2', { i }, { format: i % 3 ? 'jwe' : 'legacy' })),
        );
        await expect(Promise.all(bodies.map((body) => decryptor.decrypt(body)))).resolves.toEqual(bodies.map((_, i) => ({ i })));
        expect(mockToken.mechanisms).toHaveLength(32);
      });

      it('runs one operation at a time on each session, and all four sessions at once under load', async () => {
        const bodies = await Promise.all(Array.from({ length: 32 }, (_, i) => encryptor.encrypt('kibana1', { i }, { format: 'jwe' })));
        const wrappedKeys = bodies.map((body) => Buffer.from(body.split('.')[1]!, 'base64url'));
        const keys = await Promise.all(wrappedKeys.map((encryptedKey) => unwrapKey({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey })));
        expect(keys.map((key) => key.length)).toEqual(wrappedKeys.map(() => 32));
        expect(mockToken.concurrency()).toEqual({ perSession: 1, total: 4, sessions: 4 });
      });

      it.each(FORMATS)('turns a forged wrapped key in a %s body, which the token refuses, into ERR_DECRYPTION_FAILED', async (format) => {
        const body = withForgedWrappedKey(await encryptor.encrypt('kibana1', 1, { format }), format);
        expect((await rejectionOf(decryptor.decrypt(body))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
        expect(mockToken.mechanisms).toHaveLength(1);
        // The session is usable afterwards.
        await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', 2, { format }))).resolves.toBe(2);
      });

      it("hands each failed unwrap to onError with the kid, alg and key label, for the receiver's log", async () => {
        const onError = jest.fn();
        const unwrap = createPkcs11KeyUnwrapper({ ...tokenOptions(), onError, sessions: 1 });
        try {
          const forged = withForgedWrappedKey(await encryptor.encrypt('kibana2', 1), 'legacy');
          const receiver = await createRequestDecryptor(await pkcs11PublicJWKS(tokenOptions()), { unwrapKey: unwrap });
          const err = await rejectionOf(receiver.decrypt(forged));
          expect(err.code).toBe(ERROR_CODES.DECRYPTION_FAILED);
          expect(onError).toHaveBeenCalledTimes(1);
          expect(String(onError.mock.calls[0]![0])).toMatch(/CKR_/);
          expect(onError.mock.calls[0]![1]).toEqual({ kid: 'kibana2', alg: 'RSA-OAEP', keyLabel: 'receiver-2' });
        } finally {
          await unwrap.close();
        }
      });

      it('never asks the token about a malformed body, a body over a limit, an unknown kid or a kid keyLabels does not map', async () => {
        const publicJWKS = await pkcs11PublicJWKS(tokenOptions());
        const onlyKibana1 = createPkcs11KeyUnwrapper({ ...tokenOptions(), keyLabels: { kibana1: 'receiver-1' }, sessions: 1 });
        try {
          const small = await createRequestDecryptor(publicJWKS, { unwrapKey: onlyKibana1, maxPayloadBytes: 100 });
          const stranger = await createRequestEncryptor(makeKeySets(['stranger']).publicJWKS);
          mockToken.reset();
          const cases: Array<[string, string]> = [
            ['junk', ERROR_CODES.BODY_MALFORMED],
            [(await encryptor.encrypt('kibana1', 1)).slice(0, -7), ERROR_CODES.BODY_MALFORMED],
            [await encryptor.encrypt('kibana1', 'x'.repeat(500), { format: 'jwe' }), ERROR_CODES.BODY_TOO_LARGE],
            [await stranger.encrypt('stranger', 1), ERROR_CODES.NO_KEY_FOUND],
            [await encryptor.encrypt('kibana2', 1), ERROR_CODES.DECRYPTION_FAILED],
          ];
          for (const [body, code] of cases) expect((await rejectionOf(small.decrypt(body))).code).toBe(code);
          expect(mockToken.mechanisms).toEqual([]);
        } finally {
          await onlyKibana1.close();
        }
      });

      it('refuses a wrapped key that is not as long as the modulus without asking the token', async () => {
        await expect(unwrapKey({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: new Uint8Array(255) })).rejects.toThrow(/as long as the modulus/);
        expect(mockToken.mechanisms).toEqual([]);
      });

      it.each(['constructor', '__proto__'])('finds no key for kid %s, which every object inherits', async (kid) => {
        await expect(unwrapKey({ kid, alg: 'RSA-OAEP', encryptedKey: new Uint8Array(256) })).rejects.toThrow(/no PKCS#11 key/);
        expect(mockToken.mechanisms).toEqual([]);
      });

      it('opens a new session, logs in again and goes on when the token drops every session (a restarted HSM)', async () => {
        const unwrap = createPkcs11KeyUnwrapper({ ...tokenOptions(), sessions: 2 });
        try {
          const receiver = await createRequestDecryptor(await pkcs11PublicJWKS(tokenOptions()), { unwrapKey: unwrap });
          await expect(receiver.decrypt(await encryptor.encrypt('kibana1', 'before'))).resolves.toBe('before');
          // The token drops every session of each token process (C_CloseAllSessions): the login goes too.
          shimControl({ dropSessions: 'restart-1' });
          const after = await Promise.all([1, 2, 3].map(async (i) => receiver.decrypt(await encryptor.encrypt('kibana2', i, { format: 'jwe' }))));
          expect(after).toEqual([1, 2, 3]);
          // The shared unwrapper lost its sessions too, and recovers the same way.
          await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', 'shared'))).resolves.toBe('shared');
        } finally {
          await unwrap.close();
        }
      });

      it.each([
        ['an unknown token label', { tokenLabel: 'no-such-token' }, /no token labelled/],
        ['an unknown key label', { keyLabels: { k: 'no-such-key' } }, /no RSA private key labelled "no-such-key" \(kid "k"\)/],
        ['a key that cannot decrypt', { keyLabels: { k: 'no-decrypt' } }, /cannot decrypt \(CKA_DECRYPT is false\)/],
        ['a label two keys share', { keyLabels: { k: 'twin' } }, /more than one RSA private key labelled "twin"/],
        ['a library that is not there', { library: '/nonexistent/libpkcs11.so' }, /no library at/],
        ['a file that is not a PKCS#11 library', { library: '/etc/hostname' }, /loading the library \/etc\/hostname failed/],
        ['no PIN', { pin: undefined }, /pin must be/],
        ['zero sessions', { sessions: 0 }, /sessions must be/],
        ['an onError that is not a function', { onError: 'log' }, /onError must be/],
      ])('refuses %s at creation with ERR_INVALID_ARGUMENT, never naming the PIN', (_name, change, message) => {
        let thrown: (Error & { code?: string }) | undefined;
        try {
          createPkcs11KeyUnwrapper({ ...tokenOptions(), ...change } as never);
        } catch (err) {
          thrown = err as Error & { code?: string };
        }
        expect([thrown?.code, thrown?.message]).toEqual([ERROR_CODES.INVALID_ARGUMENT, expect.stringMatching(message)]);
        expect(`${thrown?.message} ${thrown?.stack}`).not.toContain(token.pin);
      });

      it('keeps working after failed creations and after another unwrapper of the same library closes', async () => {
        const second = createPkcs11KeyUnwrapper(tokenOptions());
        await second.close();
        await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', 'still'))).resolves.toBe('still');
      });

      it('close() lets the unwraps in flight finish, then refuses new ones', async () => {
        const unwrap = createPkcs11KeyUnwrapper({ ...tokenOptions(), sessions: 1 });
        const wrapped = Buffer.from((await encryptor.encrypt('kibana1', 1, { format: 'jwe' })).split('.')[1]!, 'base64url');
        const inFlight = [1, 2, 3].map(() => unwrap({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: wrapped }));
        const closed = unwrap.close();
        expect((await Promise.all(inFlight)).map((key) => key.length)).toEqual([32, 32, 32]);
        await closed;
        await expect(unwrap({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: wrapped })).rejects.toThrow(/closed/);
        await expect(unwrap.close()).resolves.toBeUndefined();
      });
    });

    describe('a slow, stalled or failing token', () => {
      /** Resolves after `ms`, and the longest any timer of 10 ms was late meanwhile: how long the event loop was held. */
      async function loopLagDuring(ms: number): Promise<number> {
        let worst = 0;
        const until = Date.now() + ms;
        while (Date.now() < until) {
          const asked = performance.now();
          await new Promise((resolve) => setTimeout(resolve, 10));
          worst = Math.max(worst, performance.now() - asked - 10);
        }
        return worst;
      }
      const wrappedKeyOf = async (kid: 'kibana1' | 'kibana2' = 'kibana1'): Promise<Buffer> =>
        Buffer.from((await encryptor.encrypt(kid, 1, { format: 'jwe' })).split('.')[1]!, 'base64url');
      const outcome = (promise: Promise<unknown>): Promise<unknown> =>
        promise.then(
          (key) => (key as Uint8Array).length,
          (err: { code?: unknown }) => err.code,
        );

      it('answers the bodies of a stalled token with ERR_KEY_SERVICE_UNAVAILABLE by timeoutMs, and the next ones once it answers again', async () => {
        const onError = jest.fn();
        const unwrap = createPkcs11KeyUnwrapper({ ...tokenOptions(), timeoutMs: 600, onError });
        try {
          const receiver = await createRequestDecryptor(await pkcs11PublicJWKS(tokenOptions()), { unwrapKey: unwrap });
          shimControl({ decryptDelayMs: 60_000 });
          const started = Date.now();
          const bodies = await Promise.all(Array.from({ length: 6 }, (_, i) => encryptor.encrypt('kibana1', i, { format: i % 2 ? 'jwe' : 'legacy' })));
          const codes = await Promise.all(bodies.map((body) => outcome(receiver.decrypt(body))));
          expect(codes).toEqual(bodies.map(() => ERROR_CODES.KEY_SERVICE_UNAVAILABLE));
          expect(Date.now() - started).toBeLessThan(3000);
          expect(onError.mock.calls[0]![0]).toMatchObject({ name: 'TimeoutError' });
        } finally {
          shimControl({});
          await unwrap.close();
        }
      });

      it('holds no thread of this process while the token blocks its own: the event loop, fs, dns and pbkdf2 go on', async () => {
        const unwrap = createPkcs11KeyUnwrapper({ ...tokenOptions(), timeoutMs: 1500 });
        const inProcess = await createRequestDecryptor(makeKeySets(['local']).privateJWKS);
        const localBody = await (await createRequestEncryptor(inProcess.getWellKnowns())).encrypt('local', 'legacy body');
        try {
          await unwrap({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: await wrappedKeyOf() }); // the token process is up
          shimControl({ blockMs: 3000 });
          const wrapped = await wrappedKeyOf();
          const bodies = Array.from({ length: 8 }, () => outcome(unwrap({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: wrapped })));
          const timed = async (work: () => Promise<unknown>): Promise<number> => {
            const asked = Date.now();
            await work();
            return Date.now() - asked;
          };
          const [lag, file, lookup, pbkdf2, legacy] = await Promise.all([
            loopLagDuring(1000),
            timed(() => readFile(__filename)),
            timed(() => dnsLookup('localhost')),
            timed(() => new Promise((resolve, reject) => nodePbkdf2('p', 's', 1000, 32, 'sha512', (err, key) => (err ? reject(err) : resolve(key))))),
            timed(() => inProcess.decrypt(localBody)),
          ]);
          expect({ lagUnder200: lag < 200, fileUnder500: file < 500, dnsUnder500: lookup < 500, pbkdf2Under500: pbkdf2 < 500, legacyUnder1000: legacy < 1000 }).toEqual({
            lagUnder200: true,
            fileUnder500: true,
            dnsUnder500: true,
            pbkdf2Under500: true,
            legacyUnder1000: true,
          });
          expect(await Promise.all(bodies)).toEqual(bodies.map(() => ERROR_CODES.KEY_SERVICE_UNAVAILABLE));
        } finally {
          shimControl({});
          await unwrap.close();
        }
      }, 30_000);

      it('reopens and logs in again off the event loop when the token drops its sessions and each call blocks', async () => {
        const unwrap = createPkcs11KeyUnwrapper({ ...tokenOptions(), sessions: 2, timeoutMs: 20_000 });
        try {
          await unwrap({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: await wrappedKeyOf() });
          shimControl({ dropSessions: 'slow-restart', blockMs: 800 });
          const wrapped = await Promise.all([wrappedKeyOf(), wrappedKeyOf('kibana2'), wrappedKeyOf(), wrappedKeyOf('kibana2')]);
          const keys = Promise.all(wrapped.map((encryptedKey, i) => outcome(unwrap({ kid: i % 2 ? 'kibana2' : 'kibana1', alg: 'RSA-OAEP', encryptedKey }))));
          expect(await loopLagDuring(1500)).toBeLessThan(200);
          expect(await keys).toEqual([32, 32, 32, 32]);
        } finally {
          shimControl({});
          await unwrap.close();
        }
      }, 30_000);

      it('close() settles within timeoutMs while the token blocks its thread, and ends the token process', async () => {
        const unwrap = createPkcs11KeyUnwrapper({ ...tokenOptions(), timeoutMs: 700 });
        await unwrap({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: await wrappedKeyOf() });
        shimControl({ blockMs: 60_000 });
        const body = outcome(unwrap({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: await wrappedKeyOf() }));
        const started = Date.now();
        await unwrap.close();
        expect(await body).toBe(ERROR_CODES.KEY_SERVICE_UNAVAILABLE);
        // The body's deadline, then at most timeoutMs for the process to end before it is killed.
        expect(Date.now() - started).toBeLessThan(3 * 700 + 500);
        shimControl({});
        const pids = new Set(shimEntries().map((entry) => entry.pid));
        for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
      }, 30_000);

      it('lets the process exit at once while the token blocks its thread, with a body pending and without close()', () => {
        // The token blocks from the first C_DecryptInit on, once the unwrapper is created (its checks also log in).
        const script = `const { createPkcs11KeyUnwrapper } = require(${JSON.stringify(join(__dirname, '..', 'lib', 'pkcs11.js'))});
const unwrap = createPkcs11KeyUnwrapper(${JSON.stringify({ ...tokenOptions(), timeoutMs: 800 })});
require('node:fs').writeFileSync(process.env.PKCS11_SHIM_CONTROL, JSON.stringify({ blockMs: 60000 }));
unwrap({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: Buffer.alloc(256, 1) }).catch((err) => console.log(err.code));`;
        const started = Date.now();
        try {
          const out = execFileSync(process.execPath, ['-e', script], { env: process.env, encoding: 'utf8', timeout: 20_000 });
          expect(out.trim()).toBe(ERROR_CODES.KEY_SERVICE_UNAVAILABLE);
          expect(Date.now() - started).toBeLessThan(5000);
        } finally {
          shimControl({});
        }
      }, 30_000);

      it.each([
        ['CKR_DEVICE_ERROR', ERROR_CODES.KEY_SERVICE_UNAVAILABLE, 2],
        ['CKR_SESSION_HANDLE_INVALID', ERROR_CODES.KEY_SERVICE_UNAVAILABLE, 2],
        ['CKR_TOKEN_NOT_PRESENT', ERROR_CODES.KEY_SERVICE_UNAVAILABLE, 2],
        ['CKR_ENCRYPTED_DATA_INVALID', ERROR_CODES.DECRYPTION_FAILED, 1],
        ['CKR_ENCRYPTED_DATA_LEN_RANGE', ERROR_CODES.DECRYPTION_FAILED, 1],
        ['CKR_MECHANISM_PARAM_INVALID', ERROR_CODES.DECRYPTION_FAILED, 1],
      ] as const)('answers a token failing with %s as %s, after %i tries', async (ckr, code, tries) => {
        const onError = jest.fn();
        const unwrap = createPkcs11KeyUnwrapper({ ...tokenOptions(), sessions: 1, onError });
        try {
          const receiver = await createRequestDecryptor(await pkcs11PublicJWKS(tokenOptions()), { unwrapKey: unwrap });
          const body = await encryptor.encrypt('kibana1', 1, { format: 'jwe' });
          mockToken.reset();
          shimControl({ failWith: ckr });
          expect((await rejectionOf(receiver.decrypt(body))).code).toBe(code);
          expect(mockToken.mechanisms).toHaveLength(tries);
          expect(String(onError.mock.calls[0]![0])).toContain(ckr);
          shimControl({});
          await expect(receiver.decrypt(body)).resolves.toBe(1);
        } finally {
          shimControl({});
          await unwrap.close();
        }
      });

      it('answers the bodies in flight when the token process dies with ERR_KEY_SERVICE_UNAVAILABLE, and starts a new one for the next', async () => {
        const unwrap = createPkcs11KeyUnwrapper({ ...tokenOptions(), timeoutMs: 10_000 });
        try {
          await unwrap({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: await wrappedKeyOf() });
          shimControl({ decryptDelayMs: 60_000 });
          const wrapped = await wrappedKeyOf();
          const stuck = outcome(unwrap({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: wrapped }));
          await new Promise((resolve) => setTimeout(resolve, 200));
          const [pid] = [...new Set(shimEntries().filter((entry) => entry.op === 'start').map((entry) => entry.pid))].slice(-1);
          process.kill(pid!, 'SIGKILL');
          expect(await stuck).toBe(ERROR_CODES.KEY_SERVICE_UNAVAILABLE);
          shimControl({});
          expect(await outcome(unwrap({ kid: 'kibana1', alg: 'RSA-OAEP', encryptedKey: wrapped }))).toBe(32);
        } finally {
          shimControl({});
          await unwrap.close();
        }
      });

      it.each([0, 1.5, '100'])('refuses a timeoutMs of %p with ERR_INVALID_ARGUMENT', (timeoutMs) => {
        expect(() => createPkcs11KeyUnwrapper({ ...tokenOptions(), timeoutMs: timeoutMs as never })).toThrow(expect.objectContaining({ code: ERROR_CODES.INVALID_ARGUMENT }));
      });
    });
  });
});
