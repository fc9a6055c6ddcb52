/**
 * The PostgreSQL storage engine: one row per entry, holding the exact text the entry file would
 * hold (`source`, written by the same serializers as files, so edits keep formatting) and its
 * fields as jsonb for queries. Answers always come from `source`; jsonb does not keep key order.
 * Every change is one statement or one transaction. Subtree operations send their NOTIFY inside
 * it; entry writes announce themselves right after their commit, batched (see notices.ts).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DecodeError, type Fields } from '../serializers/index.js';
import {
  StorageError,
  type ChangeFeed,
  type CopyTransform,
  type EngineChange,
  type EntryFormat,
  type FormatResolver,
  type PushdownAnswer,
  type PushdownQuery,
  type Revision,
  type SourceItem,
  type StorageEngine,
  type StoredEntry,
  type WriteOptions,
} from '../engine.js';
import { PgCoordination } from './coordination.js';
import { startFeed } from './feed.js';
import { applyMigrations } from './migrations.js';
import { asStorageError, channelOf, quoteSchema, redactUrl, sqlStateOf, UNIQUE_VIOLATION } from './sql.js';
import { KnownTexts } from './known.js';
import { NoticeBatcher } from './notices.js';
import { Counts, runPushdown } from './pushdown.js';
import { QueryIndexes } from './query-indexes.js';
import { exactJson, fromColumnText, idParts, parentOf, subtreeBounds, toColumnText } from './rows.js';
import { childrenOf, listIds } from './tree.js';

export interface PgEngineLog {
  warn(obj: object, msg?: string): void;
}

export interface PgEngineOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Where the tables live (default 'public'); created by the migrations. */
  schema?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  resolveFormat: FormatResolver;
  log?: PgEngineLog;
  /** This process's name in change notifications (default: a random UUID): its own are not reported back. */
  nodeId?: string;
  /** How long connecting (or waiting for a free pooled connection) may take before 'unavailable' (default 5000). */
  connectTimeoutMs?: number;
  /** Push-down declines when it would fetch more rows than this (unsorted matches, or sort ties) (default 100000). */
  maxPushdownRows?: number;
  /** Build expression indexes for fields push-down queries use (query-indexes.ts) (default true). */
  queryIndexes?: boolean;
  /** How often the change feed looks for writes whose notice never came (feed.ts), in ms (default 1000; 0: never). */
  catchUpMs?: number;
}

/** Rows copied per statement by `copy`. */
const COPY_BATCH = 200;
/** Optimistic writes without `expected` retry this often when other writers keep winning. */
const WRITE_ATTEMPTS = 50;
/** Stored texts remembered by revision (see `known`): at most this many, this many characters in all, each at most this long. */
const KNOWN_ENTRIES = 50_000;
const KNOWN_TOTAL_CHARS = 16_000_000;
const KNOWN_MAX_CHARS = 16_384;

interface RevisionRow {
  revision: string;
  mtime: number;
  size: number;
}

const REVISION_COLUMNS = `revision::text AS revision, (extract(epoch FROM updated_at) * 1000)::float8 AS mtime, size`;

function toRevision(row: RevisionRow): Revision {
  const mtimeMs = row.mtime;
  // No access times are kept; a file's ctime also changes with every write.
  return { revision: BigInt(row.revision).toString(36), mtimeMs, ctimeMs: mtimeMs, atimeMs: mtimeMs, size: row.size };
}

/** A revision as the database holds it (the base-36 text `toRevision` gives back to a bigint); -1 for anything else. */
function revisionNumber(revision: string): string {
  if (!/^[0-9a-z]{1,12}$/.test(revision)) return '-1';
  let value = 0n;
  for (const digit of revision) value = value * 36n + BigInt(parseInt(digit, 36));
  return value.toString();
}

/** Text PostgreSQL can hold as it is: valid Unicode (no lone surrogates) and no NUL character. */
function assertStorable(id: string, text: string): void {
  if (/\p{Surrogate}/u.test(text)) throw new StorageError(`entry "${id}" would hold text that is not valid UTF-8 (a lone surrogate)`, 'not_utf8');
}

