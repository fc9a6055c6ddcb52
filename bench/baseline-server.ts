/**
 * The benchmark's baseline: a bare node:http server answering every request with the same
 * precomputed JSON bytes (one entry as the real server sends it). Usage:
 *   node --import tsx bench/baseline-server.ts <body-file> <port>
 * Prints "listening <port>" once ready.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [bodyFile, portText] = process.argv.slice(2);
if (!bodyFile || portText === undefined) {
  process.stderr.write('usage: baseline-server.ts <body-file> <port>\n');
  process.exit(2);
}
const body = readFileSync(bodyFile);
const headers = {
  'content-type': 'application/json; charset=utf-8',
  'content-length': String(body.length),
};

const server = http.createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 72_000;
server.listen(Number(portText), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : portText}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
