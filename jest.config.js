/**
 * The suite in tiers, one jest project each (`npx jest` runs them all; `--selectProjects` one):
 *
 * - unit: everything below that needs only Node and npm. `npm test` runs it.
 * - pkcs11: needs SoftHSM2 (Debian's softhsm2) and pkcs11js's addon. `npm run test:pkcs11`.
 * - accelerator: needs the PBKDF2 accelerator built (a C and C++ compiler, make, Python 3).
 *   `npm run test:accelerator` builds it first.
 * - package: packs and installs the package, bundles the entries with esbuild, and builds the
 *   accelerator in an install, so it needs npm and the same tools. `npm run test:package`.
 *
 * A tier whose needs are missing is never skipped: its setup file (test/tier-*.ts) fails each of
 * its test files saying what is missing. `.ci/run` runs every tier.
 *
 * @type {import('jest').Config}
 */
const TIERS = {
  pkcs11: { files: ['pkcs11.test.ts', 'custody-cli-pkcs11.test.ts'], setup: ['tier-pkcs11.ts'] },
  accelerator: { files: ['accelerator.test.ts', 'accelerator-cli.test.ts', 'pbkdf2-sha512.test.ts'], setup: ['tier-accelerator.ts'] },
  package: { files: ['package.test.ts', 'bundle.test.ts'], setup: ['tier-accelerator.ts'] },
};

const literal = (name) => name.replace(/[.]/g, '\\.');

const project = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // Fails every test file whose process is not in FIPS mode when REQUEST_CRYPTO_EXPECT_FIPS=1.
  setupFiles: ['<rootDir>/test/fips-setup.ts'],
  // The examples, and docs/testing.md's test of a sender, import the package by name, as users do.
  moduleNameMapper: { '^request-crypto$': '<rootDir>/src', '^request-crypto/(kms|pkcs11|receiver|sender|testing)$': '<rootDir>/src/$1' },
};

module.exports = {
  testTimeout: 60000,
  // A SoftHSM2 configuration for the PKCS#11 tests, in the environment the workers inherit.
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  projects: [
    {
      ...project,
      displayName: 'unit',
      testMatch: ['**/test/*.test.ts'],
      testPathIgnorePatterns: Object.values(TIERS).flatMap(({ files }) => files.map((file) => `/test/${literal(file)}$`)),
    },
    ...Object.entries(TIERS).map(([name, { files, setup }]) => ({
      ...project,
      displayName: name,
      testMatch: files.map((file) => `**/test/${file}`),
      setupFiles: [...project.setupFiles, ...setup.map((file) => `<rootDir>/test/${file}`)],
    })),
  ],
};
