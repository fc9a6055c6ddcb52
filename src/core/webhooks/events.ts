/** Webhook events: their names, what their data holds, and the endpoints configured to receive them. */
import { createHash } from 'node:crypto';
import type { Fields } from '../../storage/serializers/index.js';
import { SettingsError, type Settings } from '../settings.js';
import { WEBHOOK_EVENTS } from '../settings-schema.js';
import type { PlainObject } from '../util.js';

export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];
/** Sent only by `flextype webhooks:test`, to the one endpoint named. */
export const TEST_EVENT = 'webhooks.test';

/** What is POSTed (the JSON body). */
export interface WebhookEvent {
  id: string;
  event: WebhookEventName | typeof TEST_EVENT;
  occurred_at: string;
  data: PlainObject;
}

/** Records an event for delivery; resolves once it is on disk. */
export type EventSink = (event: WebhookEventName, data: PlainObject) => Promise<void>;

export interface Endpoint {
  /** Stable name of the endpoint in the outbox's state: derived from its URL. */
  key: string;
  url: string;
  /** The URL as logs show it: without user:password and query string (they may hold credentials). */
  shownUrl: string;
  events: ReadonlySet<string>;
  secret: string;
}

export function endpointKey(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

export function shownUrlOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search === '' ? '' : '?…'}`;
}

/** The configured endpoints, with their secrets read (from the settings or the named variable). */
export function resolveEndpoints(settings: Settings, env: NodeJS.ProcessEnv = process.env): Endpoint[] {
  return settings.webhooks.endpoints.map((endpoint, index) => {
    let secret = endpoint.secret;
    if (endpoint.secret_env !== undefined) {
      secret = env[endpoint.secret_env];
      if (secret === undefined || secret.length < 16) {
        throw new SettingsError(
          `webhooks.endpoints.${index}.secret_env: the environment variable ${endpoint.secret_env} must hold the secret (at least 16 characters)`,
        );
      }
    }
    return {
      key: endpointKey(endpoint.url),
      url: endpoint.url,
      shownUrl: shownUrlOf(endpoint.url),
      events: new Set(endpoint.events),
      secret: secret!,
    };
  });
}

export function subscribes(endpoint: Endpoint, event: string): boolean {
  return endpoint.events.has(event) || (endpoint.events.has('*') && event !== TEST_EVENT);
}

/**
 * Names a token without revealing it: the token itself is a credential (it is sent with every
 * request), so events carry a fingerprint, the same one `webhooks:log` and the CLI can compute.
 */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/** A token event's data: its descriptive fields, never the token, its access token or hash. */
export function tokenEventData(token: string, fields?: Fields): PlainObject {
  const data: PlainObject = { token_fingerprint: tokenFingerprint(token) };
  if (!fields) return data;
  for (const key of ['title', 'description', 'state', 'scopes', 'limit_calls', 'expires_at', 'uuid', 'created_at']) {
    if (fields[key] !== undefined) data[key] = fields[key];
  }
  return data;
}
