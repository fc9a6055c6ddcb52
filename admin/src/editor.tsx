/**
 * One entry: a form from its stored fields (or its raw file), a Markdown editor with the server's
 * own rendering as preview, and saving with If-Match. When someone else saved first (412) both
 * versions are shown and the editor chooses; nothing is ever overwritten silently.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { FlextypeError, type EntrySource } from '../../src/client/index.js';
import { ActionDialog, type Action } from './actions.js';
import { Breadcrumbs } from './browse.js';
import { Dialog } from './dialog.js';
import { FieldEditor, isManaged, type FieldMap } from './fields.js';
import type { LiveChanges } from './live.js';
import { can, explain, type Session } from './session.js';
import { labelOf } from './util.js';

type Mode = 'form' | 'raw';

interface Conflict {
  mine: string;
  theirs: string;
  latest: EntrySource;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function Editor({ session, live, id }: { session: Session; live: LiveChanges; id: string }) {
  const [loaded, setLoaded] = useState<EntrySource | undefined>(undefined);
  const [draft, setDraft] = useState<FieldMap>({});
  const [raw, setRaw] = useState('');
  const [mode, setMode] = useState<Mode>('form');
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [saving, setSaving] = useState(false);
  const [conflict, setConflict] = useState<Conflict | undefined>(undefined);
  const [preview, setPreview] = useState<string | undefined>(undefined);
  const [previewMarked, setPreviewMarked] = useState(true);
  const [action, setAction] = useState<Action | undefined>(undefined);
  const [invalid, setInvalid] = useState<Set<string>>(new Set());
  const [changedElsewhere, setChangedElsewhere] = useState(false);
  const writable = can(session, 'entries:write');
  const dirtyRef = useRef(false);

  const dirty = loaded !== undefined && (mode === 'raw' ? raw !== loaded.source : loaded.fields !== null && !same(draft, loaded.fields));
  dirtyRef.current = dirty;
  const loadedRef = useRef<EntrySource | undefined>(undefined);
  loadedRef.current = loaded;

  const take = (source: EntrySource) => {
    setLoaded(source);
    setDraft(source.fields ? structuredClone(source.fields) : {});
    setRaw(source.source);
    setInvalid(new Set());
    setChangedElsewhere(false);
    if (source.fields === null) setMode('raw');
  };

  const load = async () => {
    try {
      take(await session.client.entries.source(id));
      setError('');
    } catch (err) {
      setError(explain(err));
    }
  };

  useEffect(() => {
    if (!writable) {
      setError('This token may read entries but not edit them; the editor needs the entries:write scope.');
      return;
    }
    void load();
  }, [id]);

  // Changed elsewhere: reload when nothing is being edited, else say so (saving then shows both).
  useEffect(
    () =>
      live.subscribe((event) => {
        const touches =
          event.type === 'reconnected' || event.type === 'clear' || (event.type === 'change' && (event.id === id || (event.kind === 'subtree' && id.startsWith(`${event.id}/`))));
        if (!touches || saving) return;
        void session.client.entries.source(id).then(
            (fresh) => {
              // Only a new version counts (the echo of our own save, or a reconnect, is not one).
              if (fresh.etag === loadedRef.current?.etag) return;
              if (dirtyRef.current) return setChangedElsewhere(true);
              setNotice('This entry was just changed elsewhere; the form shows the new version.');
              take(fresh);
            },
            (err: unknown) => {
              if (err instanceof FlextypeError && err.status === 404) setError('This entry was deleted or moved elsewhere.');
            },
          );
      }),
    [id, saving],
  );

  const save = async (overEtag?: string) => {
    if (!loaded) return;
    setSaving(true);
    setError('');
    setNotice('');
    const ifMatch = overEtag ?? loaded.etag;
    try {
      if (mode === 'raw') {
        await session.client.entries.saveSource(id, raw, { ifMatch });
      } else {
        const changed: FieldMap = {};
        for (const [key, value] of Object.entries(draft)) if (!same(value, loaded.fields?.[key])) changed[key] = value;
        await session.client.entries.update(id, changed, { ifMatch });
      }
      take(await session.client.entries.source(id));
      setConflict(undefined);
      setNotice('Saved.');
    } catch (err) {
      if (err instanceof FlextypeError && err.status === 412) {
        const latest = await session.client.entries.source(id);
        setConflict({
          latest,
          mine: mode === 'raw' ? raw : JSON.stringify(draft, null, 2),
          theirs: mode === 'raw' ? latest.source : JSON.stringify(latest.fields, null, 2),
        });
      } else setError(explain(err));
    } finally {
      setSaving(false);
    }
  };

  const showPreview = async () => {
    setError('');
    try {
      const fields = { ...(mode === 'form' ? draft : (loaded?.fields ?? {})) };
      // The Markdown stage runs on a text marked @markdown (unless enabled globally): the preview
      // shows the content as Markdown either way, and says when the API would not.
      const content = fields['content'];
      const marked = typeof content !== 'string' || /[@!]markdown/.test(content);
      if (!marked) fields['content'] = `@markdown\n${content as string}`;
      setPreviewMarked(marked);
      const rendered = await session.client.entries.preview(id, fields);
      setPreview(typeof rendered['content'] === 'string' ? rendered['content'] : JSON.stringify(rendered, null, 2));
    } catch (err) {
      setError(explain(err));
    }
  };

  if (error && !loaded)
    return (
      <section>
        <Breadcrumbs id={id} />
        <p class="error" role="alert">
          {error}
        </p>
      </section>
    );
  if (!loaded) return <p class="loading" role="status">Loading…</p>;

  const title = typeof loaded.fields?.['title'] === 'string' ? (loaded.fields['title'] as string) : labelOf(id);
  const keys = Object.keys(draft).filter((key) => key !== 'content');
  return (
    <section aria-labelledby="editor-title">
      <Breadcrumbs id={id} />
      <div class="heading">
        <h1 id="editor-title">{title}</h1>
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => setAction({ kind: 'copy', id })}>
            Copy
          </button>
          <button type="button" class="secondary" onClick={() => setAction({ kind: 'move', id })}>
            Move
          </button>
          <button type="button" class="danger" onClick={() => setAction({ kind: 'delete', id })}>
            Delete
          </button>
        </div>
      </div>
      <div class="tabs" role="tablist" aria-label="Editor">
        <button type="button" role="tab" id="tab-form" aria-controls="panel" aria-selected={mode === 'form'} disabled={loaded.fields === null} onClick={() => (dirty ? setNotice('Save or discard the raw text first.') : setMode('form'))}>
          Fields
        </button>
        <button type="button" role="tab" id="tab-raw" aria-controls="panel" aria-selected={mode === 'raw'} onClick={() => (dirty ? setNotice('Save or discard the fields first.') : setMode('raw'))}>
          Raw file ({loaded.format})
        </button>
      </div>
      {changedElsewhere && (
        <p class="warning" role="alert">
          Someone changed this entry while you were editing. Saving will show both versions so you can choose.
        </p>
      )}
      {loaded.fields === null && <p class="warning">This file does not parse; fix it in the raw editor.</p>}
      <form
        id="panel"
        role="tabpanel"
        aria-labelledby={mode === 'form' ? 'tab-form' : 'tab-raw'}
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        {mode === 'raw' ? (
          <div class="field">
            <label for="raw">The whole entry file</label>
            <textarea id="raw" class="code" rows={24} spellcheck={false} value={raw} onInput={(e) => setRaw(e.currentTarget.value)} />
          </div>
        ) : (
          <>
            {keys.map((key) =>
              isManaged(key) ? (
                <p key={key} class="managed">
                  <span class="label">{key}</span> <code>{String(draft[key])}</code>
                </p>
              ) : (
                <FieldEditor
                  key={key}
                  path={[key]}
                  value={draft[key]}
                  onChange={(value) => setDraft({ ...draft, [key]: value })}
                  onInvalid={(path, bad) =>
                    setInvalid((old) => {
                      const next = new Set(old);
                      if (bad) next.add(path);
                      else next.delete(path);
                      return next;
                    })
                  }
                />
              ),
            )}
            {'content' in draft && (
              <div class="field markdown">
                <label for="content">Content (Markdown)</label>
                <textarea id="content" class="code" rows={16} value={String(draft['content'] ?? '')} onInput={(e) => setDraft({ ...draft, content: e.currentTarget.value })} />
              </div>
            )}
          </>
        )}
        {invalid.size > 0 && (
          <p class="error" role="alert">
            Fix the JSON of {[...invalid].join(', ')} before saving.
          </p>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <p class="status" role="status" aria-live="polite">
          {saving ? 'Saving…' : notice || (dirty ? 'Unsaved changes.' : '')}
        </p>
        <div class="buttons">
          <button type="submit" disabled={!dirty || saving || invalid.size > 0}>
            Save
          </button>
          <button type="button" class="secondary" disabled={!dirty || saving} onClick={() => take(loaded)}>
            Discard changes
          </button>
          <button type="button" class="secondary" onClick={() => void showPreview()}>
            Preview
          </button>
        </div>
      </form>
      {preview !== undefined && (
        <section class="preview" aria-labelledby="preview-title">
          <h2 id="preview-title">Preview (rendered by the server)</h2>
          {!previewMarked && (
            <p class="small muted">
              Shown as Markdown. The API answers this content as Markdown only when it contains <code>@markdown</code> (or when Markdown is enabled globally).
            </p>
          )}
          {/* The page's CSP runs no script from this HTML (no inline code, same origin only). */}
          <div class="rendered" dangerouslySetInnerHTML={{ __html: preview }} />
          <button type="button" class="secondary small" onClick={() => setPreview(undefined)}>
            Close preview
          </button>
        </section>
      )}
      {conflict && (
        <Dialog title="Someone else saved this entry" onClose={() => setConflict(undefined)}>
          <p>Your version was not saved. Choose which one to keep.</p>
          <div class="versions">
            <section aria-labelledby="v-mine">
              <h3 id="v-mine">Yours</h3>
              <pre tabIndex={0}>{conflict.mine}</pre>
            </section>
            <section aria-labelledby="v-theirs">
              <h3 id="v-theirs">Theirs (saved now)</h3>
              <pre tabIndex={0}>{conflict.theirs}</pre>
            </section>
          </div>
          <div class="buttons">
            <button type="button" onClick={() => void save(conflict.latest.etag)}>
              Keep mine
            </button>
            <button type="button" class="secondary" onClick={() => (take(conflict.latest), setConflict(undefined), setNotice('Their version is loaded; yours was discarded.'))}>
              Use theirs
            </button>
          </div>
        </Dialog>
      )}
      {action && <ActionDialog session={session} action={action} onDone={() => setAction(undefined)} />}
    </section>
  );
}
