import { createRequestDecryptor, createRequestEncryptor } from '../src';
import { makeKeySets } from './helpers';

describe('concurrency', () => {
  it('keeps 1,000 concurrent encrypts and decrypts over three kids apart: each body decrypts to its own payload', async () => {
    const kids = ['kibana', 'kibana1', 'kibana_dev1'];
    const { privateJWKS, publicJWKS } = makeKeySets(kids);
    const encryptor = await createRequestEncryptor(publicJWKS);
    // 2,000 unwraps (a decrypt and a getJWKMetadata per body) may wait at once: past the default
    // bound of pending unwraps (256) they would be refused with ERR_RECEIVER_BUSY.
    const decryptor = await createRequestDecryptor(privateJWKS, { maxPendingUnwraps: 2000, maxPendingUnwrapsPerProcess: 2000 });

    const results = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        const kid = kids[i % kids.length]!;
        const payload = { i, kid, cluster_uuid: `cluster-${i}` };
        const body = await encryptor.encrypt(kid, payload, i % 2 === 0 ? {} : { format: 'jwe' });
        const [decrypted, metadata] = await Promise.all([decryptor.decrypt(body), decryptor.getJWKMetadata(body)]);
        return { payload, decrypted, kid: metadata.key.kid, expectedKid: kid };
      }),
    );

    expect(results).toHaveLength(1000);
    for (const result of results) {
      expect(result.decrypted).toEqual(result.payload);
      expect(result.kid).toBe(result.expectedKid);
    }
  }, 120_000);
});
