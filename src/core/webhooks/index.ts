/**
 * Webhooks: events recorded in the outbox before the API answers, then POSTed to each subscribed
 * endpoint by one worker per endpoint, in order, retried with backoff, every attempt logged.
 * The server delivers ('deliver'); other processes (CLI commands) only record ('record') into the
 * inbox, which the server takes over.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Settings } from '../settings.js';
import type { PlainObject } from '../util.js';
import { attemptDelivery, backoffMs, BoundedLog, deliveryLogFile, failedFile, type LogRecord } from './delivery.js';
import { resolveEndpoints, subscribes, type Endpoint, type EventSink, type WebhookEvent, type WebhookEventName } from './events.js';
import { Outbox, recordInInbox, webhooksDir, type StoredEvent } from './outbox.js';

export type WebhooksMode = 'deliver' | 'record';

export interface WebhooksOptions {
  projectDir: string;
  settings: Settings;
  mode: WebhooksMode;
  log?: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
  env?: NodeJS.ProcessEnv;
}

/** The outbox file is rewritten without delivered events once it is larger than this. */
const COMPACT_BYTES = 1 << 20;
const INBOX_POLL_MS = 1000;

export class Webhooks {
  readonly endpoints: readonly Endpoint[];
  private readonly projectDir: string;
  private readonly settings: Settings['webhooks'];
  private readonly durable: boolean;
  private readonly mode: WebhooksMode;
  private readonly log: WebhooksOptions['log'];
  private outbox: Outbox | undefined;
  private readonly deliveries: BoundedLog;
  private readonly failures: BoundedLog;
  private readonly stop = new AbortController();
  private waiters: (() => void)[] = [];
  private workers: Promise<void>[] = [];
  private poll: NodeJS.Timeout | undefined;
  private importing: Promise<unknown> | undefined;

  constructor(options: WebhooksOptions) {
    this.projectDir = options.projectDir;
    this.settings = options.settings.webhooks;
    this.durable = options.settings.storage.durable;
    this.mode = options.mode;
    this.log = options.log;
    this.endpoints = resolveEndpoints(options.settings, options.env);
    const dir = webhooksDir(this.projectDir);
    this.deliveries = new BoundedLog(deliveryLogFile(dir), this.settings.log_size);
    this.failures = new BoundedLog(failedFile(dir), this.settings.log_size);
  }

  /** Whether some endpoint wants `event` (nothing is recorded otherwise). */
  wants(event: string): boolean {
    return this.endpoints.some((endpoint) => subscribes(endpoint, event));
  }

  /** Records an event; resolves once it is on disk, before the API acknowledges the change. */
  readonly emit: EventSink = async (event: WebhookEventName, data: PlainObject) => {
    if (!this.wants(event)) return;
    const record: WebhookEvent = { id: randomUUID(), event, occurred_at: new Date().toISOString(), data };
    if (this.outbox) await this.outbox.append([record]);
    else await recordInInbox(this.projectDir, record, this.durable);
  };

  /** The server's part: reads the outbox, takes over the inbox, starts one worker per endpoint. */
  async start(): Promise<void> {
    if (this.mode !== 'deliver' || this.endpoints.length === 0 || this.outbox) return;
    const outbox = new Outbox(this.projectDir, this.durable, () => this.wake(), (msg) => this.log?.warn({}, msg));
    await outbox.open();
    // An endpoint seen for the first time gets the events from now on; a removed one is forgotten.
    const cursors: Record<string, number> = {};
    for (const endpoint of this.endpoints) cursors[endpoint.key] = outbox.state.cursors[endpoint.key] ?? outbox.state.next_seq - 1;
    outbox.state.cursors = cursors;
    await outbox.saveState();
    this.outbox = outbox;
    await this.importInbox();
    this.poll = setInterval(() => void this.importInbox(), INBOX_POLL_MS);
    this.poll.unref();
    this.workers = this.endpoints.map((endpoint) => this.run(endpoint, outbox));
  }

