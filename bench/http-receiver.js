#!/usr/bin/env node
/**
 * The demo's receiver (node:http), for the HTTP rows of `npm run bench`: reads a body, decrypts it
 * with the library at argv[2] and the private set at argv[3], answers 200 or 400. GET /stats
 * answers the process's peak RSS. Prints its port once it listens.
 */
'use strict';

const fs = require('node:fs');
const http = require('node:http');

function peakRss() {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return (hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS) * 1024;
}

/**
 * Serves `decryptor` on a port of 127.0.0.1: POST decrypts the body (200 or 400), GET answers the
 * peak RSS and whatever `stats()` adds. Prints the port once it listens.
 */
function serveBodies(decryptor, stats = () => ({})) {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ peakRss: peakRss(), ...stats() }));
      return;
    }
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      decryptor.decrypt(Buffer.concat(chunks).toString('utf8')).then(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
        (err) => res.writeHead(400).end(JSON.stringify({ error: (err && err.code) || 'ERR' })),
      );
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
}

module.exports = { serveBodies };

if (require.main === module) {
  const lib = require(process.argv[2]);
  const jwks = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
  lib.createRequestDecryptor(jwks).then((decryptor) => serveBodies(decryptor));
}
