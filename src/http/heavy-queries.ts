/**
 * Admission control for heavy collection queries: at most `concurrency` run at once, up to `queue`
 * more wait in arrival order, and beyond that a request is answered 503 with Retry-After at once,
 * so that a burst of full collections cannot starve light requests (or exhaust memory). A slot is
 * held until the answer has been written out (or the client went away), not just computed.
 */
import type { ServerResponse } from 'node:http';
import { HttpError } from './errors.js';

export interface HeavyQueryLimits {
  /** Queries over at least this many candidate entries count as heavy. */
  threshold: number;
  concurrency: number;
  queue: number;
  /** Seconds sent as Retry-After with a 503. */
  retry_after: number;
}

export class HeavyQueryGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limits: HeavyQueryLimits) {}

  /** Queries running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** An admission hook for the query answered by `res`: light queries pass, heavy ones take a slot. */
  admitFor(res: ServerResponse): (candidates: number) => Promise<void> {
    return async (candidates) => {
      if (candidates < this.limits.threshold) return;
      const admitted = await this.acquire(res);
      let held = admitted;
      const release = () => {
        if (!held) return;
        held = false;
        this.running--;
        this.next();
      };
      if (!admitted || res.destroyed) {
        release();
        throw new HttpError('service_unavailable', 'the client went away before the query could run');
      }
      res.once('close', release);
    };
  }

  /** True once a slot is taken; false when the client left while waiting. */
  private acquire(res: ServerResponse): Promise<boolean> {
    if (this.running < this.limits.concurrency && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve(true);
    }
    if (this.waiting.length >= this.limits.queue) {
      const retryAfter = String(Math.max(1, Math.ceil(this.limits.retry_after)));
      return Promise.reject(
        new HttpError('service_unavailable', `too many large collection queries at once; retry in ${retryAfter} s`, { 'retry-after': retryAfter }),
      );
    }
    return new Promise((resolve) => {
      const admit = () => {
        res.off('close', leave);
        this.running++;
        resolve(true);
      };
      // A client that leaves while waiting gives up its place.
      const leave = () => {
        const at = this.waiting.indexOf(admit);
        if (at !== -1) this.waiting.splice(at, 1);
        resolve(false);
      };
      res.once('close', leave);
      this.waiting.push(admit);
    });
  }

  private next(): void {
    while (this.running < this.limits.concurrency && this.waiting.length > 0) this.waiting.shift()!();
  }
}
