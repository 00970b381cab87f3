/**
 * One process of the ceiling row in `bench/scale.js`: a decryptor that unwraps on its own event
 * loop, decrypting one body at a time for as long as its parent asks, with no thread to hand off to.
 */
'use strict';

const path = require('node:path');

const ours = require(path.join(__dirname, '..', 'lib'));
const fixture = require('../test/fixtures/elastic-request-crypto-2.0.3.json');
const { window } = require('./window');

const ready = ours.createRequestDecryptor(fixture.privateJWKS, { unwrapOn: 'event-loop' });

process.on('message', async ({ body, ms }) => {
  const decryptor = await ready;
  process.send(await window(() => decryptor.decrypt(body), 1, ms));
});
