// PBKDF2 is the costly step of the legacy format; a malformed or forged body must never reach it.
// It is watched where the library derives keys, whichever backend (native or crypto.pbkdf2) runs it.
type KeyDerivation = typeof keyDerivation;
jest.mock('../src/accelerator/pbkdf2-sha512', () => {
  const actual = jest.requireActual<KeyDerivation>('../src/accelerator/pbkdf2-sha512');
  return { ...actual, pbkdf2Sha512: jest.fn(actual.pbkdf2Sha512) };
});

import * as keyDerivation from '../src/accelerator/pbkdf2-sha512';

import { body, CASES, decryptor, setUpHostileCases } from './hostile-cases';
import { rejectionOf } from './helpers';

const pbkdf2 = keyDerivation.pbkdf2Sha512 as unknown as jest.Mock;

beforeAll(setUpHostileCases);

describe('PBKDF2 runs only for a body whose key envelope opened', () => {
  const EARLY = CASES.filter(([, , , payloadOnly]) => payloadOnly === undefined).map(([name, makeBody, code]) => ({
    name,
    makeBody,
    code,
  }));

  it.each(EARLY)('does not run for $name', async ({ makeBody, code }) => {
    const input = await makeBody();
    pbkdf2.mockClear();
    const err = await rejectionOf(decryptor.decrypt(input as string));
    expect(err.code).toBe(code);
    expect(pbkdf2).not.toHaveBeenCalled();
  });

  it('runs exactly once for a valid body', async () => {
    pbkdf2.mockClear();
    await decryptor.decrypt(body);
    expect(pbkdf2).toHaveBeenCalledTimes(1);
  });
});
