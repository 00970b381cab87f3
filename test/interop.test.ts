import * as original from '@elastic/request-crypto';
import * as jose from 'node-jose';

import * as ours from '../src';
import { makePayloadKey, sealPayloadWith } from '../src/formats/legacy/payload-cipher';
import { largePayload, makeKeySets, PAYLOADS, vectors } from './helpers';

const ALL_PAYLOADS: Array<[string, unknown]> = [...PAYLOADS, ['a 1 MB object', largePayload(1024 * 1024)]];

describe('interoperability with @elastic/request-crypto 2.0.3', () => {
  const { privateJWKS, publicJWKS } = vectors;

  describe.each([
    ['the original encrypts, this package decrypts', original, ours],
    ['this package encrypts, the original decrypts', ours, original],
  ])('%s', (_direction, sender, receiver) => {
    for (const [name, payload] of ALL_PAYLOADS) {
      it(`round-trips ${name}`, async () => {
        const encryptor = await sender.createRequestEncryptor(publicJWKS);
        const decryptor = await receiver.createRequestDecryptor(privateJWKS);
        const body = await encryptor.encrypt('kibana1', payload);
        await expect(decryptor.decrypt(body)).resolves.toEqual(payload);
      });
    }
  });

  it('makes bodies whose key header has the original members in the original order', async () => {
    const encryptor = await ours.createRequestEncryptor(publicJWKS);
    const body = await encryptor.encrypt('kibana1', { a: 1 });
    const header = ours.unpackBody(body).encryptedAESKey.split('.')[0]!;
    expect(Buffer.from(header, 'base64url').toString('utf8')).toBe(
      '{"zip":"DEF","enc":"A128CBC-HS256","alg":"RSA-OAEP","kid":"kibana1"}',
    );
  });

  it('reports the same metadata as the original for the same body', async () => {
    const encryptor = await ours.createRequestEncryptor(publicJWKS);
    const body = await encryptor.encrypt('kibana1', { a: 1 });
    const theirs = await (await original.createRequestDecryptor(privateJWKS)).getJWKMetadata(body);
    const mine = await (await ours.createRequestDecryptor(privateJWKS)).getJWKMetadata(body);
    expect(mine.key.kid).toBe(theirs.key.kid);
    expect(mine.key.length).toBe(theirs.key.length);
    expect(mine.key.kty).toBe(theirs.key.kty);
    expect(mine.key.use).toBe(theirs.key.use);
    expect(mine.key.alg).toBe(theirs.key.alg);
    expect(mine.protected).toEqual(theirs.protected);
    expect(mine.header).toEqual(theirs.header);
  });

  it('publishes the same well-knowns and public components as the original, member order included', async () => {
    const theirs = await original.createRequestDecryptor(privateJWKS);
    const mine = await ours.createRequestDecryptor(privateJWKS);
    expect(JSON.stringify(mine.getWellKnowns())).toBe(JSON.stringify(theirs.getWellKnowns()));
    expect(JSON.stringify(mine.getPublicComponent('kibana1'))).toBe(JSON.stringify(theirs.getPublicComponent('kibana1')));
    expect(mine.getPublicComponent('absent')).toBeNull();
    expect(theirs.getPublicComponent('absent')).toBeNull();
  });

  describe('key sets made by either library, several kids in one set', () => {
    it.each([
      ['decrypts bodies the original makes with a set this package made', ours, original, ours],
      ['makes bodies the original decrypts with a set the original made', original, ours, original],
    ])('for every kid, %s', async (_name, keyMaker, sender, receiver) => {
      const kids = ['kibana', 'kibana1', 'kibana_dev1'];
      const manager = await keyMaker.createJWKManager();
      for (const kid of kids) await manager.addKey(kid);
      const encryptor = await sender.createRequestEncryptor(manager.getPublicJWKS());
      const decryptor = await receiver.createRequestDecryptor(manager.getPrivateJWKS());
      for (const kid of kids) {
        const body = await encryptor.encrypt(kid, { kid });
        await expect(decryptor.decrypt(body)).resolves.toEqual({ kid });
        expect((await decryptor.getJWKMetadata(body)).key.kid).toBe(kid);
      }
    });

    it('works both ways with a set made by node:crypto directly', async () => {
      const sets = makeKeySets(['a', 'b']);
      const body = await (await ours.createRequestEncryptor(sets.publicJWKS)).encrypt('b', [1, 2]);
      await expect((await original.createRequestDecryptor(sets.privateJWKS)).decrypt(body)).resolves.toEqual([1, 2]);
      const back = await (await original.createRequestEncryptor(sets.publicJWKS)).encrypt('a', 'x');
      await expect((await ours.createRequestDecryptor(sets.privateJWKS)).decrypt(back)).resolves.toBe('x');
    });
  });

  describe('JWKSManager.encrypt and decrypt', () => {
    it('opens with the original a JWE this package made', async () => {
      const mine = await ours.createJWKSManager(privateJWKS);
      const theirs = await original.createJWKSManager(privateJWKS);
      const jwe = await mine.encrypt('kibana1', Buffer.from('secret bytes'));
      const result = await theirs.decrypt(jwe);
      expect(result.payload.toString()).toBe('secret bytes');
    });

    it('opens with this package a JWE the original made', async () => {
      const mine = await ours.createJWKSManager(privateJWKS);
      const theirs = await original.createJWKSManager(privateJWKS);
      const jwe = await theirs.encrypt('kibana1', Buffer.from('more bytes'));
      const result = await mine.decrypt(jwe);
      expect(result.payload.toString()).toBe('more bytes');
      expect(result.key.kid).toBe('kibana1');
      expect(result.protected).toEqual(['zip', 'enc', 'alg', 'kid']);
    });
  });

  describe('the hand-written key envelope equals node-jose on the same keys', () => {
    it('node-jose opens the encryptedAESKey this package wraps, to the 32-byte passphrase', async () => {
      const store = await jose.JWK.asKeyStore(privateJWKS as unknown as object);
      const body = await (await ours.createRequestEncryptor(publicJWKS)).encrypt('kibana1', 1);
      const result = await jose.JWE.createDecrypt(store).decrypt(ours.unpackBody(body).encryptedAESKey);
      expect(result.payload).toHaveLength(32);
    });

    it('this package opens a whole body whose key envelope node-jose made with an RSA-OAEP-256 key', async () => {
      const manager = await ours.createJWKManager();
      await manager.addKey('k256', { alg: 'RSA-OAEP-256' });
      const passphrase = ours.generatePassphrase();
      const encryptedAESKey = await jose.JWE.createEncrypt({ format: 'compact', zip: true }, manager.store.get('k256'))
        .update(passphrase)
        .final();
      const body = ours.packBody(String(encryptedAESKey), sealPayloadWith(await makePayloadKey(passphrase), '{"ok":1}'));
      const decryptor = await ours.createRequestDecryptor(manager.getPrivateJWKS());
      await expect(decryptor.decrypt(body)).resolves.toEqual({ ok: 1 });
      expect((await decryptor.getJWKMetadata(body)).header.alg).toBe('RSA-OAEP-256');
    });
  });
});
