/** The file finder's comparison strings: "2", "> 1", ">= 2K", "< 2018-01-01". */
import { parseDate } from '../dates.js';
import { badRequest } from '../errors.js';

export type Operator = '==' | '!=' | '<' | '<=' | '>' | '>=';
export interface Comparison {
  op: Operator;
  target: number;
}

// Longest first, so that ">=" is not read as ">" followed by "=2".
const OPERATOR_PREFIXES = ['==', '!=', '<>', '>=', '<=', '=', '>', '<'] as const;

/**
 * Splits "  >=  2K " into the operator and the target text. Plain string work: the regular
 * expression this replaces (`\s*(op)?\s*(.+?)\s*$`) backtracked quadratically on long blank runs.
 */
function splitComparison(text: string): { op: string | undefined; target: string } | undefined {
  const trimmed = text.trim();
  const op = OPERATOR_PREFIXES.find((prefix) => trimmed.startsWith(prefix));
  const target = (op === undefined ? trimmed : trimmed.slice(op.length)).trim();
  // The old pattern's `.` stopped at line breaks: a target spanning lines is no comparison.
  if (target === '' || /[\n\r\u2028\u2029]/.test(target)) return undefined;
  return { op, target };
}

/** Long client text is cut in error messages. */
function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function normalizeOp(op: string | undefined): Operator {
  if (op === undefined || op === '=' || op === '==') return '==';
  if (op === '<>') return '!=';
  return op as Operator;
}

function listOf(raw: unknown, what: string): string[] {
  const items = Array.isArray(raw) ? raw : [raw];
  if (items.length === 0 || items.length > 16) throw badRequest(`${what}: expected one to sixteen comparisons`);
  return items.map((item) => {
    if (typeof item === 'number') return String(item);
    if (typeof item !== 'string' || item.trim() === '') throw badRequest(`${what}: each comparison must be a non-empty string`);
    return item;
  });
}

export function parseComparisons(raw: unknown, what: string, readTarget: (text: string) => number | undefined): Comparison[] {
  return listOf(raw, what).map((text) => {
    const parts = splitComparison(text);
    const target = parts ? readTarget(parts.target) : undefined;
    if (!parts || target === undefined) throw badRequest(`${what}: cannot read the comparison "${shorten(text)}"`);
    return { op: normalizeOp(parts.op), target };
  });
}

export function holds(value: number, comparisons: readonly Comparison[]): boolean {
  return comparisons.every(({ op, target }) => {
    switch (op) {
      case '==': return value === target;
      case '!=': return value !== target;
      case '<': return value < target;
      case '<=': return value <= target;
      case '>': return value > target;
      case '>=': return value >= target;
    }
  });
}

export function readInteger(text: string): number | undefined {
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(k|ki|m|mi|g|gi)?b?$/i;
const MULTIPLIERS: Record<string, number> = { '': 1, k: 1e3, ki: 1024, m: 1e6, mi: 1024 ** 2, g: 1e9, gi: 1024 ** 3 };

export function readSize(text: string): number | undefined {
  const match = SIZE.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * MULTIPLIERS[(match[2] ?? '').toLowerCase()]!;
}

export function dateReader(timeZone: string): (text: string) => number | undefined {
  return (text) => parseDate(text, timeZone);
}

/** The largest depth a list of depth comparisons admits (for bounding the tree walk). */
export function maxDepthOf(comparisons: readonly Comparison[], ceiling: number): number {
  let max = ceiling;
  for (const { op, target } of comparisons) {
    if (op === '==' || op === '<=') max = Math.min(max, target);
    if (op === '<') max = Math.min(max, target - 1);
  }
  return max;
}
