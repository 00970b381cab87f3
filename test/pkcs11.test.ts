// request-crypto/pkcs11 against SoftHSM2, with RSA keys generated inside the token: the decryptor
// gets the public set read from the token and an unwrapKey; no private key is ever in the process.
//
// SoftHSM 2.6 (Debian 12's) decrypts CKM_RSA_PKCS_OAEP with SHA-1 and MGF1-SHA1 only: it answers
// CKR_ARGUMENTS_BAD for SHA-256. So RSA-OAEP is tested end to end, and for RSA-OAEP-256 what is
// tested is the mechanism asked for and that the token's refusal is a plain ERR_DECRYPTION_FAILED.
import { createPublicKey } from 'node:crypto';

import type * as Pkcs11js from 'pkcs11js';

import { createRequestDecryptor, createRequestEncryptor, ERROR_CODES, packBody, unpackBody, type Decryptor, type Encryptor } from '../src';
import { createPkcs11KeyUnwrapper, pkcs11PublicJWKS, type Pkcs11KeyUnwrapper } from '../src/pkcs11';
import type * as Pkcs11Entry from '../src/pkcs11';
import { makeKeySets, rejectionOf } from './helpers';
import { createSoftHsmToken, SOFTHSM_LIBRARY, type SoftHsmToken } from './softhsm';

/**
 * What the unwrappers ask of the token, seen through pkcs11js: each C_DecryptInit's mechanism, and
 * how many C_DecryptAsync run on each session at once. (pkcs11js copies its methods onto each
 * instance, so they are wrapped per instance, in a subclass.)
 */
const mockToken = {
  mechanisms: [] as unknown[],
  inFlight: new Map<string, number>(),
  mostInFlight: 0,
  overlapped: false,
  reset(): void {
    this.mechanisms.length = 0;
    this.inFlight.clear();
    this.mostInFlight = 0;
    this.overlapped = false;
  },
};
/** pkcs11js, its PKCS11 class recording into {@link mockToken}. */
function mockRecordingPkcs11(): typeof Pkcs11js {
  const actual = jest.requireActual<typeof Pkcs11js>('pkcs11js');
  class RecordingPKCS11 extends actual.PKCS11 {
    constructor(library?: string) {
      super(library);
      const decryptInit = this.C_DecryptInit.bind(this);
      const decryptAsync = this.C_DecryptAsync.bind(this);
      this.C_DecryptInit = (session, mechanism, key) => {
        mockToken.mechanisms.push(mechanism);
        return decryptInit(session, mechanism, key);
      };
      this.C_DecryptAsync = async (session, input, output) => {
        const id = session.toString('hex');
        const count = (mockToken.inFlight.get(id) ?? 0) + 1;
        mockToken.inFlight.set(id, count);
        mockToken.overlapped ||= count > 1;
        mockToken.mostInFlight = Math.max(mockToken.mostInFlight, [...mockToken.inFlight.values()].reduce((a, b) => a + b, 0));
        try {
          return await decryptAsync(session, input, output);
        } finally {
          mockToken.inFlight.set(id, mockToken.inFlight.get(id)! - 1);
        }
      };
    }
  }
  return { ...actual, PKCS11: RecordingPKCS11 };
}
jest.mock('pkcs11js', () => mockRecordingPkcs11());

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

// Needs no token. It comes first: once the
// recording mock of pkcs11js above is made, jest hands it out even inside isolateModules.
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
      jest.doMock('pkcs11js', () => mockRecordingPkcs11());
    }
  });
});

describe('request-crypto/pkcs11 on SoftHSM2', () => {
  let token: SoftHsmToken;
  let js: typeof Pkcs11js;
  let unwrapKey: Pkcs11KeyUnwrapper;
  let decryptor: Decryptor;
  let encryptor: Encryptor;

  const tokenOptions = () => ({ library: token.library, tokenLabel: token.tokenLabel, pin: token.pin, keyLabels: KEY_LABELS });

  beforeAll(async () => {
    token = createSoftHsmToken([
      { label: 'receiver-1' },
      { label: 'receiver-2', bits: 3072 },
      { label: 'no-decrypt', decrypt: false },
      { label: 'private-only', dropPublic: true },
      { label: 'twin' },
      { label: 'twin' },
    ], 'request-crypto-test');
    js = jest.requireActual<typeof Pkcs11js>('pkcs11js');
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
        expect(mockToken.overlapped).toBe(false);
        expect(mockToken.inFlight.size).toBe(4);
        expect(mockToken.mostInFlight).toBe(4);
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
          // Another part of the application closes every session with the token: the login goes too.
          const other = new js.PKCS11();
          other.load(SOFTHSM_LIBRARY);
          const slot = other.C_GetSlotList(true).find((s) => other.C_GetTokenInfo(s).label.trim() === token.tokenLabel)!;
          other.C_CloseAllSessions(slot);
          other.close();
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
  });
});
