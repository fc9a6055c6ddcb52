/**
 * The `strings(text)` object's methods (SPEC §9.8) over the shared typed operations: positional
 * arguments as the reference's methods take them; text answers chain, the rest are plain values.
 */
import type { StringOperation, StringOpsTable } from '../expressions/functions/strings.js';
import { toBool, toText, type Value } from '../expressions/values.js';
import { phpIntval } from '../types.js';
import * as S from './core.js';

const text = (args: Value[], i: number, fallback: string): string => (args[i] === undefined || args[i] === null ? fallback : toText(args[i]!));
const int = (args: Value[], i: number, fallback: number): number => (args[i] === undefined || args[i] === null ? fallback : typeof args[i] === 'number' ? Math.trunc(args[i] as number) : phpIntval(toText(args[i]!)));
const bool = (args: Value[], i: number, fallback: boolean): boolean => (args[i] === undefined || args[i] === null ? fallback : toBool(args[i]!));
const list = (value: Value | undefined): string[] => (Array.isArray(value) ? value.map(toText) : value instanceof Map ? [...value.values()].map(toText) : value === undefined || value === null ? [] : [toText(value)]);
const map = (pairs: Array<[string, string]>): Value => new Map(pairs);

const chain = (run: StringOperation['run']): StringOperation => ({ chain: true, run });
const value = (run: StringOperation['run']): StringOperation => ({ chain: false, run });

const PREDICATES: Array<[string, (t: string) => boolean]> = [
  ['isAlpha', S.isAlpha], ['isAlphanumeric', S.isAlphanumeric], ['isAscii', S.isAscii], ['isBase64', S.isBase64],
  ['isBlank', S.isBlank], ['isBoolean', S.isBoolean], ['isDigit', S.isDigit], ['isEmail', S.isEmail], ['isEmpty', S.isEmpty],
  ['isTrue', S.isTrue], ['isFalse', S.isFalse], ['isHexadecimal', S.isHexadecimal], ['isHTML', S.isHtml], ['isIP', S.isIp],
  ['isJson', S.isJson], ['isLower', S.isLower], ['isUpper', S.isUpper], ['isMAC', S.isMac], ['isNumeric', S.isNumeric],
  ['isPrintable', S.isPrintable], ['isPunctuation', S.isPunctuation], ['isSerialized', S.isSerialized], ['isUrl', S.isUrl],
  ['isNull', S.isNull], ['isUuid', S.isUuid],
  ['isInteger', (t) => /^[+-]?(0|[1-9]\d*)$/.test(t.trim()) && t.trim() !== '0'],
  ['isFloat', (t) => S.isNumeric(t) && !/^[+-]?\d+$/.test(t.trim())],
];

let table: StringOpsTable | undefined;

