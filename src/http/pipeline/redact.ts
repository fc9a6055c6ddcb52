/** URLs made fit for logs: credentials in the query string replaced, even when the key is percent-encoded. */

const SECRET_PARAMS = new Set(['token', 'access_token', 'string', 'hash']);

/** The parameter name as the query parser sees it: percent-decoded, without brackets. */
function paramName(rawKey: string): string {
  let key = rawKey.replace(/\+/g, ' ');
  try {
    key = decodeURIComponent(key);
  } catch {
    // Left as is: the parser keeps undecodable keys verbatim too.
  }
  return key.split('[')[0]!.toLowerCase();
}

/** Removes credentials from a URL before it is logged. */
export function redactUrl(url: string): string {
  const at = url.indexOf('?');
  if (at === -1) return url;
  const query = url
    .slice(at + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const rawKey = eq === -1 ? part : part.slice(0, eq);
      return SECRET_PARAMS.has(paramName(rawKey)) ? `${rawKey}=[redacted]` : part;
    })
    .join('&');
  return `${url.slice(0, at)}?${query}`;
}
