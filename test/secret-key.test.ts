import { KeyObject, randomBytes } from 'node:crypto';

import { PREFER_KEY_OBJECTS, secretKey } from '../src/keys/secret-key';

describe('secretKey', () => {
  const major = Number(process.versions.node.split('.')[0]);

  it('prefers KeyObjects from Node 24 on, where ciphers check bytes slowly, and bytes before', () => {
    expect(PREFER_KEY_OBJECTS).toBe(major >= 24);
  });

  it('hands over the same key either way', () => {
    const bytes = randomBytes(32);
    const key = secretKey(bytes);
    if (PREFER_KEY_OBJECTS) {
      expect(key).toBeInstanceOf(KeyObject);
      expect((key as KeyObject).export().equals(bytes)).toBe(true);
    } else {
      expect(key).toBe(bytes);
    }
  });
});
