/**
 * The HTTP server: decoding (brackets, JSON, forms), CORS, the routes of the four APIs, and one
 * error path that answers every failure with the seed's JSON body.
 */
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { createServer as createHttpServer } from 'node:http';
import type { Logger } from 'pino';
import type { Cms } from '../core/cms.js';
import { limitConnections, timeoutOptions } from './connections.js';
import { createFastPath } from './fast-path.js';
import { createGuard, FailureBrake, type BrakeLimits } from './auth.js';
import { decodeBrackets, decodeJson, decodeLimitsOf, decodeQuery, decodeUtf8, type DecodeLimits } from './body.js';
import { ERRORS, errorBody, HttpError, sendError, toHttpError, type HttpErrorCode } from './errors.js';
import { HeavyQueryGate } from './heavy-queries.js';
import { installPipeline } from './pipeline/fastify.js';
import { Pipeline, REQUEST_ID_HEADER } from './pipeline/index.js';
import { withVary } from './pipeline/negotiation.js';
import { redactUrl } from './pipeline/redact.js';
import { routePathOf } from './params.js';
import { createReplier } from './reply.js';
import { CACHE_PATHS, cacheRoutes } from './routes/cache.js';
import { controlRoutes } from './routes/control.js';
import { adminRoutes } from './routes/admin.js';
import { DOCS_PATHS, docsRoutes } from './routes/docs.js';
import { ENTRIES_PATHS, entriesRoutes } from './routes/entries.js';
import { LIVE_PATHS, liveRoutes } from './routes/live.js';
import { opsPaths, opsRoutes } from './routes/ops.js';
import { QUERY_PATHS, queryRoutes } from './routes/query.js';
import { REGISTRY_PATHS, registryRoutes } from './routes/registry.js';
import { TOKENS_PATHS, tokensRoutes } from './routes/tokens.js';

const API_PATHS: Record<string, string[]> = { ...ENTRIES_PATHS, ...TOKENS_PATHS, ...REGISTRY_PATHS, ...CACHE_PATHS, ...QUERY_PATHS, ...DOCS_PATHS, ...LIVE_PATHS };

export interface ServerOptions {
  /** Failures, and the access log (settings log.access), go here. */
  logger?: Logger;
  /** Opens the local control requests (routes/control.ts) with this secret. */
  controlSecret?: string;
}

export { redactUrl };

/**
 * Requests Node refuses before routing (headers or URL over its size limit, a malformed request
 * line) are answered with the seed's JSON body too, not Fastify's own error shape.
 */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const code: HttpErrorCode =
    err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : 'bad_request';
  const body = errorBody(code);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${ERRORS[code].status} ${ERRORS[code].title}\r\nConnection: close\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** Failures counted across nodes when the engine coordinates them (PostgreSQL). */
function sharedFailureCount(cms: Cms): Pick<BrakeLimits, 'countShared'> {
  const coordination = cms.store.engine.coordination;
  return coordination ? { countShared: (key, windowMs) => coordination.countFailure(key, windowMs) } : {};
}

