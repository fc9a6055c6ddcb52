/**
 * CORS: which headers an answer carries for a request's Origin (settings `cors`), for both the fast
 * path and the Fastify routes. The sets are computed once per kind of origin, not per request.
 */
import type { Settings } from '../../core/settings.js';

type Headers = Readonly<Record<string, string>>;

export interface CorsPolicy {
  /** The CORS headers of an answer to a request from `origin` (none when CORS is off). Never mutate. */
  headersFor(origin: string | undefined): Headers;
}

const NONE: Headers = Object.freeze({});

export function corsPolicy(settings: Settings): CorsPolicy {
  const cors = settings.cors;
  if (!cors.enabled) return { headersFor: () => NONE };
  const list = Array.isArray(cors.origin) ? cors.origin : [cors.origin];
  const anyOrigin = list.includes('*');
  const allowed = new Set(list);
  const expose = cors.expose.join(', ');
  if (!cors.credentials && anyOrigin) {
    const fixed = Object.freeze({ 'access-control-allow-origin': '*', 'access-control-expose-headers': expose });
    return { headersFor: () => fixed };
  }
  // The answer depends on Origin whether or not this one is allowed (and when it is absent): a
  // shared cache must not hand one origin's answer to another, so every answer says so.
  const refused = Object.freeze({ vary: 'Origin', 'access-control-expose-headers': expose });
  const known = new Map<string, Headers>();
  const build = (origin: string): Headers =>
    cors.credentials
      ? // Browsers refuse credentials with `*`: the allowed requesting origin is named instead.
        Object.freeze({ vary: 'Origin', 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', 'access-control-expose-headers': expose })
      : Object.freeze({ vary: 'Origin', 'access-control-allow-origin': origin, 'access-control-expose-headers': expose });
  for (const origin of allowed) if (origin !== '*') known.set(origin, build(origin));
  return {
    headersFor(origin) {
      if (!origin) return refused;
      const found = known.get(origin);
      if (found) return found;
      // Only `*` with credentials echoes origins not listed: built per request, never remembered
      // (a client choosing origins must not grow a map).
      return anyOrigin ? build(origin) : refused;
    },
  };
}
