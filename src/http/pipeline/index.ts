/**
 * The HTTP pipeline: every concern that every answer shares — request id, CORS, content
 * negotiation and compression, ETag and 304, metrics, access log — implemented once here. The
 * Fastify routes go through it by hooks (fastify.ts); the fast path (fast-path.ts) calls the same
 * functions directly, so it is a shortcut through the pipeline, never around it.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Settings } from '../../core/settings.js';
import { etagListIncludes } from '../../core/store/store.js';
import { AccessLog } from './access-log.js';
import { corsPolicy, type CorsPolicy } from './cors.js';
import { RequestMetrics, type MetricsSources, type Slot } from './metrics.js';
import { codingFor, type ContentCoding } from './negotiation.js';
import { requestIdOf } from './request-id.js';

export { REQUEST_ID_HEADER } from './request-id.js';

/** One answered request, as the metrics and the access log see it. */
export interface Finished {
  id: string;
  method: string;
  route: string;
  url: string;
  status: number;
  bytes: number;
  remote: string | undefined;
  /** pipeline.now() when the request arrived. */
  started: number;
}

export interface PipelineOptions {
  settings: Settings;
  /** Where the access log writes (the logger's destination); none: no access log. */
  logger?: Logger;
  /** Read by the metrics at scrape time. */
  sources: MetricsSources;
}

export class Pipeline {
  readonly cors: CorsPolicy;
  readonly metrics: RequestMetrics | undefined;
  readonly accessLog: AccessLog | undefined;
  readonly cacheControl: string;
  private readonly compressThreshold: number;

  constructor(options: PipelineOptions) {
    const settings = options.settings;
    this.cors = corsPolicy(settings);
    this.metrics = settings.metrics.enabled ? new RequestMetrics(options.sources) : undefined;
    this.accessLog = settings.log.access && options.logger ? AccessLog.of(options.logger) : undefined;
    this.cacheControl = settings.server.cache_control;
    this.compressThreshold = settings.server.compress_threshold;
  }

  /** A monotonic clock in milliseconds, for durations. */
  now(): number {
    return performance.now();
  }

  /** The request's id: its sane X-Request-Id, else a new one. */
  requestId(header: string | string[] | undefined): string {
    return requestIdOf(header);
  }

  /** The coding a body of `length` characters is sent with for this Accept-Encoding (undefined: as is). */
  codingFor(acceptEncoding: string | string[] | undefined, length: number): ContentCoding | undefined {
    return codingFor(acceptEncoding, length, this.compressThreshold);
  }

  /** Whether a body this long depends on Accept-Encoding at all (Vary). */
  mayCompress(length: number): boolean {
    return length >= this.compressThreshold;
  }

  /** True when the client's If-None-Match names `etag`: the answer is 304 without a body. */
  notModified(ifNoneMatch: string | undefined, etag: string): boolean {
    return etagListIncludes(ifNoneMatch, etag);
  }

  /** The metrics slot of one (method, route, status), for callers that keep theirs. */
  slot(method: string, route: string, status: number): Slot | undefined {
    return this.metrics?.slot(method, route, status);
  }

  /** Counts and logs an answered request; `slot` saves the lookup when the caller has it. */
  finish(done: Finished, slot?: Slot): void {
    if (this.metrics === undefined && this.accessLog === undefined) return;
    const ms = performance.now() - done.started;
    (slot ?? this.metrics?.slot(done.method, done.route, done.status))?.record(ms / 1000);
    this.accessLog?.write({ id: done.id, method: done.method, route: done.route, url: done.url, status: done.status, ms, bytes: done.bytes, remote: done.remote });
  }

  /** Writes what the access log holds (at shutdown). */
  flush(): void {
    this.accessLog?.flush();
  }
}
