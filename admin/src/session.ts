/**
 * The signed-in session: the token and access token live in this tab's sessionStorage only (gone
 * when the tab closes), are sent as headers by the typed client, and never appear in a URL.
 */
import { createClient, FlextypeError, type FlextypeClient, type TokenPowers } from '../../src/client/index.js';

const KEY = 'flextype-admin-session';

export interface Session {
  token: string;
  accessToken: string;
  powers: TokenPowers;
  client: FlextypeClient;
}

export type Scope = 'entries:read' | 'entries:write' | 'tokens:read' | 'tokens:write' | 'registry:read' | 'cache:write';

export function can(session: Session, scope: Scope): boolean {
  return session.powers.scopes === null || session.powers.scopes.includes(scope);
}

function clientFor(token: string, accessToken: string): FlextypeClient {
  return createClient({ baseUrl: window.location.origin, token, accessToken, credentials: 'headers' });
}

/** Checks the credentials with the server and keeps them for this tab. */
export async function signIn(token: string, accessToken: string): Promise<Session> {
  const client = clientFor(token, accessToken);
  const powers = await client.self();
  sessionStorage.setItem(KEY, JSON.stringify({ token, accessToken }));
  return { token, accessToken, powers, client };
}

/** The session kept in this tab, checked again with the server (undefined when none or no longer valid). */
export async function resume(): Promise<Session | undefined> {
  const kept = sessionStorage.getItem(KEY);
  if (!kept) return undefined;
  try {
    const { token, accessToken } = JSON.parse(kept) as { token: string; accessToken: string };
    return await signIn(token, accessToken);
  } catch {
    sessionStorage.removeItem(KEY);
    return undefined;
  }
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

/** A failure as a sentence that says what to do. */
export function explain(err: unknown): string {
  if (err instanceof FlextypeError) {
    const detail = err.body?.detail ?? err.body?.message ?? `the server answered ${err.status}`;
    switch (err.status) {
      case 401:
        return `Not allowed: ${detail}. Sign in with a token that has this permission.`;
      case 404:
        return `Not found: ${detail}. It may have been moved or deleted; reload the list.`;
      case 412:
        return `Someone else changed this entry meanwhile (${detail}).`;
      case 413:
        return `Too large: ${detail}.`;
      case 429:
        return `Too many failed attempts: wait a minute, then try again.`;
      case 503:
        return `The server is busy or its storage is unreachable (${detail}); try again in a few seconds.`;
      default:
        return `${detail[0]?.toUpperCase() ?? ''}${detail.slice(1)}.`;
    }
  }
  if (err instanceof TypeError) return 'The server cannot be reached. Check that it is running, then try again.';
  return err instanceof Error ? err.message : String(err);
}
