/**
 * What `request-crypto/pkcs11` holds (see that entry, src/pkcs11.ts, for how to use it).
 *
 * @packageDocumentation
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';


import { InvalidArgumentError, KeyServiceUnavailableError } from '../core/errors';
import { isMissingModule, kidMap, missingPeer, rsaPublicJwk, wrapAlgorithmOption } from './options';
import { isWrapAlgorithm, type WrapAlgorithm } from '../core/algorithms';
import { TOKEN_PROCESS_SCRIPT, type TokenProcessJob, type TokenProcessMessage, type TokenProcessStart } from './pkcs11-process';
import type { Pkcs11Library, Pkcs11Module } from './pkcs11-api';
import type { UnwrapKey, UnwrapKeyRequest } from '../keys/unwrap';
import type { PublicJWKS } from '../core/types';

export type { UnwrapKey, UnwrapKeyRequest } from '../keys/unwrap';
export type { WrapAlgorithm } from '../core/algorithms';

type Handle = Buffer;

/** Sessions a {@link createPkcs11KeyUnwrapper} opens unless told otherwise. */
export const DEFAULT_PKCS11_SESSIONS = 4;
/**
 * Milliseconds one body's unwrap may take unless told otherwise (`timeoutMs`): an HSM answers an
 * RSA decryption in milliseconds; a body waiting longer is better answered as retryable.
 */
export const DEFAULT_PKCS11_TIMEOUT_MS = 5000;

/** Where a token and its keys are. */
export interface Pkcs11TokenOptions {
  /** Path of the token's PKCS#11 library (`.so`, `.dylib`, `.dll`). */
  library: string;
  /** The label of the token (`CKA_LABEL` of the token, as `softhsm2-util --show-slots` shows it). */
  tokenLabel: string;
  /** Each kid, mapped to the `CKA_LABEL` of its RSA key pair on the token. */
  keyLabels: Readonly<Record<string, string>>;
}

/** Options of {@link createPkcs11KeyUnwrapper}. */
export interface Pkcs11KeyUnwrapperOptions extends Pkcs11TokenOptions {
  /**
   * The user PIN (`CKU_USER`). Read it from a secret store or the environment, never from code.
   * It is kept in memory to log in again if the token drops the sessions (a restarted HSM), and it
   * never appears in an error.
   */
  pin: string;
  /**
   * How many sessions to open, used one operation at a time each (a PKCS#11 session runs one
   * operation at a time): at most this many bodies are unwrapped at once, the rest wait.
   * Default {@link DEFAULT_PKCS11_SESSIONS}.
   */
  sessions?: number;
  /**
   * The deadline of one body's unwrap, in milliseconds, waiting for a free session included
   * (default {@link DEFAULT_PKCS11_TIMEOUT_MS}). A body the token has not answered by then is
   * `ERR_KEY_SERVICE_UNAVAILABLE`; `close()` waits at most this long for the token too.
   */
  timeoutMs?: number;
  /**
   * Path of the pkcs11js module the token process loads (default: `pkcs11js`, as this package
   * resolves it), for a bundle that ships pkcs11js beside it, a patched build, or a wrapper that
   * logs or meters the calls. It must export what pkcs11js does.
   */
  pkcs11Module?: string;
  /**
   * Called with the token's error whenever an unwrap fails, for your logs. The decryptor reports
   * a refusal of the ciphertext (`CKR_ENCRYPTED_DATA_INVALID`…) as `ERR_DECRYPTION_FAILED`, like
   * any forged body, and an outage (the deadline, a session or device failure after one retry)
   * as `ERR_KEY_SERVICE_UNAVAILABLE`.
   */
  onError?: (error: unknown, request: { kid: string; alg: WrapAlgorithm; keyLabel: string }) => void;
}

