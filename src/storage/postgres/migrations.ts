/**
 * The PostgreSQL schema as an ordered list of migrations. `migrate` applies the missing ones in one
 * transaction under an advisory lock, so any number of nodes starting at once is safe: one applies
 * them, the others wait and then find nothing to do. Never edit a released migration; add one.
 */
import pg from 'pg';
import { asStorageError, quoteSchema, redactUrl } from './sql.js';

export interface Migration {
  version: number;
  description: string;
  /** SQL with `$S` standing for the quoted schema name. */
  sql: string;
}

/**
 * PHP's numeric strings (src/core/query/compare.ts isNumericString) as a PostgreSQL regular
 * expression, as migration 4 holds it (never change it: add a migration).
 */
export const NUMERIC_SQL_RE = String.raw`^[ \t\n\r\v\f]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\r\v\f]*$`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'entries as rows',
    sql: `
      CREATE SEQUENCE $S.flextype_revision_seq;
      CREATE TABLE $S.flextype_entries (
        id text COLLATE "C" PRIMARY KEY,
        parent text COLLATE "C" NOT NULL,
        depth integer NOT NULL,
        extension text NOT NULL,
        -- The exact text the entry file would hold; the source of every answer.
        source text NOT NULL,
        -- The decoded fields for SQL queries and indexes only (jsonb loses key order); NULL when the
        -- source cannot be decoded or holds what jsonb cannot represent exactly (NaN, NUL, ...).
        fields jsonb,
        revision bigint NOT NULL DEFAULT nextval('$S.flextype_revision_seq'),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        size integer NOT NULL,
        -- The id with '/' as chr(1), below every character of a segment: in this key's order a
        -- folder's subtree directly follows its own name, so children() can skip whole subtrees.
        tree_key text COLLATE "C" GENERATED ALWAYS AS (replace(id, '/', chr(1))) STORED
      );
      CREATE INDEX flextype_entries_tree ON $S.flextype_entries (tree_key);
      -- Push-down must decline where some entry's fields are not in jsonb: this finds them at once.
      CREATE INDEX flextype_entries_inexact ON $S.flextype_entries (id) WHERE fields IS NULL;
    `,
  },
  {
    version: 2,
    description: 'token call counters and the failure brake, shared by all nodes',
    sql: `
      CREATE TABLE $S.flextype_calls (token_id text PRIMARY KEY, calls bigint NOT NULL DEFAULT 0);
      CREATE TABLE $S.flextype_failures (key text PRIMARY KEY, window_start timestamptz NOT NULL, count integer NOT NULL);
      -- Grants up to p_want calls so that the total never passes p_limit (0: no limit); returns the grant.
      CREATE FUNCTION $S.flextype_reserve_calls(p_token text, p_want bigint, p_limit bigint) RETURNS bigint
      LANGUAGE plpgsql AS $fn$
      DECLARE
        current_calls bigint;
        granted bigint;
      BEGIN
        INSERT INTO $S.flextype_calls (token_id, calls) VALUES (p_token, 0) ON CONFLICT (token_id) DO NOTHING;
        -- The row lock serializes reservations of one token; the value read is the latest committed.
        SELECT calls INTO current_calls FROM $S.flextype_calls WHERE token_id = p_token FOR UPDATE;
        IF p_limit <= 0 THEN
          granted := GREATEST(p_want, 0);
        ELSE
          granted := LEAST(GREATEST(p_want, 0), GREATEST(p_limit - current_calls, 0));
        END IF;
        UPDATE $S.flextype_calls SET calls = calls + granted WHERE token_id = p_token;
        RETURN granted;
      END
      $fn$;
    `,
  },
  {
    version: 3,
    description: 'query push-down: the decline function, a GIN index on fields, depth',
    sql: `
      -- Called by push-down SQL where the exact in-memory rule cannot be reproduced for some row
      -- (non-ASCII text to lowercase, a number JS prints with an exponent, an object to compare as
      -- text): the statement fails and the engine answers the query in memory instead. VOLATILE so
      -- the planner never folds it into a constant error.
      CREATE FUNCTION $S.flextype_decline() RETURNS text LANGUAGE plpgsql VOLATILE AS $fn$
      BEGIN
        RAISE EXCEPTION 'flextype: push-down declined' USING ERRCODE = 'FTPD0';
      END
      $fn$;
      -- eq on a non-numeric string value: "fields @> {path: value}" (bitmap index scan).
      CREATE INDEX flextype_entries_fields ON $S.flextype_entries USING gin (fields jsonb_path_ops);
      -- Collections of the root by depth (subtrees use the primary key's range).
      CREATE INDEX flextype_entries_depth ON $S.flextype_entries (depth);
    `,
  },
  {
    version: 4,
    description: 'query push-down: IMMUTABLE key functions (type class, number, folded text) for btree expression indexes',
    // Total functions (never raise: they run inside index maintenance of every write), mirroring
    // src/core/query/compare.ts and execute.ts sortKeyOf. The sort key is (class, number, text).
    // Classes: 0 empty (missing, null, ''), 1 number (a JSON number, or a PHP numeric string whose
    // double PostgreSQL's float8 input gives exactly as JS Number() does), 2 text that folds exactly
    // (ASCII strings: lower() under "C" equals JS toLowerCase(); booleans as 'true'/'false'),
    // 3 non-ASCII text, 4 object or array (JS compares their JSON.stringify text), 5 a number or
    // numeric string outside the range checked here (1e400, 1e-400, a 300-digit string). Queries
    // decline wherever a row of class 3-5 would need its key.
    sql: `
      CREATE FUNCTION $S.flextype_key_c(j jsonb) RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
        SELECT (CASE jsonb_typeof(j)
          WHEN 'number' THEN (CASE WHEN abs(j::numeric) < 1e300 AND (j::numeric = 0 OR abs(j::numeric) > 1e-300) THEN 1 ELSE 5 END)
          WHEN 'string' THEN (CASE
            WHEN j #>> '{}' = '' THEN 0
            WHEN (j #>> '{}') ~ E'${NUMERIC_SQL_RE.replaceAll('\\', '\\\\')}' THEN
              (CASE WHEN length(j #>> '{}') <= 200 AND (j #>> '{}') !~ '[eE][+-]?0*[0-9]{3}' THEN 1 ELSE 5 END)
            WHEN octet_length(j #>> '{}') = length(j #>> '{}') THEN 2
            ELSE 3 END)
          WHEN 'boolean' THEN 2
          WHEN 'object' THEN 4
          WHEN 'array' THEN 4
          ELSE 0 END)::smallint
      $fn$;
      CREATE FUNCTION $S.flextype_key_n(j jsonb) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
        SELECT CASE WHEN $S.flextype_key_c(j) = 1 THEN
          (CASE WHEN jsonb_typeof(j) = 'number' THEN j::float8 ELSE (j #>> '{}')::float8 END) END
      $fn$;
      CREATE FUNCTION $S.flextype_key_s(j jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
        SELECT CASE WHEN $S.flextype_key_c(j) = 2 THEN
          (CASE WHEN jsonb_typeof(j) = 'boolean' THEN j #>> '{}' ELSE lower((j #>> '{}') COLLATE "C") END) END
      $fn$;
      -- Indexes the query planner creates on demand (query-indexes.ts) are named flextype_q_*.
    `,
  },
  {
    version: 5,
    description: 'catch-up of missed change notices: the writing transaction of every row',
    // A node's notices go out after the commit: one killed in between leaves the others unaware.
    // Each node therefore asks now and then for rows written by transactions its last look could
    // not see yet (feed.ts). Set by a trigger, so writes made with plain SQL are found as well, and
    // such a write that keeps the revision gets a new one (a cached copy must not look current).
    // Rows from before this migration hold NULL: older than any look.
    sql: `
      ALTER TABLE $S.flextype_entries ADD COLUMN written_xid xid8;
      CREATE INDEX flextype_entries_written ON $S.flextype_entries (written_xid);
      CREATE FUNCTION $S.flextype_mark_written() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        NEW.written_xid := pg_current_xact_id();
        IF TG_OP = 'UPDATE' AND NEW.revision = OLD.revision THEN
          NEW.revision := nextval('$S.flextype_revision_seq');
        END IF;
        RETURN NEW;
      END
      $fn$;
      CREATE TRIGGER flextype_entries_written BEFORE INSERT OR UPDATE ON $S.flextype_entries
        FOR EACH ROW EXECUTE FUNCTION $S.flextype_mark_written();
    `,
  },
  {
    // 6, not 5: another change of this release takes 5; the two are independent of each other.
    version: 6,
    description: 'query push-down: the key functions in PL/pgSQL (same results, planned as calls)',
    // The SQL functions of migration 4 are inlined by the planner into every query and index
    // expression, and matching those large expressions against each index took most of a
    // push-down query's time (20-50 ms of planning for 1 ms of execution). PL/pgSQL functions are
    // never inlined: the planner matches a call against a call. The bodies are migration 4's
    // expressions unchanged (same results for every input), so the indexes built on them stay valid.
    sql: `
      CREATE OR REPLACE FUNCTION $S.flextype_key_c(j jsonb) RETURNS smallint LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
      BEGIN
        RETURN (CASE jsonb_typeof(j)
          WHEN 'number' THEN (CASE WHEN abs(j::numeric) < 1e300 AND (j::numeric = 0 OR abs(j::numeric) > 1e-300) THEN 1 ELSE 5 END)
          WHEN 'string' THEN (CASE
            WHEN j #>> '{}' = '' THEN 0
            WHEN (j #>> '{}') ~ E'${NUMERIC_SQL_RE.replaceAll('\\', '\\\\')}' THEN
              (CASE WHEN length(j #>> '{}') <= 200 AND (j #>> '{}') !~ '[eE][+-]?0*[0-9]{3}' THEN 1 ELSE 5 END)
            WHEN octet_length(j #>> '{}') = length(j #>> '{}') THEN 2
            ELSE 3 END)
          WHEN 'boolean' THEN 2
          WHEN 'object' THEN 4
          WHEN 'array' THEN 4
          ELSE 0 END)::smallint;
      END
      $fn$;
      CREATE OR REPLACE FUNCTION $S.flextype_key_n(j jsonb) RETURNS float8 LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
      BEGIN
        RETURN CASE WHEN $S.flextype_key_c(j) = 1 THEN
          (CASE WHEN jsonb_typeof(j) = 'number' THEN j::float8 ELSE (j #>> '{}')::float8 END) END;
      END
      $fn$;
      CREATE OR REPLACE FUNCTION $S.flextype_key_s(j jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
      BEGIN
        RETURN CASE WHEN $S.flextype_key_c(j) = 2 THEN
          (CASE WHEN jsonb_typeof(j) = 'boolean' THEN j #>> '{}' ELSE lower((j #>> '{}') COLLATE "C") END) END;
      END
      $fn$;
    `,
  },
];

