/** Screens as paths below /admin (history API; the server answers every such path with the app). */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { screen: 'browse'; id: string }
  | { screen: 'edit'; id: string }
  | { screen: 'tokens' };

const BASE = '/admin';

export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const parts = rest.split('/').filter((part) => part !== '').map((part) => decodeURIComponent(part));
  if (parts[0] === 'tokens') return { screen: 'tokens' };
  if (parts[0] === 'edit') return { screen: 'edit', id: parts.slice(1).join('/') };
  if (parts[0] === 'browse') return { screen: 'browse', id: parts.slice(1).join('/') };
  return { screen: 'browse', id: '' };
}

export function hrefOf(route: Route): string {
  const ids = (id: string) => id.split('/').filter((p) => p !== '').map(encodeURIComponent).join('/');
  if (route.screen === 'tokens') return `${BASE}/tokens`;
  if (route.screen === 'edit') return `${BASE}/edit/${ids(route.id)}`;
  return route.id === '' ? `${BASE}/` : `${BASE}/browse/${ids(route.id)}`;
}

export function navigate(route: Route): void {
  const href = hrefOf(route);
  if (href !== window.location.pathname) window.history.pushState(null, '', href);
  window.dispatchEvent(new Event('admin:navigate'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.pathname));
    window.addEventListener('popstate', update);
    window.addEventListener('admin:navigate', update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener('admin:navigate', update);
    };
  }, []);
  return route;
}

/** A link that navigates inside the app (and still opens in a new tab with a modifier key). */
export function linkHandler(route: Route) {
  return (event: MouseEvent) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(route);
  };
}
