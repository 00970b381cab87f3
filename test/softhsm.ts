// A SoftHSM2 token for the PKCS#11 tests: a token initialised with softhsm2-util in a temporary
// token folder, and RSA key pairs generated INSIDE the token (C_GenerateKeyPair, private keys
// sensitive and not extractable), in a child process so that the test process's own PKCS#11 state
// is the library's alone.
//
// SoftHSM must be installed (Debian package softhsm2; .ci/run installs it). The tests that use it
// are the pkcs11 tier (npm run test:pkcs11), never skipped: without SoftHSM2, test/tier-pkcs11.ts
// fails each of their files saying so.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** The SoftHSM2 PKCS#11 library of Debian's package (override with SOFTHSM2_LIBRARY). */
export const SOFTHSM_LIBRARY = process.env['SOFTHSM2_LIBRARY'] ?? '/usr/lib/softhsm/libsofthsm2.so';

/** One key pair to generate on the token. */
export interface TokenKeySpec {
  /** CKA_LABEL of both halves. */
  label: string;
  /** Modulus length (default 2048). */
  bits?: number;
  /** CKA_DECRYPT of the private key (default true). */
  decrypt?: boolean;
  /** Destroy the public key object afterwards, as tokens that keep only private keys do. */
  dropPublic?: boolean;
}

/** A token in a temporary folder. */
export interface SoftHsmToken {
  /** The SOFTHSM2_CONF file whose token folder holds the token. */
  readonly conf: string;
  readonly library: string;
  readonly tokenLabel: string;
  readonly pin: string;
  /** The environment for a child process to find the token. */
  readonly env: NodeJS.ProcessEnv;
  /** Deletes the token. */
  remove(): void;
}

// Runs in a child process: generates the key pairs on the token with pkcs11js, then finalises.
const KEYGEN = `
const js = require('pkcs11js');
const [library, tokenLabel, pin, specsJson] = process.argv.slice(1);
const p = new js.PKCS11();
p.load(library);
p.C_Initialize();
try {
  const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === tokenLabel);
  const session = p.C_OpenSession(slot, js.CKF_SERIAL_SESSION | js.CKF_RW_SESSION);
  p.C_Login(session, js.CKU_USER, pin);
  for (const spec of JSON.parse(specsJson)) {
    const { publicKey } = p.C_GenerateKeyPair(session, { mechanism: js.CKM_RSA_PKCS_KEY_PAIR_GEN }, [
      { type: js.CKA_TOKEN, value: true },
      { type: js.CKA_LABEL, value: spec.label },
      { type: js.CKA_ENCRYPT, value: true },
      { type: js.CKA_MODULUS_BITS, value: spec.bits || 2048 },
      { type: js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
    ], [
      { type: js.CKA_TOKEN, value: true },
      { type: js.CKA_LABEL, value: spec.label },
      { type: js.CKA_PRIVATE, value: true },
      { type: js.CKA_SENSITIVE, value: true },
      { type: js.CKA_EXTRACTABLE, value: false },
      { type: js.CKA_DECRYPT, value: spec.decrypt !== false },
    ]);
    if (spec.dropPublic) p.C_DestroyObject(session, publicKey);
  }
  p.C_Logout(session);
  p.C_CloseSession(session);
} finally {
  p.C_Finalize();
}`;

/**
 * Initialises a token with softhsm2-util and generates `keys` inside it, where SOFTHSM2_CONF
 * points: test/global-setup.ts set it for every jest worker and the processes they start (SoftHSM
 * reads it at C_Initialize; a test cannot set it, see there). Each test file uses its own token
 * label; tokens of other files in the same folder do not matter.
 */
export function createSoftHsmToken(keys: TokenKeySpec[], tokenLabel: string): SoftHsmToken {
  const conf = process.env['SOFTHSM2_CONF'];
  if (conf === undefined) throw new Error('SOFTHSM2_CONF is not set: run the tests with jest, whose globalSetup (test/global-setup.ts) sets it');
  const pin = '246810';
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', '13579111'], { env, stdio: 'pipe' });
  execFileSync(process.execPath, ['-e', KEYGEN, SOFTHSM_LIBRARY, tokenLabel, pin, JSON.stringify(keys)], {
    env,
    cwd: join(__dirname, '..'),
    stdio: 'pipe',
  });
  return {
    conf,
    library: SOFTHSM_LIBRARY,
    tokenLabel,
    pin,
    env,
    remove: () => execFileSync('softhsm2-util', ['--delete-token', '--token', tokenLabel], { env, stdio: 'pipe' }),
  };
}
