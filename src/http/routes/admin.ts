/**
 * The editors' app at /admin: the static files Vite built into dist/admin (issue 14), served from
 * memory under a strict Content-Security-Policy. The app is a plain API client: it holds no secret
 * and the server gives it no privilege; every call it makes is checked like any other.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';
import { PACKAGE_ROOT } from '../../core/settings.js';
import { withVary } from '../pipeline/negotiation.js';

export const ADMIN_PATH = '/admin';

/** Same origin only, no inline code, no framing: the page runs nothing it did not load from here. */
export const ADMIN_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

interface AdminFile {
  type: string;
  body: Buffer;
  gzipped?: Buffer;
}

/** Where `npm run build` puts the app. */
export function adminBuildDir(): string {
  return path.join(PACKAGE_ROOT, 'dist', 'admin');
}

/** Every built file by its URL path below /admin (read once: a build is fixed while serving). */
function loadBuild(dir: string): Map<string, AdminFile> {
  const files = new Map<string, AdminFile>();
  const walk = (folder: string, prefix: string) => {
    for (const name of readdirSync(folder)) {
      const full = path.join(folder, name);
      if (statSync(full).isDirectory()) walk(full, `${prefix}${name}/`);
      else files.set(`${prefix}${name}`, { type: TYPES[path.extname(name)] ?? 'application/octet-stream', body: readFileSync(full) });
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return files;
}

const UNBUILT = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Admin not built</title></head>
<body><h1>The admin app is not built</h1><p>Run <code>npm run build</code>, then reload this page.</p></body></html>`;

export function adminRoutes(app: FastifyInstance, options: { enabled: boolean; dir?: string }): void {
  if (!options.enabled) return;
  const files = loadBuild(options.dir ?? adminBuildDir());

  const send = (request: FastifyRequest, reply: FastifyReply, file: AdminFile, immutable: boolean) => {
    reply
      .code(200)
      .header('content-type', file.type)
      .header('content-security-policy', ADMIN_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      // Built assets carry a content hash in their names; the page itself is checked every time.
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (file.body.length > 1024 && !file.type.startsWith('image/png')) {
      reply.header('vary', withVary(reply.getHeader('vary') as string | undefined, 'Accept-Encoding'));
      if (new Negotiator({ headers: { 'accept-encoding': request.headers['accept-encoding'] ?? '' } }).encoding(['gzip', 'identity']) === 'gzip') {
        file.gzipped ??= gzipSync(file.body);
        return reply.header('content-encoding', 'gzip').send(file.gzipped);
      }
    }
    return reply.send(file.body);
  };

  const page = (request: FastifyRequest, reply: FastifyReply) => {
    const index = files.get('index.html');
    if (!index) return reply.code(503).header('content-type', 'text/html; charset=utf-8').header('content-security-policy', ADMIN_CSP).send(UNBUILT);
    return send(request, reply, index, false);
  };

  app.get(ADMIN_PATH, page);
  app.get(`${ADMIN_PATH}/*`, async (request, reply) => {
    const rest = (request.params as { '*': string })['*'];
    const file = files.get(rest);
    if (file) return send(request, reply, file, rest.startsWith('assets/'));
    // A missing asset is a 404; any other path is a screen of the app (client-side routing).
    if (rest.startsWith('assets/') || path.extname(rest) !== '') {
      reply.callNotFound();
      return reply;
    }
    return page(request, reply);
  });
}