export function expressionStringOps(): StringOpsTable {
  if (table) return table;
  const entries: Array<[string, StringOperation]> = [
    ['lower', chain((t) => S.lower(t))],
    ['upper', chain((t) => S.upper(t))],
    ['ucfirst', chain((t) => S.ucfirst(t))],
    ['capitalize', chain((t) => S.capitalize(t))],
    ['camel', chain((t) => S.camel(t))],
    ['studly', chain((t) => S.studly(t))],
    ['snake', chain((t, a) => S.snake(t, text(a, 0, '_')))],
    ['kebab', chain((t) => S.kebab(t))],
    ['wordsSortAsc', chain((t) => S.wordsSort(t, false))],
    ['wordsSortDesc', chain((t) => S.wordsSort(t, true))],
    ['reverse', chain((t) => S.reverse(t))],
    ['shuffle', chain((t) => S.shuffle(t))],
    ['random', chain((_t, a, env) => S.random(env.budget, int(a, 0, 64), text(a, 1, '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ')))],
    ['repeat', chain((t, a, env) => S.repeat(env.budget, t, int(a, 0, 1)))],
    ['increment', chain((t, a) => S.increment(t, text(a, 0, '_'), int(a, 1, 1)))],
    ['append', chain((t, a, env) => env.budget.text(t + a.map(toText).join(''), 'append()'))],
    ['prepend', chain((t, a, env) => env.budget.text(a.map(toText).join('') + t, 'prepend()'))],
    ['start', chain((t, a) => S.start(t, text(a, 0, '')))],
    ['finish', chain((t, a) => S.finish(t, text(a, 0, '')))],
    ['insert', chain((t, a) => S.insert(t, text(a, 0, ''), int(a, 1, 0)))],
    ['move', chain((t, a) => S.move(t, int(a, 0, 0), int(a, 1, 0), int(a, 2, 0)))],
    ['padBoth', chain((t, a, env) => S.padBoth(env.budget, t, int(a, 0, 0), text(a, 1, ' ')))],
    ['padLeft', chain((t, a, env) => S.padLeft(env.budget, t, int(a, 0, 0), text(a, 1, ' ')))],
    ['padRight', chain((t, a, env) => S.padRight(env.budget, t, int(a, 0, 0), text(a, 1, ' ')))],
    ['limit', chain((t, a) => S.limit(t, int(a, 0, 100), text(a, 1, '...')))],
    ['wordsLimit', chain((t, a) => S.wordsLimit(t, int(a, 0, 100), text(a, 1, '...')))],
    ['substr', chain((t, a) => S.substr(t, int(a, 0, 0), a[1] === undefined || a[1] === null ? null : int(a, 1, 0)))],
    ['at', chain((t, a) => S.at(t, int(a, 0, 0)))],
    ['offsetGet', value((t, a) => S.offsetGet(t, int(a, 0, 0)))],
    ['offsetExists', value((t, a) => S.offsetExists(t, int(a, 0, 0)))],
    ['after', chain((t, a) => S.after(t, text(a, 0, '')))],
    ['afterLast', chain((t, a) => S.afterLast(t, text(a, 0, '')))],
    ['before', chain((t, a) => S.before(t, text(a, 0, '')))],
    ['beforeLast', chain((t, a) => S.beforeLast(t, text(a, 0, '')))],
    ['between', chain((t, a) => S.between(t, text(a, 0, ''), text(a, 1, '')))],
    ['segment', chain((t, a) => S.segment(t, int(a, 0, 0), text(a, 1, ' ')))],
    ['firstSegment', chain((t, a) => S.firstSegment(t, text(a, 0, ' ')))],
    ['lastSegment', chain((t, a) => S.lastSegment(t, text(a, 0, ' ')))],
    ['replace', chain((t, a, env) => S.replace(env.budget, t, text(a, 0, ''), text(a, 1, '')))],
    ['replaceFirst', chain((t, a) => S.replaceFirst(t, text(a, 0, ''), text(a, 1, '')))],
    ['replaceLast', chain((t, a) => S.replaceLast(t, text(a, 0, ''), text(a, 1, '')))],
    ['replaceDashes', chain((t, a) => S.replaceDashes(t, text(a, 0, ''), bool(a, 1, false)))],
    ['replaceNonAlpha', chain((t, a) => S.replaceNonAlpha(t, text(a, 0, ''), bool(a, 1, false)))],
    ['replaceNonAlphanumeric', chain((t, a) => S.replaceNonAlphanumeric(t, text(a, 0, ''), bool(a, 1, false)))],
    ['replacePunctuations', chain((t, a) => S.replacePunctuations(t, text(a, 0, ''), bool(a, 1, false)))],
    ['stripQuotes', chain((t) => S.stripQuotes(t))],
    ['stripSpaces', chain((t) => S.stripSpaces(t))],
    ['quotesToEntities', chain((t) => S.quotesToEntities(t))],
    ['normalizeNewLines', chain((t) => S.normalizeNewLines(t))],
    ['normalizeSpaces', chain((t) => S.normalizeSpaces(t))],
    ['reduceSlashes', chain((t) => S.reduceSlashes(t))],
    ['trim', chain((t, a) => S.trim(t, text(a, 0, ' \t\n\r\0\x0B')))],
    ['trimLeft', chain((t, a) => S.trimLeft(t, text(a, 0, ' \t\n\r\0\x0B')))],
    ['trimRight', chain((t, a) => S.trimRight(t, text(a, 0, ' \t\n\r\0\x0B')))],
    ['trimSlashes', chain((t) => S.trimSlashes(t))],
    ['format', chain((t, a, env) => S.format(env.budget, t, a.map(toText)))],
    ['hash', chain((t, a) => S.hash(t, text(a, 0, 'md5')))],
    ['md5', chain((t) => S.hash(t, 'md5'))],
    ['sha1', chain((t) => S.hash(t, 'sha1'))],
    ['sha256', chain((t) => S.hash(t, 'sha256'))],
    ['base64Encode', chain((t) => S.base64Encode(t))],
    ['base64Decode', chain((t) => S.base64Decode(t))],
    ['setEncoding', chain((t) => t)],
    ['getEncoding', value(() => 'UTF-8')],
    ['length', value((t) => S.length(t))],
    ['count', value((t) => S.length(t))],
    ['wordsCount', value((t, a) => S.wordsCount(t, text(a, 0, '?!;:,.')))],
    ['countSubString', value((t, a) => S.countSubString(t, text(a, 0, ''), bool(a, 1, true)))],
    ['indexOf', value((t, a) => S.indexOf(t, text(a, 0, ''), int(a, 1, 0), bool(a, 2, true)))],
    ['indexOfLast', value((t, a) => S.indexOfLast(t, text(a, 0, ''), int(a, 1, 0), bool(a, 2, true)))],
    ['similarity', value((t, a, env) => S.similarity(env.budget, t, text(a, 0, '')))],
    ['crc32', value((t) => S.crc32(t))],
    ['chars', value((t, _a, env) => (env.budget.items(S.length(t), 'chars()'), Array.from(t)))],
    ['lines', value((t) => S.lines(t))],
    ['segments', value((t, a) => S.segments(t, text(a, 0, ' ')))],
    ['words', value((t, a) => S.words(t, text(a, 0, '?!;:,.')))],
    ['charsFrequency', value((t, a) => map(S.charsFrequency(t, int(a, 0, 2))))],
    ['wordsFrequency', value((t, a) => map(S.wordsFrequency(t, int(a, 0, 2))))],
    ['contains', value((t, a) => S.contains(t, list(a[0]), bool(a, 1, true)))],
    ['containsAll', value((t, a) => S.containsAll(t, list(a[0]), bool(a, 1, true)))],
    ['containsAny', value((t, a) => S.containsAny(t, list(a[0]), bool(a, 1, true)))],
    ['startsWith', value((t, a) => list(a[0]).some((n) => S.startsWith(t, n)))],
    ['endsWith', value((t, a) => list(a[0]).some((n) => S.endsWith(t, n)))],
    ['isEqual', value((t, a) => S.isEqual(t, text(a, 0, '')))],
    ['isSimilar', value((t, a, env) => S.similarity(env.budget, t, text(a, 0, '')) >= (a[1] === undefined ? 80 : Number(toText(a[1]!)) || 0))],
    ['toString', value((t) => t)],
    ['toInteger', value((t) => phpIntval(t))],
    ['toFloat', value((t) => Number(/^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(t)?.[0] ?? 0))],
    ['toBoolean', value((t) => S.toBoolean(t))],
    ['toArray', value((t, a) => {
      const trimmed = S.trim(t);
      const delimiter = a[0] === undefined || a[0] === null ? undefined : toText(a[0]);
      return (delimiter ? trimmed.split(delimiter) : [trimmed]).map((piece) => S.trim(piece));
    })],
    ...PREDICATES.map(([name, test]): [string, StringOperation] => [name, value((t) => test(t))]),
  ];
  table = new Map(entries);
  return table;
}
