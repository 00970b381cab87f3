/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 60000,
  // Fails every test file whose process is not in FIPS mode when REQUEST_CRYPTO_EXPECT_FIPS=1.
  setupFiles: ['<rootDir>/test/fips-setup.ts'],
  // The examples, and the README's test of a sender, import the package by name, as users do.
  moduleNameMapper: { '^request-crypto$': '<rootDir>/src', '^request-crypto/testing$': '<rootDir>/src/testing' },
};
