/** The file finder's comparison strings: "2", "> 1", ">= 2K", "< 2018-01-01". */
import { parseDate } from '../dates.js';
import { badRequest } from '../errors.js';

export type Operator = '==' | '!=' | '<' | '<=' | '>' | '>=';
export interface Comparison {
  op: Operator;
  target: number;
}

const SHAPE = /^\s*(==|=|!=|<>|>=|<=|>|<)?\s*(.+?)\s*$/;

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
    const match = SHAPE.exec(text);
    const target = match ? readTarget(match[2]!) : undefined;
    if (!match || target === undefined) throw badRequest(`${what}: cannot read the comparison "${text}"`);
    return { op: normalizeOp(match[1]), target };
  });
}

export function holds(value: number, comparisons: Comparison[]): boolean {
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
export function maxDepthOf(comparisons: Comparison[], ceiling: number): number {
  let max = ceiling;
  for (const { op, target } of comparisons) {
    if (op === '==' || op === '<=') max = Math.min(max, target);
    if (op === '<') max = Math.min(max, target - 1);
  }
  return max;
}
