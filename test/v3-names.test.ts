// The names @elastic/request-crypto 3.0 exports, so that code written for it runs here, and its
// addKey() without a kid: the key named by its RFC 7638 thumbprint.
import { createHash } from 'node:crypto';

import * as joseV5 from 'jose';
import * as nodeJose from 'node-jose';

import * as root from '../src';
import * as receiver from '../src/receiver';
import * as sender from '../src/sender';
import { rsaThumbprint } from '../src/compat/thumbprint';
import { rejectionOf, rsa1024Jwk } from './helpers';

describe('the 3.0 constants', () => {
  it('have 3.0\'s names and values in the root entry', () => {
    expect({
      KEY_WRAP_ALGORITHM: root.KEY_WRAP_ALGORITHM,
      LEGACY_KEY_WRAP_ALGORITHM: root.LEGACY_KEY_WRAP_ALGORITHM,
      SUPPORTED_KEY_WRAP_ALGORITHMS: root.SUPPORTED_KEY_WRAP_ALGORITHMS,
      CONTENT_ENCRYPTION_ALGORITHM: root.CONTENT_ENCRYPTION_ALGORITHM,
      MAX_DECOMPRESSED_LENGTH: root.MAX_DECOMPRESSED_LENGTH,
    }).toEqual({
      KEY_WRAP_ALGORITHM: 'RSA-OAEP-256',
      LEGACY_KEY_WRAP_ALGORITHM: 'RSA-OAEP',
      SUPPORTED_KEY_WRAP_ALGORITHMS: ['RSA-OAEP', 'RSA-OAEP-256'],
      CONTENT_ENCRYPTION_ALGORITHM: 'A128CBC-HS256',
      MAX_DECOMPRESSED_LENGTH: 250000,
    });
  });

  it('keep SUPPORTED_KEY_WRAP_ALGORITHMS frozen, so no caller widens what receivers accept', () => {
    expect(Object.isFrozen(root.SUPPORTED_KEY_WRAP_ALGORITHMS)).toBe(true);
  });

  it('are the same objects in request-crypto/receiver, and the key-wrap ones in request-crypto/sender', () => {
    for (const name of ['KEY_WRAP_ALGORITHM', 'LEGACY_KEY_WRAP_ALGORITHM', 'SUPPORTED_KEY_WRAP_ALGORITHMS', 'CONTENT_ENCRYPTION_ALGORITHM', 'MAX_DECOMPRESSED_LENGTH'] as const) {
      expect([name, receiver[name]]).toEqual([name, root[name]]);
    }
    for (const name of ['KEY_WRAP_ALGORITHM', 'LEGACY_KEY_WRAP_ALGORITHM', 'SUPPORTED_KEY_WRAP_ALGORITHMS', 'CONTENT_ENCRYPTION_ALGORITHM'] as const) {
      expect([name, sender[name]]).toEqual([name, root[name]]);
    }
  });

  it('type a hook written for 3.0: (info: KeyWrapInfo) => void', async () => {
    const seen: root.KeyWrapInfo[] = [];
    const onKeyWrap = (info: receiver.KeyWrapInfo): void => void seen.push(info);
    const sets = await import('./helpers');
    const decryptor = await root.createRequestDecryptor(sets.vectors.privateJWKS, { onKeyWrap });
    await decryptor.decrypt(sets.vectors.vectors[0]!.body);
    const legacy: boolean = seen[0]!.legacy;
    const alg: (typeof root.SUPPORTED_KEY_WRAP_ALGORITHMS)[number] = seen[0]!.alg;
    expect([seen[0]!.kid, alg, legacy]).toEqual(['kibana1', root.LEGACY_KEY_WRAP_ALGORITHM, true]);
  });
});

describe('addKey() without a kid', () => {
  it('names the key by its RFC 7638 SHA-256 thumbprint, as jose and node-jose compute it', async () => {
    const manager = await root.createJWKManager();
    await manager.addKey();
    const [jwk] = manager.getPublicJWKS().keys;
    expect(jwk).toMatchObject({ kty: 'RSA', use: 'enc', alg: 'RSA-OAEP' });
    expect(jwk!.kid).toBe(await joseV5.calculateJwkThumbprint({ kty: 'RSA', e: jwk!.e, n: jwk!.n }, 'sha256'));
    const key = await nodeJose.JWK.asKey({ kty: 'RSA', e: jwk!.e, n: jwk!.n });
    // Typed as a string, node-jose's thumbprint is a Buffer at run time.
    const print: unknown = await key.thumbprint('SHA-256');
    expect(jwk!.kid).toBe(Buffer.from(print as Buffer).toString('base64url'));
    expect(jwk!.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(jwk!.n, 'base64url')).toHaveLength(256);
  });

  it('keeps the private key under that kid, usable by the encryptor and decryptor', async () => {
    const manager = await root.createJWKManager();
    await manager.addKey(undefined, { alg: 'RSA-OAEP-256' });
    const kid = manager.getPublicJWKS().keys[0]!.kid;
    expect(manager.getPrivateJWK(kid)).toMatchObject({ kid, alg: 'RSA-OAEP-256' });
    const body = await (await root.createRequestEncryptor(manager.getPublicJWKS())).encrypt(kid, { kid });
    await expect((await root.createRequestDecryptor(manager.getPrivateJWKS())).decrypt(body)).resolves.toEqual({ kid });
  });

  it('gives two keys two kids, and so does the base class JWKSManager.addKey(undefined, …)', async () => {
    const manager = await root.createJWKSManager();
    await manager.addKey(undefined, 2048, 'enc');
    await manager.addKey(undefined, 2048, 'enc');
    const keys = manager.getPublicJWKS().keys;
    expect(keys.map((key) => key.kid)).toEqual(keys.map((key) => rsaThumbprint(key)));
    expect(new Set(keys.map((key) => key.kid)).size).toBe(2);
  });

  it('names the key made by an injected node-jose JWK namespace by its own thumbprint', async () => {
    const small = rsa1024Jwk('unused');
    const injected = { ...nodeJose.JWK, createKey: (_kty: string, _size: number, props: object) => nodeJose.JWK.asKey({ ...small, ...props }) } as typeof nodeJose.JWK;
    const manager = await root.createJWKManager(undefined, injected);
    await manager.addKey();
    const canonical = JSON.stringify({ e: small.e, kty: 'RSA', n: small.n });
    expect(manager.getPublicJWKS().keys.map((key) => key.kid)).toEqual([createHash('sha256').update(canonical).digest('base64url')]);
  });

  it('still refuses an empty kid', async () => {
    const manager = await root.createJWKManager();
    expect((await rejectionOf(manager.addKey(''))).code).toBe(root.ERROR_CODES.INVALID_ARGUMENT);
  });
});
