/**
 * Loads `@aws-sdk/client-kms`, the optional peer dependency of `request-crypto/kms` and of
 * `request-crypto public --kms`, when one of them is first used, so that nothing else ever loads
 * it (the root, `/receiver` and `/sender` entries never reach this module).
 *
 * @packageDocumentation
 */
import type * as KmsSdk from '@aws-sdk/client-kms';

import { isMissingModule, missingPeer } from './options';

const SDK = '@aws-sdk/client-kms';
let loaded: typeof KmsSdk | undefined;

/**
 * The SDK's module. Throws `InvalidArgumentError` saying what to install when it is not installed
 * (`entry` names what needs it); any other failure to load it is thrown as it is.
 */
export function loadKmsSdk(entry: string): typeof KmsSdk {
  if (loaded !== undefined) return loaded;
  try {
    // A literal require: bundlers see the dependency, and Node resolves it from this package.
    loaded = require('@aws-sdk/client-kms') as typeof KmsSdk;
  } catch (err) {
    if (isMissingModule(err, SDK)) throw missingPeer(entry, SDK);
    throw err;
  }
  return loaded;
}
