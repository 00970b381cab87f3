// The light entries, request-crypto/receiver and request-crypto/sender: what they hold, and that
// they are the root's own objects (an error thrown by one is `instanceof` the other's class).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import * as root from '../src';
import * as receiver from '../src/receiver';
import * as sender from '../src/sender';
// The types a receiver and a sender name, from their entries (type-checked by `npm run typecheck`).
import type {
  BodyContext,
  BodyFormat,
  BodyMetadata,
  DecryptedPayload,
  DecryptOptions,
  Decryptor,
  DecryptorOptions,
  EncryptedBody,
  JWKMetadata,
  PrivateJWK,
  PrivateJWKS,
  PublicJWK,
  PublicJWKS,
} from '../src/receiver';
import type { EncryptOptions, Encryptor, EncryptorOptions, PublicJWKS as SenderPublicJWKS } from '../src/sender';
import { vectors } from './helpers';

const ROOT = join(__dirname, '..');

type ReceiverTypes = [BodyContext, BodyFormat, BodyMetadata, DecryptedPayload, DecryptOptions, Decryptor, DecryptorOptions];
type MoreReceiverTypes = [EncryptedBody, JWKMetadata, PrivateJWK, PrivateJWKS, PublicJWK, PublicJWKS];
type SenderTypes = [EncryptOptions, Encryptor, EncryptorOptions, SenderPublicJWKS];
export type Named = ReceiverTypes | MoreReceiverTypes | SenderTypes;

/** The root's error classes and ERROR_CODES, by name. */
const rootErrors = Object.entries(root)
  .filter(([name, value]) => name === 'ERROR_CODES' || (typeof value === 'function' && value.prototype instanceof Error))
  .map(([name]) => name)
  .sort();

describe.each([
  ['request-crypto/receiver', receiver as Record<string, unknown>, ['createRequestDecryptor', 'DEFAULT_MAX_BODY_BYTES', 'DEFAULT_CLOCK_TOLERANCE_SECONDS']],
  ['request-crypto/sender', sender as Record<string, unknown>, ['createRequestEncryptor']],
])('%s', (_entry, entry, own) => {
  it('exports what its side calls, and keyDerivationBackend', () => {
    for (const name of [...own, 'keyDerivationBackend']) expect(entry[name]).toBeDefined();
  });

  it('exports every error class of the root and ERROR_CODES', () => {
    expect(rootErrors.length).toBeGreaterThan(10);
    expect(rootErrors.filter((name) => !(name in entry))).toEqual([]);
  });

  it("exports the root's own objects, never copies", () => {
    for (const [name, value] of Object.entries(entry)) expect([name, value]).toEqual([name, (root as Record<string, unknown>)[name]]);
  });
});

it('the receiver entry decrypts in a process that never loads node-jose', () => {
  const script = `const { createRequestDecryptor } = require(${JSON.stringify(join(ROOT, 'lib', 'receiver.js'))});
const input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
createRequestDecryptor(input.privateJWKS).then((d) => d.decrypt(input.body)).then((payload) => {
  console.log(JSON.stringify([payload, Object.keys(require.cache).filter((f) => /node-jose|node-forge/.test(f)).length]));
});`;
  const input = JSON.stringify({ privateJWKS: vectors.privateJWKS, body: vectors.vectors[0]!.body });
  const out = execFileSync(process.execPath, ['-e', script], { input, encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual([vectors.vectors[0]!.payload, 0]);
});
