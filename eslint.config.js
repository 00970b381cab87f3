// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['lib/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    files: ['src/compat/node-jose.ts', 'src/accelerator/pbkdf2-sha512.ts', 'src/cli/index.ts', 'src/custody/kms-sdk.ts', 'src/custody/pkcs11.ts'],
    // node-jose is loaded on first use so that receivers do not pay for it at cold start;
    // the PBKDF2 accelerator is optional, so it is required at run time from a path known only
    // then; the CLI reads package.json (outside src/, so not importable) only for --version; the kms
    // and pkcs11 entries require their optional peer dependency only when first used.
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly', console: 'readonly', performance: 'readonly', Buffer: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
