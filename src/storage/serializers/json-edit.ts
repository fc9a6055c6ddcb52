/**
 * Edits a JSON or JSON5 object document in place: untouched members keep their exact source text
 * (big integers such as 12345678901234567890, `0x1F` in JSON5, comments, layout); changed values
 * are rewritten, removed members dropped, new members added at the end. Parsed with momoa, which
 * gives every member's location.
 */
import { parse as parseTree, type MemberNode } from '@humanwhocodes/momoa';
import { sameData } from './equal.js';
import type { Fields } from './types.js';

export interface JsonDialect {
  mode: 'json' | 'json5';
  /** One value as text; `indent` is the indentation of its member's line, or undefined for one-line output. */
  stringify(value: unknown, indent: string | undefined): string;
}

function memberKey(member: MemberNode): string {
  return member.name.type === 'String' ? member.name.value : member.name.name;
}

/** The leading whitespace of the line holding `offset`. */
function lineIndent(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart, offset))![0];
}

/**
 * The edited text, or undefined when `text` is not an object document whose members match
 * `previous` exactly (the caller then writes the file afresh).
 */
export function editJson(text: string, previous: Fields, next: Fields, dialect: JsonDialect): string | undefined {
  let object;
  try {
    object = parseTree(text, { mode: dialect.mode }).body;
  } catch {
    return undefined;
  }
  if (object.type !== 'Object' || object.members.length === 0) return undefined;
  const members = object.members;
  const keys = members.map(memberKey);
  const previousKeys = Object.keys(previous);
  if (new Set(keys).size !== keys.length || previousKeys.length !== keys.length || keys.some((key) => !Object.prototype.hasOwnProperty.call(previous, key))) {
    return undefined;
  }
  const has = (key: string) => Object.prototype.hasOwnProperty.call(next, key) && next[key] !== undefined;
  const added = Object.keys(next).filter((key) => has(key) && !Object.prototype.hasOwnProperty.call(previous, key));
  const kept = members.filter((_member, i) => has(keys[i]!));
  if (kept.length === 0) return undefined;
  if (added.length === 0 && kept.length === members.length && keys.every((key) => sameData(previous[key], next[key]))) return text;

  const start = object.loc.start.offset;
  const end = object.loc.end.offset; // just after the closing brace
  const multiline = text.slice(start, end).includes('\n');
  const indentOf = (member: MemberNode) => (multiline ? lineIndent(text, member.loc.start.offset) : undefined);
  const memberText = (member: MemberNode, key: string) => {
    const source = text.slice(member.loc.start.offset, member.loc.end.offset);
    if (sameData(previous[key], next[key])) return source;
    const valueStart = member.value.loc.start.offset - member.loc.start.offset;
    return source.slice(0, valueStart) + dialect.stringify(next[key], indentOf(member));
  };

  const last = members[members.length - 1]!;
  let out = text.slice(0, members[0]!.loc.start.offset);
  kept.forEach((member, i) => {
    const index = members.indexOf(member);
    out += memberText(member, keys[index]!);
    // Between two kept members: what followed this one in the file (its comma, comments, line break).
    if (i < kept.length - 1) out += text.slice(member.loc.end.offset, members[index + 1]!.loc.start.offset);
  });
  const indent = indentOf(last);
  for (const key of added) {
    out += (indent === undefined ? ', ' : `,\n${indent}`) + JSON.stringify(key) + ': ' + dialect.stringify(next[key], indent);
  }
  out += text.slice(last.loc.end.offset, end) + text.slice(end);
  return out;
}
