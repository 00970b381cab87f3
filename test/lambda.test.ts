import { createHandler, handler, type ProxyEvent } from '../examples/lambda-receiver';
import { createRequestEncryptor, packBody, unpackBody } from '../src';
import { vectors } from './helpers';

const event = (body: string | null, isBase64Encoded = false): ProxyEvent => ({ body, isBase64Encoded });

/**
 * The same body with one bit of the payload's ciphertext flipped. The change is made on the decoded
 * bytes and re-encoded, so the body stays canonical base64 and only the GCM tag can notice it
 * (editing a base64 character could touch only its unused bits and make a non-canonical body).
 */
function forgeCiphertext(original: string): string {
  const { encryptedAESKey, encryptedPayload } = unpackBody(original);
  const sealed = Buffer.from(encryptedPayload, 'base64');
  const firstCiphertextByte = 64 + 12 + 16; // after salt, iv and tag
  sealed[firstCiphertextByte] = sealed[firstCiphertextByte]! ^ 0x01;
  return packBody(encryptedAESKey, sealed.toString('base64'));
}

describe('examples/lambda-receiver.ts', () => {
  let body: string;
  beforeAll(async () => {
    body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', { cluster_uuid: 'λ' });
  });

  it('decrypts event.body and answers 200 with the payload', async () => {
    const handle = createHandler(() => vectors.privateJWKS);
    const result = await handle(event(body));
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ cluster_uuid: 'λ' });
  });

  it('honours isBase64Encoded', async () => {
    const handle = createHandler(() => vectors.privateJWKS);
    const result = await handle(event(Buffer.from(body).toString('base64'), true));
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ cluster_uuid: 'λ' });
  });

  it('decrypts a golden body made by the original', async () => {
    const vector = vectors.vectors[0]!;
    const result = await createHandler(() => vectors.privateJWKS)(event(vector.body));
    expect(JSON.parse(result.body)).toEqual(vector.payload);
  });

  it('loads the key set once per container', async () => {
    const load = jest.fn(() => JSON.stringify(vectors.privateJWKS));
    const handle = createHandler(load);
    for (let i = 0; i < 3; i += 1) expect((await handle(event(body))).statusCode).toBe(200);
    expect((await handle(event('junk'))).statusCode).toBe(400);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['a null body', () => null, 'ERR_BODY_MALFORMED'],
    ['an empty body', () => '', 'ERR_BODY_MALFORMED'],
    ['a body that is not base64url', () => 'not a body!', 'ERR_BODY_MALFORMED'],
    [
      'a forged body',
      () => forgeCiphertext(body),
      'ERR_DECRYPTION_FAILED',
    ],
  ])('answers 400 with the code for %s, never 500', async (_name, makeBody, code) => {
    const result = await createHandler(() => vectors.privateJWKS)(event(makeBody()));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ error: code });
  });

  it('answers 400 with ERR_NO_KEY_FOUND for a body made for a key the receiver lacks', async () => {
    const result = await createHandler(() => ({ keys: [] }))(event(body));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ error: 'ERR_NO_KEY_FOUND' });
  });

  it('answers 413 past the size limit', async () => {
    const handle = createHandler(() => vectors.privateJWKS, { maxBodyBytes: 100 });
    const result = await handle(event(body));
    expect(result.statusCode).toBe(413);
    expect(JSON.parse(result.body)).toEqual({ error: 'ERR_BODY_TOO_LARGE' });
  });

  it('answers 500 when the receiver has no key set, and tries again on the next invocation', async () => {
    let configured = false;
    const handle = createHandler(() => {
      if (!configured) throw new Error('no key set');
      return vectors.privateJWKS;
    });
    expect((await handle(event(body))).statusCode).toBe(500);
    configured = true;
    expect((await handle(event(body))).statusCode).toBe(200);
  });

  it('reads the key set from PRIVATE_JWKS in the exported handler', async () => {
    process.env.PRIVATE_JWKS = JSON.stringify(vectors.privateJWKS);
    try {
      expect((await handler(event(body))).statusCode).toBe(200);
    } finally {
      delete process.env.PRIVATE_JWKS;
    }
  });
});
