import * as jose from 'jose';

import {
  createHandler,
  emfMetrics,
  handler,
  type HandlerOptions,
  type PayloadHandler,
  type ProxyEvent,
} from '../examples/lambda-receiver';
import { loadKeysFromKmsOrEnvironment } from '../examples/lambda-receiver-kms';
import {
  BodyTooLargeError,
  createRequestEncryptor,
  KeyServiceUnavailableError,
  packBody,
  RequestCryptoError,
  unpackBody,
  type ErrorCode,
} from '../src';
import { FakeKms, type FakeKmsKey } from './fake-kms';
import { vectors } from './helpers';

const event = (body: string | null, isBase64Encoded = false): ProxyEvent => ({ body, isBase64Encoded });

/** A payload whose marker must never appear in a response. */
const PAYLOAD = { cluster_uuid: 'λ', marker: 'plaintext-that-only-the-receiver-reads' };

/**
 * The same body with one bit of the payload's ciphertext flipped. The change is made on the decoded
 * bytes and re-encoded, so the body stays canonical base64 and only the GCM tag can notice it
 * (editing a base64 character could touch only its unused bits and make a non-canonical body).
 */
function forgeCiphertext(original: string): string {
  const { encryptedAESKey, encryptedPayload } = unpackBody(original);
  const sealed = Buffer.from(encryptedPayload, 'base64');
  const firstCiphertextByte = 64 + 12 + 16; // after salt, iv and tag
  sealed[firstCiphertextByte] = sealed[firstCiphertextByte]! ^ 0x01;
  return packBody(encryptedAESKey, sealed.toString('base64'));
}

/**
 * A 'jwe' body of any plaintext text, made with another JOSE library: our encryptor cannot make a
 * payload 5,000 levels deep, because JSON.stringify overflows the stack on it.
 */
async function jweBodyOfText(text: string): Promise<string> {
  const publicKey = vectors.publicJWKS.keys[0]!;
  const key = await jose.importJWK(publicKey as unknown as jose.JWK, 'RSA-OAEP');
  return new jose.CompactEncrypt(new TextEncoder().encode(text))
    .setProtectedHeader({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: publicKey.kid })
    .encrypt(key);
}

/** A handler over the golden private set whose onPayload is a mock. */
function receiver(options: HandlerOptions = {}) {
  const onPayload = jest.fn<ReturnType<PayloadHandler>, Parameters<PayloadHandler>>();
  return { handle: createHandler(() => vectors.privateJWKS, { onPayload, ...options }), onPayload };
}

/** Runs `fn` with console.error (or warn) silenced, and returns the arguments of each call to it. */
async function withConsole(method: 'error' | 'warn', fn: () => Promise<void>): Promise<unknown[][]> {
  const spy = jest.spyOn(console, method).mockImplementation(() => undefined);
  try {
    await fn();
    return [...spy.mock.calls];
  } finally {
    spy.mockRestore();
  }
}

/** CloudWatch's units (the `Unit` of a MetricDefinition). */
const CLOUDWATCH_UNITS = new Set([
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes',
  'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second',
  'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second',
  'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
]);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const extraMembers = (value: Record<string, unknown>, allowed: string[]): string[] => Object.keys(value).filter((key) => !allowed.includes(key));

/**
 * What makes `text` not a CloudWatch Embedded Metric Format document, by the rules of its
 * specification: one JSON object; `_aws` with a numeric `Timestamp` and `CloudWatchMetrics`
 * directives, each with a `Namespace`, dimension sets of at most 30 keys that name string members
 * of the root (ASCII, 1-1024 characters, not blank), and at most 100 metric definitions, each
 * naming a numeric member (or an array of at most 100 numbers) with a CloudWatch unit; the objects
 * it defines hold no other members.
 */
