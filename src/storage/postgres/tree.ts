/** Read-only walks of the id tree: the direct children of a folder and every id below one. */
import type pg from 'pg';
import { subtreeBounds } from './rows.js';

type Query = <R extends pg.QueryResultRow>(sql: string, values: unknown[]) => Promise<pg.QueryResult<R>>;

/** Entries listed per batch by `listIds`. */
const LIST_BATCH = 1000;

export async function childrenOf(query: Query, table: string, id: string): Promise<string[]> {
  const prefix = id === '' ? '' : `${id}/`;
  const key = (text: string) => text.replaceAll('/', '\u0001');
  const upper = id === '' ? '' : 'AND tree_key < $2';
  // A loose index scan over the tree key: from one child jump past its whole subtree to the next
  // child, so each child costs one index probe however many entries lie below it, and folders
  // without an entry file count too.
  const { rows } = await query<{ s: string }>(
    `WITH RECURSIVE seg(s) AS (
       SELECT split_part(substr(m, length($1::text) + 1), chr(1), 1) FROM (SELECT min(tree_key) AS m FROM ${table} WHERE tree_key >= $1 ${upper}) f WHERE m IS NOT NULL
       UNION ALL
       SELECT split_part(substr(n.m, length($1::text) + 1), chr(1), 1) FROM seg,
         LATERAL (SELECT min(tree_key) AS m FROM ${table} WHERE tree_key >= $1::text || seg.s || chr(2) ${upper}) n
       WHERE n.m IS NOT NULL)
     SELECT s FROM seg`,
    id === '' ? [''] : [key(prefix), key(`${id}\u0002`)],
  );
  return rows.map((row) => prefix + row.s);
}

export async function* listIds(query: Query, table: string, under: string): AsyncIterable<string[]> {
  const bounds = under === '' ? undefined : subtreeBounds(under);
  let last = '';
  for (;;) {
    const { rows } = bounds
      ? await query<{ id: string }>(
          `SELECT id FROM ${table} WHERE (id = $1 OR (id >= $2 AND id < $3)) AND id > $4 ORDER BY id LIMIT ${LIST_BATCH}`,
          [under, bounds.lo, bounds.hi, last],
        )
      : await query<{ id: string }>(`SELECT id FROM ${table} WHERE id > $1 ORDER BY id LIMIT ${LIST_BATCH}`, [last]);
    if (rows.length === 0) return;
    yield rows.map((row) => row.id);
    if (rows.length < LIST_BATCH) return;
    last = rows[rows.length - 1]!.id;
  }
}
