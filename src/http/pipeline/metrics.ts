/**
 * Prometheus metrics. Requests are counted in plain per-(method, route, status) slots that the
 * fast path resolves once, so counting a request costs a few additions (prom-client's own
 * observe() hashes its labels on every call); prom-client renders them, with its process and
 * event-loop metrics and gauges read at scrape time. Labels are route patterns, never URLs, so
 * their number stays bounded whatever clients send.
 */
import client, { type Metric, type Registry } from 'prom-client';
import { slicing } from '../../core/query/execute.js';

/** Latency buckets in seconds: from a cache hit (well under a millisecond) to a slow query. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** The counts of one (method, route, status): requests, latency sum and per-bucket counts. */
export class Slot {
  count = 0;
  sum = 0;
  /** Not cumulative: bucket i counts durations in (bound i-1, bound i]; the last is +Inf. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  constructor(readonly labels: Readonly<{ method: string; route: string; status: string }>) {}

  record(seconds: number): void {
    this.count++;
    this.sum += seconds;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.buckets[i]!++;
  }
}

/** What the metrics read at scrape time from the rest of the server. */
export interface MetricsSources {
  /** Entries known (the id tree), undefined before it is built. */
  entries(): number | undefined;
  /** Entries parsed and held in memory. */
  cachedEntries(): number;
  /** Render cache lookups so far. */
  renderCache(): { hits: number; misses: number };
}

/** prom-client's shape of a collected metric (what Registry renders). */
interface Collected {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

export class RequestMetrics {
  private readonly slots = new Map<string, Slot>();
  fastPathHits = 0;
  fastPathMisses = 0;
  readonly registry: Registry;

  constructor(sources: MetricsSources) {
    this.registry = new client.Registry();
    client.collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
    const register = this.registry;
    // The request counter and histogram are rendered from the slots: objects with prom-client's
    // metric shape (get/reset), which Registry accepts like its own; the types only know its classes.
    const custom = (name: string, help: string, type: Collected['type'], values: () => Collected['values']) =>
      register.registerMetric({ name, help, type, aggregator: 'sum', get: async (): Promise<Collected> => ({ name, help, type, aggregator: 'sum', values: values() }), reset: () => undefined } as unknown as Metric);
    custom('flextype_http_requests_total', 'HTTP requests answered, by method, route pattern and status', 'counter', () =>
      [...this.slots.values()].map((slot) => ({ value: slot.count, labels: slot.labels })),
    );
    custom('flextype_http_request_duration_seconds', 'Time from the request to its answer, by method, route pattern and status', 'histogram', () => this.histogramValues());
    const gauge = (name: string, help: string, read: () => number | undefined) =>
      new client.Gauge({
        name,
        help,
        registers: [register],
        collect() {
          const value = read();
          if (value !== undefined) this.set(value);
        },
      });
    gauge('flextype_entries', 'Entries in the project (the id tree; absent before it is built)', sources.entries);
    gauge('flextype_entries_cached', 'Entries parsed and held in memory', sources.cachedEntries);
    custom('flextype_fast_path_total', 'GET one entry: answered by the fast path (hit) or by the full path (miss)', 'counter', () => [
      { value: this.fastPathHits, labels: { result: 'hit' } },
      { value: this.fastPathMisses, labels: { result: 'miss' } },
    ]);
    custom('flextype_query_pauses_total', 'Times a collection query gave the event loop back to other requests (query.slice_ms)', 'counter', () => [
      { value: slicing.pauses, labels: {} },
    ]);
    custom('flextype_render_cache_total', 'Render cache lookups: a valid rendering found (hit) or not (miss)', 'counter', () => {
      const { hits, misses } = sources.renderCache();
      return [
        { value: hits, labels: { result: 'hit' } },
        { value: misses, labels: { result: 'miss' } },
      ];
    });
  }

  /** The slot of one (method, route, status); the fast path keeps its own. */
  slot(method: string, route: string, status: number): Slot {
    const key = `${method} ${status} ${route}`;
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = new Slot({ method, route, status: String(status) });
      this.slots.set(key, slot);
    }
    return slot;
  }

  private histogramValues(): Collected['values'] {
    const values: Collected['values'] = [];
    for (const slot of this.slots.values()) {
      let cumulative = 0;
      for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
        cumulative += slot.buckets[i]!;
        const le = i < LATENCY_BUCKETS.length ? LATENCY_BUCKETS[i]! : '+Inf';
        values.push({ value: cumulative, labels: { ...slot.labels, le }, metricName: 'flextype_http_request_duration_seconds_bucket' });
      }
      values.push({ value: slot.sum, labels: slot.labels, metricName: 'flextype_http_request_duration_seconds_sum' });
      values.push({ value: slot.count, labels: slot.labels, metricName: 'flextype_http_request_duration_seconds_count' });
    }
    return values;
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
