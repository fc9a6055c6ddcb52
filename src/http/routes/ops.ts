/**
 * Operations: liveness (`/api/v1/health`), readiness (`/api/v1/ready`) and Prometheus metrics
 * (`/metrics`). Health and readiness need no token (a load balancer calls them) and say nothing
 * secret. Metrics (settings `metrics`): with `metrics.token` set, they need
 * `Authorization: Bearer <token>`, from anywhere; without one, only clients on this machine
 * (loopback, judged on the client address, so behind a proxy with server.trust_proxy set the
 * proxy's clients are not taken for local ones) may read them.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Cms } from '../../core/cms.js';
import { sendError } from '../errors.js';
import type { Pipeline } from '../pipeline/index.js';
import { JSON_TYPE } from '../reply.js';

export const HEALTH_PATH = '/api/v1/health';
export const READY_PATH = '/api/v1/ready';
export const METRICS_PATH = '/metrics';

/** The paths and their methods (for 405 and Allow); /metrics only when metrics are on. */
export function opsPaths(metrics: boolean): Record<string, string[]> {
  const paths: Record<string, string[]> = { [HEALTH_PATH]: ['GET', 'HEAD'], [READY_PATH]: ['GET', 'HEAD'] };
  if (metrics) paths[METRICS_PATH] = ['GET', 'HEAD'];
  return paths;
}

const HEALTHY = JSON.stringify({ status: 'ok' });
const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** Equal in constant time (for the length of `expected`); a different length is simply unequal. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // Compared even when the lengths differ (against itself), so the time does not tell the length early.
  return timingSafeEqual(a.length === b.length ? a : b, b) && a.length === b.length;
}

export function opsRoutes(app: FastifyInstance, cms: Cms, pipeline: Pipeline): void {
  app.get(HEALTH_PATH, async (_request, reply) => reply.code(200).header('content-type', JSON_TYPE).header('cache-control', 'no-store').send(HEALTHY));

  app.get(READY_PATH, async (_request, reply) => {
    const { ready, checks } = await cms.readiness();
    return reply
      .code(ready ? 200 : 503)
      .header('content-type', JSON_TYPE)
      .header('cache-control', 'no-store')
      .send(JSON.stringify({ status: ready ? 'ready' : 'not_ready', checks }));
  });

  const metrics = pipeline.metrics;
  if (!metrics) return;
  const token = cms.settings.metrics.token;
  app.get(METRICS_PATH, async (request, reply) => {
    if (token !== '') {
      const header = request.headers.authorization;
      const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : '';
      if (!sameSecret(given, token)) {
        return sendError(reply, 'unauthorized', 'GET /metrics needs "Authorization: Bearer <metrics.token>"', { 'www-authenticate': 'Bearer realm="metrics"' });
      }
    } else if (!LOOPBACK.test(request.ip)) {
      return sendError(reply, 'unauthorized', 'without metrics.token set, /metrics answers only clients on this machine');
    }
    return reply.code(200).header('content-type', metrics.contentType).header('cache-control', 'no-store').send(await metrics.text());
  });
}
