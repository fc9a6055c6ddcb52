/**
 * What a token may do — its scopes, its call limit, its expiry — and the rule that no token may
 * create, change or delete a token above itself: a token with `tokens:write` could otherwise delete
 * the unrestricted token, or lift its own limits.
 */
import { toTimestamp } from '../dates.js';
import { scopesOfToken, within, type ScopeSet } from './scopes.js';

export interface Power {
  /** undefined = every scope. */
  scopes: ScopeSet;
  /** 0 = no limit. */
  limitCalls: number;
  /** Unix seconds; undefined = never expires. */
  expiresAt: number | undefined;
}

export type PowerAspect = 'scopes' | 'limit_calls' | 'expires_at';

export function limitOf(fields: Record<string, unknown>): number {
  const limit = Number(fields['limit_calls'] ?? 0);
  return Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
}

export function hasExpiry(fields: Record<string, unknown>): boolean {
  const value = fields['expires_at'];
  return value !== undefined && value !== null && value !== '';
}

export function powerOf(fields: Record<string, unknown>, timeZone: string): Power {
  let expiresAt: number | undefined;
  if (hasExpiry(fields)) {
    const expires = toTimestamp(fields['expires_at'], timeZone);
    // An unreadable expiry makes the token refused as expired: it grants nothing.
    expiresAt = typeof expires === 'number' ? expires : 0;
  }
  return { scopes: scopesOfToken(fields), limitCalls: limitOf(fields), expiresAt };
}

/** The first aspect in which `wanted` goes beyond `held`; undefined when it does not. */
export function excess(wanted: Power, held: Power): PowerAspect | undefined {
  if (!within(wanted.scopes, held.scopes)) return 'scopes';
  if (held.limitCalls > 0 && (wanted.limitCalls === 0 || wanted.limitCalls > held.limitCalls)) return 'limit_calls';
  if (held.expiresAt !== undefined && (wanted.expiresAt === undefined || wanted.expiresAt > held.expiresAt)) return 'expires_at';
  return undefined;
}

/** The 400 detail for a token that would be given more than its creator or editor holds. */
export function grantDetail(aspect: PowerAspect, held: Power): string {
  switch (aspect) {
    case 'scopes':
      return `a token cannot grant scopes it does not hold (caller has: ${[...(held.scopes ?? [])].join(', ') || 'none'})`;
    case 'limit_calls':
      return `a token cannot grant more calls than its own limit_calls (${held.limitCalls}; 0 would mean no limit)`;
    case 'expires_at':
      return `a token cannot grant a later expires_at than its own (${held.expiresAt}; none would mean never)`;
  }
}

/** The 400 detail for a token that may not touch another one because that one is above it. */
export function aboveDetail(action: 'change' | 'delete', aspect: PowerAspect): string {
  const what = { scopes: 'more scopes', limit_calls: 'a higher limit_calls, or none', expires_at: 'a later expires_at, or none' }[aspect];
  return `a token cannot ${action} a token with more power than its own (that token has ${what})`;
}
