/**
 * The text operations of SPEC §9.6 (the reference's string helper), as typed functions shared by the
 * `strings` shortcode and the `strings()` expression object. Lengths and positions count Unicode
 * characters. Every operation that can grow its output asks the budget first, so `repeat:1e9` or a
 * huge pad width fails cleanly instead of exhausting memory.
 */
import { createHash, randomInt } from 'node:crypto';
import { isIP } from 'node:net';

/** The part of the render budget text operations need. */
export interface TextBudget {
  /** Before producing a text of `length` UTF-16 units. */
  textLength(length: number, what?: string): void;
  /** Before building a list of `count` items. */
  items(count: number, what?: string): void;
}

const chars = (text: string): string[] => Array.from(text);
const charLength = (text: string): number => {
  let n = 0;
  for (const _ of text) n++;
  return n;
};

/** PHP `mb_substr` on characters (negative start and length count from the end). */
export function substr(text: string, start: number, length?: number | null): string {
  const all = chars(text);
  const size = all.length;
  let from = start < 0 ? Math.max(size + start, 0) : Math.min(start, size);
  let to = length === undefined || length === null ? size : length < 0 ? size + length : from + length;
  to = Math.min(Math.max(to, from), size);
  if (from > size) from = size;
  return all.slice(from, to).join('');
}

const PHP_TRIM = ' \t\n\r\0\x0B';

function trimChars(text: string, mask: string, left: boolean, right: boolean): string {
  const set = new Set(chars(mask));
  const all = chars(text);
  let a = 0;
  let b = all.length;
  if (left) while (a < b && set.has(all[a]!)) a++;
  if (right) while (b > a && set.has(all[b - 1]!)) b--;
  return all.slice(a, b).join('');
}

export const trim = (text: string, mask = PHP_TRIM) => trimChars(text, mask, true, true);
export const trimLeft = (text: string, mask = PHP_TRIM) => trimChars(text, mask, true, false);
export const trimRight = (text: string, mask = PHP_TRIM) => trimChars(text, mask, false, true);

