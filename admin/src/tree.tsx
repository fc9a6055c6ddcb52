/** The entry tree: children are fetched when a node is opened (lazy), at most a page at a time. */
import { useEffect, useState } from 'preact/hooks';
import type { LiveChanges } from './live.js';
import { hrefOf, linkHandler } from './router.js';
import { explain, type Session } from './session.js';
import { labelOf, parentOf } from './util.js';

const CHILDREN_SHOWN = 100;

interface Children {
  items: [string, string][];
  total: number;
}

async function childrenOf(session: Session, id: string): Promise<Children> {
  const page = await session.client.entries.collection(id, { filter: { only: ['title'], sort_by: { key: 'title', direction: 'ASC' }, limit: CHILDREN_SHOWN } });
  return { items: page.items.map(([childId, entry]) => [childId, typeof entry['title'] === 'string' && entry['title'] !== '' ? entry['title'] : labelOf(childId)]), total: page.total ?? page.items.length };
}

function Node({ session, live, id, title, current, depth }: { session: Session; live: LiveChanges; id: string; title: string; current: string; depth: number }) {
  const opensCurrent = current === id || current.startsWith(`${id}/`);
  const [open, setOpen] = useState(opensCurrent && current !== id);
  useEffect(() => {
    if (opensCurrent && current !== id) setOpen(true);
  }, [current]);
  return (
    <li role="treeitem" aria-expanded={open} aria-selected={current === id} aria-level={depth}>
      <div class={current === id ? 'node current' : 'node'}>
        <button type="button" class="toggle" aria-label={`${open ? 'Close' : 'Open'} ${title}`} onClick={() => setOpen(!open)}>
          {open ? '▾' : '▸'}
        </button>
        <a href={hrefOf({ screen: 'browse', id })} onClick={linkHandler({ screen: 'browse', id })} aria-current={current === id ? 'page' : undefined}>
          {title}
        </a>
      </div>
      {open && <Level session={session} live={live} id={id} current={current} depth={depth + 1} />}
    </li>
  );
}

function Level({ session, live, id, current, depth }: { session: Session; live: LiveChanges; id: string; current: string; depth: number }) {
  const [children, setChildren] = useState<Children | undefined>(undefined);
  const [error, setError] = useState('');
  const load = () =>
    childrenOf(session, id).then(
      (found) => (setChildren(found), setError('')),
      (err: unknown) => setError(explain(err)),
    );
  useEffect(() => {
    void load();
    // Children appear, vanish or get renamed: reload this level when one of them changes.
    return live.subscribe((event) => {
      if (event.type === 'reconnected' || event.type === 'clear') void load();
      else if (event.type === 'change' && (parentOf(event.id) === id || (event.kind === 'subtree' && (id === '' || id.startsWith(`${event.id}/`) || event.id.startsWith(`${id}/`))))) void load();
    });
  }, [id]);
  if (error) return <p class="error small">{error}</p>;
  if (!children) return <p class="loading small" role="status">Loading…</p>;
  if (children.items.length === 0) return depth === 1 ? <p class="small">No entries yet.</p> : <p class="small muted">No entries below.</p>;
  return (
    <ul role={depth === 1 ? 'tree' : 'group'} aria-label={depth === 1 ? 'Entries' : undefined}>
      {children.items.map(([childId, title]) => (
        <Node key={childId} session={session} live={live} id={childId} title={title} current={current} depth={depth} />
      ))}
      {children.total > children.items.length && (
        <li class="more small">
          <a href={hrefOf({ screen: 'browse', id })} onClick={linkHandler({ screen: 'browse', id })}>
            {children.total - children.items.length} more…
          </a>
        </li>
      )}
    </ul>
  );
}

export function Tree({ session, live, current }: { session: Session; live: LiveChanges; current: string }) {
  return (
    <nav aria-label="Entries">
      <a class="root" href={hrefOf({ screen: 'browse', id: '' })} onClick={linkHandler({ screen: 'browse', id: '' })}>
        All entries
      </a>
      <Level session={session} live={live} id="" current={current} depth={1} />
    </nav>
  );
}
