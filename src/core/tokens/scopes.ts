/** Token scopes: what a token may do. No `scopes` field means everything (the compatible default). */
import { badRequest } from '../errors.js';
import { asList } from '../query/where.js';

export const SCOPES = ['entries:read', 'entries:write', 'tokens:read', 'tokens:write', 'registry:read', 'cache:write'] as const;
export type Scope = (typeof SCOPES)[number];

/** undefined = unrestricted. */
export type ScopeSet = ReadonlySet<Scope> | undefined;

export function parseScopes(raw: unknown, what = 'scopes'): Scope[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const list = asList(raw) ?? (typeof raw === 'string' ? raw.split(/[\s,]+/).filter((s) => s !== '') : undefined);
  if (!list) throw badRequest(`${what} must be a list of scope names`);
  const scopes: Scope[] = [];
  for (const item of list) {
    if (typeof item !== 'string' || !(SCOPES as readonly string[]).includes(item)) {
      throw badRequest(`${what}: unknown scope ${JSON.stringify(item)} (known: ${SCOPES.join(', ')})`);
    }
    if (!scopes.includes(item as Scope)) scopes.push(item as Scope);
  }
  return scopes;
}

const parsedScopes = new WeakMap<object, ScopeSet>();

/** The scopes of a stored token; a malformed stored list grants nothing rather than everything. */
export function scopesOfToken(fields: Record<string, unknown>): ScopeSet {
  if (!('scopes' in fields) || fields['scopes'] === null || fields['scopes'] === undefined) return undefined;
  // Stored field maps are never mutated, so their parsed scopes can be remembered.
  if (parsedScopes.has(fields)) return parsedScopes.get(fields);
  let scopes: ScopeSet;
  try {
    scopes = new Set(parseScopes(fields['scopes']) ?? []);
  } catch {
    scopes = new Set();
  }
  parsedScopes.set(fields, scopes);
  return scopes;
}

export function allows(scopes: ScopeSet, scope: Scope): boolean {
  return scopes === undefined || scopes.has(scope);
}

/** True when `wanted` grants nothing beyond `held`. */
export function within(wanted: ScopeSet, held: ScopeSet): boolean {
  if (held === undefined) return true;
  if (wanted === undefined) return false;
  for (const scope of wanted) if (!held.has(scope)) return false;
  return true;
}