function emfProblems(text: string): string[] {
  const problems: string[] = [];
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return ['not JSON'];
  }
  if (!isObject(root)) return ['not a JSON object'];
  const aws = root._aws;
  if (!isObject(aws)) return ['no _aws object'];
  problems.push(...extraMembers(aws, ['Timestamp', 'CloudWatchMetrics', 'LogGroupName']).map((m) => `_aws.${m} is not in the spec`));
  if (typeof aws.Timestamp !== 'number' || !Number.isInteger(aws.Timestamp)) problems.push('_aws.Timestamp is not a number of milliseconds');
  const directives = aws.CloudWatchMetrics;
  if (!Array.isArray(directives) || directives.length === 0) return [...problems, 'no CloudWatchMetrics directive'];
  for (const directive of directives as unknown[]) {
    if (!isObject(directive)) {
      problems.push('a directive is not an object');
      continue;
    }
    problems.push(...extraMembers(directive, ['Namespace', 'Dimensions', 'Metrics']).map((m) => `directive.${m} is not in the spec`));
    const { Namespace: namespace, Dimensions: dimensionSets, Metrics: metrics } = directive;
    if (typeof namespace !== 'string' || namespace.trim() === '' || namespace.length > 255) problems.push('bad Namespace');
    if (!Array.isArray(dimensionSets)) problems.push('Dimensions is not an array');
    for (const set of Array.isArray(dimensionSets) ? (dimensionSets as unknown[]) : []) {
      if (!Array.isArray(set) || set.length > 30) {
        problems.push('a dimension set is not an array of at most 30 keys');
        continue;
      }
      for (const key of set as unknown[]) {
        const value = typeof key === 'string' ? root[key] : undefined;
        if (typeof value !== 'string' || value.trim() === '' || value.length > 1024 || !/^[\x20-\x7e]+$/.test(value)) {
          problems.push(`dimension ${String(key)} does not name a string member`);
        }
      }
    }
    if (!Array.isArray(metrics) || metrics.length > 100) {
      problems.push('Metrics is not an array of at most 100 definitions');
      continue;
    }
    for (const metric of metrics as unknown[]) {
      if (!isObject(metric) || typeof metric.Name !== 'string' || metric.Name.length === 0 || metric.Name.length > 255) {
        problems.push('a metric has no Name');
        continue;
      }
      problems.push(...extraMembers(metric, ['Name', 'Unit', 'StorageResolution']).map((m) => `metric.${m} is not in the spec`));
      if (metric.Unit !== undefined && !CLOUDWATCH_UNITS.has(metric.Unit as string)) problems.push(`metric ${metric.Name} has unit ${String(metric.Unit)}`);
      const value = root[metric.Name];
      const numbers = Array.isArray(value) ? (value as unknown[]) : [value];
      if (numbers.length === 0 || numbers.length > 100 || !numbers.every((n) => typeof n === 'number' && Number.isFinite(n))) {
        problems.push(`metric ${metric.Name} does not name a number`);
      }
    }
  }
  return problems;
}