/** Options of {@link pkcs11PublicJWKS}. */
export interface Pkcs11PublicJwksOptions extends Pkcs11TokenOptions {
  /**
   * The user PIN, if the token shows its public keys only after a login (or has no public key
   * objects, so the modulus is read from the private key objects).
   */
  pin?: string;
  /**
   * The key-wrapping algorithm every key of the set declares: `RSA-OAEP` (the default) or
   * `RSA-OAEP-256` (the token must support OAEP with SHA-256; SoftHSM 2.6 does not).
   */
  alg?: WrapAlgorithm;
}

/** An {@link UnwrapKey} on a PKCS#11 token, with the sessions it holds. */
export interface Pkcs11KeyUnwrapper extends UnwrapKey {
  /**
   * Lets the bodies being unwrapped finish (each within its deadline), then closes the sessions
   * and ends the token process, killing it if it has not ended within `timeoutMs`. Later calls
   * reject.
   */
  close(): Promise<void>;
}

// --- The library, loaded once per process and shared -------------------------------------------

let loaded: Pkcs11Module | undefined;

function pkcs11js(): Pkcs11Module {
  if (loaded !== undefined) return loaded;
  try {
    loaded = require('pkcs11js') as Pkcs11Module;
  } catch (err) {
    if (isMissingModule(err, 'pkcs11js')) throw missingPeer('request-crypto/pkcs11', 'pkcs11js');
    throw err;
  }
  return loaded;
}

/** The module `pkcs11Module` names. */
function loadPkcs11Module(path: string): Pkcs11Module {
  try {
    // A path known only at run time, as the option names it.
    return require(path) as Pkcs11Module;
  } catch {
    throw new InvalidArgumentError(`PKCS#11: the module ${path} could not be loaded`);
  }
}

/** The path of pkcs11js as this package resolves it, for the token process to load. */
function pkcs11jsPath(): string {
  pkcs11js(); // the same message when it is not installed
  return require.resolve('pkcs11js');
}

/** A loaded PKCS#11 library, shared by every user in this process. */
interface Library {
  readonly js: Pkcs11Module;
  readonly pkcs11: Pkcs11Library;
  readonly path: string;
  users: number;
  /** False when something else in the process had initialised it: then that finalises it. */
  readonly ownsInitialize: boolean;
}

// C_Initialize and C_Finalize act on the whole process: two users of one library must share it.
const libraries = new Map<string, Library>();

/** The `CKR_…` name of a pkcs11js error, or nothing: other messages are not shown. */
function ckrOf(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : '';
  return /^CKR_[A-Z0-9_]+$/.test(message) ? message : undefined;
}

function failed(what: string, err: unknown): InvalidArgumentError {
  const ckr = ckrOf(err);
  return new InvalidArgumentError(`PKCS#11: ${what} failed${ckr === undefined ? '' : ` (${ckr})`}`);
}

function codeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function openLibrary(path: string, js: Pkcs11Module = pkcs11js()): Library {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new InvalidArgumentError(`PKCS#11: no library at ${path}`);
  }
  const known = libraries.get(real);
  if (known !== undefined) {
    known.users += 1;
    return known;
  }
  const pkcs11 = new js.PKCS11();
  try {
    pkcs11.load(real);
  } catch (err) {
    throw failed(`loading the library ${path}`, err);
  }
  let ownsInitialize = true;
  try {
    // pkcs11js runs C_Decrypt on libuv's worker threads: the library must lock for itself.
    pkcs11.C_Initialize({ flags: js.CKF_OS_LOCKING_OK });
  } catch (err) {
    if (codeOf(err) !== js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      pkcs11.close();
      throw failed(`C_Initialize of ${path}`, err);
    }
    ownsInitialize = false;
  }
  const library: Library = { js, pkcs11, path: real, users: 1, ownsInitialize };
  libraries.set(real, library);
  return library;
}

function releaseLibrary(library: Library): void {
  library.users -= 1;
  if (library.users > 0) return;
  libraries.delete(library.path);
  try {
    if (library.ownsInitialize) library.pkcs11.C_Finalize();
  } finally {
    library.pkcs11.close();
  }
}

// --- Tokens, sessions, objects -------------------------------------------------------------------

