/**
 * The process that holds a PKCS#11 token's sessions for `request-crypto/pkcs11`.
 *
 * A token's calls block the thread that makes them, for as long as the token takes, and cannot be
 * cancelled: on libuv's shared pool a slow token starves `fs`, `dns` and `crypto.pbkdf2`; on the
 * event loop it freezes the process; on a worker thread it still holds process exit (Node joins
 * its threads before it exits). In a child process of its own it holds nothing of the receiver's:
 * the receiver gives each body a deadline, kills the process on `close()` past it, and exits
 * without waiting for it. So the sessions, the login, reconnecting and every `C_Decrypt` live
 * here, and the receiver talks to it over Node's IPC channel.
 *
 * The script is plain JavaScript run with `node -e`, so that it needs no file of its own beside a
 * bundle; its one argument is the path of the pkcs11js module to load.
 *
 * @packageDocumentation
 */
import type { WrapAlgorithm } from '../core/algorithms';

/** The first message to the process: where the token and its keys are. */
export interface TokenProcessStart {
  readonly type: 'start';
  /** Real path of the PKCS#11 library. */
  readonly library: string;
  readonly tokenLabel: string;
  readonly pin: string;
  /** Each kid and the CKA_LABEL of its key pair. */
  readonly keyLabels: ReadonlyArray<readonly [string, string]>;
  readonly sessions: number;
}

/** One wrapped key to decrypt; `deadline` (ms since the epoch) past which it is not started. */
export interface TokenProcessJob {
  readonly type: 'decrypt';
  readonly id: number;
  readonly kid: string;
  readonly alg: WrapAlgorithm;
  /** The wrapped key, base64. */
  readonly key: string;
  readonly deadline: number;
}

/** What the process answers. */
export type TokenProcessMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly ckr?: string }
  | { readonly type: 'result'; readonly id: number; readonly key: string }
  | { readonly type: 'result'; readonly id: number; readonly outage: boolean; readonly ckr?: string };

/**
 * The process's code. Session and device failures (the token dropped the session or the login,
 * is gone or failing: see `OUTAGE` below) get one more try on a new, logged-in session, and are
 * then answered as an outage; any other failure (`CKR_ENCRYPTED_DATA_INVALID`,
 * `CKR_ENCRYPTED_DATA_LEN_RANGE`, `CKR_ARGUMENTS_BAD`, …) is a refusal of the ciphertext.
 */
