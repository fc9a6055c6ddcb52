/**
 * The shared helper of every PostgreSQL test: is the server there, a fresh schema per test, and
 * the skip rule (unreachable: skipped with a clear message; with CI=true: a failure).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pg from 'pg';

/** The test server: 127.0.0.1:5432, trust auth, database `test`, user `postgres`. */
export const PG_URL = process.env['FLEXTYPE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const SHOWN_URL = PG_URL.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

let probe: Promise<string | undefined> | undefined;

/** Undefined when PostgreSQL answers (2 s to connect), else why not. */
function unreachableReason(): Promise<string | undefined> {
  probe ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (err) {
      return (err as Error).message || (err as Error).name;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return probe;
}

export async function pgAvailable(): Promise<boolean> {
  return (await unreachableReason()) === undefined;
}

/** Decided once, at load, so describePg can register its tests synchronously. */
const reason = await unreachableReason();

export interface TestSchema {
  schema: string;
  url: string;
  /** A plain client on the test database (for checks and for dropping connections in tests). */
  admin(): Promise<pg.Client>;
  /** Drops the schema with everything in it. */
  cleanup(): Promise<void>;
}

/** A fresh random schema name (not created: the engine's migrations create it) and its cleanup. */
export function withSchema(prefix = 'ft_test'): TestSchema {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  return {
    schema,
    url: PG_URL,
    admin,
    async cleanup() {
      const client = await admin();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * `describe` for tests that need PostgreSQL: skipped with a clear message when it is unreachable,
 * but with CI=true its absence is one failing test.
 */
export function describePg(name: string, fn: () => void): void {
  if (reason === undefined) {
    describe(name, fn);
    return;
  }
  const message = `PostgreSQL not reachable at ${SHOWN_URL} (${reason}): skipped`;
  if (process.env['CI'] === 'true') {
    describe(name, () => {
      it('PostgreSQL is reachable (required with CI=true)', () => assert.fail(message.replace(': skipped', '')));
    });
    return;
  }
  describe(name, { skip: message }, fn);
}
