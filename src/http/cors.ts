/** CORS: which headers an answer carries for a request's Origin (settings `cors`). */
import type { Settings } from '../core/settings.js';

/** The CORS headers of an answer to a request from `origin` (none when CORS is off). */
export function corsHeaders(settings: Settings, origin: string | undefined): Record<string, string> {
  const cors = settings.cors;
  if (!cors.enabled) return {};
  const headers: Record<string, string> = {};
  const anyOrigin = cors.origin === '*' || (Array.isArray(cors.origin) && cors.origin.includes('*'));
  if (cors.credentials) {
    // Browsers refuse credentials with `*`: the allowed requesting origin is named instead.
    headers['vary'] = 'Origin';
    if (origin && (anyOrigin || cors.origin === origin || (Array.isArray(cors.origin) && cors.origin.includes(origin)))) {
      headers['access-control-allow-origin'] = origin;
      headers['access-control-allow-credentials'] = 'true';
    }
  } else if (anyOrigin) {
    headers['access-control-allow-origin'] = '*';
  } else {
    // The answer depends on Origin whether or not this one is allowed (and when it is absent): a
    // shared cache must not hand one origin's answer to another, so every answer says so.
    headers['vary'] = 'Origin';
    if (origin && (cors.origin === origin || (Array.isArray(cors.origin) && cors.origin.includes(origin)))) {
      headers['access-control-allow-origin'] = origin;
    }
  }
  headers['access-control-expose-headers'] = cors.expose.join(', ');
  return headers;
}