/** The lock id of one schema's migrations (two ints: a constant for Flextype, the schema's hash). */
const LOCK_SPACE = 0x46_54_4d_47; // "FTMG"

/** Applies the missing migrations on `client` (one transaction); returns the versions applied. */
export async function applyMigrations(client: pg.ClientBase, schema: string): Promise<number[]> {
  const S = quoteSchema(schema);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_SPACE, schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${S}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${S}.flextype_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>(`SELECT version FROM ${S}.flextype_migrations`)).rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql.replaceAll('$S', S));
      await client.query(`INSERT INTO ${S}.flextype_migrations (version) VALUES ($1)`, [migration.version]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export interface MigrateResult {
  applied: number[];
  /** The schema's version afterwards (the highest migration). */
  version: number;
}

/** `flextype storage:migrate`: connects, applies what is missing, disconnects. */
export async function migrate(options: { url: string; schema?: string; connectTimeoutMs?: number }): Promise<MigrateResult> {
  const schema = options.schema ?? 'public';
  quoteSchema(schema);
  const client = new pg.Client({ connectionString: options.url, connectionTimeoutMillis: options.connectTimeoutMs ?? 5000, application_name: 'flextype:migrate' });
  // A dropped connection is reported through the failing query; the event must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const applied = await applyMigrations(client, schema);
    return { applied, version: MIGRATIONS[MIGRATIONS.length - 1]!.version };
  } catch (err) {
    throw asStorageError(err, redactUrl(options.url));
  } finally {
    await client.end().catch(() => undefined);
  }
}
