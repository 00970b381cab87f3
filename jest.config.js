/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 60000,
  // The examples import the package by name, as users do.
  moduleNameMapper: { '^request-crypto$': '<rootDir>/src' },
};
