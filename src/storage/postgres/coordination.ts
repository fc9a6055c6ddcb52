/** Token call counters and the failure brake as single atomic SQL statements, shared by every node. */
import type pg from 'pg';
import type { EngineCoordination } from '../engine.js';

function count(value: number, what: string): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be an integer`);
  return value;
}

export class PgCoordination implements EngineCoordination {
  constructor(
    private readonly query: <R extends pg.QueryResultRow>(sql: string, values: unknown[]) => Promise<pg.QueryResult<R>>,
    private readonly S: string,
  ) {}

  async reserveCalls(tokenId: string, want: number, limit: number): Promise<number> {
    if (count(want, 'want') <= 0) return 0;
    const { rows } = await this.query<{ granted: string }>(`SELECT ${this.S}.flextype_reserve_calls($1, $2, $3) AS granted`, [tokenId, want, Math.max(0, count(limit, 'limit'))]);
    return Number(rows[0]!.granted);
  }

  async addCalls(tokenId: string, n: number): Promise<number> {
    const { rows } = await this.query<{ calls: string }>(
      `INSERT INTO ${this.S}.flextype_calls AS c (token_id, calls) VALUES ($1, GREATEST($2::bigint, 0))
       ON CONFLICT (token_id) DO UPDATE SET calls = GREATEST(c.calls + $2::bigint, 0) RETURNING calls`,
      [tokenId, count(n, 'count')],
    );
    return Number(rows[0]!.calls);
  }

  async readCalls(tokenId: string): Promise<number> {
    const { rows } = await this.query<{ calls: string }>(`SELECT calls FROM ${this.S}.flextype_calls WHERE token_id = $1`, [tokenId]);
    return rows[0] ? Number(rows[0].calls) : 0;
  }

  async seedCalls(tokenId: string, calls: number): Promise<void> {
    await this.query(`INSERT INTO ${this.S}.flextype_calls (token_id, calls) VALUES ($1, $2) ON CONFLICT (token_id) DO NOTHING`, [
      tokenId,
      Math.max(0, count(calls, 'calls')),
    ]);
  }

  async setCalls(tokenId: string, calls: number): Promise<void> {
    await this.query(
      `INSERT INTO ${this.S}.flextype_calls (token_id, calls) VALUES ($1, $2) ON CONFLICT (token_id) DO UPDATE SET calls = EXCLUDED.calls`,
      [tokenId, Math.max(0, count(calls, 'calls'))],
    );
  }

  async countFailure(key: string, windowMs: number): Promise<number> {
    // One upsert: the row lock makes concurrent failures count one after another, on every node.
    const { rows } = await this.query<{ count: number }>(
      `INSERT INTO ${this.S}.flextype_failures AS f (key, window_start, count) VALUES ($1, clock_timestamp(), 1)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN f.window_start <= clock_timestamp() - $2 * interval '1 millisecond' THEN 1 ELSE f.count + 1 END,
         window_start = CASE WHEN f.window_start <= clock_timestamp() - $2 * interval '1 millisecond' THEN clock_timestamp() ELSE f.window_start END
       RETURNING count`,
      [key, Math.max(0, count(windowMs, 'windowMs'))],
    );
    return rows[0]!.count;
  }
}
