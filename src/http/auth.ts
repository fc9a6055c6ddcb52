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

interface AddressState {
  windowStart: number;
  /** Failures in the current window. */
  count: number;
  blockedUntil: number;
  /** Attempts under way: reserved before their outcome is known, so parallel attempts cannot slip past the limit. */
  active: number;
  waiting: { start: () => void; refuse: (err: Error) => void }[];
}

export interface BrakeLimits {
  /** Failures allowed per address per minute (0: no brake). */
  perMinute: number;
  blockSeconds: number;
  /** Attempts checked at once per address; more wait their turn. */
  concurrent: number;
  /** Attempts that may wait per address; more are refused with 429. */
  waiting: number;
}

/**
 * Counts failed authentications per client address and refuses an address that fails too often.
 * An attempt whose outcome takes time (a disk read, a bcrypt run) holds a slot while it runs: at most
 * `concurrent` per address, and never more than the failures still allowed.
 */
export class FailureBrake {
  private readonly byAddress = new Map<string, AddressState>();
  private readonly limits: BrakeLimits;

  constructor(perMinute: number, blockSeconds: number, limits: Partial<BrakeLimits> = {}) {
    this.limits = { perMinute, blockSeconds, concurrent: 2, waiting: 256, ...limits };
    this.limits.concurrent = Math.max(1, this.limits.concurrent);
  }

  isBlocked(address: string): boolean {
    const state = this.byAddress.get(address);
    return state !== undefined && state.blockedUntil > Date.now();
  }

  private blockedError(state: AddressState): HttpError | undefined {
    const now = Date.now();
    if (state.blockedUntil <= now) return undefined;
    const wait = Math.ceil((state.blockedUntil - now) / 1000);
    return new HttpError('too_many_requests', `too many failed authentications from this address; retry in ${wait} s`, {
      'retry-after': String(wait),
    });
  }

  check(address: string): void {
    const state = this.byAddress.get(address);
    const blocked = state && this.blockedError(state);
    if (blocked) throw blocked;
  }

  private stateOf(address: string): AddressState {
    const now = Date.now();
    let state = this.byAddress.get(address);
    if (!state) {
      if (this.byAddress.size > 50_000) this.prune(now);
      state = { windowStart: now, count: 0, blockedUntil: 0, active: 0, waiting: [] };
      this.byAddress.set(address, state);
    } else if (now - state.windowStart > 60_000) {
      state.windowStart = now;
      state.count = 0;
    }
    return state;
  }

  private canStart(state: AddressState): boolean {
    const { perMinute, concurrent } = this.limits;
    return state.active < concurrent && (perMinute <= 0 || state.count + state.active < perMinute);
  }

  /** Resolves when the attempt may run (its slot is then held); rejects with 429 when it may not. */
  private acquire(address: string): Promise<AddressState> | AddressState {
    const state = this.stateOf(address);
    const blocked = this.blockedError(state);
    if (blocked) throw blocked;
    if (state.waiting.length === 0 && this.canStart(state)) {
      state.active++;
      return state;
    }
    if (state.waiting.length >= this.limits.waiting) {
      throw new HttpError('too_many_requests', 'too many authentications under way from this address; retry in 1 s', { 'retry-after': '1' });
    }
    return new Promise((resolve, reject) => {
      state.waiting.push({ start: () => resolve(state), refuse: reject });
    });
  }

  private release(state: AddressState, failed: boolean): void {
    state.active--;
    if (failed && this.limits.perMinute > 0) {
      const now = Date.now();
      if (now - state.windowStart > 60_000) {
        state.windowStart = now;
        state.count = 0;
      }
      state.count++;
      if (state.count >= this.limits.perMinute) state.blockedUntil = now + this.limits.blockSeconds * 1000;
    }
    const blocked = this.blockedError(state);
    if (blocked) {
      for (const waiter of state.waiting.splice(0)) waiter.refuse(blocked);
      return;
    }
    while (state.waiting.length > 0 && this.canStart(state)) {
      state.active++;
      state.waiting.shift()!.start();
    }
  }

  /** Runs one authentication attempt under the brake; `isFailure` says which errors count against the address. */
  async attempt<T>(address: string, run: () => Promise<T>, isFailure: (err: unknown) => boolean): Promise<T> {
    const state = await this.acquire(address);
    let failed = false;
    try {
      return await run();
    } catch (err) {
      failed = isFailure(err);
      throw err;
    } finally {
      this.release(state, failed);
    }
  }

  private prune(now: number): void {
    for (const [address, state] of this.byAddress) {
      const idle = state.active === 0 && state.waiting.length === 0;
      if (idle && now - state.windowStart > 60_000 && state.blockedUntil < now) this.byAddress.delete(address);
    }
  }
}

export interface GuardOptions {
  api: ApiName;
  scope: Scope;
  /** Parameters required besides the credentials. */
  required: string[];
  requireAccess: boolean;
}

/** A wrong or unknown credential; a missing scope is not guessing, so it does not count. */
function isAuthFailure(err: unknown): boolean {
  return err instanceof CmsError && err.code === 'unauthorized' && !err.detail.includes('scope');
}

export function createGuard(tokens: TokensService, brake: FailureBrake) {
  return async function authenticate(request: FastifyRequest, params: Params, options: GuardOptions): Promise<Caller> {
    const token = tokenOf(request, params);
    const accessToken = accessTokenOf(request, params);
    const withCredentials = { ...params, token, access_token: accessToken };
    requireParams(withCredentials, [...options.required, 'token', ...(options.requireAccess ? ['access_token'] : [])]);
    brake.check(request.ip);
    const auth = { api: options.api, scope: options.scope, token, accessToken, requireAccess: options.requireAccess };
    // Known credentials are decided at once and never wait behind anyone's bcrypt runs.
    const known = tokens.authorizeCached(auth);
    if (known) return known;
    return brake.attempt(request.ip, () => tokens.authorize(auth), isAuthFailure);
  };
}

export type Guard = ReturnType<typeof createGuard>;
