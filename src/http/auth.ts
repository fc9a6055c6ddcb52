/**
 * Authentication of API calls: credentials from parameters or headers, the specification's
 * validation order (via the tokens service), and a per-address brake on repeated failures.
 */
import type { FastifyRequest } from 'fastify';
import { CmsError } from '../core/errors.js';
import type { Scope } from '../core/tokens/scopes.js';
import type { ApiName, Caller, TokensService } from '../core/tokens/service.js';
import { HttpError } from './errors.js';
import { accessTokenOf, requireParams, tokenOf, type Params } from './params.js';

interface Failures {
  windowStart: number;
  count: number;
  blockedUntil: number;
}

/** Counts failed authentications per client address; refuses an address that fails too often. */
export class FailureBrake {
  private readonly byAddress = new Map<string, Failures>();

  constructor(
    private readonly perMinute: number,
    private readonly blockSeconds: number,
  ) {}

  isBlocked(address: string): boolean {
    const state = this.byAddress.get(address);
    return state !== undefined && state.blockedUntil > Date.now();
  }

  check(address: string): void {
    if (this.perMinute <= 0) return;
    const state = this.byAddress.get(address);
    const now = Date.now();
    if (state && state.blockedUntil > now) {
      const wait = Math.ceil((state.blockedUntil - now) / 1000);
      throw new HttpError('too_many_requests', `too many failed authentications from this address; retry in ${wait} s`, {
        'retry-after': String(wait),
      });
    }
  }

  fail(address: string): void {
    if (this.perMinute <= 0) return;
    const now = Date.now();
    let state = this.byAddress.get(address);
    if (!state || now - state.windowStart > 60_000) {
      state = { windowStart: now, count: 0, blockedUntil: 0 };
      if (this.byAddress.size > 50_000) this.prune(now);
      this.byAddress.set(address, state);
    }
    state.count++;
    if (state.count > this.perMinute) state.blockedUntil = now + this.blockSeconds * 1000;
  }

  private prune(now: number): void {
    for (const [address, state] of this.byAddress) {
      if (now - state.windowStart > 60_000 && state.blockedUntil < now) this.byAddress.delete(address);
    }
  }
}

export interface GuardOptions {
  api: ApiName;
  scope: Scope | readonly Scope[];
  /** Parameters required besides the credentials. */
  required: string[];
  requireAccess: boolean;
}

export function createGuard(tokens: TokensService, brake: FailureBrake) {
  return async function authenticate(request: FastifyRequest, params: Params, options: GuardOptions): Promise<Caller> {
    const token = tokenOf(request, params);
    const accessToken = accessTokenOf(request, params);
    const withCredentials = { ...params, token, access_token: accessToken };
    requireParams(withCredentials, [...options.required, 'token', ...(options.requireAccess ? ['access_token'] : [])]);
    brake.check(request.ip);
    try {
      return await tokens.authorize({ api: options.api, scope: options.scope, token, accessToken, requireAccess: options.requireAccess });
    } catch (err) {
      if (err instanceof CmsError && err.code === 'unauthorized' && !err.detail.includes('scope')) brake.fail(request.ip);
      throw err;
    }
  };
}

export type Guard = ReturnType<typeof createGuard>;
