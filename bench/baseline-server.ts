/**
 * The benchmark's baseline: a bare node:http server answering every request with the same
 * precomputed bytes (one entry as the real server sends it). Usage:
 *   node --import tsx bench/baseline-server.ts <body-file> <port> [<headers-file>]
 * The headers file is a JSON array of [name, value] pairs: the real server's own answer headers, so
 * the baseline sends the same bytes (Node adds Date, Connection and Keep-Alive to both). Without it,
 * only Content-Type and Content-Length. Prints "listening <port>" once ready.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [bodyFile, portText, headersFile] = process.argv.slice(2);
if (!bodyFile || portText === undefined) {
  process.stderr.write('usage: baseline-server.ts <body-file> <port> [<headers-file>]\n');
  process.exit(2);
}
const body = readFileSync(bodyFile);
const headers: Record<string, string> = headersFile
  ? Object.fromEntries(JSON.parse(readFileSync(headersFile, 'utf8')) as [string, string][])
  : { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };

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
