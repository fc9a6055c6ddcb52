/**
 * The `strings` shortcode's operations (SPEC §9.6): each takes the text and the parameter's pieces
 * (split at the separator, already rendered) and answers the new text. Predicates answer
 * `true`/`false`, measures their number as text, lists and maps compact JSON text.
 */
import { formatNumber } from '../expressions/values.js';
import { parseStr } from '../php.js';
import { phpIntval } from '../types.js';
import * as S from './core.js';
import type { TextBudget } from './core.js';

type Op = (text: string, args: string[], budget: TextBudget) => string;

const int = (args: string[], i: number, fallback: number): number => (args[i] !== undefined ? phpIntval(args[i]!) : fallback);
const str = (args: string[], i: number, fallback: string): string => args[i] ?? fallback;
const bool = (args: string[], i: number, fallback: boolean): boolean => (args[i] !== undefined ? S.toBoolean(args[i]!) : fallback);
const yes = (value: boolean): string => (value ? 'true' : 'false');
/** A position as text; absent is '' (PHP prints false so). */
const position = (at: number | false): string => (at === false ? '' : String(at));
const json = (value: unknown): string => JSON.stringify(value);
const jsonMap = (pairs: Array<[string, string]>): string => (pairs.length === 0 ? '[]' : json(Object.fromEntries(pairs)));
/** `contains` needles are the names of a query string (`a&b`). */
const needles = (args: string[]): string[] => (args[0] !== undefined ? Object.keys(parseStr(args[0])) : []);

/** Predicates with no arguments, by name. */
const PREDICATES: Record<string, (text: string) => boolean> = {
  isAlpha: S.isAlpha,
  isAlphanumeric: S.isAlphanumeric,
  isAscii: S.isAscii,
  isBase64: S.isBase64,
  isBlank: S.isBlank,
  isBoolean: S.isBoolean,
  isDigit: S.isDigit,
  isEmail: S.isEmail,
  isEmpty: S.isEmpty,
  isTrue: S.isTrue,
  isFalse: S.isFalse,
  isHexadecimal: S.isHexadecimal,
  isHTML: S.isHtml,
  isIP: S.isIp,
  isJson: S.isJson,
  isLower: S.isLower,
  isUpper: S.isUpper,
  isMAC: S.isMac,
  isNumeric: S.isNumeric,
  isPrintable: S.isPrintable,
  isPunctuation: S.isPunctuation,
  isSerialized: S.isSerialized,
  isUrl: S.isUrl,
};

