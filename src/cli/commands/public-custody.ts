/**
 * `request-crypto public` for keys that live outside the process: prints the public set of AWS
 * KMS keys (`--kms`) or of a PKCS#11 token's keys (`--pkcs11-library`), to ship to senders.
 * Called from the CLI's `public` command (./public.ts) when one of those flags is given.
 *
 * A PIN is never taken on the command line (where `ps` and shell histories show it): it is read
 * from the environment variable that `--pin-env` names, or from stdin with `--pin-stdin`.
 *
 * @packageDocumentation
 */
import type { KMSClient } from '@aws-sdk/client-kms';

import { InvalidArgumentError } from '../../core/errors';
import { loadKmsSdk } from '../../custody/kms-sdk';
import { isWrapAlgorithm, type WrapAlgorithm } from '../../core/algorithms';
import { DEFAULT_CUSTODY_ALG } from '../../custody/options';
import { kmsPublicJWKS } from '../../custody/kms';
import { pkcs11PublicJWKS } from '../../custody/pkcs11';
import type { PublicJWKS } from '../../core/types';
import { UsageError, type Values } from '../args';
import type { CliIo } from '../io';

/** The `public` command's help for keys in KMS or on a token. */
export const CUSTODY_PUBLIC_USAGE = `       request-crypto public --kms KEY_ID --kid K [--kms KEY_ID --kid K]... [--alg RSA-OAEP|RSA-OAEP-256]
       request-crypto public --pkcs11-library PATH --token LABEL [--pin-env VAR | --pin-stdin]
                             --key-label L --kid K [--key-label L --kid K]... [--alg RSA-OAEP|RSA-OAEP-256]

With --kms, prints the public set of AWS KMS keys (key ID, key ARN, alias name or alias ARN; the
first --kms goes with the first --kid, and so on), read with GetPublicKey: kms:GetPublicKey on
those keys is needed. The region and
credentials come from the usual AWS environment (AWS_REGION, AWS_PROFILE, …); needs the
@aws-sdk/client-kms package.

With --pkcs11-library, prints the public set of the RSA keys labelled L on the token labelled
LABEL; needs the pkcs11js package. Give the user PIN, when the token needs a login to show its
keys, through the environment variable VAR (--pin-env VAR) or on stdin (--pin-stdin), never on the
command line.

--alg is what every key of the set declares, so what senders use (default RSA-OAEP).`;

/** The `public` command's options for keys in KMS or on a token. */
export const CUSTODY_OPTIONS = {
  kms: { type: 'string', multiple: true },
  kid: { type: 'string', multiple: true },
  alg: { type: 'string' },
  'pkcs11-library': { type: 'string' },
  token: { type: 'string' },
  'key-label': { type: 'string', multiple: true },
  'pin-env': { type: 'string' },
  'pin-stdin': { type: 'boolean' },
} as const;

/** The custody options as given. */
export type CustodyValues = Values<typeof CUSTODY_OPTIONS>;

const KMS_FLAGS = ['kms'];
const PKCS11_FLAGS = ['pkcs11-library', 'token', 'key-label', 'pin-env', 'pin-stdin'];

/** Pairs the names with the kids in the order given: `--kms A --kid a --kms B --kid b`. */
function pairs(flag: string, names: string[] | undefined, kids: string[] | undefined, usage: (message: string) => Error): Record<string, string> {
  if (names === undefined || kids === undefined || names.length !== kids.length) {
    throw usage(`give one --kid for each --${flag}`);
  }
  const map: Record<string, string> = {};
  kids.forEach((kid, i) => {
    if (Object.prototype.hasOwnProperty.call(map, kid)) throw usage(`kid ${JSON.stringify(kid)} is given twice`);
    map[kid] = names[i]!;
  });
  return map;
}

/** A KMS client from the AWS environment, made from the optional peer dependency. */
function kmsClient(): KMSClient {
  return new (loadKmsSdk('request-crypto public --kms').KMSClient)({});
}

async function fromKms(keyIds: Record<string, string>, alg: WrapAlgorithm): Promise<PublicJWKS> {
  const client = kmsClient();
  try {
    return await kmsPublicJWKS({ client, keyIds, alg });
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    // An AWS failure (access denied, no region, no such key): its name and message, one line.
    const name = err instanceof Error ? err.name : 'Error';
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new InvalidArgumentError(`KMS GetPublicKey failed: ${name}: ${message}`);
  } finally {
    client.destroy();
  }
}

/** Runs `request-crypto public` with `--kms` or `--pkcs11-library` and prints the public set. */
export async function custodyPublic(values: CustodyValues, io: CliIo): Promise<void> {
  const usage = (message: string): UsageError => new UsageError(message);
  const alg = values.alg ?? DEFAULT_CUSTODY_ALG;
  if (!isWrapAlgorithm(alg)) throw usage('--alg must be RSA-OAEP or RSA-OAEP-256');

  let set: PublicJWKS;
  if (values.kms !== undefined) {
    const mixed = PKCS11_FLAGS.find((flag) => values[flag as keyof typeof values] !== undefined);
    if (mixed !== undefined) throw usage(`--kms does not go with --${mixed}`);
    set = await fromKms(pairs('kms', values.kms, values.kid, usage), alg);
  } else {
    const mixed = KMS_FLAGS.find((flag) => values[flag as keyof typeof values] !== undefined);
    if (mixed !== undefined) throw usage(`--pkcs11-library does not go with --${mixed}`);
    const library = values['pkcs11-library'];
    const tokenLabel = values.token;
    if (library === undefined || library === '') throw usage('--pkcs11-library is required');
    if (tokenLabel === undefined || tokenLabel === '') throw usage('--token is required');
    const keyLabels = pairs('key-label', values['key-label'], values.kid, usage);
    if (values['pin-env'] !== undefined && values['pin-stdin'] === true) throw usage('give --pin-env or --pin-stdin, not both');
    let pin: string | undefined;
    if (values['pin-env'] !== undefined) {
      pin = process.env[values['pin-env']];
      if (pin === undefined || pin === '') throw usage(`the environment variable ${values['pin-env']} (--pin-env) is not set`);
    } else if (values['pin-stdin'] === true) {
      pin = (await io.readStdin('PIN')).split(/\r?\n/)[0] ?? '';
      if (pin === '') throw usage('--pin-stdin read no PIN');
    }
    set = await pkcs11PublicJWKS({ library, tokenLabel, keyLabels, alg, ...(pin === undefined ? {} : { pin }) });
  }
  io.stdout(`${JSON.stringify(set, null, 2)}\n`);
}
