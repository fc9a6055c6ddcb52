/** What the CLI shows of webhooks (endpoints, pending events, the delivery log) and its one-off sends. */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../settings.js';
import { isPlainObject } from '../util.js';
import { attemptDelivery, BoundedLog, deliveryLogFile, failedFile, type AttemptResult, type LogRecord } from './delivery.js';
import { resolveEndpoints, subscribes, TEST_EVENT, type Endpoint, type WebhookEvent } from './events.js';
import { readJsonLines, webhooksDir, type OutboxState, type StoredEvent } from './outbox.js';

export interface EndpointSummary {
  url: string;
  events: string[];
  /** Events recorded and not yet delivered (or given up) to it. */
  pending: number;
  last: LogRecord | undefined;
}

function readState(dir: string): OutboxState | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8'));
    return isPlainObject(parsed) && isPlainObject(parsed['cursors']) ? (parsed as unknown as OutboxState) : undefined;
  } catch {
    return undefined;
  }
}

export async function readDeliveryLog(projectDir: string, limit: number): Promise<LogRecord[]> {
  const records = (await readJsonLines(deliveryLogFile(webhooksDir(projectDir)))) as LogRecord[];
  return records.slice(-limit);
}

export async function summarizeEndpoints(projectDir: string, settings: Settings): Promise<EndpointSummary[]> {
  const dir = webhooksDir(projectDir);
  const state = readState(dir);
  const events = (await readJsonLines(path.join(dir, 'outbox.jsonl'))) as StoredEvent[];
  let inbox: WebhookEvent[] = [];
  try {
    inbox = readdirSync(path.join(dir, 'inbox'))
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .flatMap((name) => {
        try {
          return [JSON.parse(readFileSync(path.join(dir, 'inbox', name), 'utf8')) as WebhookEvent];
        } catch {
          return [];
        }
      });
  } catch {
    // No inbox yet.
  }
  const log = (await readJsonLines(deliveryLogFile(dir))) as LogRecord[];
  return resolveEndpoints(settings).map((endpoint) => {
    const cursor = state?.cursors[endpoint.key];
    // An endpoint the server has not started with yet gets only what is recorded from then on.
    const outboxPending = cursor === undefined ? 0 : events.filter((e) => e.seq > cursor && subscribes(endpoint, e.event)).length;
    const inboxPending = inbox.filter((e) => subscribes(endpoint, e.event)).length;
    return {
      url: endpoint.shownUrl,
      events: [...endpoint.events],
      pending: outboxPending + inboxPending,
      last: log.filter((record) => record.endpoint === endpoint.shownUrl).pop(),
    };
  });
}

/** The endpoints `url` names (all of them without one); an unknown URL is an error message. */
export function endpointsNamed(settings: Settings, url: string | undefined): Endpoint[] | string {
  const endpoints = resolveEndpoints(settings);
  if (endpoints.length === 0) return 'no webhook endpoints are configured (webhooks.endpoints in the settings)';
  if (url === undefined) return endpoints;
  const found = endpoints.filter((endpoint) => endpoint.url === url || endpoint.shownUrl === url);
  return found.length > 0 ? found : `no configured webhook endpoint has the URL ${url} (see flextype webhooks:list)`;
}

/** One attempt from the CLI, logged like the server's. */
export async function deliverOnce(projectDir: string, settings: Settings, endpoint: Endpoint, event: WebhookEvent): Promise<AttemptResult> {
  const result = await attemptDelivery(endpoint, event, settings.webhooks.timeout);
  const dir = webhooksDir(projectDir);
  mkdirSync(dir, { recursive: true });
  const record: LogRecord = {
    at: new Date().toISOString(),
    endpoint: endpoint.shownUrl,
    event: event.event,
    event_id: event.id,
    attempt: 1,
    ...result,
    outcome: result.ok ? 'delivered' : 'failed',
    by: 'cli',
  };
  await new BoundedLog(deliveryLogFile(dir), settings.webhooks.log_size).append(record);
  return result;
}

export function testEvent(): WebhookEvent {
  return { id: randomUUID(), event: TEST_EVENT, occurred_at: new Date().toISOString(), data: { message: 'a test event sent by flextype webhooks:test' } };
}

/** An event by id: among those given up (failed.jsonl), else still in the outbox; with who failed it. */
export async function findEvent(projectDir: string, id: string): Promise<{ event: WebhookEvent; failedFor: string[] } | undefined> {
  const dir = webhooksDir(projectDir);
  const failed = (await readJsonLines(failedFile(dir))).filter(
    (record): record is { endpoint: string; event: WebhookEvent } => isPlainObject(record) && isPlainObject(record['event']) && record['event']['id'] === id,
  );
  if (failed.length > 0) return { event: failed[0]!.event, failedFor: failed.map((record) => record.endpoint) };
  const stored = ((await readJsonLines(path.join(dir, 'outbox.jsonl'))) as StoredEvent[]).find((event) => event.id === id);
  if (!stored) return undefined;
  return { event: { id: stored.id, event: stored.event, occurred_at: stored.occurred_at, data: stored.data }, failedFor: [] };
}
