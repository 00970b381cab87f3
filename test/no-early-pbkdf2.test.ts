// PBKDF2 is the costly step of the legacy format; a malformed or forged body must never reach it.
type NodeCrypto = typeof nodeCrypto;
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<NodeCrypto>('node:crypto');
  return { ...actual, pbkdf2: jest.fn(actual.pbkdf2) };
});

import * as nodeCrypto from 'node:crypto';

import { body, CASES, decryptor, setUpHostileCases } from './hostile-cases';
import { rejectionOf } from './helpers';

const pbkdf2 = nodeCrypto.pbkdf2 as unknown as jest.Mock;

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