describe('examples/lambda-receiver.ts', () => {
  let body: string;
  beforeAll(async () => {
    body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', PAYLOAD);
  });

  /** console.log is where the handler writes its metrics: kept out of the test output, and read. */
  let logged: jest.SpyInstance;
  beforeEach(() => {
    logged = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => logged.mockRestore());

  /** The EMF lines logged so far, parsed. */
  const metricLines = (): Array<Record<string, unknown>> =>
    logged.mock.calls.map((args: unknown[]) => JSON.parse(args[0] as string) as Record<string, unknown>);

  it('answers 202 with an empty body once onPayload has taken the payload', async () => {
    const { handle } = receiver();
    const result = await handle(event(body));
    expect(result).toEqual({ statusCode: 202, headers: {}, body: '' });
  });

  it('never puts the payload in the response', async () => {
    const { handle } = receiver();
    const result = await handle(event(body));
    expect(JSON.stringify(result)).not.toContain(PAYLOAD.marker);
  });

  it('hands onPayload the decrypted payload and the event, once', async () => {
    const { handle, onPayload } = receiver();
    const received = event(body);
    await handle(received);
    expect(onPayload.mock.calls).toEqual([[PAYLOAD, received]]);
  });

  it('waits for an asynchronous onPayload before answering', async () => {
    let finished = false;
    const handle = createHandler(() => vectors.privateJWKS, {
      onPayload: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        finished = true;
      },
    });
    expect((await handle(event(body))).statusCode).toBe(202);
    expect(finished).toBe(true);
  });

  it('honours isBase64Encoded', async () => {
    const { handle, onPayload } = receiver();
    const result = await handle(event(Buffer.from(body).toString('base64'), true));
    expect(result.statusCode).toBe(202);
    expect(onPayload.mock.calls[0]?.[0]).toEqual(PAYLOAD);
  });

  it('decrypts a golden body made by the original', async () => {
    const vector = vectors.vectors[0]!;
    const { handle, onPayload } = receiver();
    expect((await handle(event(vector.body))).statusCode).toBe(202);
    expect(onPayload.mock.calls[0]?.[0]).toEqual(vector.payload);
  });

  it('loads the key set once per container', async () => {
    const load = jest.fn(() => JSON.stringify(vectors.privateJWKS));
    const handle = createHandler(load, { onPayload: () => undefined });
    for (let i = 0; i < 3; i += 1) expect((await handle(event(body))).statusCode).toBe(202);
    expect((await handle(event('junk'))).statusCode).toBe(400);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['a null body', () => null, 'ERR_BODY_MALFORMED'],
    ['an empty body', () => '', 'ERR_BODY_MALFORMED'],
    ['a body that is not base64url', () => 'not a body!', 'ERR_BODY_MALFORMED'],
    ['a forged body', () => forgeCiphertext(body), 'ERR_DECRYPTION_FAILED'],
  ])('answers 400 with the code for %s, never 500, and never calls onPayload', async (_name, makeBody, code) => {
    const { handle, onPayload } = receiver();
    const result = await handle(event(makeBody()));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ error: code });
    expect(onPayload).not.toHaveBeenCalled();
  });

  it('answers 400 with ERR_NO_KEY_FOUND for a body made for a key the receiver lacks', async () => {
    const result = await createHandler(() => ({ keys: [] }), { onPayload: () => undefined })(event(body));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ error: 'ERR_NO_KEY_FOUND' });
  });

  it('answers 413 past the size limit', async () => {
    const { handle } = receiver({ maxBodyBytes: 100 });
    const result = await handle(event(body));
    expect(result.statusCode).toBe(413);
    expect(JSON.parse(result.body)).toEqual({ error: 'ERR_BODY_TOO_LARGE' });
  });

  it('answers a payload nested 5,000 levels deep with 400 ERR_PAYLOAD_TOO_COMPLEX, never 500', async () => {
    const deepBody = await jweBodyOfText(`${'['.repeat(5000)}0${']'.repeat(5000)}`);
    const { handle, onPayload } = receiver();
    const result = await handle(event(deepBody));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ error: 'ERR_PAYLOAD_TOO_COMPLEX' });
    expect(onPayload).not.toHaveBeenCalled();
  });

  it.each([
    ['ERR_A_CODE_ADDED_LATER', 400],
    ['ERR_BODY_TOO_LARGE', 413],
  ])('answers a RequestCryptoError with code %s thrown by onPayload as bad input (%i)', async (code, status) => {
    const refusal =
      code === 'ERR_BODY_TOO_LARGE' ? new BodyTooLargeError() : new RequestCryptoError(code as string as ErrorCode, 'refused');
    const { handle } = receiver({
      onPayload: () => {
        throw refusal;
      },
    });
    const result = await handle(event(body));
    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body)).toEqual({ error: code });
  });

  it('answers 500 ERR_RECEIVER_FAILED when onPayload throws another error, logs it, and keeps its message out of the response', async () => {
    const failure = new Error('database password is hunter2');
    const { handle } = receiver({ onPayload: () => Promise.reject(failure) });
    let result = { statusCode: 0, body: '' };
    const logged = await withConsole('error', async () => {
      result = await handle(event(body));
    });
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body)).toEqual({ error: 'ERR_RECEIVER_FAILED' });
    expect(result.body).not.toContain('hunter2');
    expect(logged.flat()).toContain(failure);
  });

  it('answers 500 when the receiver has no key set, and tries again on the next invocation', async () => {
    let configured = false;
    const handle = createHandler(
      () => {
        if (!configured) throw new Error('no key set');
        return vectors.privateJWKS;
      },
      { onPayload: () => undefined },
    );
    await withConsole('error', async () => {
      const result = await handle(event(body));
      expect(result.statusCode).toBe(500);
      expect(JSON.parse(result.body)).toEqual({ error: 'ERR_RECEIVER_NOT_CONFIGURED' });
    });
    configured = true;
    expect((await handle(event(body))).statusCode).toBe(202);
  });

  it('reads the key set from PRIVATE_JWKS in the exported handler, whose default onPayload drops the payload, warning once without logging it', async () => {
    process.env.PRIVATE_JWKS = JSON.stringify(vectors.privateJWKS);
    try {
      const statuses: number[] = [];
      const warned = await withConsole('warn', async () => {
        for (let i = 0; i < 2; i += 1) statuses.push((await handler(event(body))).statusCode);
      });
      expect(statuses).toEqual([202, 202]);
      expect(warned).toHaveLength(1);
      expect(JSON.stringify(warned)).not.toContain(PAYLOAD.marker);
    } finally {
      delete process.env.PRIVATE_JWKS;
    }
  });
  describe('metrics as CloudWatch Embedded Metric Format', () => {
    it('logs one line per invocation, with console.log and as JSON text', async () => {
      const { handle } = receiver();
      await handle(event(body));
      expect(logged).toHaveBeenCalledTimes(1);
      expect(logged.mock.calls[0]).toEqual([expect.any(String)]);
    });

    it('logs a valid EMF document for a decrypted body and for a refused one', async () => {
      const { handle } = receiver();
      await handle(event(body));
      await handle(event('not a body!'));
      await handle(event(forgeCiphertext(body)));
      expect(logged.mock.calls.map((args: unknown[]) => emfProblems(args[0] as string))).toEqual([[], [], []]);
    });

    it('the validator used here refuses a line whose dimension member is missing', () => {
      const line = {
        _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [['format']], Metrics: [{ Name: 'Decrypts', Unit: 'Count' }] }] },
        Decrypts: 1,
      };
      expect(emfProblems(JSON.stringify(line))).toEqual(['dimension format does not name a string member']);
    });

    it('counts Decrypts and DurationMs by format and alg, and by outcome', async () => {
      const { handle } = receiver();
      await handle(event(body));
      const [line] = metricLines();
      expect(line).toMatchObject({
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            {
              Namespace: 'RequestCrypto',
              Dimensions: [['format', 'alg'], ['outcome']],
              Metrics: [
                { Name: 'Decrypts', Unit: 'Count' },
                { Name: 'DurationMs', Unit: 'Milliseconds' },
              ],
            },
          ],
        },
        format: 'legacy',
        alg: 'RSA-OAEP',
        outcome: 'ok',
        Decrypts: 1,
        DurationMs: expect.any(Number),
        kid: 'kibana1',
        bodyBytes: body.length,
      });
    });

    it("gives a refused body its code as outcome, and 'unknown' for what it never got to", async () => {
      const { handle } = receiver();
      await handle(event('not a body!'));
      expect(metricLines()[0]).toMatchObject({ format: 'unknown', alg: 'unknown', outcome: 'ERR_BODY_MALFORMED' });
    });

    it('counts a request without a body as ERR_BODY_MALFORMED too', async () => {
      const { handle } = receiver();
      expect((await handle(event(null))).statusCode).toBe(400);
      expect(metricLines()[0]).toMatchObject({ outcome: 'ERR_BODY_MALFORMED', bodyBytes: 0 });
    });

    it('never logs the payload or the body', async () => {
      const { handle } = receiver();
      await handle(event(body));
      await handle(event(forgeCiphertext(body)));
      const text = JSON.stringify(logged.mock.calls);
      expect(text).not.toContain(PAYLOAD.marker);
      expect(text).not.toContain(body.slice(0, 64));
    });

    it('logs under the namespace given to emfMetrics', async () => {
      const { handle } = receiver({ onDecrypt: emfMetrics('Telemetry/Receiver') });
      await handle(event(body));
      expect(metricLines()[0]).toMatchObject({ _aws: { CloudWatchMetrics: [{ Namespace: 'Telemetry/Receiver' }] } });
    });

    it('answers as usual when the onDecrypt given to it throws', async () => {
      const { handle } = receiver({
        onDecrypt: () => {
          throw new Error('metrics down');
        },
      });
      expect((await handle(event(body))).statusCode).toBe(202);
    });

    it('logs nothing when given a silent onDecrypt', async () => {
      const { handle } = receiver({ onDecrypt: () => undefined });
      expect((await handle(event(body))).statusCode).toBe(202);
      expect(logged).not.toHaveBeenCalled();
    });
  });
});

