import * as jose from 'node-jose';

import {
  createJWKManager,
  createJWKS,
  createJWKSManager,
  createRequestDecryptor,
  createRequestEncryptor,
  ENC_MODULUS,
  generatePassphrase,
  JWKManager,
  JWKSManager,
  KEY_LENGTH_IN_BYTES,
  RSA_ALGORITHM,
} from '../src';
import { makeKeySets, rejectionOf, rsa1024Jwk, vectors } from './helpers';

describe('constants', () => {
  it('keeps the original values', () => {
    expect(ENC_MODULUS).toBe(2048);
    expect(RSA_ALGORITHM).toBe('RSA-OAEP');
    expect(KEY_LENGTH_IN_BYTES).toBe(32);
  });
});

describe('generatePassphrase', () => {
  it('returns 32 bytes', () => {
    expect(generatePassphrase()).toHaveLength(KEY_LENGTH_IN_BYTES);
  });

  it('returns fresh bytes on every call', () => {
    const seen = new Set(Array.from({ length: 100 }, () => generatePassphrase().toString('hex')));
    expect(seen.size).toBe(100);
  });
});

describe('createJWKManager', () => {
  it('starts from an empty key set when given none', async () => {
    const manager = await createJWKManager();
    expect(manager).toBeInstanceOf(JWKManager);
    expect(manager).toBeInstanceOf(JWKSManager);
    expect(manager.getPublicJWKS()).toEqual({ keys: [] });
    expect(manager.getPrivateJWKS()).toEqual({ keys: [] });
    expect(manager.getPublicJWK('absent')).toBeNull();
    expect(manager.getPrivateJWK('absent')).toBeNull();
  });

  it('loads a prepopulated private set and returns it whole', async () => {
    const manager = await createJWKManager(vectors.privateJWKS);
    expect(manager.getPrivateJWKS()).toEqual(vectors.privateJWKS);
    expect(manager.getPublicJWKS()).toEqual(vectors.publicJWKS);
    expect(manager.getPrivateJWK('kibana1')).toEqual(vectors.privateJWKS.keys[0]);
    expect(manager.getPublicJWK('kibana1')).toEqual(vectors.publicJWKS.keys[0]);
  });

  it('gives the public set itself as the private set of a public set', async () => {
    const manager = await createJWKManager(vectors.publicJWKS);
    expect(manager.getPrivateJWKS()).toEqual(vectors.publicJWKS);
  });

  it('accepts the JSON text of a set, as the original README passes it', async () => {
    const manager = await createJWKManager(JSON.stringify(vectors.publicJWKS));
    expect(manager.getPublicJWKS()).toEqual(vectors.publicJWKS);
  });

  it('adds an RSA-OAEP 2048-bit encryption key with addKey(kid)', async () => {
    const manager = await createJWKManager();
    await manager.addKey('fresh');
    const jwk = manager.getPrivateJWK('fresh')!;
    expect(jwk).toMatchObject({ kty: 'RSA', kid: 'fresh', use: 'enc', alg: 'RSA-OAEP' });
    expect(Buffer.from(jwk.n, 'base64url')).toHaveLength(256);
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) expect(typeof jwk[member]).toBe('string');
    expect(manager.getPublicJWK('fresh')).not.toHaveProperty('d');
  });

  it('makes keys with the injected node-jose JWK namespace', async () => {
    const calls: unknown[][] = [];
    const smallKeys = {
      ...jose.JWK,
      // A 1024-bit key made beforehand: FIPS mode refuses to generate one.
      createKey: (kty: string, size: number, props: object) => {
        calls.push([kty, size, props]);
        return jose.JWK.asKey({ ...rsa1024Jwk('unused'), ...props });
      },
    } as typeof jose.JWK;
    const manager = await createJWKManager(undefined, smallKeys);
    await manager.addKey('small');
    expect(calls).toEqual([['RSA', 2048, { alg: 'RSA-OAEP', use: 'enc', kid: 'small' }]]);
    expect(Buffer.from(manager.getPublicJWK('small')!.n, 'base64url')).toHaveLength(128);
    expect(manager.JWK).toBe(smallKeys);
  });

  it('refuses a second key with a kid already in the set', async () => {
    const manager = await createJWKManager(vectors.privateJWKS);
    const err = await rejectionOf(manager.addKey('kibana1'));
    expect(err.code).toBe('ERR_INVALID_ARGUMENT');
  });

  it('removes a key named by a plain JWK or given as a node-jose key', async () => {
    const manager = await createJWKManager(makeKeySets(['a', 'b']).privateJWKS);
    manager.removeKey(manager.getPublicJWK('a')!);
    expect(manager.getPublicJWK('a')).toBeNull();
    manager.removeKey(manager.store.get('b'));
    expect(manager.getPublicJWKS()).toEqual({ keys: [] });
  });
});

