#!/usr/bin/env node
/**
 * Two builds of this package against each other and against jose 6, in one process:
 *
 *   cp -r lib /tmp/before        # the build to compare with, before a change
 *   npm run build                # the build with the change
 *   node bench/compare-builds.js /tmp/before lib [rounds]
 *
 * It decrypts one 10 KB `'jwe'` body (the tight row of `npm run bench`) with 32 in flight, in
 * 600 ms windows that rotate among the three (the order reversed every other round), and prints
 * the median ops/s of each and each build's ratio to jose. A change of a few per cent is lost in
 * the noise between two bench runs minutes apart; side by side in one process it shows.
 * `SIZE` (bytes of payload) and `INFLIGHT` change the case.
 */
'use strict';
/* global TextDecoder */

const { generateKeyPairSync } = require('node:crypto');
const path = require('node:path');

const { payloadOf } = require('./payload');
const { window } = require('./window');

const [before, after, roundsArg] = process.argv.slice(2);
if (before === undefined || after === undefined) {
  console.error('usage: node bench/compare-builds.js <lib dir before> <lib dir after> [rounds]');
  process.exit(2);
}
const builds = { before: require(path.resolve(before)), after: require(path.resolve(after)) };
const rounds = Number(roundsArg ?? 16);
const size = Number(process.env.SIZE ?? 10 * 1024);
const inflight = Number(process.env.INFLIGHT ?? 32);

/** Calls of `fn` per second, `inflight` kept pending for `ms`. */
const rate = async (fn, ms) => (await window(fn, inflight, ms)).opsPerSec;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  const jose = await import('jose6');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'k', use: 'enc', alg: 'RSA-OAEP' };
  const joseKey = await jose.importJWK(jwk, 'RSA-OAEP');
  const encryptor = await builds.after.createRequestEncryptor({ keys: [jwk] });
  const body = await encryptor.encrypt('k', payloadOf(size), { format: 'jwe' });
  const decoder = new TextDecoder();
  const fns = {
    jose: async () => JSON.parse(decoder.decode((await jose.compactDecrypt(body, joseKey)).plaintext)),
  };
  for (const [name, build] of Object.entries(builds)) {
    const decryptor = await build.createRequestDecryptor({ keys: [jwk] });
    fns[name] = () => decryptor.decrypt(body);
  }
  const names = Object.keys(fns);
  const ops = Object.fromEntries(names.map((name) => [name, []]));
  for (const name of names) await rate(fns[name], 200); // warm up
  for (let round = 0; round < rounds; round += 1) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) ops[name].push(await rate(fns[name], 600));
  }
  const joseOps = median(ops.jose);
  console.log(`${size} B payload, ${inflight} in flight, ${rounds} rounds: jose 6 ${joseOps.toFixed(0)}/s`);
  for (const name of ['before', 'after']) {
    const mine = median(ops[name]);
    console.log(`  ${name.padEnd(6)} ${mine.toFixed(0)}/s, ${(mine / joseOps).toFixed(3)}× jose`);
  }
  console.log(`  after / before: ${(median(ops.after) / median(ops.before)).toFixed(3)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
