// Loaded by jest in every test file of the accelerator and package tiers (jest.config.js): fails
// each of them, saying so, where the PBKDF2 accelerator is not built. The tiers are never skipped.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const built = join(__dirname, '..', 'native', 'build', 'Release', 'pbkdf2_sha512.node');
if (!existsSync(built)) {
  throw new Error(
    `this tier needs the PBKDF2 accelerator built at ${built}: run \`npm run build:accelerator\` ` +
      '(it needs a C and C++ compiler, make and Python 3; `request-crypto accelerator build` says which is missing). ' +
      '`npm test` runs without it; this tier does not.',
  );
}
