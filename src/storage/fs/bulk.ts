/**
 * The main-thread side of bulk-worker.ts: one worker thread per engine, started on first use and
 * unref'd while idle (it never keeps the process alive), stopped by `close`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ReadItem, ReadResult, ScanChanges, WorkerReply, WorkerRequest } from './bulk-worker.js';

// Run from source (tsx) this module is bulk.ts and the worker its sibling .ts; built, both are .js.
const FROM_SOURCE = path.extname(fileURLToPath(import.meta.url)) === '.ts';
const WORKER_FILE = new URL(`./bulk-worker${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

/** Node 20 does not carry tsx's loader into worker threads: from source the worker registers it first. */
function workerExecArgv(): string[] | undefined {
  if (!FROM_SOURCE) return undefined;
  let api: string;
  try {
    api = import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
  const boot = `import { register } from ${JSON.stringify(api)}; register();`;
  return [...process.execArgv, '--import', `data:text/javascript,${encodeURIComponent(boot)}`];
}

type WalkReply = Extract<WorkerReply, { op: 'walk' }>;

interface Pending {
  onReply(reply: WorkerReply): void;
  onError(err: Error): void;
}

export class BulkWorker {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  /** A scan runs for good: its worker never keeps the process alive. */
  private scanning = false;

  private start(): Worker {
    if (this.worker) return this.worker;
    const execArgv = workerExecArgv();
    const worker = new Worker(WORKER_FILE, execArgv ? { execArgv } : {});
    worker.on('message', (reply: WorkerReply) => {
      const waiting = this.pending.get(reply.seq);
      if (!waiting) return;
      if (reply.op === 'fail') {
        this.pending.delete(reply.seq);
        waiting.onError(Object.assign(new Error(reply.message), reply.code ? { code: reply.code } : {}));
      } else {
        waiting.onReply(reply);
      }
      this.idle();
    });
    const fail = (err: Error) => {
      for (const waiting of this.pending.values()) waiting.onError(err);
      this.pending.clear();
      this.worker = undefined;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.worker === worker) fail(new Error(`bulk file reader stopped (exit code ${code})`));
    });
    this.worker = worker;
    return worker;
  }

  private idle(): void {
    if (this.pending.size === 0 || this.scanning) this.worker?.unref();
  }

  private send(request: WorkerRequest, pending: Pending): void {
    const worker = this.start();
    worker.ref();
    this.pending.set(request.seq, pending);
    worker.postMessage(request);
  }

  read(root: string, items: ReadItem[]): Promise<ReadResult[]> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.send(
        { op: 'read', seq, root, items },
        {
          onReply: (reply) => {
            this.pending.delete(seq);
            resolve((reply as Extract<WorkerReply, { op: 'read' }>).results);
          },
          onError: reject,
        },
      );
    });
  }

  /** Walks the tree below `start` (segments; `prefix` is its id), yielding the worker's batches in order. */
  async *walk(root: string, start: string[], prefix: string, batch: number): AsyncGenerator<WalkReply> {
    const seq = ++this.seq;
    const queue: WalkReply[] = [];
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const cancel = new SharedArrayBuffer(4);
    this.send(
      { op: 'walk', seq, root, start, prefix, batch, cancel },
      {
        onReply: (reply) => {
          const walkReply = reply as WalkReply;
          if (walkReply.done) this.pending.delete(seq);
          queue.push(walkReply);
          wake?.();
        },
        onError: (err) => {
          failure = err;
          wake?.();
        },
      },
    );
    try {
      for (;;) {
        while (queue.length === 0 && !failure) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        if (queue.length === 0 && failure) throw failure;
        const reply = queue.shift()!;
        yield reply;
        if (reply.done) return;
      }
    } finally {
      // A consumer that stopped early (or a failure): the worker ends its walk at the next folder.
      Atomics.store(new Int32Array(cancel), 0, 1);
    }
  }

  /**
   * Starts stat passes over the tree at `root` (see bulk-worker.ts TreeScanner), one every
   * `intervalMs` after the previous ended; `onPass` gets each pass's changed paths. Resolves after
   * the first pass (the baseline). The worker should be one of its own: a pass holds it for a while.
   */
  scan(root: string, intervalMs: number, onPass: (changed: ScanChanges, pass: number, ms: number) => void, onError: (err: Error) => void): Promise<void> {
    const seq = ++this.seq;
    this.scanning = true;
    return new Promise((resolve, reject) => {
      let first = true;
      this.send(
        { op: 'scan', seq, root, intervalMs },
        {
          onReply: (reply) => {
            const scanReply = reply as Extract<WorkerReply, { op: 'scan' }>;
            onPass(scanReply.changed, scanReply.pass, scanReply.ms);
            if (first) {
              first = false;
              resolve();
            }
          },
          onError: (err) => {
            if (first) {
              first = false;
              reject(err);
            } else onError(err);
          },
        },
      );
      // Passes go on for the life of the feed: they never keep the process alive.
      this.worker?.unref();
    });
  }

  /** Stops the worker (a later call starts a new one). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.scanning = false;
    this.pending.clear();
    if (worker) await worker.terminate();
  }
}