export const SHORTCODE_OPERATIONS: ReadonlyMap<string, Op> = new Map<string, Op>([
  ['lower', (t) => S.lower(t)],
  ['upper', (t) => S.upper(t)],
  ['ucfirst', (t) => S.ucfirst(t)],
  ['capitalize', (t) => S.capitalize(t)],
  ['camel', (t) => S.camel(t)],
  ['studly', (t) => S.studly(t)],
  ['snake', (t, a) => S.snake(t, str(a, 0, '_'))],
  ['kebab', (t) => S.kebab(t)],
  ['sort', (t, a) => S.wordsSort(t, str(a, 0, 'asc').toLowerCase() === 'desc')],
  ['reverse', (t) => S.reverse(t)],
  ['shuffle', (t) => S.shuffle(t)],
  ['random', (_t, a, b) => S.random(b, int(a, 0, 64), str(a, 1, '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'))],
  ['repeat', (t, a, b) => S.repeat(b, t, int(a, 0, 1))],
  ['increment', (t, a) => S.increment(t, str(a, 1, '_'), int(a, 0, 1))],
  ['append', (t, a, b) => (b.textLength(t.length + a.join('').length, 'append'), t + a.join(''))],
  ['prepend', (t, a, b) => (b.textLength(t.length + a.join('').length, 'prepend'), a.join('') + t)],
  ['start', (t, a) => S.start(t, str(a, 0, ''))],
  ['finish', (t, a) => S.finish(t, str(a, 0, ''))],
  ['insert', (t, a) => S.insert(t, str(a, 0, ''), int(a, 1, 0))],
  ['move', (t, a) => S.move(t, int(a, 0, 0), int(a, 1, 0), int(a, 2, 0))],
  ['padBoth', (t, a, b) => S.padBoth(b, t, int(a, 0, 0), str(a, 1, ' '))],
  ['padLeft', (t, a, b) => S.padLeft(b, t, int(a, 0, 0), str(a, 1, ' '))],
  ['padRight', (t, a, b) => S.padRight(b, t, int(a, 0, 0), str(a, 1, ' '))],
  ['limit', (t, a) => S.limit(t, int(a, 0, 100), str(a, 1, '...'))],
  ['wordsLimit', (t, a) => S.wordsLimit(t, int(a, 0, 100), str(a, 1, '...'))],
  ['substr', (t, a) => S.substr(t, int(a, 0, 0), a[1] !== undefined ? phpIntval(a[1]) : null)],
  ['at', (t, a) => S.at(t, int(a, 0, 0))],
  ['offsetGet', (t, a) => S.offsetGet(t, int(a, 0, 0))],
  ['after', (t, a) => S.after(t, str(a, 0, ''))],
  ['afterLast', (t, a) => S.afterLast(t, str(a, 0, ''))],
  ['before', (t, a) => S.before(t, str(a, 0, ''))],
  ['beforeLast', (t, a) => S.beforeLast(t, str(a, 0, ''))],
  ['between', (t, a) => S.between(t, str(a, 0, ''), str(a, 1, ''))],
  ['segment', (t, a) => S.segment(t, int(a, 0, 1), str(a, 1, ' '))],
  ['firstSegment', (t, a) => S.firstSegment(t, str(a, 0, ' '))],
  ['lastSegment', (t, a) => S.lastSegment(t, str(a, 0, ' '))],
  ['replace', (t, a, b) => S.replace(b, t, str(a, 0, ''), str(a, 1, ''))],
  ['replaceFirst', (t, a) => S.replaceFirst(t, str(a, 0, ''), str(a, 1, ''))],
  ['replaceLast', (t, a) => S.replaceLast(t, str(a, 0, ''), str(a, 1, ''))],
  ['replaceDashes', (t, a) => S.replaceDashes(t, str(a, 0, ''), bool(a, 1, false))],
  ['replaceNonAlpha', (t, a) => S.replaceNonAlpha(t, str(a, 0, ''), bool(a, 1, false))],
  ['replaceNonAlphanumeric', (t, a) => S.replaceNonAlphanumeric(t, str(a, 0, ''), bool(a, 1, false))],
  ['replacePunctuations', (t, a) => S.replacePunctuations(t, str(a, 0, ''), bool(a, 1, false))],
  ['stripQuotes', (t) => S.stripQuotes(t)],
  ['stripSpaces', (t) => S.stripSpaces(t)],
  ['quotesToEntities', (t) => S.quotesToEntities(t)],
  ['normalizeNewLines', (t) => S.normalizeNewLines(t)],
  ['normalizeSpaces', (t) => S.normalizeSpaces(t)],
  ['reduceSlashes', (t) => S.reduceSlashes(t)],
  ['trim', (t) => S.trim(t)],
  ['trimLeft', (t) => S.trimLeft(t)],
  ['trimRight', (t) => S.trimRight(t)],
  ['trimSlashes', (t) => S.trimSlashes(t)],
  ['format', (t, a, b) => (a.length > 0 ? S.format(b, t, a) : t)],
  ['length', (t) => String(S.length(t))],
  ['count', (t) => String(S.length(t))],
  ['wordsCount', (t, a) => String(S.wordsCount(t, str(a, 0, '?!;:,.')))],
  ['countSubString', (t, a) => String(S.countSubString(t, str(a, 0, ''), bool(a, 1, true)))],
  ['indexOf', (t, a) => position(S.indexOf(t, str(a, 0, ''), int(a, 1, 0), bool(a, 2, true)))],
  ['indexOfLast', (t, a) => position(S.indexOfLast(t, str(a, 0, ''), int(a, 1, 0), bool(a, 2, true)))],
  ['similarity', (t, a, b) => formatNumber(S.similarity(b, t, str(a, 0, '')))],
  ['crc32', (t) => String(S.crc32(t))],
  ['hash', (t, a) => S.hash(t, str(a, 0, 'md5'))],
  ['md5', (t) => S.hash(t, 'md5')],
  ['sha1', (t) => S.hash(t, 'sha1')],
  ['sha256', (t) => S.hash(t, 'sha256')],
  ['base64Encode', (t) => S.base64Encode(t)],
  ['base64Decode', (t) => S.base64Decode(t)],
  ['getEncoding', () => 'UTF-8'],
  // The reference answers the string object itself: its text, unchanged.
  ['setEncoding', (t) => t],
  ['chars', (t, _a, b) => (b.items(S.length(t), 'chars'), json(Array.from(t)))],
  ['lines', (t) => json(S.lines(t))],
  ['segments', (t, a) => json(S.segments(t, str(a, 0, ' ')))],
  ['words', (t, a) => json(S.words(t, str(a, 0, '?!;:,.')))],
  ['charsFrequency', (t, a) => jsonMap(S.charsFrequency(t, int(a, 0, 2)))],
  ['wordsFrequency', (t, a) => jsonMap(S.wordsFrequency(t, int(a, 0, 2)))],
  ['contains', (t, a) => yes(S.contains(t, needles(a), bool(a, 1, true)))],
  ['containsAll', (t, a) => yes(S.containsAll(t, needles(a), bool(a, 1, true)))],
  ['containsAny', (t, a) => yes(S.containsAny(t, needles(a), bool(a, 1, true)))],
  ['startsWith', (t, a) => yes(S.startsWith(t, str(a, 0, '')))],
  ['endsWith', (t, a) => yes(S.endsWith(t, str(a, 0, '')))],
  ['isEqual', (t, a) => yes(S.isEqual(t, str(a, 0, '')))],
  ['isSimilar', (t, a, b) => yes(S.similarity(b, t, str(a, 0, '')) >= (a[1] !== undefined ? Number.parseFloat(a[1]) || 0 : 80))],
  ['offsetExists', (t, a) => yes(S.offsetExists(t, int(a, 0, 0)))],
  ...Object.entries(PREDICATES).map(([name, test]): [string, Op] => [name, (t) => yes(test(t))]),
]);

/** Applies one operation by name; undefined when the name is not an operation (it is ignored). */
export function applyStringsOperation(text: string, name: string, args: string[], budget: TextBudget): string | undefined {
  const op = SHORTCODE_OPERATIONS.get(name);
  if (op === undefined) return undefined;
  return op(text, args, budget);
}