/** Escapes text for use inside a character class or pattern. */
function quote(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

export function lower(text: string): string {
  return text.toLowerCase();
}
export function upper(text: string): string {
  return text.toUpperCase();
}

/** PHP `ucwords` with its default delimiters (space, tab, CR, LF, form feed, vertical tab). */
function ucwords(text: string): string {
  return text.replace(/(^|[ \t\r\n\f\v])([^ \t\r\n\f\v])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

export function ucfirst(text: string): string {
  return upper(substr(text, 0, 1)) + substr(text, 1);
}

const CASED = /[\p{Lowercase}\p{Uppercase}\p{Lt}]/u;
/** Unicode Case_Ignorable: marks, format, modifiers, and the Word_Break MidLetter/MidNumLet/Single_Quote characters. */
const CASE_IGNORABLE = /[\p{Mn}\p{Me}\p{Cf}\p{Lm}\p{Sk}'.:\u00B7\u0387\u055F\u05F4\u2018\u2019\u2024\u2027\uFE13\uFE52\uFE55\uFF07\uFF0E\uFF1A]/u;

/**
 * `mb_convert_case(MB_CASE_TITLE)` as PHP 7.3+ does it: a character after a cased one (skipping
 * case-ignorable ones) is lowered, any other is upper-cased; so digits end a word (`1940s` → `1940S`).
 */
export function capitalize(text: string): string {
  let inWord = false;
  let out = '';
  for (const c of text) {
    out += inWord ? c.toLowerCase() : c.toUpperCase();
    if (!CASE_IGNORABLE.test(c)) inWord = CASED.test(c);
  }
  return out;
}

export function studly(text: string): string {
  return ucwords(text.replace(/[-_]/g, ' ')).replace(/ /g, '');
}

export function camel(text: string): string {
  const s = studly(text);
  return s.charAt(0).toLowerCase() + s.slice(1);
}

export function snake(text: string, delimiter = '_'): string {
  if (/^[a-z]+$/.test(text)) return text;
  const joined = ucwords(text).replace(/\s+/gu, '');
  return lower(joined.replace(/(.)(?=[A-Z])/gu, `$1${delimiter.replace(/\$/g, '$$$$')}`));
}

export const kebab = (text: string) => snake(text, '-');

export function reverse(text: string): string {
  return chars(text).reverse().join('');
}

export function shuffle(text: string): string {
  const all = chars(text);
  for (let i = all.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.join('');
}

export function random(budget: TextBudget, length = 64, alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'): string {
  const size = length <= 0 ? 1 : length;
  budget.textLength(size, 'random');
  const pool = chars(alphabet);
  if (pool.length === 0) return '';
  let out = '';
  for (let i = 0; i < size; i++) out += pool[randomInt(pool.length)];
  return out;
}

export function repeat(budget: TextBudget, text: string, times: number): string {
  if (times <= 0 || text === '') return '';
  budget.textLength(text.length * times, 'repeat');
  return text.repeat(times);
}

/**
 * `Page_1` → `Page_2`, `Page` → `Page_1`. The reference matches /(.+)SEP([0-9]+)$/ with the separator
 * unescaped; we find the same split (the last separator followed only by digits) by a linear scan.
 */
export function increment(text: string, separator = '_', first = 1): string {
  for (let k = text.length - 1; k >= 1 && text[k]! >= '0' && text[k]! <= '9'; k--) {
    const head = text.slice(0, k);
    if (separator !== '' && head.length > separator.length && head.endsWith(separator)) {
      return `${head}${BigInt(text.slice(k)) + 1n}`;
    }
  }
  return `${text}${separator}${first}`;
}

export function limit(text: string, length = 100, suffix = '...'): string {
  if (charLength(text) <= length) return text;
  return trimRight(substr(text, 0, Math.max(length, 0))) + suffix;
}

export function wordsLimit(text: string, count = 100, suffix = '...'): string {
  if (count <= 0) return text;
  const words = text.match(/^\s*(?:\S+\s*)/u) ? Array.from(text.matchAll(/\S+\s*/gu)) : [];
  const leading = /^\s*/u.exec(text)![0];
  if (words.length <= count) return text; // [ours] nothing cut: no suffix
  return trimRight(leading + words.slice(0, count).map((m) => m[0]).join('')) + suffix;
}

export function words(text: string, ignore = '?!;:,.'): string[] {
  const parts = text.split(new RegExp(`[\\s${quote(ignore)}]+`, 'u'));
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export function lines(text: string): string[] {
  const parts = text.split(/\r\n|\n|\r/);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export const length = charLength;

export function countSubString(text: string, needle: string, caseSensitive = true): number {
  if (needle === '') return 0;
  const hay = caseSensitive ? text : lower(text);
  const pin = caseSensitive ? needle : lower(needle);
  let count = 0;
  for (let at = hay.indexOf(pin); at !== -1; at = hay.indexOf(pin, at + pin.length)) count++;
  return count;
}

export function wordsCount(text: string, ignore = '?!;:,.'): number {
  return words(text, ignore).length;
}

/** Character index of `needle` from `offset`, or false. */
export function indexOf(text: string, needle: string, offset = 0, caseSensitive = true): number | false {
  if (needle === '' || text === '') return false;
  const all = chars(caseSensitive ? text : lower(text));
  const pin = caseSensitive ? needle : lower(needle);
  const start = offset < 0 ? Math.max(all.length + offset, 0) : offset;
  if (start > all.length) return false;
  const hay = all.slice(start).join('');
  const at = hay.indexOf(pin);
  return at === -1 ? false : start + charLength(hay.slice(0, at));
}

export function indexOfLast(text: string, needle: string, offset = 0, caseSensitive = true): number | false {
  if (needle === '' || text === '') return false;
  const size = charLength(text);
  const start = offset < 0 ? size - Math.abs(offset) : offset;
  if (start > size || start < 0) return false;
  const all = chars(caseSensitive ? text : lower(text));
  const pin = caseSensitive ? needle : lower(needle);
  const hay = all.join('');
  const at = hay.lastIndexOf(pin);
  if (at === -1) return false;
  const index = charLength(hay.slice(0, at));
  return index >= start ? index : false;
}

export function contains(text: string, needles: string | string[], caseSensitive = true): boolean {
  return (Array.isArray(needles) ? needles : [needles]).some((n) => n !== '' && indexOf(text, n, 0, caseSensitive) !== false);
}
export const containsAll = (text: string, needles: string[], cs = true) => needles.every((n) => contains(text, n, cs));
export const containsAny = (text: string, needles: string[], cs = true) => needles.some((n) => contains(text, n, cs));

export function segments(text: string, delimiter = ' '): string[] {
  return delimiter === '' ? [text] : text.split(delimiter);
}

export function segment(text: string, index: number, delimiter = ' '): string {
  let parts = segments(text, delimiter);
  let i = index;
  if (i < 0) {
    parts = parts.reverse();
    i = Math.abs(i) - 1;
  }
  return parts[i] ?? '';
}

export const firstSegment = (text: string, delimiter = ' ') => segment(text, 0, delimiter);
export const lastSegment = (text: string, delimiter = ' ') => segment(text, -1, delimiter);

export function after(text: string, search: string): string {
  if (search === '') return text;
  const at = text.indexOf(search);
  return at === -1 ? text : text.slice(at + search.length);
}

export function afterLast(text: string, search: string): string {
  if (search === '') return text;
  const at = text.lastIndexOf(search);
  return at === -1 ? text : text.slice(at + search.length);
}

/** [ours] the text unchanged when `search` is absent (the reference answers the search text). */
export function before(text: string, search: string): string {
  if (search === '') return '';
  const at = text.indexOf(search);
  return at === -1 ? text : text.slice(0, at);
}

export function beforeLast(text: string, search: string): string {
  if (search === '') return text;
  const at = text.lastIndexOf(search);
  return at === -1 ? text : text.slice(0, at);
}

export function between(text: string, from: string, to: string): string {
  if (from === '' || to === '') return text;
  return beforeLast(after(text, from), to);
}

function pad(budget: TextBudget, text: string, size: number, filler: string, mode: 'left' | 'right' | 'both'): string {
  const missing = size - text.length;
  if (missing <= 0 || filler === '') return text;
  budget.textLength(size, 'pad');
  const fill = (n: number) => filler.repeat(Math.ceil(n / filler.length)).slice(0, n);
  if (mode === 'left') return fill(missing) + text;
  if (mode === 'right') return text + fill(missing);
  const left = Math.floor(missing / 2);
  return fill(left) + text + fill(missing - left);
}

export const padLeft = (b: TextBudget, t: string, n: number, p = ' ') => pad(b, t, n, p, 'left');
export const padRight = (b: TextBudget, t: string, n: number, p = ' ') => pad(b, t, n, p, 'right');
export const padBoth = (b: TextBudget, t: string, n: number, p = ' ') => pad(b, t, n, p, 'both');

export const stripSpaces = (text: string) => text.replace(/\s+/gu, '');

function replaceClass(text: string, pattern: RegExp, replacement: string, strict: boolean): string {
  const out = trim(text).replace(pattern, () => replacement);
  return strict ? stripSpaces(out) : out;
}

export const replaceDashes = (t: string, r = '', strict = false) => replaceClass(t, /\p{Pd}/gu, r, strict);
export const replacePunctuations = (t: string, r = '', strict = false) => replaceClass(t, /\p{P}/gu, r, strict);
export const replaceNonAlphanumeric = (t: string, r = '', strict = false) => replaceClass(t, /[^\p{L}0-9\s]+/gu, r, strict);
export const replaceNonAlpha = (t: string, r = '', strict = false) => replaceClass(t, /[^\p{L}\s]+/gu, r, strict);

export function replace(budget: TextBudget, text: string, search: string, replacement: string): string {
  if (search === '') return text;
  const count = countSubString(text, search);
  budget.textLength(text.length + count * Math.max(replacement.length - search.length, 0), 'replace');
  return text.split(search).join(replacement);
}

/** [ours] unchanged when absent (the reference answers the search text). */
export function replaceFirst(text: string, search: string, replacement: string): string {
  const at = search === '' ? -1 : text.indexOf(search);
  return at === -1 ? text : text.slice(0, at) + replacement + text.slice(at + search.length);
}

export function replaceLast(text: string, search: string, replacement: string): string {
  const at = search === '' ? -1 : text.lastIndexOf(search);
  return at === -1 ? text : text.slice(0, at) + replacement + text.slice(at + search.length);
}

export function start(text: string, prefix: string): string {
  if (prefix === '') return text;
  let rest = text;
  while (rest.startsWith(prefix)) rest = rest.slice(prefix.length);
  return prefix + rest;
}

export function finish(text: string, cap: string): string {
  if (cap === '') return text;
  let rest = text;
  while (rest.endsWith(cap)) rest = rest.slice(0, -cap.length);
  return rest + cap;
}

export const startsWith = (text: string, needle: string) => needle !== '' && text.startsWith(needle);
export const endsWith = (text: string, needle: string) => needle !== '' && text.endsWith(needle);

export function insert(text: string, substring: string, index: number): string {
  return substr(text, 0, index) + substring + substr(text, index);
}

export function move(text: string, from: number, size: number, destination: number): string {
  if (destination <= size) return text;
  const piece = substr(text, from, size);
  const placed = substr(text, 0, destination) + piece + substr(text, destination);
  const at = piece === '' ? 0 : Math.max(indexOf(placed, piece) || 0, 0);
  return substr(placed, 0, at) + substr(placed, at + charLength(piece));
}

export const stripQuotes = (text: string) => text.replace(/["']/g, '');
export const quotesToEntities = (text: string) => text.replace(/'/g, '&#39;').replace(/"/g, '&quot;');
export const normalizeNewLines = (text: string) => text.replace(/\r\n|\r/g, '\n');
export const normalizeSpaces = (text: string) => text.replace(/\s+/g, ' ');
export const reduceSlashes = (text: string) => text.replace(/(?<!:)\/\/+/g, '/');
export const trimSlashes = (text: string) => trim(text, '/');

export function at(text: string, index: number): string {
  return substr(text, index, 1);
}

/** [ours] '' out of range (the reference fails the whole tag). */
export function offsetGet(text: string, index: number): string {
  const size = charLength(text);
  if ((index >= 0 && size <= index) || size < Math.abs(index)) return '';
  return substr(text, index, 1);
}

export function offsetExists(text: string, index: number): boolean {
  const size = charLength(text);
  return index >= 0 ? size > index : size >= Math.abs(index);
}

/** PHP `sort`/`rsort` of the words split at single whitespace characters (byte order). */
export function wordsSort(text: string, descending: boolean): string {
  const list = text.split(/\s/u);
  list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (descending) list.reverse();
  return list.join(' ');
}

/** PHP `similar_text` percentage (longest common substring, recursively on both sides). */
export function similarity(budget: TextBudget, a: string, b: string): number {
  if (a.length === 0 && b.length === 0) return 0;
  budget.items(a.length * b.length > 0 ? Math.ceil((a.length * b.length) / 1000) : 0, 'similarity');
  const common = (s: string, t: string): number => {
    if (s === '' || t === '') return 0;
    let best = 0;
    let bestS = 0;
    let bestT = 0;
    for (let i = 0; i < s.length; i++) {
      for (let j = 0; j < t.length; j++) {
        let k = 0;
        while (i + k < s.length && j + k < t.length && s[i + k] === t[j + k]) k++;
        if (k > best) {
          best = k;
          bestS = i;
          bestT = j;
        }
      }
    }
    if (best === 0) return 0;
    return best + common(s.slice(0, bestS), t.slice(0, bestT)) + common(s.slice(bestS + best), t.slice(bestT + best));
  };
  return (common(a, b) * 2 * 100) / (a.length + b.length);
}

let crcTable: Uint32Array | undefined;
export function crc32(text: string): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const HASHES: Record<string, string> = { md5: 'md5', sha1: 'sha1', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512', sha224: 'sha224', 'sha512/256': 'sha512-256', 'sha3-256': 'sha3-256', 'sha3-512': 'sha3-512', ripemd160: 'ripemd160' };

/** Hex digest; an unknown algorithm leaves the text unchanged. */
export function hash(text: string, algorithm = 'md5'): string {
  if (algorithm === 'crc32b') return crc32(text).toString(16).padStart(8, '0');
  const name = HASHES[algorithm.toLowerCase()];
  if (name === undefined) return text;
  try {
    return createHash(name).update(text, 'utf8').digest('hex');
  } catch {
    return text;
  }
}

export const base64Encode = (text: string) => Buffer.from(text, 'utf8').toString('base64');
export function base64Decode(text: string): string {
  return Buffer.from(text.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('utf8');
}

export function charsFrequency(text: string, decimals = 2): Array<[string, string]> {
  return frequency(chars(stripSpaces(text)), decimals);
}

export function wordsFrequency(text: string, decimals = 2): Array<[string, string]> {
  return frequency(replacePunctuations(text).split(/\s/u), decimals);
}

/** Item → percentage text, most frequent first, ties in first-seen order (PHP arsort is stable). */
function frequency(items: string[], decimals: number): Array<[string, string]> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  const total = items.length;
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([item, count]) => [item, ((count / total) * 100).toFixed(Math.max(0, Math.min(decimals, 20)))]);
}

/** PHP `sprintf` for %s %d %u %f %F %x %X %o %b %c %e %% with positions, padding and precision. */
export function format(budget: TextBudget, template: string, args: string[]): string {
  let next = 0;
  const out = template.replace(/%(?:(\d+)\$)?([-+ 0]|'.)*(\d+)?(?:\.(\d+))?([bcdeEfFgGosuxX%])/g, (whole, position: string | undefined, _flag, width: string | undefined, precision: string | undefined, type: string) => {
    if (type === '%') return '%';
    const flags = /%(?:\d+\$)?((?:[-+ 0]|'.)*)/.exec(whole)![1] ?? '';
    const arg = position !== undefined ? args[Number(position) - 1] : args[next++];
    if (arg === undefined) throw new Error('too few arguments for format');
    const number = Number.parseFloat(arg) || 0;
    let text: string;
    switch (type) {
      case 'd':
        text = String(Math.trunc(number));
        if (flags.includes('+') && number >= 0) text = `+${text}`;
        break;
      case 'u':
        text = String(Math.trunc(number) >>> 0);
        break;
      case 'f':
      case 'F':
        text = number.toFixed(precision === undefined ? 6 : Number(precision));
        if (flags.includes('+') && number >= 0) text = `+${text}`;
        break;
      case 'e':
      case 'E': {
        const [m, e] = number.toExponential(precision === undefined ? 6 : Number(precision)).split('e');
        text = `${m}${type}${e!.startsWith('-') ? '-' : '+'}${e!.replace(/^[+-]/, '')}`;
        break;
      }
      case 'g':
      case 'G':
        text = String(number);
        break;
      case 'x':
        text = (Math.trunc(number) >>> 0).toString(16);
        break;
      case 'X':
        text = (Math.trunc(number) >>> 0).toString(16).toUpperCase();
        break;
      case 'o':
        text = (Math.trunc(number) >>> 0).toString(8);
        break;
      case 'b':
        text = (Math.trunc(number) >>> 0).toString(2);
        break;
      case 'c':
        text = String.fromCodePoint(Math.trunc(number) & 0x10ffff);
        break;
      default:
        text = precision === undefined ? arg : arg.slice(0, Number(precision));
    }
    if (width !== undefined) {
      const size = Number(width);
      budget.textLength(size, 'format');
      const custom = /'(.)/.exec(flags)?.[1];
      const filler = custom ?? (flags.includes('0') && type !== 's' ? '0' : ' ');
      if (text.length < size) text = flags.includes('-') ? text + filler.repeat(size - text.length) : filler.repeat(size - text.length) + text;
    }
    return text;
  });
  budget.textLength(out.length, 'format');
  return out;
}

/* Predicates. */
export const isAlpha = (t: string) => /^\p{L}*$/u.test(t);
export const isAlphanumeric = (t: string) => /^[\p{L}\p{Nd}]*$/u.test(t);
export const isAscii = (t: string) => /^[\x00-\x7f]*$/.test(t);
export const isBlank = (t: string) => /^\s*$/u.test(t);
export const isDigit = (t: string) => /^\p{Nd}*$/u.test(t);
export const isLower = (t: string) => /^\p{Ll}*$/u.test(t);
export const isUpper = (t: string) => /^\p{Lu}*$/u.test(t);
export const isHexadecimal = (t: string) => /^[0-9A-Fa-f]*$/.test(t);
export const isPrintable = (t: string) => /^[^\p{Cc}\p{Cn}\p{Cs}]*$/u.test(t);
export const isPunctuation = (t: string) => /^[\p{P}\p{S}]*$/u.test(t);
/** PHP `empty()` of a string: '' and '0'. */
export const isEmpty = (t: string) => t === '' || t === '0';
export const isNumeric = (t: string) => /^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*$/.test(t);
export const isBoolean = (t: string) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(t.toLowerCase());
export const isNull = (t: string) => t === 'null';
export const isUuid = (t: string) => /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i.test(t);
export const isEqual = (t: string, other: string) => t === other;
export const isIp = (t: string) => isIP(t) !== 0;
export const isMac = (t: string) => /^([0-9A-Fa-f]{2}([-:])){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$/.test(t) && (!t.includes('-') || !t.includes(':'));
export const isHtml = (t: string) => /<\/?[A-Za-z!?][^>]*>/.test(t);
export function isJson(t: string): boolean {
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}
export function isBase64(t: string): boolean {
  if (t === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 === 1) return false;
  return Buffer.from(Buffer.from(t, 'base64').toString('binary'), 'binary').toString('base64') === t;
}
export function isEmail(t: string): boolean {
  return /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/.test(t) && !t.includes('..') && !t.startsWith('.');
}
export function isUrl(t: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/i.test(t)) return false;
  try {
    const url = new URL(t);
    return url.hostname !== '';
  } catch {
    return false;
  }
}
/** PHP `filter_var(FILTER_VALIDATE_BOOLEAN, NULL_ON_FAILURE) ?? true`. */
export function toBoolean(t: string): boolean {
  const word = t.trim().toLowerCase();
  if (['0', 'false', 'off', 'no', ''].includes(word)) return false;
  return true;
}
export const isTrue = (t: string) => toBoolean(t) === true;
export const isFalse = (t: string) => toBoolean(t) === false;
/** PHP serialized text (a value `unserialize` would accept), checked by a linear scanner. */
export function isSerialized(t: string): boolean {
  if (t === '') return false;
  if (t === 'b:0;') return true;
  let i = 0;
  const value = (): boolean => {
    const kind = t[i];
    if (kind === 'N') {
      if (t.startsWith('N;', i)) {
        i += 2;
        return true;
      }
      return false;
    }
    const num = (pattern: RegExp): boolean => {
      pattern.lastIndex = i;
      const m = pattern.exec(t);
      if (!m) return false;
      i += m[0].length;
      return true;
    };
    if (kind === 'b') return num(/b:[01];/y);
    if (kind === 'i') return num(/i:[+-]?\d+;/y);
    if (kind === 'd') return num(/d:(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NAN|-?INF);/y);
    if (kind === 's') {
      const head = /s:(\d+):"/y;
      head.lastIndex = i;
      const m = head.exec(t);
      if (!m) return false;
      const size = Number(m[1]);
      const startAt = i + m[0].length;
      const bytes = Buffer.from(t.slice(startAt), 'utf8');
      if (bytes.length < size + 2) return false;
      const body = bytes.subarray(0, size).toString('utf8');
      i = startAt + body.length;
      if (!t.startsWith('";', i)) return false;
      i += 2;
      return true;
    }
    if (kind === 'a') {
      const head = /a:(\d+):\{/y;
      head.lastIndex = i;
      const m = head.exec(t);
      if (!m) return false;
      i += m[0].length;
      for (let n = Number(m[1]); n > 0; n--) {
        if (t[i] !== 'i' && t[i] !== 's') return false;
        if (!value() || !value()) return false;
      }
      if (t[i] !== '}') return false;
      i++;
      return true;
    }
    return false;
  };
  return value() && i === t.length;
}