describe('examples/lambda-receiver.ts answers by the kind of the error', () => {
  let body: string;
  beforeAll(async () => {
    body = await (await createRequestEncryptor(vectors.publicJWKS)).encrypt('kibana1', PAYLOAD);
  });

  it("answers 500 ERR_RECEIVER_FAILED, not 400, for the receiver's own mistake in calling the library, and logs its code", async () => {
    // maxAgeSeconds: -1 is refused by decrypt as an InvalidArgumentError (kind 'caller').
    const { handle, onPayload } = receiver({ maxAgeSeconds: -1, onDecrypt: () => undefined });
    let result = { statusCode: 0, body: '' };
    const logged = await withConsole('error', async () => {
      result = await handle(event(body));
    });
    expect([result.statusCode, JSON.parse(result.body)]).toEqual([500, { error: 'ERR_RECEIVER_FAILED' }]);
    expect(logged.map((args) => args[1])).toEqual(['ERR_INVALID_ARGUMENT']);
    expect(JSON.stringify(logged)).not.toContain(PAYLOAD.marker);
    expect(onPayload).not.toHaveBeenCalled();
  });

  it('answers 503 with the code when the key service is unavailable: the same body may succeed later', async () => {
    const handle = createHandler(
      () => ({ publicJWKS: vectors.publicJWKS, unwrapKey: () => Promise.reject(new KeyServiceUnavailableError()) }),
      { onDecrypt: () => undefined },
    );
    const result = await handle(event(body));
    expect([result.statusCode, JSON.parse(result.body)]).toEqual([503, { error: 'ERR_KEY_SERVICE_UNAVAILABLE' }]);
  });

  it('still answers 400 for a refused body', async () => {
    const { handle } = receiver({ onDecrypt: () => undefined });
    const result = await handle(event('not a body'));
    expect([result.statusCode, JSON.parse(result.body)]).toEqual([400, { error: 'ERR_BODY_MALFORMED' }]);
  });
});