describe('createJWKS and createJWKSManager', () => {
  it('creates an empty node-jose key store without a set', async () => {
    const store = await createJWKS(jose.JWK);
    expect(jose.JWK.isKeyStore(store)).toBe(true);
    expect(store.all()).toHaveLength(0);
  });

  it('creates a store holding the given set', async () => {
    const store = await createJWKS(jose.JWK, vectors.privateJWKS);
    expect(store.get('kibana1').kid).toBe('kibana1');
  });

  it('creates a manager over the given set', async () => {
    const manager = await createJWKSManager(vectors.publicJWKS);
    expect(manager).toBeInstanceOf(JWKSManager);
    expect(manager.getPublicJWKS()).toEqual(vectors.publicJWKS);
  });

  it('refuses to make a key smaller than 2048 bits through JWKSManager.addKey', async () => {
    const manager = await createJWKSManager();
    const err = await rejectionOf(manager.addKey('tiny', 1024, 'enc'));
    expect(err.code).toBe('ERR_INVALID_ARGUMENT');
    expect(manager.getPublicJWKS()).toEqual({ keys: [] });
  });
});

describe('JWKSManager.encrypt and decrypt', () => {
  it('round-trips bytes through a compact JWE', async () => {
    const manager = await createJWKSManager(vectors.privateJWKS);
    const jwe = await manager.encrypt('kibana1', Buffer.from([0, 1, 2, 255]));
    expect(jwe.split('.')).toHaveLength(5);
    const result = await manager.decrypt(jwe);
    expect(result.payload).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('returns the node-jose decrypt result: key, header, protected, payload, plaintext', async () => {
    const manager = await createJWKSManager(vectors.privateJWKS);
    const result = await manager.decrypt(await manager.encrypt('kibana1', Buffer.from('x')));
    expect(result.key.kid).toBe('kibana1');
    expect(result.key.length).toBe(2048);
    expect(result.header).toEqual({ zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA-OAEP', kid: 'kibana1' });
    expect(result.protected).toEqual(['zip', 'enc', 'alg', 'kid']);
    expect(result.payload.toString()).toBe('x');
    expect(result.plaintext.toString()).toBe('x');
  });

  it('rejects an unknown kid with "Error: Missing kid (<kid>)."', async () => {
    const manager = await createJWKSManager(vectors.publicJWKS);
    const err = await rejectionOf(manager.encrypt('nope', Buffer.from('x')));
    expect(String(err)).toBe('Error: Missing kid (nope).');
    expect(err.code).toBe('ERR_MISSING_KID');
  });

  it('cannot decrypt with a public set: "Error: no key found"', async () => {
    const privateManager = await createJWKSManager(vectors.privateJWKS);
    const publicManager = await createJWKSManager(vectors.publicJWKS);
    const err = await rejectionOf(publicManager.decrypt(await privateManager.encrypt('kibana1', Buffer.from('x'))));
    expect(String(err)).toBe('Error: no key found');
    expect(err.code).toBe('ERR_NO_KEY_FOUND');
  });

  it('decrypts with another store when one is passed', async () => {
    const publicManager = await createJWKSManager(vectors.publicJWKS);
    const jwe = await publicManager.encrypt('kibana1', Buffer.from('via store'));
    const store = await createJWKS(jose.JWK, vectors.privateJWKS);
    expect((await publicManager.decrypt(jwe, store)).payload.toString()).toBe('via store');
  });
});

describe('request encryptor and decryptor (the original suite)', () => {
  it('round-trips a payload', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    await expect(decryptor.decrypt(await encryptor.encrypt('kibana1', { a: [1, 'b'] }))).resolves.toEqual({ a: [1, 'b'] });
  });

  it('makes a different body every time for the same payload', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const first = await encryptor.encrypt('kibana1', 'same');
    const second = await encryptor.encrypt('kibana1', 'same');
    expect(first).not.toBe(second);
    expect(first).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('rejects an unknown kid on encrypt with exactly "Error: Missing kid (<kid>)."', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const err = await rejectionOf(encryptor.encrypt('kibana_dev1', {}));
    expect(err.toString()).toBe('Error: Missing kid (kibana_dev1).');
    expect(err.code).toBe('ERR_MISSING_KID');
  });

  it('cannot decrypt with a public set: exactly "Error: no key found"', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const decryptor = await createRequestDecryptor(vectors.publicJWKS as never);
    const err = await rejectionOf(decryptor.decrypt(await encryptor.encrypt('kibana1', {})));
    expect(err.toString()).toBe('Error: no key found');
    expect(err.code).toBe('ERR_NO_KEY_FOUND');
  });

  it('cannot decrypt with a foreign key of another kid: exactly "Error: no key found"', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const foreign = await createRequestDecryptor(makeKeySets(['other']).privateJWKS);
    const err = await rejectionOf(foreign.decrypt(await encryptor.encrypt('kibana1', {})));
    expect(err.toString()).toBe('Error: no key found');
    await expect(foreign.getJWKMetadata(await encryptor.encrypt('kibana1', {}))).rejects.toThrow('no key found');
  });

  it('cannot decrypt with a foreign key of the same kid: decryption fails', async () => {
    const encryptor = await createRequestEncryptor(vectors.publicJWKS);
    const impostor = await createRequestDecryptor(makeKeySets(['kibana1']).privateJWKS);
    const err = await rejectionOf(impostor.decrypt(await encryptor.encrypt('kibana1', {})));
    expect(err.code).toBe('ERR_DECRYPTION_FAILED');
  });
});
