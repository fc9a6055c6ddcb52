/** The shell: sign-in, then a header, the entry tree and the current screen. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Browse } from './browse.js';
import { Editor } from './editor.js';
import { LiveChanges } from './live.js';
import { hrefOf, linkHandler, useRoute } from './router.js';
import { can, resume, signOut, type Session } from './session.js';
import { SignIn } from './signin.js';
import { Tokens } from './tokens.js';
import { Tree } from './tree.js';

export function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [checking, setChecking] = useState(true);
  useEffect(() => {
    void resume().then((kept) => {
      setSession(kept);
      setChecking(false);
    });
  }, []);
  if (checking) return <p class="loading" role="status">Loading…</p>;
  if (!session) return <SignIn onSignedIn={setSession} />;
  return <Signed session={session} onSignOut={() => (signOut(), setSession(undefined))} />;
}

function Signed({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const live = useMemo(() => new LiveChanges(session.client), [session]);
  const [menuOpen, setMenuOpen] = useState(false);
  const [liveUp, setLiveUp] = useState(false);
  useEffect(() => {
    const unsubscribe = live.subscribe((event) => {
      if (event.type === 'ready') setLiveUp(true);
      else if (event.type === 'down') setLiveUp(false);
    });
    if (can(session, 'entries:read')) live.start();
    return () => (unsubscribe(), live.stop());
  }, [live]);
  useEffect(() => setMenuOpen(false), [route]);
  const current = route.screen === 'tokens' ? '' : route.id;
  return (
    <div class="shell">
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href={hrefOf({ screen: 'browse', id: '' })} onClick={linkHandler({ screen: 'browse', id: '' })}>
          Flextype admin
        </a>
        <button type="button" class="menu-toggle" aria-expanded={menuOpen} aria-controls="tree" onClick={() => setMenuOpen(!menuOpen)}>
          Entries
        </button>
        {can(session, 'entries:read') && (
          <span class={liveUp ? 'live up' : 'live'} title={liveUp ? 'Open views update when entries change' : 'Reconnecting to the change stream; reload a view to see the latest'}>
            {liveUp ? 'Live' : 'Offline'}
          </span>
        )}
        <nav aria-label="Main">
          <a href={hrefOf({ screen: 'browse', id: '' })} onClick={linkHandler({ screen: 'browse', id: '' })} aria-current={route.screen !== 'tokens' ? 'page' : undefined}>
            Content
          </a>
          {can(session, 'tokens:read') && (
            <a href={hrefOf({ screen: 'tokens' })} onClick={linkHandler({ screen: 'tokens' })} aria-current={route.screen === 'tokens' ? 'page' : undefined}>
              Tokens
            </a>
          )}
          <button type="button" class="link" onClick={onSignOut}>
            Sign out
          </button>
        </nav>
      </header>
      <div class="body">
        {can(session, 'entries:read') && (
          <aside id="tree" class={menuOpen ? 'tree open' : 'tree'} aria-label="Entry tree">
            <Tree session={session} live={live} current={current} />
          </aside>
        )}
        <main id="main" tabIndex={-1}>
          {!can(session, 'entries:read') && route.screen !== 'tokens' ? (
            <p class="notice">This token may not read entries. {can(session, 'tokens:read') ? 'You can manage tokens.' : ''}</p>
          ) : route.screen === 'tokens' ? (
            <Tokens session={session} />
          ) : route.screen === 'edit' ? (
            <Editor key={route.id} session={session} live={live} id={route.id} />
          ) : (
            <Browse key={route.id} session={session} live={live} id={route.id} />
          )}
        </main>
      </div>
    </div>
  );
}
