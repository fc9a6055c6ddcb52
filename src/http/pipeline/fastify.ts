/**
 * The pipeline in Fastify: request id (Fastify's request.id, from the same function the fast path
 * calls), X-Request-Id and CORS headers on every answer, and metrics and the access log when the
 * answer is finished. Body bytes are the Content-Length, or counted for streamed answers.
 */
import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Pipeline } from './index.js';
import { REQUEST_ID_HEADER } from './request-id.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** pipeline.now() when the request arrived. */
    startedAt: number;
    /** Bytes of a streamed body so far (answers with a Content-Length do not count here). */
    streamedBytes: number;
  }
}

/** The route label: Fastify's route pattern, or 'unmatched' (404s are not labelled by URL). */
function routeOf(request: FastifyRequest): string {
  return request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
}

export function installPipeline(app: FastifyInstance, pipeline: Pipeline): void {
  app.decorateRequest('startedAt', 0);
  app.decorateRequest('streamedBytes', 0);

  app.addHook('onRequest', (request, reply, done) => {
    request.startedAt = pipeline.now();
    reply.header(REQUEST_ID_HEADER, request.id);
    const cors = pipeline.cors.headersFor(request.headers.origin);
    for (const name in cors) reply.header(name, cors[name]!);
    done();
  });

  if (pipeline.metrics === undefined && pipeline.accessLog === undefined) return;
  app.addHook('onResponse', (request, reply, done) => {
    const length = reply.getHeader('content-length');
    pipeline.finish({
      id: request.id,
      method: request.method,
      route: routeOf(request),
      url: request.url,
      status: reply.statusCode,
      bytes: length === undefined ? request.streamedBytes : Number(length),
      remote: request.ip,
      started: request.startedAt,
    });
    done();
  });
}

/** A pass-through that counts the bytes of a streamed answer for the access log. */
export function byteCounter(request: FastifyRequest): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      request.streamedBytes += chunk.length;
      callback(null, chunk);
    },
  });
}
