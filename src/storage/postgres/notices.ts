/**
 * Change notices of entry writes, sent after the write's commit and batched: a NOTIFY inside a
 * writing transaction takes PostgreSQL's global notify lock until the commit's WAL flush is done,
 * which serialises every writer behind one fsync at a time (about 4× fewer writes per second at 10
 * connections). Sending afterwards, many writes share one NOTIFY. A write is acknowledged without
 * waiting for its notice (one round trip less per write): a notice that never goes out (the process
 * killed in between) is found by the other nodes' catch-up (feed.ts) within its interval. The
 * revision in the notice lets the receiving node tell its own cached copy from a newer one without
 * asking the database.
 */
export interface EntryNotice {
  id: string;
  /** The revision text the engine answers (base 36). */
  revision: string;
}

/** A batch's payload stays below PostgreSQL's 8000-byte NOTIFY limit (one notice is at most ~2100 bytes: ids ≤ 2000 bytes). */
const MAX_PAYLOAD_BYTES = 7000;

export interface NoticeLog {
  warn(obj: object, msg?: string): void;
}

interface Waiting {
  json: string;
  bytes: number;
  done: () => void;
}

export class NoticeBatcher {
  private queue: Waiting[] = [];
  private draining = false;
  /** Notices announced and not yet sent (or given up). */
  private pending = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly origin: string,
    /** Sends one payload (`SELECT pg_notify(channel, payload)` on the pool). */
    private readonly send: (payload: string) => Promise<unknown>,
    private readonly log?: NoticeLog,
  ) {}

  /** Resolves once the notice was sent (or sending failed and was logged: the write itself is committed). */
  announce(notice: EntryNotice): Promise<void> {
    this.pending++;
    const json = JSON.stringify({ kind: 'entry', id: notice.id, revision: notice.revision });
    return new Promise((done) => {
      this.queue.push({ json, bytes: Buffer.byteLength(json), done });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        let bytes = 0;
        let count = 0;
        while (count < this.queue.length && (count === 0 || bytes + this.queue[count]!.bytes + 1 <= MAX_PAYLOAD_BYTES)) {
          bytes += this.queue[count]!.bytes + 1;
          count++;
        }
        const batch = this.queue.splice(0, count);
        const payload = `{"origin":${JSON.stringify(this.origin)},"changes":[${batch.map((w) => w.json).join(',')}]}`;
        try {
          await this.send(payload);
        } catch (err) {
          // The writes are committed; other nodes resynchronise when their own connection was lost too.
          this.log?.warn({ err: (err as Error).message, entries: batch.length }, 'change notice could not be sent; other nodes may answer older versions until their next resync');
        }
        for (const waiting of batch) waiting.done();
        this.pending -= batch.length;
      }
    } finally {
      this.draining = false;
      if (this.pending === 0) for (const done of this.idle.splice(0)) done();
    }
  }

  /** Resolves once every notice announced so far was sent (before closing the connection). */
  flush(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((done) => this.idle.push(done));
  }
}
