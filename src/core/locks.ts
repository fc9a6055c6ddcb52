/**
 * Write serialization. Writers to distinct entries run in parallel, writers to one entry queue up
 * (no lost read-modify-write), and structural changes (move, copy, delete) run alone.
 */
type Release = () => void;

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  waiting = 0;

  async acquire(): Promise<Release> {
    this.waiting++;
    let release!: Release;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => next);
    await previous;
    return () => {
      this.waiting--;
      release();
    };
  }
}

/** Shared/exclusive lock: many shared holders at once, or one exclusive holder. */
class SharedLock {
  private shared = 0;
  private exclusive = false;
  private queue: { exclusive: boolean; resolve: () => void }[] = [];

  acquire(exclusive: boolean): Promise<Release> {
    return new Promise((resolve) => {
      this.queue.push({ exclusive, resolve: () => resolve(() => this.release(exclusive)) });
      this.drain();
    });
  }

  private release(exclusive: boolean): void {
    if (exclusive) this.exclusive = false;
    else this.shared--;
    this.drain();
  }

  private drain(): void {
    while (this.queue.length > 0 && !this.exclusive) {
      const head = this.queue[0]!;
      if (head.exclusive) {
        if (this.shared > 0) return;
        this.queue.shift();
        this.exclusive = true;
        head.resolve();
        return;
      }
      this.queue.shift();
      this.shared++;
      head.resolve();
    }
  }
}

export class WriteLocks {
  private readonly tree = new SharedLock();
  private readonly entries = new Map<string, Mutex>();

  /** Runs `fn` while holding the lock of one entry (and a shared hold on the tree). */
  async withEntry<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const releaseTree = await this.tree.acquire(false);
    let mutex = this.entries.get(id);
    if (!mutex) {
      mutex = new Mutex();
      this.entries.set(id, mutex);
    }
    const release = await mutex.acquire();
    try {
      return await fn();
    } finally {
      release();
      if (mutex.waiting === 0) this.entries.delete(id);
      releaseTree();
    }
  }

  /** Runs `fn` alone: no other write is in progress meanwhile. */
  async withTree<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.tree.acquire(true);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