/** A PKCS#11 label is blank-padded to 32 bytes; some tokens pad with NULs. */
const trimLabel = (label: string): string => label.replace(/[ \0]+$/, '');

function findSlot(library: Library, tokenLabel: string): Handle {
  const { pkcs11 } = library;
  let slots: Handle[];
  try {
    slots = pkcs11.C_GetSlotList(true).filter((slot) => trimLabel(pkcs11.C_GetTokenInfo(slot).label) === tokenLabel);
  } catch (err) {
    throw failed('listing the tokens', err);
  }
  if (slots.length === 0) throw new InvalidArgumentError(`PKCS#11: no token labelled ${JSON.stringify(tokenLabel)}`);
  if (slots.length > 1) throw new InvalidArgumentError(`PKCS#11: more than one token is labelled ${JSON.stringify(tokenLabel)}`);
  return slots[0]!;
}

/** Opens a read-only session on the token and, with a PIN, logs the user in. */
function openSession(library: Library, tokenLabel: string, pin: string | undefined): Handle {
  const { pkcs11, js } = library;
  const slot = findSlot(library, tokenLabel);
  let session: Handle;
  try {
    session = pkcs11.C_OpenSession(slot, js.CKF_SERIAL_SESSION);
  } catch (err) {
    throw failed(`opening a session on token ${JSON.stringify(tokenLabel)}`, err);
  }
  if (pin === undefined) return session;
  try {
    pkcs11.C_Login(session, js.CKU_USER, pin);
  } catch (err) {
    // The login state belongs to the application, not the session: another session may hold it.
    if (codeOf(err) !== js.CKR_USER_ALREADY_LOGGED_IN) {
      closeSession(library, session);
      throw failed(`logging in to token ${JSON.stringify(tokenLabel)}`, err);
    }
  }
  return session;
}

function closeSession(library: Library, session: Handle): void {
  try {
    library.pkcs11.C_CloseSession(session);
  } catch {
    // Already gone with the token: nothing left to close.
  }
}

/** The handles of the RSA objects of one class with this label (at most two: enough to see a duplicate). */
function findRsaObjects(library: Library, session: Handle, objectClass: number, label: string): Handle[] {
  const { pkcs11, js } = library;
  pkcs11.C_FindObjectsInit(session, [
    { type: js.CKA_CLASS, value: objectClass },
    { type: js.CKA_KEY_TYPE, value: js.CKK_RSA },
    { type: js.CKA_LABEL, value: label },
  ]);
  try {
    return pkcs11.C_FindObjects(session, 2);
  } finally {
    pkcs11.C_FindObjectsFinal(session);
  }
}

function attribute(library: Library, session: Handle, object: Handle, type: number): Buffer {
  const [result] = library.pkcs11.C_GetAttributeValue(session, object, [{ type }]);
  if (result === undefined || !Buffer.isBuffer(result.value)) throw new InvalidArgumentError('PKCS#11: the token gave no attribute value');
  return result.value;
}

/** A private key on the token, ready for C_DecryptInit. */
interface TokenKey {
  readonly label: string;
  handle: Handle;
  /** Length of the modulus, in bytes: of every wrapped key, and of the output buffer. */
  readonly modulusBytes: number;
}

function findPrivateKey(library: Library, session: Handle, kid: string, label: string): TokenKey {
  const where = `the private key labelled ${JSON.stringify(label)} (kid ${JSON.stringify(kid)})`;
  let found: Handle[];
  try {
    found = findRsaObjects(library, session, library.js.CKO_PRIVATE_KEY, label);
  } catch (err) {
    throw failed(`finding ${where}`, err);
  }
  if (found.length === 0) throw new InvalidArgumentError(`PKCS#11: the token has no RSA private key labelled ${JSON.stringify(label)} (kid ${JSON.stringify(kid)})`);
  if (found.length > 1) throw new InvalidArgumentError(`PKCS#11: the token has more than one RSA private key labelled ${JSON.stringify(label)}`);
  const handle = found[0]!;
  let canDecrypt: Buffer;
  let modulus: Buffer;
  try {
    canDecrypt = attribute(library, session, handle, library.js.CKA_DECRYPT);
    modulus = attribute(library, session, handle, library.js.CKA_MODULUS);
  } catch (err) {
    throw failed(`reading ${where}`, err);
  }
  if (canDecrypt[0] !== 1) throw new InvalidArgumentError(`PKCS#11: ${where} cannot decrypt (CKA_DECRYPT is false)`);
  const first = modulus.findIndex((byte) => byte !== 0);
  return { label, handle, modulusBytes: first < 0 ? 0 : modulus.length - first };
}

