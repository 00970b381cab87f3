#!/usr/bin/env node
// The package's install step: builds the optional PBKDF2 accelerator (native/pbkdf2_sha512.c).
// It never fails the install: without a compiler the package works the same, on crypto.pbkdf2,
// only slower. REQUEST_CRYPTO_NATIVE=0 skips the build (and, at run time, the accelerator).
'use strict';
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

if (process.env.REQUEST_CRYPTO_NATIVE === '0') {
  console.log('request-crypto: REQUEST_CRYPTO_NATIVE=0, not building the PBKDF2 accelerator');
  process.exit(0);
}

// npm runs install scripts with npm_config_node_gyp set to its bundled node-gyp.
const nodeGyp = process.env.npm_config_node_gyp;
const [command, args] = nodeGyp ? [process.execPath, [nodeGyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const result = spawnSync(command, args, { cwd: join(__dirname, '..'), stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });

if (result.status === 0) {
  console.log('request-crypto: built the PBKDF2 accelerator');
} else {
  const reason = result.error ? result.error.message : (result.stderr || '').trim().split('\n').slice(-3).join(' | ');
  console.warn(`request-crypto: PBKDF2 accelerator not built, using crypto.pbkdf2 (${reason})`);
}
