/**
 * `npm run demo`: the three parties for real on one machine. A sender encrypts telemetry with the
 * public set, a mediator carries the opaque body, a receiver holding the private set decrypts it.
 *
 * @packageDocumentation
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

import { createRequestDecryptor } from '../receiver/decryptor';
import { createRequestEncryptor } from '../sender/encryptor';
import { createJWKManager } from '../compat/jwk';
import type { PrivateJWKS, PublicJWKS } from '../core/types';

function readAll(stream: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function send(port: number, method: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: '/' }, (res) => {
      readAll(res).then((text) => resolve({ status: res.statusCode ?? 0, text }), reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs the demo, printing each step with `log`; resolves to true when the payload arrived intact. */
export async function runDemo(log: (line: string) => void = console.log): Promise<boolean> {
  const kid = 'kibana_demo1';
  const dir = mkdtempSync(join(tmpdir(), 'request-crypto-demo-'));
  const servers: Server[] = [];
  try {
    // 1. The receiver's operator makes a key set; the private half stays with the receiver.
    const manager = await createJWKManager();
    await manager.addKey(kid);
    const privatePath = join(dir, 'private.jwks.json');
    const publicPath = join(dir, 'public.jwks.json');
    writeFileSync(privatePath, JSON.stringify(manager.getPrivateJWKS()), { mode: 0o600 });
    writeFileSync(publicPath, JSON.stringify(manager.getPublicJWKS()));
    log(`keys     made kid "${kid}" (RSA-2048, RSA-OAEP) in ${dir}`);

    const telemetry = {
      cluster_uuid: 'c0ffee00-0000-4000-8000-000000000001',
      timestamp: new Date().toISOString(),
      stack_stats: { kibana: { count: 2, versions: [{ version: '8.15.0', count: 2 }] } },
      license: { type: 'basic', status: 'active' },
    };

    // 2. The sender encrypts with the public set only.
    const encryptor = await createRequestEncryptor(JSON.parse(readFileSync(publicPath, 'utf8')) as PublicJWKS);
    const sender = createServer((_req, res) => {
      encryptor.encrypt(kid, telemetry).then(
        (body) => res.writeHead(200, { 'content-type': 'text/plain' }).end(body),
        () => res.writeHead(500).end(),
      );
    });
    servers.push(sender);
    const senderPort = await listen(sender);
    log(`sender   listening on 127.0.0.1:${senderPort}, encrypting for kid "${kid}"`);

    // 3. The receiver decrypts with the private set; bad bodies get 400 and the error code.
    const decryptor = await createRequestDecryptor(JSON.parse(readFileSync(privatePath, 'utf8')) as PrivateJWKS);
    let received: unknown;
    const receiver = createServer((req, res) => {
      readAll(req)
        .then((body) => decryptor.decrypt(body))
        .then(
          (payload) => {
            received = payload;
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
          },
          (err: { code?: string }) => res.writeHead(400).end(JSON.stringify({ error: err.code ?? 'ERR' })),
        );
    });
    servers.push(receiver);
    const receiverPort = await listen(receiver);
    log(`receiver listening on 127.0.0.1:${receiverPort}, holding the private key set`);

    // 4. The mediator carries the body without being able to read it.
    const fetched = await send(senderPort, 'GET');
    log(`mediator fetched a ${fetched.text.length}-byte body from the sender (HTTP ${fetched.status})`);
    const posted = await send(receiverPort, 'POST', fetched.text);
    log(`mediator posted it to the receiver (HTTP ${posted.status} ${posted.text})`);

    log(`receiver decrypted: ${JSON.stringify(received)}`);
    const intact = isDeepStrictEqual(received, telemetry);
    log(intact ? 'result   the decrypted payload equals what the sender sent' : 'result   MISMATCH');
    return intact && posted.status === 200;
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runDemo().then(
    (ok) => process.exit(ok ? 0 : 1),
    (err: unknown) => {
      console.error(`demo failed: ${String(err)}`);
      process.exit(1);
    },
  );
}