export class PgEngine implements StorageEngine {
  readonly kind = 'postgres';
  readonly location: string;
  readonly coordination: PgCoordination;
  private readonly pool: pg.Pool;
  /** One connection for change notices, committing without waiting for the WAL flush (a NOTIFY changes no data). */
  private readonly noticePool: pg.Pool;
  private readonly url: string;
  private readonly schema: string;
  private readonly S: string;
  private readonly table: string;
  private readonly channel: string;
  private readonly nodeId: string;
  private readonly resolveFormat: FormatResolver;
  private readonly log: PgEngineLog | undefined;
  private readonly connectTimeoutMs: number;
  private readonly feeds = new Set<ChangeFeed>();
  private readonly maxPushdownRows: number;
  private readonly catchUpMs: number;
  private readonly notices: NoticeBatcher;
  /**
   * The stored text of recently read or written entries by id, with its revision (a revision names
   * one text for good: every write takes a new one). A write whose base revision is known needs no
   * read first: its UPDATE names that revision and changes nothing (a conflict) if it is no longer
   * current, so an update is one statement.
   */
  private readonly known = new KnownTexts(KNOWN_ENTRIES, KNOWN_TOTAL_CHARS, KNOWN_MAX_CHARS);
  /** On-demand expression indexes for push-down (undefined when turned off). */
  readonly queryIndexes: QueryIndexes | undefined;
  /** Moves before and after every change this engine makes, and on every change it hears of. */
  private generation = 0;
  /** Push-down counts, reused only while a change feed listens (else other nodes' changes go unheard). */
  private readonly counts = new Counts(() => (this.feeds.size > 0 ? this.generation : undefined));

