/**
 * The API's own description: the OpenAPI document at /api/v1/openapi.json and an interactive page
 * at /api/v1/docs (Swagger UI, served from the swagger-ui-dist package: no CDN, a strict CSP).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';
import { withVary } from '../pipeline/negotiation.js';
import { buildOpenApiDocument } from '../openapi/document.js';
import { PUBLIC_PATHS } from '../openapi/operations.js';
import type { RouteContext } from './context.js';

export const DOCS_PATHS = { [PUBLIC_PATHS.openapi]: ['GET'], [PUBLIC_PATHS.docs]: ['GET'] };

/** Scripts and styles from this server only, no inline code, no other origin. */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(PUBLIC_PATHS.openapi)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    persistAuthorization: false,
  });
});
`;

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API documentation</title>
<link rel="stylesheet" href="${PUBLIC_PATHS.docs}/swagger-ui.css">
<link rel="icon" type="image/png" href="${PUBLIC_PATHS.docs}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${PUBLIC_PATHS.docs}/swagger-ui-bundle.js"></script>
<script src="${PUBLIC_PATHS.docs}/init.js"></script>
</body>
</html>
`;

interface Asset {
  type: string;
  body: Buffer;
  gzipped?: Buffer;
}

/** The package's folder, found through Node's resolution (works from src/ and dist/). */
function swaggerUiDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

export function docsRoutes(app: FastifyInstance, { cms, replier }: RouteContext): void {
  const version = String(cms.registry.exposed('flextype.manifest.version').value ?? '0.0.0');
  // Built once: the operations are fixed at start-up.
  let documentText: string | undefined;
  const documentOf = () => (documentText ??= JSON.stringify(buildOpenApiDocument({ version, metrics: cms.settings.metrics.enabled })));
  const assets = new Map<string, Asset>();
  const assetOf = (name: string): Asset | undefined => {
    let asset = assets.get(name);
    if (!asset) {
      if (name === 'init.js') asset = { type: 'text/javascript; charset=utf-8', body: Buffer.from(INIT_SCRIPT) };
      else if (ASSETS[name]) asset = { type: ASSETS[name]!, body: readFileSync(path.join(swaggerUiDir(), name)) };
      else return undefined;
      assets.set(name, asset);
    }
    return asset;
  };

  const sendAsset = (request: FastifyRequest, reply: FastifyReply, asset: Asset) => {
    reply.code(200).header('content-type', asset.type).header('cache-control', 'public, max-age=3600');
    reply.header('x-content-type-options', 'nosniff');
    if (asset.body.length > 1024 && !asset.type.startsWith('image/')) {
      reply.header('vary', withVary(reply.getHeader('vary') as string | undefined, 'Accept-Encoding'));
      // Only gzip is kept (once, in memory): these files are large and the same for every client.
      if (new Negotiator({ headers: { 'accept-encoding': request.headers['accept-encoding'] ?? '' } }).encoding(['gzip', 'identity']) === 'gzip') {
        asset.gzipped ??= gzipSync(asset.body);
        return reply.header('content-encoding', 'gzip').send(asset.gzipped);
      }
    }
    return reply.send(asset.body);
  };

  app.get(PUBLIC_PATHS.openapi, async (request, reply) => replier.sendRead(request, reply, documentOf()));

  app.get(PUBLIC_PATHS.docs, async (_request, reply) =>
    reply
      .code(200)
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', DOCS_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .send(PAGE),
  );

  app.get(`${PUBLIC_PATHS.docs}/:file`, async (request, reply) => {
    const { file } = request.params as { file: string };
    const asset = assetOf(file);
    if (!asset) {
      reply.callNotFound();
      return reply;
    }
    return sendAsset(request, reply, asset);
  });
}
