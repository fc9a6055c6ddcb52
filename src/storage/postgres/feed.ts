/**
 * The change feed: one dedicated connection (not from the pool) LISTENing on the schema's channel.
 * Notifications of this node are ignored (the core made those changes itself). A lost connection is
 * re-established with exponential backoff, and then `resync` tells the core that it may have missed
 * changes meanwhile.
 */
import pg from 'pg';
import type { ChangeFeed, EngineChange } from '../engine.js';

export interface FeedLog {
  warn(obj: object, msg?: string): void;
}

/** One change in a notification: a subtree operation's (sent inside its transaction) or an entry write's (batched, see notices.ts). */
interface NoticeChange {
  kind: 'entry' | 'subtree';
  id: string;
  revision?: string;
}

/** `{origin, kind, id}` (one change) or `{origin, changes: [...]}` (a batch of entry writes). */
type Notice = { origin: string } & (NoticeChange | { changes: NoticeChange[] });

function toEngineChange(change: NoticeChange): EngineChange | undefined {
  if (typeof change !== 'object' || change === null || typeof change.id !== 'string') return undefined;
  if (change.kind === 'subtree') return { kind: 'subtree', id: change.id };
  if (change.kind !== 'entry') return undefined;
  return typeof change.revision === 'string' ? { kind: 'entry', id: change.id, revision: change.revision } : { kind: 'entry', id: change.id };
}

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 10_000;

export async function startFeed(options: {
  url: string;
  location: string;
  channel: string;
  nodeId: string;
  connectTimeoutMs: number;
  listener: (change: EngineChange) => void;
  log: FeedLog | undefined;
}): Promise<ChangeFeed> {
  let client: pg.Client | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let delay = FIRST_DELAY_MS;

  const onNotice = (message: pg.Notification) => {
    if (message.channel !== options.channel || !message.payload) return;
    let notice: Notice;
    try {
      notice = JSON.parse(message.payload) as Notice;
    } catch {
      return;
    }
    if (typeof notice !== 'object' || notice === null || notice.origin === options.nodeId) return;
    const changes: unknown[] = 'changes' in notice ? (Array.isArray(notice.changes) ? notice.changes : []) : [notice];
    for (const change of changes) {
      const engineChange = toEngineChange(change as NoticeChange);
      if (engineChange) options.listener(engineChange);
    }
  };

  const connect = async (): Promise<pg.Client> => {
    const next = new pg.Client({
      connectionString: options.url,
      connectionTimeoutMillis: options.connectTimeoutMs,
      keepAlive: true,
      application_name: `flextype-feed:${options.nodeId}`.slice(0, 63),
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (client === next) client = undefined;
      next.end().catch(() => undefined);
      if (closed) return;
      options.log?.warn({ location: options.location, err: err?.message ?? 'connection ended' }, 'change feed: lost the database connection; reconnecting');
      schedule();
    };
    next.on('error', onLost);
    next.on('end', () => onLost());
    next.on('notification', onNotice);
    try {
      await next.connect();
      await next.query(`LISTEN "${options.channel}"`);
    } catch (err) {
      lost = true;
      next.removeAllListeners('end');
      await next.end().catch(() => undefined);
      throw err;
    }
    return next;
  };

  const schedule = () => {
    if (closed || timer) return;
    timer = setTimeout(async () => {
      timer = undefined;
      try {
        const next = await connect();
        if (closed) {
          await next.end().catch(() => undefined);
          return;
        }
        client = next;
        delay = FIRST_DELAY_MS;
        // Changes made while no one listened were missed: every cached entry must be re-checked.
        options.listener({ kind: 'resync' });
      } catch (err) {
        delay = Math.min(delay * 2, MAX_DELAY_MS);
        options.log?.warn({ location: options.location, err: (err as Error).message, retryInMs: delay }, 'change feed: reconnection failed');
        schedule();
      }
    }, delay);
    timer.unref();
  };

  client = await connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
