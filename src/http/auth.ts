/**
 * Authentication of API calls: credentials from parameters or headers, the specification's
 * validation order (via the tokens service), and a per-address brake on repeated failures.
 */
import type { FastifyRequest } from 'fastify';
import { CmsError } from '../core/errors.js';
import type { Scope } from '../core/tokens/scopes.js';
import type { ApiName, Caller, Throttle, TokensService } from '../core/tokens/service.js';
import { HttpError } from './errors.js';
import { accessTokenOf, requireParams, tokenOf, type Params } from './params.js';

interface Waiter {
  start: () => void;
  refuse: (err: Error) => void;
}

interface AddressState {
  windowStart: number;
  /** Failures in the current window. */
  count: number;
  blockedUntil: number;
  /** The failures of every node in the shared window, as last answered by the database. */
  shared: number;
  /** Attempts under way: counted before their outcome is known, so parallel attempts cannot slip past the limit. */
  reserved: number;
  /** Attempts waiting because those under way could use up the failures still allowed. */
  forBudget: Waiter[];
  /** bcrypt runs under way, and those waiting for their turn. */
  verifying: number;
  forVerification: Waiter[];
}

export interface BrakeLimits {
  /** Failures allowed per address per minute (0: no brake). */
  perMinute: number;
  blockSeconds: number;
  /** bcrypt runs at once per address; more wait their turn. */
  concurrent: number;
  /** Attempts that may wait (in each queue) per address; more are refused with 429. */
  waiting: number;
  /**
   * Counts a failure for every node on the same store (EngineCoordination.countFailure); returns
   * the failures in the window. Without it, each process counts alone.
   */
  countShared?: (key: string, windowMs: number) => Promise<number>;
}

/**
 * Counts failed authentications per client address and refuses an address that fails too often.
 * An attempt whose outcome takes time (a disk read, a bcrypt run) is counted while it runs, and
 * never more run than the failures still allowed; its bcrypt run waits for one of `concurrent` turns
 * per address, so that one client cannot fill the workers.
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
      state = { windowStart: now, count: 0, shared: 0, blockedUntil: 0, reserved: 0, forBudget: [], verifying: 0, forVerification: [] };
      this.byAddress.set(address, state);
    } else if (now - state.windowStart > 60_000) {
      state.windowStart = now;
      state.count = 0;
      state.shared = 0;
    }
    return state;
  }

  private withinBudget(state: AddressState): boolean {
    return this.limits.perMinute <= 0 || Math.max(state.count, state.shared) + state.reserved < this.limits.perMinute;
  }

  /** A place in `queue`, or 429 when it is full. */
  private wait(queue: Waiter[]): Promise<void> {
    if (queue.length >= this.limits.waiting) {
      return Promise.reject(
        new HttpError('too_many_requests', 'too many authentications under way from this address; retry in 1 s', { 'retry-after': '1' }),
      );
    }
    return new Promise((resolve, reject) => queue.push({ start: resolve, refuse: reject }));
  }

  private async reserve(address: string): Promise<AddressState> {
    const state = this.stateOf(address);
    const blocked = this.blockedError(state);
    if (blocked) throw blocked;
    if (state.forBudget.length === 0 && this.withinBudget(state)) state.reserved++;
    else await this.wait(state.forBudget); // reserved on our behalf by release()
    return state;
  }

  private release(state: AddressState, failed: boolean): void {
    state.reserved--;
    if (failed && this.limits.perMinute > 0) {
      const now = Date.now();
      if (now - state.windowStart > 60_000) {
        state.windowStart = now;
        state.count = 0;
        state.shared = 0;
      }
      state.count++;
      if (Math.max(state.count, state.shared) >= this.limits.perMinute) state.blockedUntil = now + this.limits.blockSeconds * 1000;
    }
    const blocked = this.blockedError(state);
    if (blocked) {
      for (const waiter of state.forBudget.splice(0)) waiter.refuse(blocked);
      return;
    }
    while (state.forBudget.length > 0 && this.withinBudget(state)) {
      state.reserved++;
      state.forBudget.shift()!.start();
    }
  }

  private throttle(state: AddressState): Throttle {
    return async <R>(work: () => Promise<R>): Promise<R> => {
      if (state.forVerification.length === 0 && state.verifying < this.limits.concurrent) state.verifying++;
      else await this.wait(state.forVerification); // counted on our behalf by the run that ends
      try {
        return await work();
      } finally {
        const next = state.forVerification.shift();
        if (next) next.start();
        else state.verifying--;
      }
    };
  }

  /** Runs one authentication attempt under the brake; `isFailure` says which errors count against the address. */
  async attempt<T>(address: string, run: (throttle: Throttle) => Promise<T>, isFailure: (err: unknown) => boolean): Promise<T> {
    const state = await this.reserve(address);
    let failed = false;
    try {
      return await run(this.throttle(state));
    } catch (err) {
      failed = isFailure(err);
      if (failed) await this.countShared(address, state);
      throw err;
    } finally {
      this.release(state, failed);
    }
  }

  /** Adds the failure to the count of every node; a database that does not answer leaves the local count alone. */
  private async countShared(address: string, state: AddressState): Promise<void> {
    const count = this.limits.countShared;
    if (!count || this.limits.perMinute <= 0) return;
    try {
      state.shared = Math.max(state.shared, await count(`auth:${address}`, 60_000));
    } catch {
      // The failure is still counted here; the brake must not fail open or closed on an outage.
    }
  }

  private prune(now: number): void {
    for (const [address, state] of this.byAddress) {
      const idle = state.reserved === 0 && state.verifying === 0 && state.forBudget.length === 0 && state.forVerification.length === 0;
      if (idle && now - state.windowStart > 60_000 && state.blockedUntil < now) this.byAddress.delete(address);
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
    const known = tokens.authorizeCached(auth) ?? (await tokens.authorizeKnown(auth));
    if (known) return known;
    return brake.attempt(request.ip, (throttle) => tokens.authorize(auth, throttle), isAuthFailure);
  };
}

export type Guard = ReturnType<typeof createGuard>;
