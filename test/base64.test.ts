import fc from 'fast-check';

import { decodeBase64, decodeBase64Url } from '../src/encoding/strict-base64';

// The plain definition the fast decoders must agree with.
const isCanonicalUrl = (s: string): boolean =>
  /^[A-Za-z0-9_-]*$/.test(s) && s.length % 4 !== 1 && Buffer.from(s, 'base64url').toString('base64url') === s;
const isCanonicalStd = (s: string): boolean =>
  s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s) && Buffer.from(s, 'base64').toString('base64') === s;

const NOISE = ['!', ' ', '\n', '\t', '=', '==', '+', '/', '-', '_', '.', '\u0000', 'é', '€', '😀', '\r', '%', '\ud800', 'A', 'Q'];

/** A canonical encoding of random bytes with a few random edits: insertions, replacements, deletions. */
const mangled = fc
  .tuple(
    fc.uint8Array({ maxLength: 24 }),
    fc.boolean(),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom(...NOISE), fc.integer({ min: 0, max: 2 })), { maxLength: 3 }),
  )
  .map(([bytes, url, edits]) => {
    let s = Buffer.from(bytes).toString(url ? 'base64url' : 'base64');
    for (const [position, ch, kind] of edits) {
      const at = s.length === 0 ? 0 : position % (s.length + 1);
      s = kind === 0 ? s.slice(0, at) + ch + s.slice(at) : kind === 1 ? s.slice(0, at) + ch + s.slice(at + 1) : s.slice(0, at) + s.slice(at + 1);
    }
    return s;
  });

describe('strict base64 decoding', () => {
  it.each([
    ['unpadded base64url', decodeBase64Url, isCanonicalUrl, 'base64url', 42],
    ['padded base64', decodeBase64, isCanonicalStd, 'base64', 43],
  ] as const)('accepts exactly the canonical %s strings, and decodes them', (_name, decode, isCanonical, encoding, seed) => {
    fc.assert(
      fc.property(mangled, (s) => {
        const decoded = decode(s);
        expect(decoded !== undefined).toBe(isCanonical(s));
        if (decoded) expect(decoded.toString(encoding)).toBe(s);
      }),
      { numRuns: 20000, seed },
    );
  });

  it.each([
    ['QR', 'non-zero trailing bits'],
    ['QQ==', 'padding'],
    ['+/+/', 'the standard alphabet'],
    ['QQ Q', 'a space'],
    ['A', 'an impossible length'],
  ])('refuses %p in base64url (%s)', (s) => {
    expect(decodeBase64Url(s)).toBeUndefined();
  });

  it.each([
    ['QR==', 'non-zero trailing bits'],
    ['QQ', 'missing padding'],
    ['-_-_', 'the url alphabet'],
    ['QQ=A', 'padding in the middle'],
    ['QQ\n==', 'a newline'],
  ])('refuses %p in base64 (%s)', (s) => {
    expect(decodeBase64(s)).toBeUndefined();
  });
});
