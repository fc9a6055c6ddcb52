/** URLs made fit for logs: credentials in the query string replaced, even when the key is percent-encoded. */

const SECRET_PARAMS = new Set(['token', 'access_token', 'string', 'hash']);

/** The parameter name as the query parser sees it: percent-decoded, without brackets, lower case. */
function paramName(rawKey: string): string {
  // Plain keys (nearly all of them) need no decoding: this runs for every access log line.
  if (!/[%+[]/.test(rawKey)) return rawKey.toLowerCase();
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
  let out = url.slice(0, at + 1);
  let start = at + 1;
  while (start <= url.length) {
    let end = url.indexOf('&', start);
    if (end === -1) end = url.length;
    const part = url.slice(start, end);
    const eq = part.indexOf('=');
    const rawKey = eq === -1 ? part : part.slice(0, eq);
    out += SECRET_PARAMS.has(paramName(rawKey)) ? `${rawKey}=[redacted]` : part;
    if (end < url.length) out += '&';
    start = end + 1;
  }
  return out;
}
