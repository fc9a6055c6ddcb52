/**
 * Edits a YAML map document in place: untouched top-level keys keep their exact source text
 * (comments, `0x1F`, big integers, anchors, quoting); changed keys are rewritten, removed keys
 * dropped, new keys added at the end. Works on `yaml`'s concrete syntax tree, which reproduces the
 * source byte for byte; the values themselves are written by the caller's stringifier, so the
 * decoder (js-yaml) reads them back exactly as it reads a fresh file.
 */
import { CST, Parser } from 'yaml';
import { sameData } from './equal.js';
import type { Fields } from './types.js';

type Item = CST.BlockMap['items'][number];

interface Piece {
  key: string;
  item: Item;
  text: string;
  anchors: Set<string>;
  aliases: Set<string>;
  action: 'keep' | 'replace' | 'delete';
}

const LEADING_TOKENS = new Set(['comment', 'newline', 'space']);

/** Anchors (`&name`) and aliases (`*name`) anywhere inside a token tree. */
function collectNames(node: unknown, names: { anchors: Set<string>; aliases: Set<string> }): void {
  if (Array.isArray(node)) {
    for (const child of node) collectNames(child, names);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const token = node as { type?: string; source?: string } & Record<string, unknown>;
  if (token.type === 'anchor' && token.source) names.anchors.add(token.source.slice(1));
  else if (token.type === 'alias' && token.source) names.aliases.add(token.source.slice(1));
  for (const part of ['start', 'key', 'sep', 'value', 'props', 'items', 'end']) collectNames(token[part], names);
}

function namesIn(item: Item): { anchors: Set<string>; aliases: Set<string> } {
  const names = { anchors: new Set<string>(), aliases: new Set<string>() };
  collectNames(item, names);
  return names;
}

/** The key of a plain `key: value` item, or undefined for anything unusual (explicit, tagged, complex keys). */
function plainKey(item: Item): string | undefined {
  if (item.explicitKey || !item.key || !CST.isScalar(item.key) || item.key.type === 'block-scalar') return undefined;
  if (item.start.some((token) => !LEADING_TOKENS.has(token.type))) return undefined;
  if ('props' in item.key && (item.key as { props?: unknown[] }).props?.length) return undefined;
  return CST.resolveAsScalar(item.key, true)?.value;
}

/**
 * The edited text, or undefined when the document is not a plain block map whose keys match
 * `previous` exactly (the caller then writes the file afresh).
 */
export function editYaml(text: string, previous: Fields, next: Fields, stringify: (fields: Fields) => string): string | undefined {
  const tokens = [...new Parser().parse(text)];
  const documents = tokens.filter((token): token is CST.Document => token.type === 'document');
  if (documents.length !== 1 || tokens.some((token) => token.type === 'error')) return undefined;
  const document = documents[0]!;
  const map = document.value;
  if (!map || map.type !== 'block-map' || map.indent !== 0) return undefined;

  const pieces: Piece[] = [];
  for (const item of map.items) {
    const key = plainKey(item);
    if (key === undefined || pieces.some((piece) => piece.key === key)) return undefined;
    const itemText = CST.stringify(item);
    pieces.push({ key, item, text: itemText, ...namesIn(item), action: 'keep' });
  }
  const previousKeys = Object.keys(previous);
  if (previousKeys.length !== pieces.length || pieces.some((piece) => !Object.prototype.hasOwnProperty.call(previous, piece.key))) {
    return undefined;
  }

  for (const piece of pieces) {
    if (!Object.prototype.hasOwnProperty.call(next, piece.key) || next[piece.key] === undefined) piece.action = 'delete';
    else if (!sameData(previous[piece.key], next[piece.key])) piece.action = 'replace';
  }
  // A kept value that refers to an anchor of a rewritten one is written out in full as well.
  for (let changed = true; changed; ) {
    changed = false;
    const gone = new Set<string>();
    for (const piece of pieces) if (piece.action !== 'keep') for (const anchor of piece.anchors) gone.add(anchor);
    for (const piece of pieces) {
      if (piece.action === 'keep' && [...piece.aliases].some((alias) => gone.has(alias))) {
        piece.action = 'replace';
        changed = true;
      }
    }
  }
  if (pieces.every((piece) => piece.action === 'keep') && Object.keys(next).every((key) => previous[key] !== undefined || next[key] === undefined)) {
    return text;
  }

  let out = tokens.slice(0, tokens.indexOf(document)).map((token) => CST.stringify(token)).join('');
  out += document.start.map((token) => token.source).join('');
  const append = (piece: string) => {
    if (out !== '' && !out.endsWith('\n')) out += '\n';
    out += piece;
  };
  for (const piece of pieces) {
    if (piece.action === 'keep') out += piece.text;
    else if (piece.action === 'replace') {
      // Comments above the key stay; the pair itself is written anew.
      append(piece.item.start.map((token) => token.source).join(''));
      append(stringify({ [piece.key]: next[piece.key] }));
    }
  }
  const added: Fields = {};
  for (const [key, value] of Object.entries(next)) {
    if (value !== undefined && !Object.prototype.hasOwnProperty.call(previous, key)) added[key] = value;
  }
  if (Object.keys(added).length > 0) append(stringify(added));
  out += (document.end ?? []).map((token) => token.source).join('');
  out += tokens.slice(tokens.indexOf(document) + 1).map((token) => CST.stringify(token)).join('');
  return out;
}