function checkTokenOptions(options: unknown): asserts options is Pkcs11TokenOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('invalid argument: options must be an object');
  const { library, tokenLabel } = options as Record<string, unknown>;
  if (typeof library !== 'string' || library.length === 0) throw new InvalidArgumentError('invalid argument: library must be the path of a PKCS#11 library');
  if (typeof tokenLabel !== 'string' || tokenLabel.length === 0) throw new InvalidArgumentError('invalid argument: tokenLabel must be a non-empty string');
}

function checkPin(pin: unknown): string {
  if (typeof pin !== 'string' || pin.length === 0) throw new InvalidArgumentError('invalid argument: pin must be a non-empty string');
  return pin;
}

// --- The unwrapper ------------------------------------------------------------------------------

/** The processes of open unwrappers: killed if this process exits before they end. */
const tokenProcesses = new Set<ChildProcess>();
let exitHookSet = false;
function killOnExit(child: ChildProcess): void {
  tokenProcesses.add(child);
  if (exitHookSet) return;
  exitHookSet = true;
  // 'exit' listeners run synchronously as the process ends: a kill is all there is time for.
  process.on('exit', () => {
    for (const process of tokenProcesses) process.kill('SIGKILL');
  });
}

/**
 * An `unwrapKey` for `createRequestDecryptor` that has a PKCS#11 token decrypt each body's
 * wrapped key with `CKM_RSA_PKCS_OAEP` (hash and MGF1 matching the body's `alg`), using the RSA
 * private key whose `CKA_LABEL` is `keyLabels[kid]`. The private key never leaves the token.
 *
 * Before it returns it loads the library, finds the token by label, logs in as `CKU_USER` and
 * finds every key: a wrong path, label, PIN or key throws `InvalidArgumentError` here, never per
 * body. Then the sessions (`sessions` of them, one operation at a time each), the login and every
 * decryption move to a child process of their own, so a slow or stalled token holds no thread of
 * this process: not libuv's pool, not the event loop, not its exit.
 *
 * The function it returns rejects for a kid not in `keyLabels` and whenever the token refuses the
 * ciphertext; the decryptor turns those into `ERR_DECRYPTION_FAILED`. A body not answered within
 * `timeoutMs`, or failing for its session or the device after one more try on a new, logged-in
 * session (a restarted HSM), rejects with `KeyServiceUnavailableError`. Call `close()` on shutdown.
 */
