/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 60000,
  // Fails every test file whose process is not in FIPS mode when REQUEST_CRYPTO_EXPECT_FIPS=1.
  setupFiles: ['<rootDir>/test/fips-setup.ts'],
  // A SoftHSM2 configuration for the PKCS#11 tests, in the environment the workers inherit.
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  // The examples, and the README's test of a sender, import the package by name, as users do.
  moduleNameMapper: { '^request-crypto$': '<rootDir>/src', '^request-crypto/(kms|pkcs11|receiver|sender|testing)$': '<rootDir>/src/$1' },
};
