/**
 * PHP's numeric strings as the core reads them (src/core/query/compare.ts, isNumericString): the
 * storage layer cannot import the core, and push-down must classify query values the same way.
 * One pass: blanks, a sign, digits with an optional point, an optional exponent, blanks.
 */
const blank = (c: number) => c === 32 || (c >= 9 && c <= 13);
const digit = (c: number) => c >= 48 && c <= 57;

export function isNumericLike(text: string): boolean {
  let i = 0;
  const n = text.length;
  while (i < n && blank(text.charCodeAt(i))) i++;
  if (text[i] === '+' || text[i] === '-') i++;
  let digits = 0;
  while (i < n && digit(text.charCodeAt(i))) i++, digits++;
  if (text[i] === '.') {
    i++;
    while (i < n && digit(text.charCodeAt(i))) i++, digits++;
  }
  if (digits === 0) return false;
  if (text[i] === 'e' || text[i] === 'E') {
    i++;
    if (text[i] === '+' || text[i] === '-') i++;
    const start = i;
    while (i < n && digit(text.charCodeAt(i))) i++;
    if (i === start) return false;
  }
  while (i < n && blank(text.charCodeAt(i))) i++;
  return i === n;
}

export const asNumberLike = (text: string): number => Number(text);
