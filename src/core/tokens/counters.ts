/**
 * The `calls` counters. Counting happens in memory (exact: check and increment run in one
 * synchronous step, so `limit_calls` is never exceeded); totals reach the token files in the
 * background and on shutdown. A crash loses at most the calls since the last flush.
 */
import { retryOnConflict } from '../store/retry.js';
import type { ContentStore } from '../store/store.js';

interface Counter {
  /** Calls counted so far, including those not yet written. */
  total: number;
  /** The value last seen in (or written to) the token file. */
  persisted: number;
  flushing: boolean;
}

function storedCalls(fields: Record<string, unknown>): number {
  const n = Number(fields['calls'] ?? 0);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
}

export class CallCounters {
  private readonly counters = new Map<string, Counter>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: ContentStore,
    private readonly intervalMs: number,
    private readonly onError: (err: Error) => void,
  ) {}

  /** The counter of a token, re-based when its file was changed by someone else. */
  private counter(entryId: string, fields: Record<string, unknown>): Counter {
    const stored = storedCalls(fields);
    let counter = this.counters.get(entryId);
    if (!counter) {
      counter = { total: stored, persisted: stored, flushing: false };
      this.counters.set(entryId, counter);
    } else if (!counter.flushing && counter.persisted !== stored) {
      counter.total = stored + (counter.total - counter.persisted);
      counter.persisted = stored;
    }
    return counter;
  }

  current(entryId: string, fields: Record<string, unknown>): number {
    return this.counter(entryId, fields).total;
  }

  /** The same as current(): in one process the memory is the truth. */
  async readTotal(entryId: string, fields: Record<string, unknown>): Promise<number> {
    return this.current(entryId, fields);
  }

  exhausted(entryId: string, fields: Record<string, unknown>, limit: number): boolean {
    return limit > 0 && this.current(entryId, fields) >= limit;
  }

  /** tryCount(): always decided synchronously here. */
  async count(entryId: string, fields: Record<string, unknown>, limit: number): Promise<boolean> {
    return this.tryCount(entryId, fields, limit);
  }

  /** The token file carries a set count; the counter re-bases on it when it next sees the file. */
  async set(): Promise<void> {}

  /** Counts one call unless the limit is reached; returns false (and counts nothing) when it is. */
  tryCount(entryId: string, fields: Record<string, unknown>, limit: number): boolean {
    const counter = this.counter(entryId, fields);
    if (limit > 0 && counter.total >= limit) return false;
    counter.total++;
    this.schedule();
    return true;
  }

  /** Runs a write that stores the current total in the token file, then records it as persisted. */
  async persistWith<T>(entryId: string, fields: Record<string, unknown>, write: (calls: number) => Promise<T>): Promise<T> {
    const counter = this.counter(entryId, fields);
    const value = counter.total;
    counter.flushing = true;
    try {
      const result = await write(value);
      counter.persisted = value;
      return result;
    } finally {
      counter.flushing = false;
    }
  }

  forget(entryId: string): void {
    this.counters.delete(entryId);
  }

  private schedule(): void {
    if (this.timer || this.intervalMs <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((err: Error) => this.onError(err));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Writes every changed counter to its token file. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.flushAll().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async flushAll(): Promise<void> {
    for (const [entryId, counter] of this.counters) {
      if (counter.total === counter.persisted) continue;
      await this.store.locks.withEntry(entryId, () =>
        // Ask the engine, not the cache: a token deleted or edited behind our back is not
        // overwritten, also not one edited between this read and the write (`expected`).
        retryOnConflict(async () => {
          const entry = await this.store.getFresh(entryId);
          if (!entry) {
            this.counters.delete(entryId);
            return;
          }
          this.counter(entryId, entry.fields);
          const value = counter.total;
          counter.flushing = true;
          try {
            await this.store.write(entryId, { ...entry.fields, calls: value }, { expected: entry.meta.revision });
            counter.persisted = value;
          } finally {
            counter.flushing = false;
          }
        }),
      );
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