  constructor(options: PgEngineOptions) {
    this.url = options.url;
    this.schema = options.schema ?? 'public';
    this.S = quoteSchema(this.schema);
    this.table = `${this.S}.flextype_entries`;
    this.channel = channelOf(this.schema);
    this.nodeId = options.nodeId ?? randomUUID();
    this.resolveFormat = options.resolveFormat;
    this.log = options.log;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.maxPushdownRows = options.maxPushdownRows ?? 100_000;
    this.catchUpMs = options.catchUpMs ?? 1000;
    this.location = `${redactUrl(options.url)} (schema ${this.schema})`;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: Math.max(1, options.poolSize ?? 10),
      connectionTimeoutMillis: this.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: `flextype:${this.nodeId}`.slice(0, 63),
    });
    // An idle connection that dies (server restart, pg_terminate_backend) is dropped by the pool;
    // unhandled, the event would end the process.
    this.pool.on('error', (err) => this.log?.warn({ location: this.location, err: err.message }, 'PostgreSQL connection lost; it will be replaced'));
    this.queryIndexes = options.queryIndexes === false ? undefined : new QueryIndexes(this.url, this.schema, this.S, this.table, this.log);
    // Counters and listings change no entry: they leave push-down's reused counts valid.
    this.coordination = new PgCoordination((sql, values) => this.query(sql, values, false), this.S);
    this.noticePool = new pg.Pool({
      connectionString: options.url,
      max: 1,
      connectionTimeoutMillis: this.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: `flextype-notices:${this.nodeId}`.slice(0, 63),
      options: '-c synchronous_commit=off',
    });
    this.noticePool.on('error', (err) => this.log?.warn({ location: this.location, err: err.message }, 'PostgreSQL notice connection lost; it will be replaced'));
    this.notices = new NoticeBatcher(this.nodeId, (payload) => this.noticePool.query('SELECT pg_notify($1, $2)', [this.channel, payload]), this.log);
  }

  private remember(id: string, revision: string, source: string): void {
    this.known.set(id, revision, source);
  }

  /** Forgets the remembered texts of a subtree (only a hint either way: a stale one costs a retry, never a wrong write). */
  private forget(id: string): void {
    this.known.deleteWithin(id);
  }

  /** Announces a committed entry write to the other nodes (see notices.ts), without waiting for it to be sent. */
  private announced(id: string, row: RevisionRow): Revision {
    const revision = toRevision(row);
    void this.notices.announce({ id, revision: revision.revision });
    return revision;
  }

  private async query<R extends pg.QueryResultRow>(sql: string, values: unknown[], changes = !sql.startsWith('SELECT')): Promise<pg.QueryResult<R>> {
    if (changes) this.generation++;
    try {
      return await this.pool.query<R>(sql, values);
    } catch (err) {
      throw asStorageError(err, this.location);
    } finally {
      if (changes) this.generation++;
    }
  }

  /** Runs `fn` in one transaction; on any failure it is rolled back and nothing of it stays. */
  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>, isolation = 'READ COMMITTED'): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw asStorageError(err, this.location);
    }
    let broken: Error | undefined;
    this.generation++;
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
      throw asStorageError(err, this.location);
    } finally {
      this.generation++;
      client.release(broken);
    }
  }

  /** The NOTIFY payload (under PostgreSQL's 8000 bytes: ids are at most 2000 bytes, see rows.ts). */
  private notice(kind: 'entry' | 'subtree', id: string): string {
    return JSON.stringify({ origin: this.nodeId, kind, id });
  }

  async open(): Promise<{ recovered: number }> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw asStorageError(err, this.location);
    }
    let broken: Error | undefined;
    try {
      const applied = await applyMigrations(client, this.schema);
      if (applied.length > 0) this.log?.warn({ location: this.location, applied }, 'database schema migrated');
    } catch (err) {
      broken = err as Error;
      throw asStorageError(err, this.location);
    } finally {
      client.release(broken);
    }
    return { recovered: 0 };
  }

  async close(): Promise<void> {
    await Promise.all([...this.feeds].map((feed) => feed.close()));
    this.feeds.clear();
    await this.queryIndexes?.close();
    await this.notices.flush();
    await Promise.all([this.pool.end().catch(() => undefined), this.noticePool.end().catch(() => undefined)]);
  }

  /** The format of `id`, checked against the extension its row was stored with. */
  private formatFor(id: string, extension: string): EntryFormat {
    const format = this.resolveFormat(id);
    if (format.extension !== extension) {
      throw new StorageError(`entry "${id}" is stored as .${extension}, but its collection's format is now .${format.extension}`, 'unreadable');
    }
    return format;
  }

  private decode(id: string, format: EntryFormat, text: string): Fields {
    try {
      return format.serializer.decode(text);
    } catch (err) {
      if (err instanceof DecodeError) throw new StorageError(`entry "${id}" cannot be parsed: ${err.message}`, 'unreadable');
      throw err;
    }
  }

  async read(id: string): Promise<StoredEntry | undefined> {
    if (id === '') return undefined;
    const { rows } = await this.query<RevisionRow & { source: string; extension: string }>(
      `SELECT source, extension, ${REVISION_COLUMNS} FROM ${this.table} WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) return undefined;
    const source = fromColumnText(row.source);
    const entry = { id, fields: this.decode(id, this.formatFor(id, row.extension), source), meta: toRevision(row) };
    this.remember(id, row.revision, source);
    return entry;
  }

  async ping(): Promise<void> {
    try {
      await this.pool.query('SELECT 1');
    } catch {
      // Public (readiness answers): no URL, no host.
      throw new StorageError('the database cannot be reached', 'unavailable');
    }
  }

  /** See pushdown.ts: SQL only where it equals the in-memory rules; undefined otherwise. */
  async pushdown(query: PushdownQuery, idOrder: (a: string, b: string) => number): Promise<PushdownAnswer | undefined> {
    // Several statements, no parameters (the SQL holds literals): pg answers a list of results.
    const run = async (sql: string) => {
      const results = (await this.query(sql, [], false)) as unknown as pg.QueryResult | pg.QueryResult[];
      return (Array.isArray(results) ? results[results.length - 1]! : results).rows as Record<string, unknown>[];
    };
    return runPushdown(query, run, this.table, this.S, idOrder, this.maxPushdownRows, (uses) => this.queryIndexes?.note(uses), this.counts);
  }

  async revision(id: string): Promise<Revision | undefined> {
    if (id === '') return undefined;
    const { rows } = await this.query<RevisionRow>(`SELECT ${REVISION_COLUMNS} FROM ${this.table} WHERE id = $1`, [id]);
    return rows[0] ? toRevision(rows[0]) : undefined;
  }

  async readSource(id: string): Promise<{ text: string; extension: string } | undefined> {
    if (id === '') return undefined;
    const { rows } = await this.query<{ source: string; extension: string }>(`SELECT source, extension FROM ${this.table} WHERE id = $1`, [id]);
    return rows[0] ? { text: fromColumnText(rows[0].source), extension: rows[0].extension } : undefined;
  }

  /** The fields as the database keeps them for queries: what reading `text` gives, when jsonb holds it exactly. */
  private queryFields(format: EntryFormat, text: string): string | null {
    try {
      return exactJson(format.serializer.decode(text));
    } catch (err) {
      if (err instanceof DecodeError) return null;
      throw err;
    }
  }

  async write(id: string, fields: Fields, options: WriteOptions = {}): Promise<Revision> {
    const parts = idParts(id, this.resolveFormat);
    const format = this.resolveFormat(id);
    if (options.create) {
      // Checked and written by one statement: of two nodes creating the same id, one gets 'exists'.
      const created = await this.insertNew(id, fields, format, parts.length);
      if (!created) throw new StorageError(`entry "${id}" already exists`, 'exists');
      return created;
    }
    const known = this.known.get(id);
    // The base is known: one UPDATE that only applies while it is still current.
    if (known && (options.expected === undefined || BigInt(known.revision).toString(36) === options.expected)) {
      const written = await this.writeOver(id, fields, format, known);
      if (written) return written;
      if (options.expected !== undefined) throw new StorageError(`entry "${id}" was changed meanwhile`, 'conflict');
    } else if (!known && options.expected === undefined) {
      // Probably new (a create): one INSERT; if the entry exists after all, the loop below merges.
      const written = await this.insertNew(id, fields, format, parts.length);
      if (written) return written;
    }
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const found = (await this.query<{ source: string; revision: string }>(`SELECT source, revision::text AS revision FROM ${this.table} WHERE id = $1`, [id])).rows[0];
      const current = found && { revision: found.revision, source: fromColumnText(found.source) };
      if (options.expected !== undefined && (!current || BigInt(current.revision).toString(36) !== options.expected)) {
        throw new StorageError(`entry "${id}" was changed meanwhile`, 'conflict');
      }
      const written = current ? await this.writeOver(id, fields, format, current) : await this.insertNew(id, fields, format, parts.length);
      if (written) return written;
      if (options.expected !== undefined) throw new StorageError(`entry "${id}" was changed meanwhile`, 'conflict');
    }
    throw new StorageError(`entry "${id}" kept being changed by other writers; not written`, 'conflict');
  }

  /** Replaces the entry only while it is still at `base` (optimistic); undefined when someone else changed it first. */
  private async writeOver(id: string, fields: Fields, format: EntryFormat, base: { revision: string; source: string }): Promise<Revision | undefined> {
    const text = format.serializer.encode(fields, base.source);
    assertStorable(id, text);
    const { rows } = await this.query<RevisionRow>(
      `UPDATE ${this.table} SET source = $2, fields = $3::jsonb, extension = $4, size = $5,
         revision = nextval('${this.S}.flextype_revision_seq'), updated_at = clock_timestamp()
       WHERE id = $1 AND revision = $6::bigint RETURNING ${REVISION_COLUMNS}`,
      [id, toColumnText(text), this.queryFields(format, text), format.extension, Buffer.byteLength(text), base.revision],
    );
    if (!rows[0]) {
      this.known.delete(id);
      return undefined;
    }
    this.remember(id, rows[0].revision, text);
    return this.announced(id, rows[0]);
  }

  /** Inserts the entry unless it exists; undefined when it does. */
  private async insertNew(id: string, fields: Fields, format: EntryFormat, depth: number): Promise<Revision | undefined> {
    const text = format.serializer.encode(fields, undefined);
    assertStorable(id, text);
    const { rows } = await this.query<RevisionRow>(
      `INSERT INTO ${this.table} (id, parent, depth, extension, source, fields, size) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
       ON CONFLICT (id) DO NOTHING RETURNING ${REVISION_COLUMNS}`,
      [id, parentOf(id), depth, format.extension, toColumnText(text), this.queryFields(format, text), Buffer.byteLength(text)],
    );
    if (!rows[0]) return undefined;
    this.remember(id, rows[0].revision, text);
    return this.announced(id, rows[0]);
  }

  async writeSource(id: string, text: string, extension: string, options: { expected?: string } = {}): Promise<Revision> {
    const parts = idParts(id, this.resolveFormat);
    const format = this.resolveFormat(id);
    if (format.extension !== extension) {
      throw new StorageError(`entry "${id}" is stored as .${format.extension} by its collection, not .${extension}`, 'bad_name');
    }
    assertStorable(id, text);
    if (options.expected !== undefined) {
      // Only the row still at the expected revision changes; nothing else is a conflict.
      const expected = revisionNumber(options.expected);
      const { rows } = await this.query<RevisionRow>(
        `UPDATE ${this.table} SET extension = $2, source = $3, fields = $4::jsonb, size = $5,
           revision = nextval('${this.S}.flextype_revision_seq'), updated_at = clock_timestamp()
         WHERE id = $1 AND revision = $6::bigint RETURNING ${REVISION_COLUMNS}`,
        [id, extension, toColumnText(text), this.queryFields(format, text), Buffer.byteLength(text), expected],
      );
      if (rows.length === 0) throw new StorageError(`entry "${id}" was changed meanwhile`, 'conflict');
      this.remember(id, rows[0]!.revision, text);
      return this.announced(id, rows[0]!);
    }
    const { rows } = await this.query<RevisionRow>(
      `INSERT INTO ${this.table} AS e (id, parent, depth, extension, source, fields, size) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
       ON CONFLICT (id) DO UPDATE SET extension = EXCLUDED.extension, source = EXCLUDED.source, fields = EXCLUDED.fields, size = EXCLUDED.size,
         revision = nextval('${this.S}.flextype_revision_seq'), updated_at = clock_timestamp()
       RETURNING ${REVISION_COLUMNS}`,
      [id, parentOf(id), parts.length, extension, toColumnText(text), this.queryFields(format, text), Buffer.byteLength(text)],
    );
    this.remember(id, rows[0]!.revision, text);
    return this.announced(id, rows[0]!);
  }

  async writeSources(items: readonly SourceItem[]): Promise<(StorageError | undefined)[]> {
    const refused: (StorageError | undefined)[] = items.map(() => undefined);
    const rows = new Map<string, { id: string; extension: string; text: string; json: string | null; depth: number }>();
    items.forEach((item, i) => {
      try {
        const parts = idParts(item.id, this.resolveFormat);
        const format = this.resolveFormat(item.id);
        if (format.extension !== item.extension) {
          throw new StorageError(`entry "${item.id}" is stored as .${format.extension} by its collection, not .${item.extension}`, 'bad_name');
        }
        assertStorable(item.id, item.text);
        // The same id twice: the last one wins, as with writeSource one after the other.
        rows.set(item.id, { id: item.id, extension: item.extension, text: item.text, json: this.queryFields(format, item.text), depth: parts.length });
      } catch (err) {
        if (!(err instanceof StorageError)) throw err;
        refused[i] = err;
      }
    });
    if (rows.size === 0) return refused;
    const all = [...rows.values()];
    for (const row of all) this.known.delete(row.id);
    // One statement: every row (and its change notice) or none.
    await this.query(
      `WITH w AS (
         INSERT INTO ${this.table} AS e (id, parent, depth, extension, source, fields, size)
         SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::jsonb[], $7::integer[])
         ON CONFLICT (id) DO UPDATE SET extension = EXCLUDED.extension, source = EXCLUDED.source, fields = EXCLUDED.fields, size = EXCLUDED.size,
           revision = nextval('${this.S}.flextype_revision_seq'), updated_at = clock_timestamp()
         RETURNING e.id)
       SELECT count(pg_notify($8, json_build_object('origin', $9::text, 'kind', 'entry', 'id', w.id)::text)) FROM w`,
      [
        all.map((r) => r.id),
        all.map((r) => parentOf(r.id)),
        all.map((r) => r.depth),
        all.map((r) => r.extension),
        all.map((r) => toColumnText(r.text)),
        all.map((r) => r.json),
        all.map((r) => Buffer.byteLength(r.text)),
        this.channel,
        this.nodeId,
      ],
    );
    return refused;
  }

  async readSources(ids: readonly string[]): Promise<Map<string, { text: string; extension: string }>> {
    const { rows } = await this.query<{ id: string; source: string; extension: string }>(
      `SELECT id, source, extension FROM ${this.table} WHERE id = ANY($1::text[])`,
      [ids],
    );
    return new Map(rows.map((row) => [row.id, { text: fromColumnText(row.source), extension: row.extension }]));
  }

  /** Checks both ids of a move or copy; a subtree cannot go into itself. */
  private checkPair(id: string, newId: string): void {
    idParts(id, this.resolveFormat);
    idParts(newId, this.resolveFormat);
    if (newId === id || newId.startsWith(`${id}/`)) throw new StorageError(`"${id}" cannot be moved or copied into itself`, 'bad_name');
  }

  private async assertFree(client: pg.PoolClient, newId: string): Promise<void> {
    const { lo, hi } = subtreeBounds(newId);
    const taken = await client.query(`SELECT 1 FROM ${this.table} WHERE id = $1 OR (id >= $2 AND id < $3) LIMIT 1`, [newId, lo, hi]);
    if (taken.rowCount) throw new StorageError(`the target "${newId}" already exists`, 'exists');
  }

  private asExists(err: unknown, newId: string): unknown {
    return sqlStateOf(err) === UNIQUE_VIOLATION ? new StorageError(`the target "${newId}" already exists`, 'exists') : err;
  }

  async move(id: string, newId: string): Promise<void> {
    this.checkPair(id, newId);
    this.forget(id);
    const { lo, hi } = subtreeBounds(id);
    try {
      await this.transaction(async (client) => {
        const locked = await client.query<{ n: string }>(
          `SELECT count(*) AS n FROM (SELECT 1 FROM ${this.table} WHERE id = $1 OR (id >= $2 AND id < $3) FOR UPDATE) s`,
          [id, lo, hi],
        );
        if (Number(locked.rows[0]!.n) === 0) throw new StorageError(`entry "${id}" does not exist`, 'missing');
        await this.assertFree(client, newId);
        const depthChange = newId.split('/').length - id.split('/').length;
        // The moved entries get new revisions: an id moved away and back must not show an old one.
        await client.query(
          `UPDATE ${this.table} SET
             id = $4::text || substr(id, length($1::text) + 1),
             parent = CASE WHEN id = $1 THEN $5::text ELSE $4::text || substr(parent, length($1::text) + 1) END,
             depth = depth + $6::integer,
             revision = nextval('${this.S}.flextype_revision_seq')
           WHERE id = $1 OR (id >= $2 AND id < $3)`,
          [id, lo, hi, newId, parentOf(newId), depthChange],
        );
        await client.query('SELECT pg_notify($1, $2), pg_notify($1, $3)', [this.channel, this.notice('subtree', id), this.notice('subtree', newId)]);
      });
    } catch (err) {
      throw this.asExists(err, newId);
    }
  }

  async copy(id: string, newId: string, transform: CopyTransform): Promise<void> {
    this.checkPair(id, newId);
    const { lo, hi } = subtreeBounds(id);
    try {
      // One snapshot for the whole copy: entries changed meanwhile are copied as they were at its start.
      await this.transaction(async (client) => {
        await this.assertFree(client, newId);
        let last = '';
        let copied = 0;
        for (;;) {
          const { rows } = await client.query<{ id: string; source: string; extension: string }>(
            `SELECT id, source, extension FROM ${this.table} WHERE (id = $1 OR (id >= $2 AND id < $3)) AND id > $4 ORDER BY id LIMIT ${COPY_BATCH}`,
            [id, lo, hi, last],
          );
          if (rows.length === 0) break;
          const batch = rows.map((row) => this.copyRow(row, id, newId, transform));
          await client.query(
            `INSERT INTO ${this.table} (id, parent, depth, extension, source, fields, size)
             SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::jsonb[], $7::integer[])`,
            [
              batch.map((b) => b.id),
              batch.map((b) => parentOf(b.id)),
              batch.map((b) => b.id.split('/').length),
              batch.map((b) => b.extension),
              batch.map((b) => toColumnText(b.text)),
              batch.map((b) => b.json),
              batch.map((b) => Buffer.byteLength(b.text)),
            ],
          );
          copied += rows.length;
          last = rows[rows.length - 1]!.id;
        }
        if (copied === 0) throw new StorageError(`entry "${id}" does not exist`, 'missing');
        await client.query('SELECT pg_notify($1, $2)', [this.channel, this.notice('subtree', newId)]);
      }, 'REPEATABLE READ');
    } catch (err) {
      throw this.asExists(err, newId);
    }
  }

  /** One copied row: decoded, transformed, and encoded in the target's format (keeping the source's formatting). */
  private copyRow(row: { id: string; source: string; extension: string }, id: string, newId: string, transform: CopyTransform) {
    const targetId = newId + row.id.slice(id.length);
    idParts(targetId, this.resolveFormat);
    const source = fromColumnText(row.source);
    const fields = transform(targetId, this.decode(row.id, this.formatFor(row.id, row.extension), source));
    const format = this.resolveFormat(targetId);
    const text = format.serializer.encode(fields, source);
    assertStorable(targetId, text);
    return { id: targetId, extension: format.extension, text, json: this.queryFields(format, text) };
  }

  async remove(id: string): Promise<void> {
    idParts(id, this.resolveFormat);
    this.forget(id);
    const { lo, hi } = subtreeBounds(id);
    await this.transaction(async (client) => {
      const deleted = await client.query(`DELETE FROM ${this.table} WHERE id = $1 OR (id >= $2 AND id < $3)`, [id, lo, hi]);
      if (!deleted.rowCount) throw new StorageError(`entry "${id}" does not exist`, 'missing');
      await client.query('SELECT pg_notify($1, $2)', [this.channel, this.notice('subtree', id)]);
    });
  }

  children(id: string): Promise<string[]> {
    return childrenOf((sql, values) => this.query(sql, values, false), this.table, id);
  }

  list(under = ''): AsyncIterable<string[]> {
    return listIds((sql, values) => this.query(sql, values, false), this.table, under);
  }

  async changes(listener: (change: EngineChange) => void, _onError: (err: Error) => void): Promise<ChangeFeed> {
    let feed: ChangeFeed;
    try {
      feed = await startFeed({
        url: this.url,
        location: this.location,
        channel: this.channel,
        nodeId: this.nodeId,
        connectTimeoutMs: this.connectTimeoutMs,
        listener: (change) => {
          this.generation++;
          listener(change);
        },
        log: this.log,
        table: this.table,
        catchUpMs: this.catchUpMs,
        seen: (id, revision) => {
          const known = this.known.get(id);
          return known !== undefined && BigInt(known.revision).toString(36) === revision;
        },
      });
    } catch (err) {
      throw asStorageError(err, this.location);
    }
    this.feeds.add(feed);
    return {
      close: async () => {
        this.feeds.delete(feed);
        await feed.close();
      },
    };
  }
}
