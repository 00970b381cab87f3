// Loaded by jest in every test file of the pkcs11 tier (jest.config.js): fails each of them, saying
// what is missing, where SoftHSM2 or pkcs11js's addon is not there. The tier is never skipped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { SOFTHSM_LIBRARY } from './softhsm';

const missing: string[] = [];
const util = spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' });
if (util.error !== undefined || util.status !== 0) missing.push('softhsm2-util on the PATH');
if (!existsSync(SOFTHSM_LIBRARY)) missing.push(`the SoftHSM2 library ${SOFTHSM_LIBRARY} (set SOFTHSM2_LIBRARY to move it)`);
try {
  require.resolve('pkcs11js/build/Release/pkcs11.node');
} catch {
  missing.push('pkcs11js with its addon (npm run setup:pkcs11; it needs a C++ compiler)');
}
if (missing.length > 0) {
  throw new Error(
    `the pkcs11 tier needs SoftHSM2 (Debian: apt-get install softhsm2) and pkcs11js built; missing: ${missing.join('; ')}. ` +
      '`npm test` runs without them; this tier does not.',
  );
}
