// Loaded by jest in every test process (jest.config.js, setupFiles). `.ci/fips/test.sh` sets
// REQUEST_CRYPTO_EXPECT_FIPS=1: then a process that is not in FIPS mode fails every test file it
// runs, instead of passing a "FIPS" run without FIPS.
import { getFips } from 'node:crypto';

if (process.env['REQUEST_CRYPTO_EXPECT_FIPS'] === '1' && getFips() !== 1) {
  throw new Error(
    `REQUEST_CRYPTO_EXPECT_FIPS=1 but crypto.getFips() is ${getFips()} in process ${process.pid} ` +
      `(OPENSSL_CONF=${process.env['OPENSSL_CONF'] ?? 'unset'}, OPENSSL_MODULES=${process.env['OPENSSL_MODULES'] ?? 'unset'})`,
  );
}
