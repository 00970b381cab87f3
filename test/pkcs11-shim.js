// A pkcs11js that records and slows down, for the PKCS#11 tests, given to the token process
// through createPkcs11KeyUnwrapper's pkcs11Module option (which serves callers with a pkcs11js of
// their own). It is the real pkcs11js with these changes, read per call from two files named by
// the environment the token process inherits:
// - PKCS11_SHIM_LOG: every C_DecryptInit (its mechanism) and the start and end of every
//   C_DecryptAsync are appended there as JSON lines, with the session and the process id;
// - PKCS11_SHIM_CONTROL: a JSON object; `decryptDelayMs` makes each C_DecryptAsync answer that
//   late (the token is slow); `blockMs` blocks the calling thread that long in C_DecryptInit and
//   C_Login, as a stalled token blocks a native call; `dropSessions` (any new value) closes every
//   session of the token once before the next C_DecryptInit, as a restarted HSM does; `failWith`
//   (a CKR name) makes every C_DecryptInit throw that error, as pkcs11js throws a token's.
const fs = require('node:fs');
const { setTimeout: sleep } = require('node:timers/promises');
const actual = require('pkcs11js');

const control = () => {
  try {
    return JSON.parse(fs.readFileSync(process.env.PKCS11_SHIM_CONTROL || '', 'utf8'));
  } catch {
    return {};
  }
};
const log = (entry) => {
  if (process.env.PKCS11_SHIM_LOG) fs.appendFileSync(process.env.PKCS11_SHIM_LOG, `${JSON.stringify({ ...entry, pid: process.pid })}\n`);
};
// Blocks this thread, as a native call into a stalled token does.
const block = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const dropped = new Set();

class ShimPKCS11 extends actual.PKCS11 {
  constructor(...args) {
    super(...args);
    const decryptInit = this.C_DecryptInit.bind(this);
    const decryptAsync = this.C_DecryptAsync.bind(this);
    const login = this.C_Login.bind(this);
    this.C_DecryptInit = (session, mechanism, key) => {
      const { blockMs, dropSessions } = control();
      if (dropSessions !== undefined && !dropped.has(dropSessions)) {
        dropped.add(dropSessions);
        this.C_CloseAllSessions(this.C_GetSessionInfo(session).slotID);
      }
      if (blockMs) block(blockMs);
      log({ op: 'init', session: session.toString('hex'), mechanism });
      const { failWith } = control();
      if (failWith) throw Object.assign(new Error(failWith), { code: actual[failWith] });
      return decryptInit(session, mechanism, key);
    };
    this.C_DecryptAsync = async (session, input, output) => {
      const id = session.toString('hex');
      log({ op: 'start', session: id });
      try {
        const { decryptDelayMs } = control();
        if (decryptDelayMs) await sleep(decryptDelayMs);
        return await decryptAsync(session, input, output);
      } finally {
        log({ op: 'end', session: id });
      }
    };
    this.C_Login = (...loginArgs) => {
      const { blockMs } = control();
      if (blockMs) block(blockMs);
      return login(...loginArgs);
    };
  }
}

module.exports = { ...actual, PKCS11: ShimPKCS11 };