export const TOKEN_PROCESS_SCRIPT = String.raw`'use strict';
const js = require(process.argv[1]);
const OUTAGE = new Set([
  'CKR_HOST_MEMORY', 'CKR_DEVICE_ERROR', 'CKR_DEVICE_MEMORY', 'CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED', 'CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED', 'CKR_SESSION_COUNT',
  'CKR_USER_NOT_LOGGED_IN', 'CKR_CRYPTOKI_NOT_INITIALIZED', 'CKR_FUNCTION_CANCELED', 'CKR_OPERATION_ACTIVE',
  'CKR_KEY_HANDLE_INVALID', 'CKR_OBJECT_HANDLE_INVALID',
].map((name) => js[name]).filter((code) => typeof code === 'number'));
const codeOf = (err) => (err !== null && typeof err === 'object' && typeof err.code === 'number' ? err.code : undefined);
const ckrOf = (err) => (err instanceof Error && /^CKR_[A-Z0-9_]+$/.test(err.message) ? err.message : undefined);
const send = (message) => { try { process.send(message); } catch {} };
let p, config, slot, ownsInitialize = false;
const sessions = [];
const keys = new Map();
const idle = [];
const queue = [];
const trimLabel = (label) => label.replace(/[ \0]+$/, '');

function openSession() {
  slot = p.C_GetSlotList(true).find((s) => trimLabel(p.C_GetTokenInfo(s).label) === config.tokenLabel);
  if (slot === undefined) throw Object.assign(new Error('CKR_TOKEN_NOT_PRESENT'), { code: js.CKR_TOKEN_NOT_PRESENT });
  const session = p.C_OpenSession(slot, js.CKF_SERIAL_SESSION);
  try {
    p.C_Login(session, js.CKU_USER, config.pin);
  } catch (err) {
    if (codeOf(err) !== js.CKR_USER_ALREADY_LOGGED_IN) { closeSession(session); throw err; }
  }
  return session;
}
function closeSession(session) { try { p.C_CloseSession(session); } catch {} }
function findKey(session, label) {
  p.C_FindObjectsInit(session, [
    { type: js.CKA_CLASS, value: js.CKO_PRIVATE_KEY },
    { type: js.CKA_KEY_TYPE, value: js.CKK_RSA },
    { type: js.CKA_LABEL, value: label },
  ]);
  let found;
  try { found = p.C_FindObjects(session, 2); } finally { p.C_FindObjectsFinal(session); }
  if (found.length !== 1) throw Object.assign(new Error('CKR_KEY_HANDLE_INVALID'), { code: js.CKR_KEY_HANDLE_INVALID });
  const [modulus] = p.C_GetAttributeValue(session, found[0], [{ type: js.CKA_MODULUS }]);
  const first = modulus.value.findIndex((byte) => byte !== 0);
  return { handle: found[0], modulusBytes: first < 0 ? 0 : modulus.value.length - first };
}
function reopen(index) {
  const old = sessions[index];
  sessions[index] = undefined;
  if (old !== undefined) closeSession(old);
  const session = openSession();
  sessions[index] = session;
  for (const [kid, label] of config.keyLabels) keys.set(kid, findKey(session, label));
  return session;
}
function mechanism(alg) {
  const sha256 = alg === 'RSA-OAEP-256';
  return {
    mechanism: js.CKM_RSA_PKCS_OAEP,
    parameter: { type: js.CK_PARAMS_RSA_OAEP, hashAlg: sha256 ? js.CKM_SHA256 : js.CKM_SHA_1, mgf: sha256 ? js.CKG_MGF1_SHA256 : js.CKG_MGF1_SHA1, source: 1 },
  };
}
async function decryptOn(index, job) {
  const session = sessions[index] === undefined ? reopen(index) : sessions[index];
  const key = keys.get(job.kid);
  p.C_DecryptInit(session, mechanism(job.alg), key.handle);
  return p.C_DecryptAsync(session, Buffer.from(job.key, 'base64'), Buffer.alloc(key.modulusBytes));
}
async function run(index, job) {
  try {
    let plain;
    try {
      plain = await decryptOn(index, job);
    } catch (err) {
      if (!OUTAGE.has(codeOf(err))) throw err;
      reopen(index);
      plain = await decryptOn(index, job);
    }
    send({ type: 'result', id: job.id, key: Buffer.from(plain).toString('base64') });
  } catch (err) {
    // An error of no token (no code: this script's own) is no verdict on the ciphertext either.
    const outage = OUTAGE.has(codeOf(err)) || codeOf(err) === undefined;
    send({ type: 'result', id: job.id, outage, ckr: ckrOf(err) });
  }
}
function next() {
  while (idle.length > 0 && queue.length > 0) {
    const job = queue.shift();
    if (Date.now() > job.deadline) continue; // already answered by the receiver as an outage
    const index = idle.pop();
    run(index, job).finally(() => { idle.push(index); next(); });
  }
}
function shutdown() {
  for (const session of sessions) if (session !== undefined) closeSession(session);
  try { if (ownsInitialize) p.C_Finalize(); } catch {}
  process.exit(0);
}
process.on('disconnect', shutdown);
process.on('message', (message) => {
  if (message.type === 'start') {
    config = message;
    try {
      p = new js.PKCS11();
      p.load(config.library);
      try { p.C_Initialize({ flags: js.CKF_OS_LOCKING_OK }); ownsInitialize = true; } catch (err) {
        if (codeOf(err) !== js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw err;
      }
      for (let i = 0; i < config.sessions; i += 1) { sessions.push(openSession()); idle.push(i); }
      for (const [kid, label] of config.keyLabels) keys.set(kid, findKey(sessions[0], label));
    } catch (err) {
      send({ type: 'failed', ckr: ckrOf(err) });
      setImmediate(shutdown);
      return;
    }
    send({ type: 'ready' });
    next();
  } else if (message.type === 'decrypt') {
    queue.push(message);
    if (p !== undefined) next();
  } else if (message.type === 'close') {
    shutdown();
  }
});
`;
