import { createRequestDecryptor, unpackBody } from '../src';
import { vectors } from './helpers';

describe('golden vectors made by @elastic/request-crypto 2.0.3', () => {
  it('has a vector for every payload kind the original was asked for', () => {
    expect(vectors.vectors.map((v) => v.name)).toEqual(
      expect.arrayContaining(['object', 'array', 'string', 'number', 'boolean', 'null', 'unicode', 'empty-object', 'large']),
    );
  });

  for (const vector of vectors.vectors) {
    it(`decrypts the "${vector.name}" body to its payload`, async () => {
      const decryptor = await createRequestDecryptor(vectors.privateJWKS);
      await expect(decryptor.decrypt(vector.body)).resolves.toEqual(vector.payload);
    });

    it(`reports for the "${vector.name}" body the metadata the original reported`, async () => {
      const decryptor = await createRequestDecryptor(vectors.privateJWKS);
      const metadata = await decryptor.getJWKMetadata(vector.body);
      expect({
        kid: metadata.key.kid,
        length: metadata.key.length,
        protected: metadata.protected,
        header: metadata.header,
      }).toEqual(vector.metadata);
    });
  }

  it('decrypts through decryptPayload, the name in the original README', async () => {
    const decryptor = await createRequestDecryptor(vectors.privateJWKS);
    const vector = vectors.vectors[0]!;
    await expect(decryptor.decryptPayload(vector.body)).resolves.toEqual(vector.payload);
  });

  it('unpacks a vector into a compact JWE and a padded standard-base64 payload', () => {
    const { encryptedAESKey, encryptedPayload } = unpackBody(vectors.vectors[0]!.body);
    expect(encryptedAESKey.split('.')).toHaveLength(5);
    expect(encryptedPayload).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(encryptedPayload, 'base64').length).toBeGreaterThan(92);
  });
});
