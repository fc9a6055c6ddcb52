/** Create, move, copy and delete, each confirmed in a dialog; delete says how much goes with it. */
import { useEffect, useState } from 'preact/hooks';
import { Dialog } from './dialog.js';
import { navigate } from './router.js';
import { explain, type Session } from './session.js';

export type Action = { kind: 'create'; parent: string } | { kind: 'move' | 'copy' | 'delete'; id: string };

export function ActionDialog({ session, action, onDone }: { session: Session; action: Action; onDone: (changed: boolean) => void }) {
  const [target, setTarget] = useState(action.kind === 'create' ? (action.parent === '' ? '' : `${action.parent}/`) : action.kind === 'delete' ? '' : action.id);
  const [title, setTitle] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [below, setBelow] = useState<number | undefined>(undefined);
  useEffect(() => {
    if (action.kind !== 'delete') return;
    session.client.entries.collection(action.id, { find: { depth: '>= 1' }, filter: { only: ['id'], limit: 1 } }).then(
      (page) => setBelow(page.total ?? 0),
      () => setBelow(undefined),
    );
  }, []);
  const run = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      const client = session.client;
      if (action.kind === 'create') {
        const id = target.trim().replace(/^\/+|\/+$/g, '');
        await client.entries.create(id, title.trim() === '' ? {} : { title: title.trim() });
        onDone(true);
        navigate({ screen: 'edit', id });
      } else if (action.kind === 'move') {
        const id = target.trim();
        await client.entries.move(action.id, id);
        onDone(true);
        navigate({ screen: 'edit', id });
      } else if (action.kind === 'copy') {
        const id = target.trim();
        await client.entries.copy(action.id, id);
        onDone(true);
        navigate({ screen: 'edit', id });
      } else {
        await client.entries.delete(action.id);
        onDone(true);
        const at = action.id.lastIndexOf('/');
        navigate({ screen: 'browse', id: at < 0 ? '' : action.id.slice(0, at) });
      }
    } catch (err) {
      setError(explain(err));
      setBusy(false);
    }
  };
  const names = { create: 'Create an entry', move: 'Move entry', copy: 'Copy entry', delete: 'Delete entry' } as const;
  return (
    <Dialog title={names[action.kind]} onClose={() => onDone(false)}>
      <form onSubmit={run} method="dialog">
        {action.kind === 'delete' ? (
          <p>
            Delete <strong>{action.id}</strong>
            {below === undefined ? '' : below === 0 ? '? Nothing is below it.' : ` and the ${below} ${below === 1 ? 'entry' : 'entries'} below it?`} This cannot be undone.
          </p>
        ) : (
          <>
            {action.kind !== 'create' && (
              <p>
                {action.kind === 'move' ? 'Moves' : 'Copies'} <strong>{action.id}</strong> and everything below it.
              </p>
            )}
            <label for="action-target">{action.kind === 'create' ? 'Id of the new entry' : 'New id'}</label>
            <input id="action-target" required value={target} onInput={(e) => setTarget(e.currentTarget.value)} aria-describedby="action-hint" />
            <p id="action-hint" class="small muted">
              Lowercase words separated by slashes, e.g. <code>blog/my-post</code>. The parent must exist.
            </p>
            {action.kind === 'create' && (
              <>
                <label for="action-title">Title</label>
                <input id="action-title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
              </>
            )}
          </>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => onDone(false)}>
            Cancel
          </button>
          <button type="submit" class={action.kind === 'delete' ? 'danger' : ''} disabled={busy}>
            {busy ? 'Working…' : action.kind === 'delete' ? 'Delete' : names[action.kind].split(' ')[0]}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