  private importInbox(): Promise<unknown> {
    this.importing ??= (this.outbox?.importInbox() ?? Promise.resolve(0))
      .catch((err: Error) => this.log?.warn({ err: err.message }, 'webhooks: could not read the inbox'))
      .finally(() => (this.importing = undefined));
    return this.importing;
  }

  private wake(): void {
    for (const resume of this.waiters.splice(0)) resume();
  }

  private waitForEvents(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private get stopped(): boolean {
    return this.stop.signal.aborted;
  }

  private async run(endpoint: Endpoint, outbox: Outbox): Promise<void> {
    while (!this.stopped) {
      const cursor = outbox.state.cursors[endpoint.key] ?? 0;
      const next = outbox.events.find((event) => event.seq > cursor && subscribes(endpoint, event.event));
      if (!next) {
        const last = outbox.events[outbox.events.length - 1];
        if (last && last.seq > cursor) this.advance(endpoint, last.seq, outbox);
        await this.waitForEvents();
        continue;
      }
      const outcome = await this.deliverWithRetries(endpoint, next);
      if (outcome === 'stopped') return;
      this.advance(endpoint, next.seq, outbox);
    }
  }

  /** Moves an endpoint's cursor; events every endpoint has had are dropped from the outbox. */
  private advance(endpoint: Endpoint, seq: number, outbox: Outbox): void {
    outbox.state.cursors[endpoint.key] = seq;
    void outbox.saveState().catch((err: Error) => this.log?.warn({ err: err.message }, 'webhooks: could not save the delivery state'));
    const upTo = Math.min(...Object.values(outbox.state.cursors));
    void outbox.compact(upTo, COMPACT_BYTES).catch((err: Error) => this.log?.warn({ err: err.message }, 'webhooks: could not compact the outbox'));
  }

  private async deliverWithRetries(endpoint: Endpoint, event: StoredEvent): Promise<'delivered' | 'failed' | 'stopped'> {
    for (let attempt = 1; ; attempt++) {
      const result = await attemptDelivery(endpoint, event, this.settings.timeout, this.stop.signal);
      if (this.stopped && !result.ok) return 'stopped';
      const last = result.ok || attempt >= this.settings.max_attempts;
      const record: LogRecord = {
        at: new Date().toISOString(),
        endpoint: endpoint.shownUrl,
        event: event.event,
        event_id: event.id,
        attempt,
        ...result,
        ...(last ? { outcome: result.ok ? 'delivered' : 'failed' } : {}),
        by: 'server',
      };
      await this.deliveries.append(record).catch((err: Error) => this.log?.warn({ err: err.message }, 'webhooks: could not write the delivery log'));
      if (result.ok) return 'delivered';
      if (last) {
        this.log?.warn({ endpoint: endpoint.shownUrl, event: event.event, event_id: event.id, attempts: attempt }, 'webhook given up');
        await this.failures
          .append({ failed_at: record.at, endpoint: endpoint.shownUrl, endpoint_key: endpoint.key, attempts: attempt, error: result.error, event: publicEvent(event) })
          .catch((err: Error) => this.log?.warn({ err: err.message }, 'webhooks: could not write failed.jsonl'));
        return 'failed';
      }
      try {
        await sleep(backoffMs(attempt, this.settings.backoff_base, this.settings.backoff_max), undefined, { signal: this.stop.signal });
      } catch {
        return 'stopped';
      }
    }
  }

  /** Stops the workers (an attempt in flight is abandoned: delivered again after a restart). */
  async close(): Promise<void> {
    this.stop.abort();
    this.wake();
    if (this.poll) clearInterval(this.poll);
    await Promise.all(this.workers);
    await this.importing;
    await this.outbox?.close();
  }
}

/** An event as POSTed (without its place in the outbox). */
export function publicEvent(event: WebhookEvent): WebhookEvent {
  return { id: event.id, event: event.event, occurred_at: event.occurred_at, data: event.data };
}

export { tokenEventData, TEST_EVENT, type EventSink, type WebhookEvent, type WebhookEventName } from './events.js';
