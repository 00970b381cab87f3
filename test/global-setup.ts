// Runs once in jest's parent process, before its workers start (jest.config.js, globalSetup).
//
// SoftHSM reads SOFTHSM2_CONF from the process environment when the PKCS#11 tests load it into a
// jest worker, and a test cannot set that: jest gives each test file a copy of process.env, which
// the C library never sees. So the variable is set here, where the workers inherit it: a
// configuration whose token directory is an empty temporary folder. Making tokens and keys in it
// is left to the tests that use it (test/softhsm.ts), so that other runs pay nothing for it.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function globalSetup(): void {
  const dir = mkdtempSync(join(tmpdir(), 'request-crypto-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env['SOFTHSM2_CONF'] = conf;
  process.env['REQUEST_CRYPTO_TEST_SOFTHSM_DIR'] = dir;
}
