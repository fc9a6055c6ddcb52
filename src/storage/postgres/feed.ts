/**
 * The change feed: one dedicated connection (not from the pool) LISTENing on the schema's channel.
 * Notifications of this node are ignored (the core made those changes itself). A lost connection is
 * re-established with exponential backoff, and then `resync` tells the core that it may have missed
 * changes meanwhile.
 *
 * Notices of entry writes are sent after their commit (notices.ts), so a node that dies in between
 * (SIGKILL) never sends them, and a plain SQL write sends none. The catch-up heals that: every
 * `catchUpMs` the same connection asks for the rows whose writing transaction (`written_xid`,
 * migration 5) its previous look could not see, and reports them like notices. That previous look
 * is a snapshot: every transaction it did not see has an xid at or above its xmin, so nothing
 * committed between two looks is missed, however late a transaction commits.
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

/** Above this many rows in one look, the core re-checks everything instead (one `resync`). */
const CATCH_UP_MAX_ROWS = 5000;

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
  /** The entries table (schema-qualified), for the catch-up. */
  table: string;
  /** How often the catch-up looks (ms); 0 turns it off. */
  catchUpMs: number;
  /** True when this node already holds that revision of the entry (its own write, or read since): not reported. */
  seen: (id: string, revision: string) => boolean;
}): Promise<ChangeFeed> {
  let client: pg.Client | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let delay = FIRST_DELAY_MS;
  /** The snapshot of the connection's last look (pg_snapshot text); undefined before its first. */
  let horizon: string | undefined;
  let catchUpTimer: NodeJS.Timeout | undefined;

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
      // Taken after LISTEN: whatever commits later is either notified or found by the next look.
      horizon = (await next.query<{ horizon: string }>('SELECT pg_current_snapshot()::text AS horizon')).rows[0]!.horizon;
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

  /** One look: rows written by transactions the previous look did not see, reported unless already held. */
  const catchUp = async () => {
    const current = client;
    const since = horizon;
    if (!current || since === undefined) return;
    const { rows } = await current.query<{ horizon: string; changed: [string, string][] }>(
      `SELECT pg_current_snapshot()::text AS horizon,
         (SELECT coalesce(json_agg(json_build_array(w.id, w.revision::text)), '[]'::json) FROM (
            SELECT id, revision FROM ${options.table}
            WHERE written_xid >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(written_xid, $1::pg_snapshot)
            LIMIT ${CATCH_UP_MAX_ROWS + 1}) w) AS changed`,
      [since],
    );
    if (client !== current || horizon !== since) return; // reconnected meanwhile: that resync covers it
    horizon = rows[0]!.horizon;
    const changed = rows[0]!.changed;
    if (changed.length > CATCH_UP_MAX_ROWS) {
      options.listener({ kind: 'resync' });
      return;
    }
    let missed = 0;
    for (const [id, decimal] of changed) {
      const revision = BigInt(decimal).toString(36);
      if (options.seen(id, revision)) continue;
      missed++;
      options.listener({ kind: 'entry', id, revision });
    }
    if (missed > 0) options.log?.warn({ location: options.location, entries: missed }, 'change feed: caught up on writes that sent no notice');
  };

  const scheduleCatchUp = () => {
    if (closed || options.catchUpMs <= 0) return;
    catchUpTimer = setTimeout(() => {
      catchUp()
        // A lost connection is handled (and resynced) by its own listeners; the next look tries again.
        .catch(() => undefined)
        .finally(scheduleCatchUp);
    }, options.catchUpMs);
    catchUpTimer.unref();
  };

  client = await connect();
  scheduleCatchUp();
  return {
    async close() {
      closed = true;
      if (catchUpTimer) clearTimeout(catchUpTimer);
      catchUpTimer = undefined;
      if (timer) clearTimeout(timer);
      timer = undefined;
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
