/**
 * URLs content can print (SPEC §9.5 url family, §9.8 `url` group): the base URL, tidy joins and the
 * paths of named API routes. Shared by the shortcodes and the expression functions.
 */

const ROUTES = new Map<string, string>([
  ['entries.fetch', '/api/v1/entries'], ['entries.create', '/api/v1/entries'], ['entries.update', '/api/v1/entries'],
  ['entries.move', '/api/v1/entries'], ['entries.delete', '/api/v1/entries'], ['entries.copy', '/api/v1/entries/copy'],
  ['tokens.fetch', '/api/v1/tokens'], ['tokens.create', '/api/v1/tokens'], ['tokens.update', '/api/v1/tokens'],
  ['tokens.delete', '/api/v1/tokens'], ['tokens.generate', '/api/v1/tokens/generate'],
  ['tokens.generate-hash', '/api/v1/tokens/generate-hash'], ['tokens.verify-hash', '/api/v1/tokens/verify-hash'],
  ['registry.get', '/api/v1/registry'], ['cache.clear', '/api/v1/cache/clear'], ['query.evaluate', '/api/v1/query'],
]);

/** Repeated `/` collapsed (not the `//` after a scheme's `:`), trailing `/` removed. */
export function tidyUrl(url: string): string {
  return url.replace(/(?<!:)\/{2,}/g, '/').replace(/\/+$/, '');
}

/** `base_url` (or the request's origin when it is empty) + `/` + `base_path`. */
export function baseUrl(baseUrlSetting: string, basePath: string, requestOrigin: string): string {
  return tidyUrl(`${baseUrlSetting || requestOrigin}/${basePath}`);
}

/** The path of a named route with the base path first and an encoded query appended. */
export function routeUrl(name: string, basePath: string, queryText: string): string {
  const path = ROUTES.get(name);
  if (path === undefined) throw new Error(`unknown route "${name}"`);
  const prefixed = tidyUrl(`/${basePath}${path}`) || '/';
  return queryText === '' ? prefixed : `${prefixed}?${queryText}`;
}