export function createPkcs11KeyUnwrapper(options: Pkcs11KeyUnwrapperOptions): Pkcs11KeyUnwrapper {
  checkTokenOptions(options);
  const pin = checkPin(options.pin);
  const { tokenLabel, onError } = options;
  const labels = kidMap('keyLabels', options.keyLabels);
  const size = options.sessions ?? DEFAULT_PKCS11_SESSIONS;
  if (!Number.isInteger(size) || size < 1 || size > 64) throw new InvalidArgumentError('invalid argument: sessions must be an integer from 1 to 64');
  if (onError !== undefined && typeof onError !== 'function') throw new InvalidArgumentError('invalid argument: onError must be a function');
  const timeoutMs = options.timeoutMs ?? DEFAULT_PKCS11_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
    throw new InvalidArgumentError('invalid argument: timeoutMs must be an integer from 1 to 600000');
  }
  const given = options.pkcs11Module;
  if (given !== undefined && (typeof given !== 'string' || given.length === 0)) throw new InvalidArgumentError('invalid argument: pkcs11Module must be a path');
  const modulePath = given ?? pkcs11jsPath();

  // Everything a body needs is checked here, once, in this process: the errors are thrown now.
  const library = openLibrary(options.library, given === undefined ? undefined : loadPkcs11Module(given));
  const keys = new Map<string, TokenKey>();
  let session: Handle | undefined;
  try {
    session = openSession(library, tokenLabel, pin);
    for (const [kid, label] of labels) keys.set(kid, findPrivateKey(library, session, kid, label));
  } finally {
    if (session !== undefined) closeSession(library, session);
    releaseLibrary(library);
  }

  const start: TokenProcessStart = { type: 'start', library: library.path, tokenLabel, pin, keyLabels: [...labels], sessions: size };
  interface Pending {
    readonly resolve: (key: Uint8Array) => void;
    readonly reject: (err: unknown) => void;
    readonly timer: NodeJS.Timeout;
    readonly request: { kid: string; alg: WrapAlgorithm; keyLabel: string };
  }
  const pending = new Map<number, Pending>();
  let child: ChildProcess | undefined;
  let nextId = 0;
  let closing: Promise<void> | undefined;
  let drained: () => void = () => undefined;

  function settle(id: number, outcome: { key: Uint8Array } | { error: unknown; unavailable: boolean }): void {
    const job = pending.get(id);
    if (job === undefined) return; // answered already, by its deadline
    pending.delete(id);
    clearTimeout(job.timer);
    if ('key' in outcome) {
      job.resolve(outcome.key);
    } else {
      onError?.(outcome.error, job.request);
      job.reject(outcome.unavailable ? new KeyServiceUnavailableError() : outcome.error);
    }
    if (pending.size === 0) drained();
  }

  function failAll(why: string): void {
    for (const id of [...pending.keys()]) settle(id, { error: new Error(why), unavailable: true });
  }

  /** The token process, started (again, after it ended) when a body needs it. */
  function tokenProcess(): ChildProcess {
    if (child !== undefined) return child;
    const started = spawn(process.execPath, ['-e', TOKEN_PROCESS_SCRIPT, modulePath], {
      // Its own thread pool: as many threads as sessions, so every session can be in a call at once.
      env: { ...process.env, UV_THREADPOOL_SIZE: String(size) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'json',
    });
    child = started;
    killOnExit(started);
    started.on('message', (message: TokenProcessMessage) => {
      if (message.type === 'result') {
        if ('key' in message) settle(message.id, { key: Buffer.from(message.key, 'base64') });
        else settle(message.id, { error: new Error(message.ckr ?? 'the token refused'), unavailable: message.outage });
      } else if (message.type === 'failed') {
        failAll(`the token process could not open its sessions${message.ckr === undefined ? '' : ` (${message.ckr})`}`);
      }
    });
    const ended = (): void => {
      tokenProcesses.delete(started);
      if (child === started) child = undefined;
      failAll('the token process ended');
    };
    started.on('exit', ended);
    started.on('error', ended);
    started.send(start);
    // Neither the process nor its channel keeps this one alive (each body's deadline timer does).
    // After the listeners: adding a 'message' listener refs the channel again.
    started.unref();
    started.channel?.unref();
    return started;
  }

  const unwrap = async ({ kid, alg, encryptedKey }: UnwrapKeyRequest): Promise<Uint8Array> => {
    if (closing !== undefined) throw new InvalidArgumentError('PKCS#11: the unwrapper is closed');
    const key = keys.get(kid);
    // Checked before the token is asked: it never sees a request for a key it was not given for.
    if (key === undefined) throw new InvalidArgumentError(`no PKCS#11 key for kid ${JSON.stringify(kid)}`);
    if (!isWrapAlgorithm(alg)) throw new InvalidArgumentError('unsupported key-wrapping algorithm');
    if (!(encryptedKey instanceof Uint8Array) || encryptedKey.length !== key.modulusBytes) {
      throw new InvalidArgumentError('the wrapped key is not as long as the modulus');
    }
    nextId += 1;
    const id = nextId;
    const job: TokenProcessJob = {
      type: 'decrypt',
      id,
      kid,
      alg,
      key: Buffer.from(encryptedKey.buffer, encryptedKey.byteOffset, encryptedKey.byteLength).toString('base64'),
      deadline: Date.now() + timeoutMs,
    };
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        const late = Object.assign(new Error(`the token did not answer within ${timeoutMs} ms`), { name: 'TimeoutError' });
        settle(id, { error: late, unavailable: true });
      }, timeoutMs);
      pending.set(id, { resolve, reject, timer, request: { kid, alg, keyLabel: key.label } });
      try {
        tokenProcess().send(job);
      } catch (err) {
        settle(id, { error: err, unavailable: true });
      }
    });
  };

  return Object.assign(unwrap, {
    close(): Promise<void> {
      closing ??= (async () => {
        if (pending.size > 0) await new Promise<void>((resolve) => (drained = resolve));
        const last = child;
        if (last === undefined) return;
        await new Promise<void>((resolve) => {
          // Past timeoutMs it is killed; its 'exit' follows at once.
          const timer = setTimeout(() => last.kill('SIGKILL'), timeoutMs);
          last.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          try {
            last.send({ type: 'close' });
          } catch {
            last.kill('SIGKILL');
          }
        });
      })();
      return closing;
    },
  });
}

