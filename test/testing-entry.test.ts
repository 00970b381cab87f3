import { join } from 'node:path';

// No import of request-crypto/testing here: this file checks what loading the root brings in.

describe('request-crypto/testing, a separate entry', () => {
  it('is never loaded by the root entry', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const root = require('../src') as Record<string, unknown>;
    const loaded = Object.keys(require.cache);
    expect(loaded).toContain(join(__dirname, '..', 'src', 'index.ts')); // the check sees what the root loaded
    expect(loaded.filter((path) => path.endsWith(join('src', 'testing.ts')))).toEqual([]);
    expect(root).not.toHaveProperty('createTestKeyset');
  });
});
