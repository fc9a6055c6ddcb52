import { useState } from 'preact/hooks';
import { explain, signIn, type Session } from './session.js';

export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [accessToken, setAccessToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      onSignedIn(await signIn(token.trim(), accessToken.trim()));
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <h1>Sign in</h1>
      <p>Use a token and its access token (from <code>flextype tokens:create</code> or an administrator). They are kept in this browser tab only.</p>
      <form onSubmit={submit}>
        <label for="token">Token</label>
        <input id="token" name="token" autoComplete="username" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <label for="access-token">Access token</label>
        <input id="access-token" name="access-token" type="password" autoComplete="current-password" required value={accessToken} onInput={(e) => setAccessToken(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