// --- The public set -----------------------------------------------------------------------------

/**
 * The public set of a token's keys, to ship to senders and to give `createRequestDecryptor` with
 * {@link createPkcs11KeyUnwrapper}: for each kid, `CKA_MODULUS` and `CKA_PUBLIC_EXPONENT` of the
 * RSA public key object labelled `keyLabels[kid]` (or, if the token keeps none, of the private key
 * object, whose public members PKCS#11 makes readable), as a JWK with that kid, `use: 'enc'` and
 * `alg` (default `RSA-OAEP`). Keys come in the order of `keyLabels`.
 *
 * Rejects with `InvalidArgumentError` for bad options, a missing `pkcs11js`, a library, token or
 * key that cannot be found, or a failed login.
 */
export async function pkcs11PublicJWKS(options: Pkcs11PublicJwksOptions): Promise<PublicJWKS> {
  checkTokenOptions(options);
  const pin = options.pin === undefined ? undefined : checkPin(options.pin);
  const labels = kidMap('keyLabels', options.keyLabels);
  const alg = wrapAlgorithmOption(options.alg);
  const library = openLibrary(options.library);
  const { js } = library;
  let session: Handle | undefined;
  try {
    session = openSession(library, options.tokenLabel, pin);
    const keys = [];
    for (const [kid, label] of labels) {
      const where = `the key labelled ${JSON.stringify(label)} (kid ${JSON.stringify(kid)})`;
      let object: Handle;
      let modulus: Buffer;
      let exponent: Buffer;
      try {
        const publicKeys = findRsaObjects(library, session, js.CKO_PUBLIC_KEY, label);
        const found = publicKeys.length > 0 ? publicKeys : findRsaObjects(library, session, js.CKO_PRIVATE_KEY, label);
        if (found.length === 0) throw new InvalidArgumentError(`PKCS#11: the token has no RSA key labelled ${JSON.stringify(label)} (kid ${JSON.stringify(kid)})`);
        if (found.length > 1) throw new InvalidArgumentError(`PKCS#11: the token has more than one RSA key labelled ${JSON.stringify(label)}`);
        object = found[0]!;
        modulus = attribute(library, session, object, js.CKA_MODULUS);
        exponent = attribute(library, session, object, js.CKA_PUBLIC_EXPONENT);
      } catch (err) {
        if (err instanceof InvalidArgumentError) throw err;
        throw failed(`reading ${where}`, err);
      }
      keys.push(rsaPublicJwk(kid, alg, modulus, exponent));
    }
    return { keys };
  } finally {
    if (session !== undefined) closeSession(library, session);
    releaseLibrary(library);
  }
}
