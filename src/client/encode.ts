/**
 * Encoding for the wire: nested values to PHP bracket query strings (`options[filter][where][0][key]=year`),
 * and collection answers parsed with their key order kept (JSON.parse moves integer-like keys first).
 */

/** Appends `value` under `key` to `out` in bracket syntax; undefined is left out, null sent empty. */
export function appendBrackets(out: URLSearchParams, key: string, value: unknown): void {
  if (value === undefined) return;
  if (value === null) out.append(key, '');
  else if (Array.isArray(value)) value.forEach((item, index) => appendBrackets(out, `${key}[${index}]`, item));
  else if (typeof value === 'object') {
    for (const [name, item] of Object.entries(value as Record<string, unknown>)) appendBrackets(out, `${key}[${name}]`, item);
  } else out.append(key, String(value));
}

/** A query string of parameters in bracket syntax. */
export function toQueryString(params: Record<string, unknown>): string {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) appendBrackets(out, key, value);
  // Brackets stay readable (servers decode both forms alike).
  return out.toString().replace(/%5B/gi, '[').replace(/%5D/gi, ']');
}

/** End of the JSON string starting at `start` (a quote): the index after its closing quote. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i += 2;
    else if (c === 0x22) return i + 1;
    else i++;
  }
  throw new SyntaxError('unterminated JSON string');
}

/** End of the JSON value starting at `start` (after whitespace): the index after it. */
function endOfValue(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      i = endOfString(text, i);
      if (depth === 0) return i;
      continue;
    }
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      if (depth === 0) return i;
      depth--;
      if (depth === 0) return i + 1;
    } else if (depth === 0 && (ch === ',' || /\s/.test(ch))) return i;
    i++;
  }
  return i;
}

/** The members of a JSON object text, in the order written. */
export function orderedMembers(text: string): [string, unknown][] {
  const out: [string, unknown][] = [];
  let i = text.indexOf('{');
  if (i === -1) throw new SyntaxError('not a JSON object');
  i++;
  const skip = () => {
    while (i < text.length && /[\s,]/.test(text[i]!)) i++;
  };
  for (skip(); i < text.length && text[i] !== '}'; skip()) {
    const keyEnd = endOfString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = text.indexOf(':', keyEnd) + 1;
    while (/\s/.test(text[i]!)) i++;
    const valueEnd = endOfValue(text, i);
    out.push([key, JSON.parse(text.slice(i, valueEnd))]);
    i = valueEnd;
  }
  return out;
}
