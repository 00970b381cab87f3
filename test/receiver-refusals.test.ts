// Refusals that each guard one line of the receiver, each held by tests that fail if that line
// goes: fresh fallback keys, the last-resort error mapping, unwrapKey results, legacy envelope
// and encryptedPayload strictness, the legacy size check before any key is used.
import { constants, createPrivateKey, privateDecrypt, randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';

import {
  BodyMalformedError,
  createRequestDecryptor,
  createRequestEncryptor,
  DecryptionFailedError,
  ERROR_CODES,
  InvalidArgumentError,
  NoKeyFoundError,
  packBody,
  unpackBody,
  type Encryptor,
  type UnwrapKey,
} from '../src';
import { sealContent } from '../src/jose/content-cipher';
import { serializeCompactJwe } from '../src/jose/compact';
import { unwrapCek } from '../src/jose/rsa-oaep';
import { makePayloadKey, sealPayloadWith } from '../src/formats/legacy/payload-cipher';
import { rejectionOf, vectors } from './helpers';

const FORMATS = ['legacy', 'jwe'] as const;
const ZERO_KEY = Buffer.alloc(32);

let encryptor: Encryptor;
beforeAll(async () => {
  encryptor = await createRequestEncryptor(vectors.publicJWKS);
});

/** A compact JWE sealed under `cek` whose wrapped key is random bytes: no private key unwraps it to `cek`. */
function sealedUnder(cek: Buffer, header: Record<string, unknown>, enc: 'A256GCM' | 'A128CBC-HS256', content: Buffer): string {
  const protectedText = Buffer.from(JSON.stringify(header), 'utf8').toString('base64url');
  const sealed = sealContent(enc, cek, Buffer.from(protectedText, 'ascii'), content);
  return serializeCompactJwe(protectedText, randomBytes(256), sealed.iv, sealed.ciphertext, sealed.tag);
}

/** A 'jwe' body sealed under an all-zero content key, with a wrapped key that does not unwrap. */
const zeroKeyJweBody = (): string =>
  sealedUnder(ZERO_KEY, { alg: 'RSA-OAEP', enc: 'A256GCM', kid: 'kibana1', cty: 'json' }, 'A256GCM', Buffer.from('{"accepted":true}'));

/** A legacy body whose key envelope is sealed under an all-zero content key, with a wrapped key that does not unwrap. */
async function zeroKeyLegacyBody(): Promise<string> {
  const passphrase = randomBytes(32);
  const envelope = sealedUnder(ZERO_KEY, { zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA-OAEP', kid: 'kibana1' }, 'A128CBC-HS256', deflateRawSync(passphrase));
  return packBody(envelope, sealPayloadWith(await makePayloadKey(passphrase), '{"accepted":true}'));
}

describe('the random fallback key of a wrapped key that does not unwrap', () => {
  it('is fresh for every body: distinct bytes in distinct memory across calls', async () => {
    const failing: UnwrapKey = async () => {
      throw new Error('no');
    };
    const first = await unwrapCek(failing, 'kibana1', 'RSA-OAEP', Buffer.alloc(256), 32);
    const copy = Buffer.from(first);
    const second = await unwrapCek(failing, 'kibana1', 'RSA-OAEP', Buffer.alloc(256), 32);
    expect(second.equals(copy)).toBe(false);
    first.fill(0);
    expect(second.equals(ZERO_KEY)).toBe(false);
  });

  it.each(['threads', 'event-loop'] as const)("never lets a 'jwe' body sealed under an all-zero content key through, after forged bodies (unwrapOn %s)", async (unwrapOn) => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS, { unwrapOn });
    for (let i = 0; i < 5; i += 1) {
      expect((await rejectionOf(decryptor.decrypt(zeroKeyJweBody()))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    }
  });

  it('never lets a legacy body whose key envelope is sealed under an all-zero content key through, after forged bodies', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    for (let i = 0; i < 5; i += 1) {
      expect((await rejectionOf(decryptor.decrypt(await zeroKeyLegacyBody()))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    }
  });

  it('never lets such a body through an unwrapKey that refuses it', async () => {
    const decryptor = await createRequestDecryptor(vectors.publicJWKS, {
      unwrapKey: async () => {
        throw new Error('refused');
      },
    });
    for (let i = 0; i < 5; i += 1) {
      expect((await rejectionOf(decryptor.decrypt(i % 2 ? zeroKeyJweBody() : await zeroKeyLegacyBody()))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    }
  });
});

describe('an error that is not the package\'s own', () => {
  it('leaves decrypt and getJWKMetadata as ERR_DECRYPTION_FAILED, never as the raw TypeError: a body whose getter throws', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const body = Buffer.from(await encryptor.encrypt('kibana1', 1));
    Object.defineProperty(body, 'byteOffset', {
      get() {
        throw new TypeError('a getter of the caller threw');
      },
    });
    for (const call of [decryptor.decrypt(body), decryptor.getJWKMetadata(body)]) {
      const err = await rejectionOf(call);
      expect(err).not.toBeInstanceOf(TypeError);
      expect(err.code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    }
  });

  it('leaves decrypt as ERR_DECRYPTION_FAILED when an option getter throws', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const options = {
      get schema(): never {
        throw new TypeError('a getter of the caller threw');
      },
    };
    const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', 1), options as never));
    expect(err).not.toBeInstanceOf(TypeError);
    expect(err.code).toBe(ERROR_CODES.DECRYPTION_FAILED);
  });
});

describe('what unwrapKey gives', () => {
  const jwk = vectors.privateJWKS.keys.find((key) => key.kid === 'kibana1')!;
  const privateKey = createPrivateKey({ key: jwk as never, format: 'jwk' });
  /** The body's own content key, as a key service would return it, then changed by `change`. */
  const realThen =
    (change: (cek: Buffer) => Uint8Array): UnwrapKey =>
    async ({ encryptedKey }) =>
      change(privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, encryptedKey));

  it.each(FORMATS)('decrypts a %s body with the real content key (the baseline of the cases below)', async (format) => {
    const decryptor = await createRequestDecryptor(vectors.publicJWKS, { unwrapKey: realThen((cek) => cek) });
    await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', { n: 1 }, { format }))).resolves.toEqual({ n: 1 });
  });

  describe.each(FORMATS)('for a %s body', (format) => {
    it.each([
      ['33 bytes: the real key and one more', (cek: Buffer) => Buffer.concat([cek, Buffer.from([0])])],
      ['31 bytes: the real key less its last byte', (cek: Buffer) => cek.subarray(0, 31)],
      ['31 bytes: the real key less its first byte', (cek: Buffer) => cek.subarray(1)],
    ])('refuses %s as ERR_DECRYPTION_FAILED', async (_name, change) => {
      const decryptor = await createRequestDecryptor(vectors.publicJWKS, { unwrapKey: realThen(change) });
      expect((await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', 1, { format })))).code).toBe(ERROR_CODES.DECRYPTION_FAILED);
    });

    it.each([
      ['InvalidArgumentError', () => new InvalidArgumentError('no key for kid')],
      ['NoKeyFoundError', () => new NoKeyFoundError()],
      ['BodyMalformedError', () => new BodyMalformedError()],
      ['DecryptionFailedError', () => new DecryptionFailedError()],
    ])('answers an unwrapKey rejecting with a package %s as ERR_DECRYPTION_FAILED, the same as any refusal', async (_name, make) => {
      const decryptor = await createRequestDecryptor(vectors.publicJWKS, { unwrapKey: async () => Promise.reject(make()) });
      const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', 1, { format })));
      expect([err.code, err.message, err.constructor]).toEqual([ERROR_CODES.DECRYPTION_FAILED, 'decryption failed', DecryptionFailedError]);
    });
  });
});

describe('a legacy body', () => {
  it("is refused for its payload's size before its key is used: unwrapKey is never called", async () => {
    const unwrapKey = jest.fn<ReturnType<UnwrapKey>, Parameters<UnwrapKey>>(async () => new Uint8Array(32));
    const decryptor = await createRequestDecryptor(vectors.publicJWKS, { unwrapKey, maxPayloadBytes: 100 });
    const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', 'x'.repeat(200))));
    expect(err.code).toBe(ERROR_CODES.BODY_TOO_LARGE);
    expect(unwrapKey).not.toHaveBeenCalled();
  });

  /** The body's envelope JSON text with `tail` after its closing `"}`. */
  const withTail = (body: string, tail: string): string => Buffer.from(`${Buffer.from(body, 'base64url').toString('latin1')}${tail}`, 'latin1').toString('base64url');

  it.each(['x', '}', '"}', '0', '{}', '\u0000'])('is refused as ERR_BODY_MALFORMED with %j after the envelope\'s closing "}', async (tail) => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const body = await encryptor.encrypt('kibana1', 1);
    await expect(decryptor.decrypt(body)).resolves.toBe(1);
    expect((await rejectionOf(decryptor.decrypt(withTail(body, tail)))).code).toBe(ERROR_CODES.BODY_MALFORMED);
  });

  /** The body with its encryptedPayload's last base64 character before the padding changed to set unused bits. */
  async function withUnusedBitsSet(padding: 1 | 2): Promise<string> {
    for (let length = 1; ; length += 1) {
      const body = await encryptor.encrypt('kibana1', 'p'.repeat(length));
      const { encryptedAESKey, encryptedPayload } = unpackBody(body);
      if (!encryptedPayload.endsWith('='.repeat(padding)) || encryptedPayload.endsWith('='.repeat(padding + 1))) continue;
      const at = encryptedPayload.length - padding - 1;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      // One more in the alphabet sets the lowest of the unused bits, which decoders drop.
      const changed = alphabet[alphabet.indexOf(encryptedPayload[at]!) + 1]!;
      return packBody(encryptedAESKey, `${encryptedPayload.slice(0, at)}${changed}${encryptedPayload.slice(at + 1)}`);
    }
  }

  it.each([1, 2] as const)('is refused as ERR_BODY_MALFORMED when the padded last quantum of encryptedPayload (%i =) has unused bits set, though it decodes to the same bytes', async (padding) => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const body = await withUnusedBitsSet(padding);
    const payload = unpackBody(body).encryptedPayload;
    expect(Buffer.from(Buffer.from(payload, 'base64').toString('base64'))).not.toEqual(Buffer.from(payload));
    expect((await rejectionOf(decryptor.decrypt(body))).code).toBe(ERROR_CODES.BODY_MALFORMED);
  });

  it('is refused as ERR_BODY_MALFORMED with a padded quantum inside encryptedPayload, not at its end', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const { encryptedAESKey, encryptedPayload } = unpackBody(await encryptor.encrypt('kibana1', 1));
    expect((await rejectionOf(decryptor.decrypt(packBody(encryptedAESKey, `QQ==${encryptedPayload}`)))).code).toBe(ERROR_CODES.BODY_MALFORMED);
  });
});
