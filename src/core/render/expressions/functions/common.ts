/** Helpers for writing functions and method tables: argument checks with clear errors. */
import type { Env } from '../env.js';
import { runtimeError } from '../errors.js';
import type { FunctionImpl } from '../interpreter.js';
import { ExprObject, isList, isMap, toInteger, toNumber, toText, type MethodImpl, type PhpMap, type Value } from '../values.js';

export type { FunctionImpl };

/** A method table from an object literal; a Map, so lookups never reach a prototype. */
export function methodTable<T>(methods: Record<string, MethodImpl<T>>): ReadonlyMap<string, MethodImpl<never>> {
  return new Map(Object.entries(methods)) as ReadonlyMap<string, MethodImpl<never>>;
}

export function functionTable(functions: Record<string, FunctionImpl>): [string, FunctionImpl][] {
  return Object.entries(functions);
}

export function arg(args: Value[], i: number): Value | undefined {
  return i < args.length ? args[i] : undefined;
}

export function textArg(args: Value[], i: number, what: string, fallback?: string): string {
  const value = arg(args, i);
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw runtimeError(`${what}: argument ${i + 1} is required`);
  }
  if (isList(value) || isMap(value)) throw runtimeError(`${what}: argument ${i + 1} must be text`);
  return toText(value);
}

export function numberArg(args: Value[], i: number, what: string, fallback?: number): number {
  const value = arg(args, i);
  if (value === undefined || (value === null && fallback !== undefined)) {
    if (fallback !== undefined) return fallback;
    throw runtimeError(`${what}: argument ${i + 1} is required`);
  }
  return toNumber(value, `in ${what}`);
}

export function intArg(args: Value[], i: number, what: string, fallback?: number): number {
  const value = arg(args, i);
  if (value === undefined || (value === null && fallback !== undefined)) {
    if (fallback !== undefined) return fallback;
    throw runtimeError(`${what}: argument ${i + 1} is required`);
  }
  return toInteger(value, `in ${what}`);
}

/** A list or map argument (collections give their data). */
export function arrayArg(args: Value[], i: number, what: string, fallback?: PhpMap | Value[]): PhpMap | Value[] {
  let value = arg(args, i);
  if (value instanceof ExprObject) value = value.toData();
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    throw runtimeError(`${what}: argument ${i + 1} must be a list or map`);
  }
  if (!isList(value) && !isMap(value)) throw runtimeError(`${what}: argument ${i + 1} must be a list or map`);
  return value;
}

/** Reads a boolean switch of the settings, true when unset (the groups are on by default). */
export function enabled(env: Env, path: string): boolean {
  const value = env.ctx.setting(path);
  return value === undefined ? true : value === true || value === 'true';
}
