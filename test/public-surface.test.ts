// The public surface, frozen: every entry's runtime exports (name and typeof) and its type-only
// exports. A name that disappears, changes kind or appears unannounced fails here, so that moving
// code behind the entries cannot change what users import. Adding a public name: add its line
// (runtime names below, sorted as Array.prototype.sort sorts; types in test/public-types.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';

import './public-types';

const ROOT = join(__dirname, '..');

/** Each entry's runtime exports: `name: typeof value`, one a line. */
const RUNTIME: Record<string, string[]> = {
  'request-crypto': [
    'ALLOWED_MODULI: object',
    'BodyExpiredError: function',
    'BodyMalformedError: function',
    'BodyTooLargeError: function',
    'CONTENT_ENCRYPTION_ALGORITHM: string',
    'ContextMismatchError: function',
    'DEFAULT_CLOCK_TOLERANCE_SECONDS: number',
    'DEFAULT_MAX_BODY_BYTES: number',
    'DEFAULT_MAX_PAYLOAD_BYTES: number',
    'DEFAULT_MAX_PAYLOAD_COST: number',
    'DEFAULT_MAX_PAYLOAD_DEPTH: number',
    'DEFAULT_MAX_PAYLOAD_VALUES: number',
    'DEFAULT_MAX_PENDING_UNWRAPS: number',
    'DEFAULT_MAX_PENDING_UNWRAPS_PER_PROCESS: number',
    'DecryptionFailedError: function',
    'ENC_MODULUS: number',
    'ERROR_CODES: object',
    'EncryptionFailedError: function',
    'InvalidArgumentError: function',
    'InvalidJwksError: function',
    'JWKManager: function',
    'JWKSManager: function',
    'KEY_LENGTH_IN_BYTES: number',
    'KEY_WRAP_ALGORITHM: string',
    'KeyServiceUnavailableError: function',
    'LEGACY_KEY_WRAP_ALGORITHM: string',
    'MAX_DECOMPRESSED_LENGTH: number',
    'MAX_PAYLOAD_ISSUES: number',
    'MAX_UNKNOWN_KID_LENGTH: number',
    'MIN_MODULUS_BITS: number',
    'MissingKidError: function',
    'NoKeyFoundError: function',
    'PAYLOAD_COST_PER_VALUE: number',
    'PayloadInvalidError: function',
    'PayloadNotSerializableError: function',
    'PayloadTooComplexError: function',
    'RSA_ALGORITHM: string',
    'ReceiverBusyError: function',
    'RequestCryptoError: function',
    'SUPPORTED_KEY_WRAP_ALGORITHMS: object',
    'UnavailableError: function',
    'UnsupportedAlgorithmError: function',
    'createJWKManager: function',
    'createJWKS: function',
    'createJWKSManager: function',
    'createRequestDecryptor: function',
    'createRequestEncryptor: function',
    'generatePassphrase: function',
    'keyDerivationBackend: function',
    'packBody: function',
    'unpackBody: function',
  ],
  'request-crypto/receiver': [
    'BodyExpiredError: function',
    'BodyMalformedError: function',
    'BodyTooLargeError: function',
    'CONTENT_ENCRYPTION_ALGORITHM: string',
    'ContextMismatchError: function',
    'DEFAULT_CLOCK_TOLERANCE_SECONDS: number',
    'DEFAULT_MAX_BODY_BYTES: number',
    'DEFAULT_MAX_PAYLOAD_BYTES: number',
    'DEFAULT_MAX_PAYLOAD_COST: number',
    'DEFAULT_MAX_PAYLOAD_DEPTH: number',
    'DEFAULT_MAX_PAYLOAD_VALUES: number',
    'DEFAULT_MAX_PENDING_UNWRAPS: number',
    'DEFAULT_MAX_PENDING_UNWRAPS_PER_PROCESS: number',
    'DecryptionFailedError: function',
    'ERROR_CODES: object',
    'EncryptionFailedError: function',
    'InvalidArgumentError: function',
    'InvalidJwksError: function',
    'KEY_WRAP_ALGORITHM: string',
    'KeyServiceUnavailableError: function',
    'LEGACY_KEY_WRAP_ALGORITHM: string',
    'MAX_DECOMPRESSED_LENGTH: number',
    'MAX_PAYLOAD_ISSUES: number',
    'MAX_UNKNOWN_KID_LENGTH: number',
    'MissingKidError: function',
    'NoKeyFoundError: function',
    'PAYLOAD_COST_PER_VALUE: number',
    'PayloadInvalidError: function',
    'PayloadNotSerializableError: function',
    'PayloadTooComplexError: function',
    'ReceiverBusyError: function',
    'RequestCryptoError: function',
    'SUPPORTED_KEY_WRAP_ALGORITHMS: object',
    'UnavailableError: function',
    'UnsupportedAlgorithmError: function',
    'createRequestDecryptor: function',
    'keyDerivationBackend: function',
  ],
  'request-crypto/sender': [
    'BodyExpiredError: function',
    'BodyMalformedError: function',
    'BodyTooLargeError: function',
    'CONTENT_ENCRYPTION_ALGORITHM: string',
    'ContextMismatchError: function',
    'DecryptionFailedError: function',
    'ERROR_CODES: object',
    'EncryptionFailedError: function',
    'InvalidArgumentError: function',
    'InvalidJwksError: function',
    'KEY_WRAP_ALGORITHM: string',
    'KeyServiceUnavailableError: function',
    'LEGACY_KEY_WRAP_ALGORITHM: string',
    'MissingKidError: function',
    'NoKeyFoundError: function',
    'PayloadInvalidError: function',
    'PayloadNotSerializableError: function',
    'PayloadTooComplexError: function',
    'ReceiverBusyError: function',
    'RequestCryptoError: function',
    'SUPPORTED_KEY_WRAP_ALGORITHMS: object',
    'UnavailableError: function',
    'UnsupportedAlgorithmError: function',
    'createRequestEncryptor: function',
    'keyDerivationBackend: function',
  ],
  'request-crypto/kms': [
    'DEFAULT_KMS_TIMEOUT_MS: number',
    'KMS_ENCRYPTION_ALGORITHMS: object',
    'createKmsKeyUnwrapper: function',
    'isKmsOutage: function',
    'kmsPublicJWKS: function',
  ],
  'request-crypto/pkcs11': [
    'DEFAULT_PKCS11_SESSIONS: number',
    'DEFAULT_PKCS11_TIMEOUT_MS: number',
    'createPkcs11KeyUnwrapper: function',
    'pkcs11PublicJWKS: function',
  ],
  'request-crypto/testing': [
    'TEST_KEY_MODULI: object',
    'createTestKeyset: function',
    'createTestPair: function',
    'openBody: function',
  ],
};