describe('examples/lambda-receiver-kms.ts with KMS_KEY_IDS: the private keys stay in KMS', () => {
  const kms = new FakeKms();
  let key: FakeKmsKey;
  const saved = { ...process.env };

  beforeAll(async () => {
    await kms.start();
    key = kms.addKey();
  });
  afterAll(() => kms.stop());
  let logged: jest.SpyInstance;
  beforeEach(() => {
    logged = jest.spyOn(console, 'log').mockImplementation(() => undefined); // the metrics lines
    kms.calls.length = 0;
    kms.failures.length = 0;
    // The function's environment: the SDK's default chain finds region, credentials and endpoint there.
    Object.assign(process.env, kms.environment(), { KMS_KEY_IDS: JSON.stringify({ kibana1: key.arn }) });
  });
  afterEach(() => {
    logged.mockRestore();
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  });

  /** A body for the public set the function itself publishes. */
  async function bodyFor(alg: 'RSA-OAEP' | 'RSA-OAEP-256', format: 'legacy' | 'jwe'): Promise<string> {
    const keys = await loadKeysFromKmsOrEnvironment();
    if (typeof keys !== 'object' || !('publicJWKS' in keys)) throw new Error('expected keys in KMS');
    expect(keys.publicJWKS.keys.map((jwk) => [jwk.kid, jwk.alg])).toEqual([['kibana1', alg]]);
    return (await createRequestEncryptor(keys.publicJWKS)).encrypt('kibana1', PAYLOAD, { format });
  }

  it.each([
    ['RSA-OAEP', 'legacy', 'RSAES_OAEP_SHA_1'],
    ['RSA-OAEP-256', 'jwe', 'RSAES_OAEP_SHA_256'],
  ] as const)('answers 202 for a %s %s body, decrypted with one KMS Decrypt (%s) per body', async (alg, format, algorithm) => {
    if (alg === 'RSA-OAEP-256') process.env.KMS_ALG = alg;
    const body = await bodyFor(alg, format);
    const onPayload = jest.fn<ReturnType<PayloadHandler>, Parameters<PayloadHandler>>();
    const handle = createHandler(loadKeysFromKmsOrEnvironment, { onPayload });
    kms.calls.length = 0;
    for (let i = 0; i < 2; i += 1) expect(await handle(event(body))).toEqual({ statusCode: 202, headers: {}, body: '' });
    expect(onPayload.mock.calls.map((call) => call[0])).toEqual([PAYLOAD, PAYLOAD]);
    // GetPublicKey once per container, then Decrypt once per body.
    expect(kms.calls.map((call) => [call.target, call.body.KeyId, call.body.EncryptionAlgorithm])).toEqual([
      ['TrentService.GetPublicKey', key.arn, undefined],
      ['TrentService.Decrypt', key.arn, algorithm],
      ['TrentService.Decrypt', key.arn, algorithm],
    ]);
  });

  it('answers 400 ERR_DECRYPTION_FAILED when KMS refuses Decrypt, and logs the KMS error name, not the payload', async () => {
    const body = await bodyFor('RSA-OAEP', 'jwe');
    const handle = createHandler(loadKeysFromKmsOrEnvironment, { onPayload: () => undefined });
    expect((await handle(event('junk'))).statusCode).toBe(400); // loads the keys
    kms.failures.push({ status: 400, type: 'AccessDeniedException', message: 'not authorized to perform kms:Decrypt' });
    let result = { statusCode: 0, body: '' };
    const logged = await withConsole('error', async () => {
      result = await handle(event(body));
    });
    expect([result.statusCode, JSON.parse(result.body)]).toEqual([400, { error: 'ERR_DECRYPTION_FAILED' }]);
    expect(logged).toEqual([['lambda-receiver: KMS Decrypt for kid kibana1 failed:', 'AccessDeniedException']]);
  });

  it('answers 503 ERR_KEY_SERVICE_UNAVAILABLE when KMS throttles past the retries, so the sender retries', async () => {
    const body = await bodyFor('RSA-OAEP', 'jwe');
    const handle = createHandler(loadKeysFromKmsOrEnvironment, { onPayload: () => undefined });
    expect((await handle(event('junk'))).statusCode).toBe(400); // loads the keys
    for (let i = 0; i < 5; i += 1) kms.failures.push({ status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
    let result = { statusCode: 0, body: '' };
    await withConsole('error', async () => {
      result = await handle(event(body));
    });
    expect([result.statusCode, JSON.parse(result.body)]).toEqual([503, { error: 'ERR_KEY_SERVICE_UNAVAILABLE' }]);
  }, 30_000);

  it('never calls KMS Decrypt for a malformed body', async () => {
    const handle = createHandler(loadKeysFromKmsOrEnvironment, { onPayload: () => undefined });
    expect((await handle(event('not a body!'))).statusCode).toBe(400);
    expect(kms.callsOf('Decrypt')).toEqual([]);
  });

  it.each([
    ['KMS refuses GetPublicKey', () => kms.failures.push({ status: 400, type: 'AccessDeniedException', message: 'no kms:GetPublicKey' })],
    ['KMS_KEY_IDS is not JSON', () => (process.env.KMS_KEY_IDS = '{kibana1: arn')],
    ['KMS_ALG is not an algorithm', () => (process.env.KMS_ALG = 'RSA1_5')],
  ])('answers 500 ERR_RECEIVER_NOT_CONFIGURED when %s, and tries again on the next invocation', async (_name, breakIt) => {
    const body = await bodyFor('RSA-OAEP', 'legacy');
    const saveIds = process.env.KMS_KEY_IDS;
    breakIt();
    const handle = createHandler(loadKeysFromKmsOrEnvironment, { onPayload: () => undefined });
    await withConsole('error', async () => {
      const result = await handle(event(body));
      expect([result.statusCode, JSON.parse(result.body)]).toEqual([500, { error: 'ERR_RECEIVER_NOT_CONFIGURED' }]);
    });
    process.env.KMS_KEY_IDS = saveIds;
    delete process.env.KMS_ALG;
    expect((await handle(event(body))).statusCode).toBe(202);
  });
});