export async function buildServer(cms: Cms, options: ServerOptions = {}): Promise<FastifyInstance> {
  const settings = cms.settings;
  const limits: DecodeLimits = decodeLimitsOf(settings);
  const KNOWN_PATHS: Record<string, string[]> = { ...API_PATHS, ...opsPaths(settings.metrics.enabled) };
  const log = options.logger;
  const brake = new FailureBrake(settings.security.auth_failures_per_minute, settings.security.auth_block_seconds, {
    concurrent: settings.security.auth_concurrent_per_address,
    waiting: settings.security.auth_waiting_per_address,
    ...sharedFailureCount(cms),
  });
  const pipeline = new Pipeline({
    settings,
    ...(log ? { logger: log } : {}),
    sources: {
      entries: () => cms.store.entryCount,
      cachedEntries: () => cms.store.cachedCount,
      renderCache: () => ({ hits: cms.renderer.cache.hits, misses: cms.renderer.cache.misses }),
    },
  });
  const fastPath = createFastPath(cms, brake, pipeline);
  const app = Fastify({
    // Cache hits of the hottest call (GET one entry) are answered before Fastify (see fast-path.ts).
    serverFactory: (handler) => {
      const server = createHttpServer(timeoutOptions(settings), (req, res) => fastPath(req, res) || handler(req, res));
      limitConnections(server, settings);
      return server;
    },
    // Fastify gets no logger: its per-request logging machinery costs throughput even when silent,
    // and URLs can carry credentials. Failures are logged by the error handler below.
    logger: false,
    // The request id is the pipeline's (the fast path makes its own the same way).
    genReqId: (req) => pipeline.requestId(req.headers[REQUEST_ID_HEADER]),
    bodyLimit: settings.server.body_limit,
    routerOptions: {
      ignoreTrailingSlash: true,
      ignoreDuplicateSlashes: true,
      maxParamLength: 500,
      querystringParser: (text: string) => decodeQuery(text, limits),
    },
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    // Behind a reverse proxy, set server.trust_proxy so the failure brake sees client addresses.
    trustProxy: settings.server.trust_proxy,
    clientErrorHandler,
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, decodeJson(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, decodeBrackets(decodeUtf8(body as Buffer), limits));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  // Request id, CORS, metrics and the access log, for every answer (errors and 404s included).
  installPipeline(app, pipeline);
  app.addHook('onClose', (_app, done) => {
    pipeline.flush();
    done();
  });

  app.addHook('onRequest', (request, reply, done) => {
    // Preflight (and any OPTIONS) is answered here: a wildcard OPTIONS route slows every lookup.
    if (request.method === 'OPTIONS') {
      const cors = settings.cors;
      const path = routePathOf(request.url);
      const allowed = KNOWN_PATHS[path];
      if (cors.enabled) {
        reply
          .header('access-control-allow-methods', (allowed ? [...allowed, 'OPTIONS'] : cors.methods).join(', '))
          .header('access-control-allow-headers', request.headers['access-control-request-headers'] ?? cors.headers.join(', '))
          .header('access-control-max-age', '600')
          // The allowed headers echo the request's, so a cached preflight answer depends on them.
          .header('vary', withVary(reply.getHeader('vary') as string | undefined, 'Access-Control-Request-Headers'));
      }
      if (allowed) reply.header('allow', [...allowed, 'OPTIONS'].join(', '));
      reply.code(204).send();
      return;
    }
    done();
  });

  const context = {
    cms,
    guard: createGuard(cms.tokens, brake),
    replier: createReplier(pipeline, { streamThreshold: settings.server.stream_threshold }),
    heavyQueries: new HeavyQueryGate(settings.query.heavy),
  };
  entriesRoutes(app, context);
  tokensRoutes(app, context);
  registryRoutes(app, context);
  cacheRoutes(app, context);
  queryRoutes(app, context);
  docsRoutes(app, context);
  liveRoutes(app, context);
  adminRoutes(app, { enabled: settings.admin.enabled });
  opsRoutes(app, cms, pipeline);
  if (options.controlSecret !== undefined) controlRoutes(app, cms, options.controlSecret, log);

  app.setNotFoundHandler((request, reply) => {
    const path = routePathOf(request.url);
    const allowed = KNOWN_PATHS[path];
    if (allowed) {
      const allow = [...allowed, 'OPTIONS'].join(', ');
      return sendError(reply, 'method_not_allowed', `${request.method} is not allowed here; use ${allow}`, { allow });
    }
    return sendError(reply, 'not_found', `no endpoint ${request.method} ${path}`);
  });

  app.setErrorHandler((err, request, reply) => {
    const mapped = toHttpError(err);
    if (mapped.internal) {
      log?.error({ err, reqId: request.id, method: request.method, url: redactUrl(request.url) }, 'request failed');
    }
    return sendError(reply, mapped.code, mapped.detail, mapped.headers);
  });

  return app;
}

export { HttpError };
