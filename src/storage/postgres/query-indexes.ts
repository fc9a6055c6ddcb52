/**
 * Expression indexes for query push-down, created on demand: the second time queries use a field
 * (as a raw value for eq/in, or as a sort key for sort_by and ranges), a background task runs
 * `CREATE INDEX CONCURRENTLY IF NOT EXISTS` on (parent, key of the field), then ANALYZE (the
 * planner needs the expression's statistics). Never in a query's way: one build at a time on its
 * own connection, never waited for. Bounded (at most MAX_INDEXES per schema). Named
 * deterministically from the field, so every node asks for the same index; a session advisory
 * lock per index makes one node build it while the others skip. An index left invalid by a
 * failed or interrupted build is dropped and built again (at most every RETRY_MS).
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { fieldSql, keySql, type IndexUse } from './pushdown.js';

export const MAX_INDEXES = 16;
const RETRY_MS = 60_000;
const LOCK_SPACE = 0x46_54_51_49; // "FTQI"
export const INDEX_PREFIX = 'flextype_q_';

export interface QueryIndexLog {
  warn(obj: object, msg?: string): void;
}

/** The deterministic name of a field's index (identifiers stay under 63 bytes). */
export function indexName(use: IndexUse): string {
  const digest = createHash('sha256').update(JSON.stringify(use.path)).digest('hex').slice(0, 20);
  return `${INDEX_PREFIX}${use.kind}_${digest}`;
}

/** The indexed columns, exactly the expressions pushdown.ts queries with. */
export function indexColumns(use: IndexUse, S: string): string {
  if (use.kind === 'eq') return `parent, ${fieldSql(use.path)}`;
  const k = keySql(use.path, S);
  return `parent, ${k.c}, ${k.n}, ${k.s}`;
}

type State = { uses: number; status: 'counting' | 'queued' | 'building' | 'ready' | 'failed' | 'full'; retryAt: number };

export class QueryIndexes {
  private readonly states = new Map<string, State>();
  private readonly queue: IndexUse[] = [];
  private running: Promise<void> | undefined;
  private client: pg.Client | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly schema: string,
    private readonly S: string,
    private readonly table: string,
    private readonly log?: QueryIndexLog,
    /** Uses of a field before its index is built. */
    private readonly threshold = 2,
  ) {}

  /** Told of every push-down query's index uses; schedules builds, returns at once. */
  note(uses: readonly IndexUse[]): void {
    if (this.closed) return;
    for (const use of uses) {
      const name = indexName(use);
      let state = this.states.get(name);
      if (!state) this.states.set(name, (state = { uses: 0, status: 'counting', retryAt: 0 }));
      state.uses++;
      const due = (state.status === 'counting' && state.uses >= this.threshold) || (state.status === 'failed' && Date.now() >= state.retryAt);
      if (!due) continue;
      state.status = 'queued';
      this.queue.push(use);
    }
    if (this.queue.length > 0 && !this.running) {
      this.running = this.drain().finally(() => (this.running = undefined));
    }
  }

  /** Resolves once every queued build is done (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Names of this schema's on-demand indexes that are valid. */
  async validIndexes(): Promise<string[]> {
    const client = await this.connection();
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname LIKE $2 AND i.indisvalid ORDER BY 1`,
      [this.schema, `${INDEX_PREFIX}%`],
    );
    return rows.map((r) => r.name);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    const client = this.client;
    if (client && this.running) {
      // A build may wait for other sessions' transactions: cancel it (it leaves an invalid index,
      // dropped by the next build) rather than hold the shutdown.
      const pid = (client as unknown as { processID?: number }).processID;
      if (pid) {
        const killer = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 2000 });
        killer.on('error', () => undefined);
        await killer.connect().then(() => killer.query('SELECT pg_cancel_backend($1)', [pid])).catch(() => undefined);
        await killer.end().catch(() => undefined);
      }
    }
    await this.running?.catch(() => undefined);
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000, application_name: 'flextype:query-indexes' });
    client.on('error', () => undefined);
    await client.connect();
    this.client = client;
    return client;
  }

  private async drain(): Promise<void> {
    while (!this.closed) {
      const use = this.queue.shift();
      if (!use) return;
      const name = indexName(use);
      const state = this.states.get(name)!;
      state.status = 'building';
      try {
        state.status = await this.build(use, name);
      } catch (err) {
        state.status = 'failed';
        state.retryAt = Date.now() + RETRY_MS;
        if (!this.closed) this.log?.warn({ index: name, field: use.path.join('.'), err: (err as Error).message }, 'query index not built; retried later');
        // A broken connection is replaced on the next build.
        const client = this.client;
        this.client = undefined;
        await client?.end().catch(() => undefined);
      }
    }
  }

  private async build(use: IndexUse, name: string): Promise<State['status']> {
    const client = await this.connection();
    const lock: unknown[] = [LOCK_SPACE, `${this.schema}.${name}`];
    const { rows: locked } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', lock);
    if (!locked[0]?.ok) {
      // Another node builds it now; look again later.
      const state = this.states.get(name)!;
      state.retryAt = Date.now() + RETRY_MS / 4;
      return 'failed';
    }
    try {
      const { rows } = await client.query<{ name: string; valid: boolean }>(
        `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname LIKE $2`,
        [this.schema, `${INDEX_PREFIX}%`],
      );
      const existing = rows.find((r) => r.name === name);
      if (existing?.valid) return 'ready';
      const qualified = `${this.S}."${name}"`;
      // Holding the lock, an invalid index is a failed build's leftover (not one in progress).
      if (existing) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified}`);
      else if (rows.length >= MAX_INDEXES) return 'full';
      try {
        await client.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS "${name}" ON ${this.table} (${indexColumns(use, this.S)})`);
      } catch (err) {
        await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified}`).catch(() => undefined);
        throw err;
      }
      await client.query(`ANALYZE ${this.table}`);
      return 'ready';
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', lock).catch(() => undefined);
    }
  }
}
