/** Value comparison shared by `where` and `sort_by`: numeric when both sides are numbers, else text. */

const isDigit = (c: number) => c >= 48 && c <= 57;
// The whitespace PHP's is_numeric skips around a number (and which `Number()` ignores too).
const isBlank = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;

/**
 * PHP's numeric strings: blanks, a sign, digits with an optional decimal point (`1`, `1.`, `.5`),
 * an optional exponent, blanks. One pass over the text: the regular expression this replaces,
 * `\d+\.?\d*`, backtracked quadratically on a long run of digits followed by anything else.
 */
export function isNumericString(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n && isBlank(text.charCodeAt(i))) i++;
  if (i < n && (text.charCodeAt(i) === 43 || text.charCodeAt(i) === 45)) i++;
  let digits = 0;
  while (i < n && isDigit(text.charCodeAt(i))) i++, digits++;
  if (i < n && text.charCodeAt(i) === 46) {
    i++;
    while (i < n && isDigit(text.charCodeAt(i))) i++, digits++;
  }
  if (digits === 0) return false;
  if (i < n && (text.charCodeAt(i) | 0x20) === 101) {
    i++;
    if (i < n && (text.charCodeAt(i) === 43 || text.charCodeAt(i) === 45)) i++;
    const start = i;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    if (i === start) return false;
  }
  while (i < n && isBlank(text.charCodeAt(i))) i++;
  return i === n;
}

export function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && isNumericString(value)) return Number(value);
  return undefined;
}

function asText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Brings a query value to the field's type: query strings carry only strings, so "2020" must
 * equal the number 2020 and "true" the boolean true.
 */
export function coerceTo(field: unknown, value: unknown): unknown {
  if (typeof field === 'number' && typeof value === 'string') return asNumber(value) ?? value;
  if (typeof field === 'boolean' && typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true' || lower === '1') return true;
    if (lower === 'false' || lower === '0' || lower === '') return false;
  }
  if (typeof field === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return value;
  return value;
}

export function looseEquals(field: unknown, value: unknown): boolean {
  const coerced = coerceTo(field, value);
  if (field === coerced) return true;
  const a = asNumber(field);
  const b = asNumber(coerced);
  if (a !== undefined && b !== undefined) return a === b;
  if (typeof field === 'boolean' || typeof coerced === 'boolean') return false;
  if (field !== null && typeof field === 'object') return JSON.stringify(field) === JSON.stringify(coerced);
  if (field === null || coerced === null) return field === coerced;
  return asText(field) === asText(coerced);
}

/** Orders two values: numbers (and numeric strings) numerically, everything else case-insensitively. */
export function compareValues(a: unknown, b: unknown): number {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const s = asText(a).toLowerCase();
  const t = asText(b).toLowerCase();
  return s < t ? -1 : s > t ? 1 : 0;
}
