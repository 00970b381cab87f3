/**
 * The part of pkcs11js's API that `request-crypto/pkcs11` calls, declared here. pkcs11js is a
 * native addon that needs a C++ compiler to install, and an optional peer dependency loaded only by
 * that entry; with its types declared here, building the package, type-checking it and running its
 * unit tier need no pkcs11js at all (only the pkcs11 tier installs it).
 *
 * @packageDocumentation
 */

/** A slot, session or object handle, as pkcs11js gives it. */
export type Pkcs11Handle = Buffer;

/** One attribute of a template: its `CKA_…` type and, to match or set, its value. */
export interface Pkcs11Attribute {
  type: number;
  value?: number | boolean | string | Buffer | null;
}

/** One attribute read back. */
export interface Pkcs11AttributeValue {
  type: number;
  value: Buffer;
}

/** A loaded PKCS#11 library (pkcs11js's `PKCS11`), the calls this package makes. */
export interface Pkcs11Library {
  load(path: string): void;
  close(): void;
  C_Initialize(options?: { flags?: number }): void;
  C_Finalize(): void;
  C_GetSlotList(tokenPresent?: boolean): Pkcs11Handle[];
  C_GetTokenInfo(slot: Pkcs11Handle): { label: string };
  C_OpenSession(slot: Pkcs11Handle, flags: number): Pkcs11Handle;
  C_CloseSession(session: Pkcs11Handle): void;
  C_Login(session: Pkcs11Handle, userType: number, pin?: string): void;
  C_FindObjectsInit(session: Pkcs11Handle, template: Pkcs11Attribute[]): void;
  C_FindObjects(session: Pkcs11Handle, maxObjectCount: number): Pkcs11Handle[];
  C_FindObjectsFinal(session: Pkcs11Handle): void;
  C_GetAttributeValue(session: Pkcs11Handle, object: Pkcs11Handle, template: Pkcs11Attribute[]): Pkcs11AttributeValue[];
}

/** The pkcs11js module: its `PKCS11` class and the constants this package passes. */
export interface Pkcs11Module {
  readonly PKCS11: new () => Pkcs11Library;
  readonly CKA_CLASS: number;
  readonly CKA_DECRYPT: number;
  readonly CKA_KEY_TYPE: number;
  readonly CKA_LABEL: number;
  readonly CKA_MODULUS: number;
  readonly CKA_PUBLIC_EXPONENT: number;
  readonly CKF_OS_LOCKING_OK: number;
  readonly CKF_SERIAL_SESSION: number;
  readonly CKK_RSA: number;
  readonly CKO_PRIVATE_KEY: number;
  readonly CKO_PUBLIC_KEY: number;
  readonly CKR_CRYPTOKI_ALREADY_INITIALIZED: number;
  readonly CKR_USER_ALREADY_LOGGED_IN: number;
  readonly CKU_USER: number;
}
