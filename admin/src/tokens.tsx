/** Tokens: list, create (scopes, expiry, call limit; the access token shown once), disable, delete. */
import { useEffect, useState } from 'preact/hooks';
import type { NewToken, Scope, TokenEntry } from '../../src/client/index.js';
import { Dialog } from './dialog.js';
import { can, explain, type Session } from './session.js';
import { dateText } from './util.js';

const SCOPES: Scope[] = ['entries:read', 'entries:write', 'tokens:read', 'tokens:write', 'registry:read', 'cache:write'];

export function Tokens({ session }: { session: Session }) {
  const [tokens, setTokens] = useState<[string, TokenEntry][] | undefined>(undefined);
  const [error, setError] = useState('');
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<NewToken | undefined>(undefined);
  const [deleting, setDeleting] = useState<string | undefined>(undefined);
  const writable = can(session, 'tokens:write');

  const load = async () => {
    try {
      const page = await session.client.tokens.collection({ filter: { sort_by: { key: 'created_at', direction: 'DESC' }, limit: 500 } });
      setTokens(page.items);
      setError('');
    } catch (err) {
      setError(explain(err));
    }
  };
  useEffect(() => void load(), []);

  const setState = async (id: string, state: 'enabled' | 'disabled') => {
    try {
      await session.client.tokens.update(id, { state });
      await load();
    } catch (err) {
      setError(explain(err));
    }
  };

  return (
    <section aria-labelledby="tokens-title">
      <div class="heading">
        <h1 id="tokens-title">Tokens</h1>
        {writable && (
          <button type="button" onClick={() => setCreating(true)}>
            New token
          </button>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!tokens && !error && <p class="loading" role="status">Loading…</p>}
      {tokens && (
        <table class="entries">
          <thead>
            <tr>
              <th scope="col">Title</th>
              <th scope="col">Token</th>
              <th scope="col">State</th>
              <th scope="col" class="wide">
                Scopes
              </th>
              <th scope="col" class="wide">
                Calls
              </th>
              <th scope="col" class="wide">
                Expires
              </th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map(([id, token]) => {
              const name = id.replace(/^tokens\//, '');
              const self = name === session.token;
              return (
                <tr key={id}>
                  <td>{String(token['title'] ?? '')}</td>
                  <td>
                    <code>{name.slice(0, 8)}…</code>
                    {self && <span class="badge">you</span>}
                  </td>
                  <td>{token.state ?? 'enabled'}</td>
                  <td class="wide">{token.scopes ? (token.scopes.length === 0 ? 'none' : token.scopes.join(', ')) : 'all'}</td>
                  <td class="wide">
                    {token.calls ?? 0}
                    {token.limit_calls ? ` / ${token.limit_calls}` : ''}
                  </td>
                  <td class="wide">{token.expires_at ? dateText(token.expires_at) : 'never'}</td>
                  <td class="row-actions">
                    {writable && !self && (
                      <>
                        <button type="button" class="secondary small" onClick={() => void setState(name, token.state === 'disabled' ? 'enabled' : 'disabled')}>
                          {token.state === 'disabled' ? 'Enable' : 'Disable'}
                          <span class="visually-hidden"> token {String(token['title'] ?? name.slice(0, 8))}</span>
                        </button>
                        <button type="button" class="danger small" onClick={() => setDeleting(name)}>
                          Delete<span class="visually-hidden"> token {String(token['title'] ?? name.slice(0, 8))}</span>
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {creating && (
        <CreateToken
          session={session}
          onDone={(made) => {
            setCreating(false);
            if (made) {
              setCreated(made);
              void load();
            }
          }}
        />
      )}
      {created && (
        <Dialog title="Token created" onClose={() => setCreated(undefined)}>
          <p>Copy the access token now: it is shown only once and cannot be read again.</p>
          <dl class="secrets">
            <dt>Token</dt>
            <dd>
              <code data-testid="new-token">{created.token}</code>
            </dd>
            <dt>Access token</dt>
            <dd>
              <code data-testid="new-access-token">{created.access_token}</code>
            </dd>
          </dl>
          <div class="buttons">
            <button type="button" onClick={() => setCreated(undefined)}>
              I have copied it
            </button>
          </div>
        </Dialog>
      )}
      {deleting && (
        <Dialog title="Delete token" onClose={() => setDeleting(undefined)}>
          <p>
            Delete token <code>{deleting.slice(0, 8)}…</code>? Apps using it stop working at once.
          </p>
          <div class="buttons">
            <button type="button" class="secondary" onClick={() => setDeleting(undefined)}>
              Cancel
            </button>
            <button
              type="button"
              class="danger"
              onClick={async () => {
                try {
                  await session.client.tokens.delete(deleting);
                  setDeleting(undefined);
                  await load();
                } catch (err) {
                  setError(explain(err));
                  setDeleting(undefined);
                }
              }}
            >
              Delete
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}

function CreateToken({ session, onDone }: { session: Session; onDone: (made?: NewToken) => void }) {
  const allowed = SCOPES.filter((scope) => session.powers.scopes === null || session.powers.scopes.includes(scope));
  const [title, setTitle] = useState('');
  const [scopes, setScopes] = useState<Set<Scope>>(new Set(['entries:read']));
  const [expires, setExpires] = useState('');
  const [limit, setLimit] = useState('0');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      const data: Record<string, unknown> = { title: title.trim(), scopes: [...scopes], limit_calls: Number(limit) || 0 };
      if (expires !== '') data['expires_at'] = Math.floor(new Date(`${expires}T23:59:59`).getTime() / 1000);
      onDone(await session.client.tokens.create(data));
    } catch (err) {
      setError(explain(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title="New token" onClose={() => onDone()}>
      <form onSubmit={submit}>
        <label for="token-title">Title</label>
        <input id="token-title" required value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        <fieldset>
          <legend>Scopes (what it may do)</legend>
          {allowed.map((scope) => (
            <div class="field check" key={scope}>
              <input
                id={`scope-${scope}`}
                type="checkbox"
                checked={scopes.has(scope)}
                onChange={(e) => {
                  const next = new Set(scopes);
                  if (e.currentTarget.checked) next.add(scope);
                  else next.delete(scope);
                  setScopes(next);
                }}
              />
              <label for={`scope-${scope}`}>{scope}</label>
            </div>
          ))}
        </fieldset>
        <label for="token-expires">Expires on (empty: never)</label>
        <input id="token-expires" type="date" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        <label for="token-limit">Call limit (0: none)</label>
        <input id="token-limit" type="number" min="0" step="1" value={limit} onInput={(e) => setLimit(e.currentTarget.value)} />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => onDone()}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create token'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
