#!/usr/bin/env node
// Writes test/fixtures/key-wrap-v3.json: bodies wrapped with RSA-OAEP-256 by other implementations,
// the way @elastic/request-crypto 3.0 makes them, for keys stamped `alg: "RSA-OAEP"` (the shape
// every deployed key has). Run once; the file is frozen so that the tests never depend on these
// libraries behaving the same later.
//
//   node scripts/make-key-wrap-vectors.mjs
//
// - node-jose 2.2.0: the key envelope (`encryptedAESKey`) made with RSA-OAEP-256 for a copy of the
//   key imported without `alg` (node-jose wraps only with a key's own alg), as the upstream made
//   its frozen vectors; the payload by @elastic/node-crypto, 2.0.3's own payload encryptor.
// - panva jose 6: the key envelope by CompactEncrypt with the header 3.0 emits,
//   { zip: "DEF", enc: "A128CBC-HS256", alg: "RSA-OAEP-256", kid }; and a `'jwe'` body
//   (RSA-OAEP-256 + A256GCM) of the JSON payload.
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TextEncoder } from 'node:util';

import * as jose from 'jose6';

const require = createRequire(import.meta.url);
const nodeJose = require('node-jose');
const nodeCrypto = require('@elastic/node-crypto').default;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const golden = JSON.parse(readFileSync(join(root, 'test/fixtures/elastic-request-crypto-2.0.3.json'), 'utf8'));

function stampedKey(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { n, e, d, p, q, dp, dq, qi } = privateKey.export({ format: 'jwk' });
  return { kty: 'RSA', kid, use: 'enc', alg: 'RSA-OAEP', e, n, d, p, q, dp, dq, qi };
}

const privateKeys = [golden.privateJWKS.keys[0], stampedKey('kibana_dev1')];
const publicOf = ({ kty, kid, use, alg, e, n }) => ({ kty, kid, use, alg, e, n });
const packBody = (encryptedAESKey, encryptedPayload) => Buffer.from(JSON.stringify({ encryptedAESKey, encryptedPayload })).toString('base64url');
const passphrase = () => randomBytes(32);

async function nodeJoseLegacy(jwk, payload) {
  const withoutAlg = { ...jwk.public };
  delete withoutAlg.alg;
  const key = await nodeJose.JWK.asKey(withoutAlg);
  const secret = passphrase();
  const encryptedAESKey = await nodeJose.JWE.createEncrypt({ format: 'compact', zip: true, fields: { alg: 'RSA-OAEP-256' } }, { key, header: { alg: 'RSA-OAEP-256' } })
    .update(secret)
    .final();
  const encryptedPayload = await nodeCrypto({ encryptionKey: secret }).encrypt(payload);
  return packBody(encryptedAESKey, encryptedPayload);
}

async function joseLegacy(jwk, payload) {
  const key = await jose.importJWK(jwk.public, 'RSA-OAEP-256');
  const secret = passphrase();
  const encryptedAESKey = await new jose.CompactEncrypt(secret)
    .setProtectedHeader({ zip: 'DEF', enc: 'A128CBC-HS256', alg: 'RSA-OAEP-256', kid: jwk.public.kid })
    .encrypt(key);
  const encryptedPayload = await nodeCrypto({ encryptionKey: secret }).encrypt(payload);
  return packBody(encryptedAESKey, encryptedPayload);
}

async function joseJwe(jwk, payload) {
  const key = await jose.importJWK(jwk.public, 'RSA-OAEP-256');
  return new jose.CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: jwk.public.kid })
    .encrypt(key);
}

const PAYLOADS = [
  ['object', { cluster_uuid: 'abc', stats: { docs: 42, nodes: [1, 2, 3] }, ok: true }],
  ['array', [{ a: 1 }, 'two', null, 3.5]],
  ['unicode string', 'zürich ☃ 東京'],
];

const keys = privateKeys.map((key) => ({ public: publicOf(key), private: key }));
const vectors = [];
for (const [maker, format, make] of [
  ['node-jose 2.2.0', 'legacy', nodeJoseLegacy],
  ['jose 6', 'legacy', joseLegacy],
  ['jose 6', 'jwe', joseJwe],
]) {
  for (const key of keys) {
    for (const [name, payload] of PAYLOADS) {
      vectors.push({ name: `${maker}, ${format}, ${key.public.kid}, ${name}`, maker, format, kid: key.public.kid, alg: 'RSA-OAEP-256', payload, body: await make(key, payload) });
    }
  }
}

const out = {
  producedBy: `scripts/make-key-wrap-vectors.mjs: node-jose ${require('node-jose/package.json').version}, jose ${JSON.parse(readFileSync(join(root, 'node_modules/jose6/package.json'), 'utf8')).version}, @elastic/node-crypto ${require('@elastic/node-crypto/package.json').version}`,
  privateJWKS: { keys: privateKeys },
  publicJWKS: { keys: privateKeys.map(publicOf) },
  vectors,
};
writeFileSync(join(root, 'test/fixtures/key-wrap-v3.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${vectors.length} vectors`);
