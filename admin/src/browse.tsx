/**
 * A folder's collection: search (title and content), one filter, sort and pages driven by
 * X-Total-Count. Every page is one indexed query on the server, so 100,000 entries stay fast.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { FilterOptions, WhereItem, WhereOperator } from '../../src/client/index.js';
import { ActionDialog, type Action } from './actions.js';
import type { LiveChanges } from './live.js';
import { hrefOf, linkHandler } from './router.js';
import { can, explain, type Session } from './session.js';
import { dateText, debounce, labelOf, parentOf } from './util.js';

const PAGE_SIZE = 25;
const OPERATORS: WhereOperator[] = ['eq', 'neq', 'contains', 'starts_with', 'gt', 'gte', 'lt', 'lte'];

interface Row {
  id: string;
  title: string;
  modified: string;
  visibility: string;
}

export function Breadcrumbs({ id, last }: { id: string; last?: string }) {
  const parts = id === '' ? [] : id.split('/');
  return (
    <nav aria-label="Breadcrumbs" class="crumbs">
      <ol>
        <li>
          <a href={hrefOf({ screen: 'browse', id: '' })} onClick={linkHandler({ screen: 'browse', id: '' })}>
            All entries
          </a>
        </li>
        {parts.map((part, i) => {
          const at = parts.slice(0, i + 1).join('/');
          return (
            <li key={at}>
              {i === parts.length - 1 && last === undefined ? (
                <span aria-current="page">{part}</span>
              ) : (
                <a href={hrefOf({ screen: 'browse', id: at })} onClick={linkHandler({ screen: 'browse', id: at })}>
                  {part}
                </a>
              )}
            </li>
          );
        })}
        {last !== undefined && (
          <li>
            <span aria-current="page">{last}</span>
          </li>
        )}
      </ol>
    </nav>
  );
}

export function Browse({ session, live, id }: { session: Session; live: LiveChanges; id: string }) {
  const [search, setSearch] = useState('');
  const [filterKey, setFilterKey] = useState('');
  const [filterOp, setFilterOp] = useState<WhereOperator>('eq');
  const [filterValue, setFilterValue] = useState('');
  const [sortKey, setSortKey] = useState('title');
  const [direction, setDirection] = useState<'ASC' | 'DESC'>('ASC');
  const [page, setPage] = useState(0);
  const [rows, setRows] = useState<Row[] | undefined>(undefined);
  const [total, setTotal] = useState(0);
  // Where the rows shown start: the status and pager describe what is on screen, not what is asked.
  const [shownOffset, setShownOffset] = useState(0);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(true);
  const [action, setAction] = useState<Action | undefined>(undefined);
  const [exists, setExists] = useState(true);
  const request = useRef(0);

  const filter = useMemo((): FilterOptions => {
    const where: WhereItem[] = [];
    const text = search.trim();
    if (text !== '') where.push({ or: [{ key: 'title', operator: 'contains', value: text }, { key: 'content', operator: 'contains', value: text }] });
    if (filterKey.trim() !== '' && filterValue !== '') where.push({ key: filterKey.trim(), operator: filterOp, value: filterValue });
    // The server applies `only` before `where` and sorting (as Flextype does): every field they
    // read must be among those asked for.
    const only = new Set(['title', 'modified_at', 'visibility']);
    if (text !== '') only.add('content');
    if (filterKey.trim() !== '' && filterValue !== '') only.add(filterKey.trim());
    if (sortKey.trim() !== '') only.add(sortKey.trim());
    return {
      only: [...only],
      ...(where.length > 0 ? { where } : {}),
      ...(sortKey.trim() !== '' ? { sort_by: { key: sortKey.trim(), direction } } : {}),
      offset: page * PAGE_SIZE,
      limit: PAGE_SIZE,
    };
  }, [search, filterKey, filterOp, filterValue, sortKey, direction, page]);

  const load = async () => {
    const mine = ++request.current;
    setLoading(true);
    try {
      const found = await session.client.entries.collection(id, { filter });
      if (mine !== request.current) return;
      setRows(
        found.items.map(([childId, entry]) => ({
          id: childId,
          title: typeof entry['title'] === 'string' ? entry['title'] : '',
          modified: dateText(entry['modified_at']),
          visibility: typeof entry['visibility'] === 'string' ? entry['visibility'] : '',
        })),
      );
      setTotal(found.total ?? found.items.length);
      setShownOffset(Number(filter.offset ?? 0));
      setError('');
      setExists(true);
    } catch (err) {
      if (mine !== request.current) return;
      setError(explain(err));
      setRows([]);
      setTotal(0);
      setExists(false);
    } finally {
      if (mine === request.current) setLoading(false);
    }
  };

  useEffect(() => {
    void load();
  }, [filter]);

  // Someone changed an entry of this folder (here, on disk, another node): show it.
  useEffect(() => {
    const reload = debounce(() => void load(), 250);
    return live.subscribe((event) => {
      if (event.type === 'reconnected' || event.type === 'clear') return reload();
      if (event.type !== 'change') return;
      if (parentOf(event.id) === id || event.id === id || (event.kind === 'subtree' && (id === '' || id.startsWith(`${event.id}/`) || event.id.startsWith(`${id}/`)))) reload();
    });
  }, [filter]);

  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const writable = can(session, 'entries:write');
  const first = total === 0 ? 0 : shownOffset + 1;
  const last = shownOffset + (rows?.length ?? 0);
  return (
    <section aria-labelledby="browse-title">
      <Breadcrumbs id={id} />
      <div class="heading">
        <h1 id="browse-title">{labelOf(id)}</h1>
        <div class="buttons">
          {id !== '' && exists && (
            <a class="button secondary" href={hrefOf({ screen: 'edit', id })} onClick={linkHandler({ screen: 'edit', id })}>
              Edit this entry
            </a>
          )}
          {writable && (
            <button type="button" onClick={() => setAction({ kind: 'create', parent: id })}>
              New entry
            </button>
          )}
        </div>
      </div>
      <form class="query" role="search" onSubmit={(e) => e.preventDefault()}>
        <div class="field grow">
          <label for="search">Search title and content</label>
          <input id="search" type="search" value={search} onInput={(e) => (setSearch(e.currentTarget.value), setPage(0))} />
        </div>
        <fieldset class="filter">
          <legend>Filter</legend>
          <label for="filter-key" class="visually-hidden">
            Field
          </label>
          <input id="filter-key" placeholder="field, e.g. tag" value={filterKey} onInput={(e) => (setFilterKey(e.currentTarget.value), setPage(0))} />
          <label for="filter-op" class="visually-hidden">
            Operator
          </label>
          <select id="filter-op" value={filterOp} onChange={(e) => (setFilterOp(e.currentTarget.value as WhereOperator), setPage(0))}>
            {OPERATORS.map((op) => (
              <option key={op} value={op}>
                {op}
              </option>
            ))}
          </select>
          <label for="filter-value" class="visually-hidden">
            Value
          </label>
          <input id="filter-value" placeholder="value" value={filterValue} onInput={(e) => (setFilterValue(e.currentTarget.value), setPage(0))} />
        </fieldset>
        <div class="field">
          <label for="sort-key">Sort by</label>
          <input id="sort-key" value={sortKey} onInput={(e) => (setSortKey(e.currentTarget.value), setPage(0))} />
        </div>
        <div class="field">
          <label for="sort-direction">Direction</label>
          <select id="sort-direction" value={direction} onChange={(e) => (setDirection(e.currentTarget.value as 'ASC' | 'DESC'), setPage(0))}>
            <option value="ASC">ascending</option>
            <option value="DESC">descending</option>
          </select>
        </div>
      </form>
      <p class="status" role="status" aria-live="polite">
        {loading ? 'Loading…' : error ? '' : total === 0 ? 'No entries match.' : `Showing ${first}–${last} of ${total.toLocaleString()}`}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {rows && rows.length > 0 && (
        <table class="entries">
          <thead>
            <tr>
              <th scope="col">Title</th>
              <th scope="col">Id</th>
              <th scope="col" class="wide">
                Modified
              </th>
              <th scope="col" class="wide">
                Visibility
              </th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id}>
                <td>
                  <a href={hrefOf({ screen: 'edit', id: row.id })} onClick={linkHandler({ screen: 'edit', id: row.id })}>
                    {row.title || labelOf(row.id)}
                  </a>
                </td>
                <td>
                  <code>{row.id}</code>
                </td>
                <td class="wide">{row.modified}</td>
                <td class="wide">{row.visibility}</td>
                <td>
                  <a href={hrefOf({ screen: 'browse', id: row.id })} onClick={linkHandler({ screen: 'browse', id: row.id })} aria-label={`Entries below ${row.title || labelOf(row.id)}`}>
                    Below
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {total > PAGE_SIZE && (
        <nav class="pager" aria-label="Pages">
          <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
            Previous
          </button>
          <span>
            Page {Math.floor(shownOffset / PAGE_SIZE) + 1} of {pages.toLocaleString()}
          </span>
          <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
            Next
          </button>
        </nav>
      )}
      {action && <ActionDialog session={session} action={action} onDone={(changed) => (setAction(undefined), changed && void load())} />}
      {rows === undefined && !error && <p class="loading">Loading…</p>}
    </section>
  );
}
