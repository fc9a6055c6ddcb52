/**
 * The `calls` counters when many server processes share one store (the engine has
 * `coordination`, i.e. PostgreSQL). The database's counter table is the truth; the token entry's
 * `calls` field only seeds it once. A limited token's calls are reserved from the database in
 * blocks (the grant is counted there at once, so no node can pass `limit_calls`); each call then
 * takes one from the local block synchronously, with no round trip. An unlimited token counts
 * locally and adds its count at each flush. Unused reservations go back when a token is idle for
 * one flush interval and on shutdown; a killed node's unused block stays counted (over, never under).
 */
import type { EngineCoordination } from '../../storage/engine.js';

interface Share {
  /** Reserved in the database, not used yet. */
  budget: number;
  /** The size of the next reservation: doubles while used up quickly, halves while idle. */
  block: number;
  usedSinceFlush: number;
  /** Calls of an unlimited token counted here, not yet added to the database. */
  pending: number;
  /** The database total last seen. */
  known: number;
  /** When the database last granted nothing, and under which limit (a raised limit asks again). */
  exhaustedAt: number;
  exhaustedLimit: number;
  reserving: Promise<number> | undefined;
  seeded: Promise<void>;
}

const FIRST_BLOCK = 8;
const MAX_BLOCK = 1024;
/** A token refused for its limit asks the database again after this long (a reset elsewhere). */
const EXHAUSTED_RECHECK_MS = 1000;

function storedCalls(fields: Record<string, unknown>): number {
  const n = Number(fields['calls'] ?? 0);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
}

export class SharedCallCounters {
  private readonly shares = new Map<string, Share>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closing = false;

  constructor(
    private readonly coordination: EngineCoordination,
    private readonly intervalMs: number,
    private readonly onError: (err: Error) => void,
  ) {}

  private share(entryId: string, fields: Record<string, unknown>): Share {
    let share = this.shares.get(entryId);
    if (!share) {
      const stored = storedCalls(fields);
      // A token that existed before the counter table (imported, or made by an older version) starts from its entry.
      const seeded = this.coordination.seedCalls(entryId, stored);
      seeded.catch(() => this.shares.delete(entryId)); // seeded again by the next call
      share = { budget: 0, block: FIRST_BLOCK, usedSinceFlush: 0, pending: 0, known: stored, exhaustedAt: 0, exhaustedLimit: -1, reserving: undefined, seeded };
      this.shares.set(entryId, share);
    }
    return share;
  }

  /** The total as last seen here, plus this node's calls not yet added (no round trip). */
  current(entryId: string, fields: Record<string, unknown>): number {
    const share = this.share(entryId, fields);
    return share.known + share.pending;
  }

  /** The database total plus this node's calls not yet added. */
  async readTotal(entryId: string, fields: Record<string, unknown>): Promise<number> {
    const share = this.share(entryId, fields);
    await share.seeded;
    share.known = await this.coordination.readCalls(entryId);
    return share.known + share.pending;
  }

  /** True when the database recently had no calls left for this token under this limit. */
  exhausted(entryId: string, fields: Record<string, unknown>, limit: number): boolean {
    if (limit <= 0) return false;
    const share = this.share(entryId, fields);
    return share.budget === 0 && share.exhaustedLimit === limit && Date.now() - share.exhaustedAt < EXHAUSTED_RECHECK_MS;
  }

  /**
   * The synchronous step: counts one call from the local budget. False means "not decided here"
   * (no budget left): the caller takes count(), which reserves more.
   */
  tryCount(entryId: string, fields: Record<string, unknown>, limit: number): boolean {
    const share = this.share(entryId, fields);
    if (limit <= 0) {
      share.pending++;
      share.usedSinceFlush++;
      this.schedule();
      return true;
    }
    if (share.budget <= 0) return false;
    share.budget--;
    share.usedSinceFlush++;
    // Reserve the next block before this one runs out, so that busy tokens never wait.
    if (share.budget <= share.block >> 2 && !share.reserving) void this.reserve(entryId, share, limit).catch((err: Error) => this.onError(err));
    this.schedule();
    return true;
  }

  /** Counts one call, reserving from the database when the local budget is used up; false when the limit is reached. */
  async count(entryId: string, fields: Record<string, unknown>, limit: number): Promise<boolean> {
    for (;;) {
      if (this.tryCount(entryId, fields, limit)) return true;
      const share = this.share(entryId, fields);
      const granted = await this.reserve(entryId, share, limit);
      if (granted === 0 && share.budget === 0) return false;
    }
  }

  /** One reservation at a time per token; concurrent callers share its outcome. */
  private reserve(entryId: string, share: Share, limit: number): Promise<number> {
    share.reserving ??= (async () => {
      await share.seeded;
      // Small limits get small blocks, so that one node does not hold what the others need.
      const want = Math.max(1, Math.min(share.block, Math.floor(limit / 16)));
      const granted = await this.coordination.reserveCalls(entryId, want, limit);
      share.budget += granted;
      if (granted === 0) {
        share.exhaustedAt = Date.now();
        share.exhaustedLimit = limit;
      } else {
        share.exhaustedLimit = -1;
        share.block = Math.min(MAX_BLOCK, share.block * 2);
      }
      this.schedule();
      return granted;
    })().finally(() => (share.reserving = undefined));
    return share.reserving;
  }

  /** The token's calls were set by an administrator (or the token created): the database takes the value. */
  async set(entryId: string, calls: number): Promise<void> {
    const share = this.shares.get(entryId);
    if (share) await share.reserving?.catch(() => undefined);
    this.shares.delete(entryId);
    await this.coordination.setCalls(entryId, calls);
  }

  /** A write of the token entry: its `calls` field stays what it was (the count lives in the database). */
  persistWith<T>(_entryId: string, fields: Record<string, unknown>, write: (calls: number) => Promise<T>): Promise<T> {
    return write(storedCalls(fields));
  }

  forget(entryId: string): void {
    this.shares.delete(entryId);
  }

  private schedule(): void {
    if (this.timer || this.intervalMs <= 0 || this.closing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((err: Error) => this.onError(err));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Adds pending counts; gives back the budgets of idle tokens (all of them when stopping). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.flushAll().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async flushAll(): Promise<void> {
    let failure: Error | undefined;
    let again = false;
    for (const [entryId, share] of this.shares) {
      try {
        await share.seeded;
        if (share.pending > 0) {
          const n = share.pending;
          share.pending = 0;
          try {
            share.known = await this.coordination.addCalls(entryId, n);
          } catch (err) {
            share.pending += n;
            throw err;
          }
        }
        if (share.reserving) await share.reserving.catch(() => undefined);
        const idle = share.usedSinceFlush === 0;
        if (share.budget > 0 && (idle || this.closing)) {
          const give = share.budget;
          share.budget = 0;
          try {
            share.known = await this.coordination.addCalls(entryId, -give);
          } catch (err) {
            share.budget += give;
            throw err;
          }
        }
        if (idle) share.block = Math.max(FIRST_BLOCK, share.block >> 1);
        share.usedSinceFlush = 0;
        if (share.budget > 0) again = true; // given back once idle
      } catch (err) {
        failure ??= err as Error;
        again = true;
      }
    }
    if (again) this.schedule();
    if (failure) throw failure;
  }

  /** Stops the timer; the next flush gives every unused reservation back. */
  stop(): void {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