/** The source file of each entry. */
const SOURCE: Record<string, string> = {
  'request-crypto': 'src/index.ts',
  'request-crypto/receiver': 'src/receiver.ts',
  'request-crypto/sender': 'src/sender.ts',
  'request-crypto/kms': 'src/kms.ts',
  'request-crypto/pkcs11': 'src/pkcs11.ts',
  'request-crypto/testing': 'src/testing.ts',
};

/** The type-only names test/public-types.ts imports from each entry. */
function listedTypes(): Record<string, string[]> {
  const text = readFileSync(join(__dirname, 'public-types.ts'), 'utf8');
  const listed: Record<string, string[]> = {};
  for (const [, names, entry] of text.matchAll(/import type \{([^}]*)\} from '([^']+)';/g)) {
    listed[entry!] = [...names!.matchAll(/(\w+) as \w+/g)].map(([, name]) => name!).sort();
  }
  return listed;
}

/** The names each entry exports that are types only (interfaces, type aliases), from the compiler. */
function exportedTypes(): Record<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  const program = ts.createProgram(Object.values(SOURCE).map((file) => join(ROOT, file)), config!.options);
  const checker = program.getTypeChecker();
  const found: Record<string, string[]> = {};
  for (const [entry, file] of Object.entries(SOURCE)) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(join(ROOT, file))!)!;
    found[entry] = checker
      .getExportsOfModule(module)
      .filter((symbol) => {
        const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
        return (target.flags & ts.SymbolFlags.Value) === 0;
      })
      .map((symbol) => symbol.name)
      .sort();
  }
  return found;
}

describe.each(Object.keys(SOURCE))('%s', (entry) => {
  it('exports exactly the listed runtime names, each with its typeof', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(join(ROOT, SOURCE[entry]!)) as Record<string, unknown>;
    const names = Object.keys(loaded).sort().map((name) => `${name}: ${typeof loaded[name]}`);
    expect(names).toEqual(RUNTIME[entry]);
  });
});

describe('the type-only exports', () => {
  const listed = listedTypes();
  const exported = exportedTypes();
  it.each(Object.keys(SOURCE))('of %s are exactly those test/public-types.ts imports', (entry) => {
    expect(exported[entry]).toEqual(listed[entry]);
  });
});
