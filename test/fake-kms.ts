// A small AWS KMS on 127.0.0.1 for the tests: it speaks KMS's JSON 1.1 protocol (POST /, the
// operation in X-Amz-Target `TrentService.<Operation>`, JSON bodies with blobs in base64, errors
// as HTTP 400 with `{"__type": "<Exception>", "message": "…"}`) for the two operations the
// package uses, Decrypt and GetPublicKey, with RSA keys that it generates and holds. The real
// `@aws-sdk/client-kms` talks to it; signatures are not checked.
import { constants, generateKeyPairSync, privateDecrypt, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms';

const REGION = 'eu-west-1';

// The SDK warns once per process, on Node before 22, that its releases after January 2027 will need
// Node 22. True, and not what these tests are about: keep it out of their output and the CLI's.
const QUIET = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
Object.assign(process.env, QUIET);
const ACCOUNT = '111122223333';

/** One key held by the fake KMS. */
export interface FakeKmsKey {
  /** The key ID (a UUID). */
  readonly keyId: string;
  /** Its ARN. */
  readonly arn: string;
  /** Its private half: only the fake KMS uses it. */
  readonly privateKey: KeyObject;
  /** Its public half, as GetPublicKey gives it (SPKI DER). */
  readonly publicKeyDer: Buffer;
  /** `ENCRYPT_DECRYPT` or `SIGN_VERIFY`. */
  readonly keyUsage: string;
  /** For example `RSA_2048`. */
  readonly keySpec: string;
  /** What Decrypt accepts with this key. */
  readonly encryptionAlgorithms: readonly string[];
}

/** One call the fake KMS received. */
export interface KmsCall {
  /** `TrentService.Decrypt`, `TrentService.GetPublicKey`, … */
  readonly target: string;
  /** The JSON body. */
  readonly body: Record<string, unknown>;
  /** The HTTP headers. */
  readonly headers: IncomingHttpHeaders;
}

/** An error answer: HTTP status and KMS exception name. */
export interface KmsFailure {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

const OAEP_HASH: Record<string, string> = { RSAES_OAEP_SHA_1: 'sha1', RSAES_OAEP_SHA_256: 'sha256' };

/** The fake KMS. `start()` it, `stop()` it. */
export class FakeKms {
  /** Every call received, in order. */
  readonly calls: KmsCall[] = [];
  /** Answers for the next calls, in order, before any key is looked at (throttling, outages). */
  readonly failures: KmsFailure[] = [];
  /** The keys, by key ID, ARN and alias. */
  private readonly keys = new Map<string, FakeKmsKey>();
  private server: Server | undefined;
  /** `http://127.0.0.1:<port>` once started. */
  endpoint = '';

  /** Generates an RSA key and holds it; `alias` (`alias/…`) names it too. */
  addKey(options: { bits?: number; alias?: string; keyUsage?: string; encryptionAlgorithms?: readonly string[]; keySpec?: string } = {}): FakeKmsKey {
    const bits = options.bits ?? 2048;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
    const keyId = randomUUID();
    const key: FakeKmsKey = {
      keyId,
      arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`,
      privateKey,
      publicKeyDer: publicKey.export({ format: 'der', type: 'spki' }),
      keyUsage: options.keyUsage ?? 'ENCRYPT_DECRYPT',
      keySpec: options.keySpec ?? `RSA_${bits}`,
      encryptionAlgorithms: options.encryptionAlgorithms ?? ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
    };
    this.keys.set(keyId, key);
    this.keys.set(key.arn, key);
    if (options.alias !== undefined) this.keys.set(options.alias, key);
    return key;
  }

  /** The calls of one operation (`Decrypt`, `GetPublicKey`). */
  callsOf(operation: string): KmsCall[] {
    return this.calls.filter((call) => call.target === `TrentService.${operation}`);
  }

  /** A real KMSClient of `@aws-sdk/client-kms` for this server, with fake credentials. */
  client(config: Partial<KMSClientConfig> = {}): KMSClient {
    return new KMSClient({
      endpoint: this.endpoint,
      region: REGION,
      credentials: { accessKeyId: 'AKIDFAKEFAKEFAKEFAKE', secretAccessKey: 'fake-secret-access-key' },
      maxAttempts: 1,
      ...config,
    });
  }

  /** The environment under which the SDK's default chain finds this server, a region and credentials. */
  environment(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_KMS: this.endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'AKIDFAKEFAKEFAKEFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      ...QUIET,
    };
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const target = String(request.headers['x-amz-target'] ?? '');
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        } catch {
          // answered below as a bad request
        }
        this.calls.push({ target, body, headers: request.headers });
        const [status, answer] = this.answer(target, body);
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
        response.end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (this.server === undefined) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server!.close(resolve));
  }

  private answer(target: string, body: Record<string, unknown>): [number, Record<string, unknown>] {
    const failure = this.failures.shift();
    if (failure !== undefined) return [failure.status, { __type: failure.type, message: failure.message }];
    const error = (type: string, message: string): [number, Record<string, unknown>] => [400, { __type: type, message }];
    const key = typeof body.KeyId === 'string' ? this.keys.get(body.KeyId) : undefined;
    if (key === undefined) return error('NotFoundException', `Key '${String(body.KeyId)}' does not exist`);
    switch (target) {
      case 'TrentService.GetPublicKey':
        return [
          200,
          {
            KeyId: key.arn,
            PublicKey: key.publicKeyDer.toString('base64'),
            KeySpec: key.keySpec,
            CustomerMasterKeySpec: key.keySpec,
            KeyUsage: key.keyUsage,
            ...(key.keyUsage === 'ENCRYPT_DECRYPT'
              ? { EncryptionAlgorithms: key.encryptionAlgorithms }
              : { SigningAlgorithms: ['RSASSA_PSS_SHA_256'] }),
          },
        ];
      case 'TrentService.Decrypt': {
        const algorithm = String(body.EncryptionAlgorithm);
        const oaepHash = OAEP_HASH[algorithm];
        if (key.keyUsage !== 'ENCRYPT_DECRYPT') return error('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage}`);
        if (oaepHash === undefined || !key.encryptionAlgorithms.includes(algorithm)) {
          return error('InvalidKeyUsageException', `${key.arn} does not support ${algorithm}`);
        }
        try {
          const ciphertext = Buffer.from(String(body.CiphertextBlob), 'base64');
          const plaintext = privateDecrypt({ key: key.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, ciphertext);
          return [200, { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: algorithm }];
        } catch {
          return error('InvalidCiphertextException', '');
        }
      }
      default:
        return error('UnsupportedOperationException', `${target} is not served here`);
    }
  }
}
