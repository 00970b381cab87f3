// Runs once in jest's parent process after every test file: removes what test/global-setup.ts made.
import { rmSync } from 'node:fs';

export default function globalTeardown(): void {
  const dir = process.env['REQUEST_CRYPTO_TEST_SOFTHSM_DIR'];
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}
