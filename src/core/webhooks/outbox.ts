/**
 * The webhook outbox on disk (<project>/var/webhooks/): events wait there until every endpoint has
 * had them, so a restart (or a crash) loses none.
 * - outbox.jsonl: one event per line, appended and fsync'd by the server before the API answers
 *   (concurrent appends share one fsync). Only the server writes it.
 * - inbox/: events recorded by other processes (CLI commands), one file each, written to a temporary
 *   name, fsync'd and renamed; the server moves them into outbox.jsonl.
 * - state.json: per endpoint, the last event it has had (delivered or given up), and the next number.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { isPlainObject } from '../util.js';
import type { WebhookEvent } from './events.js';

export interface StoredEvent extends WebhookEvent {
  /** Position in the outbox: delivery order. */
  seq: number;
}

export interface OutboxState {
  next_seq: number;
  /** Endpoint key → seq of the last event it has had. */
  cursors: Record<string, number>;
}

export function webhooksDir(projectDir: string): string {
  return path.join(projectDir, 'var', 'webhooks');
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a file whole (temporary name, fsync, rename): readers see the old or the new content. */
export async function writeFileAtomic(file: string, text: string, durable: boolean): Promise<void> {
  const tmp = path.join(path.dirname(file), `.tmp-${path.basename(file)}-${randomBytes(6).toString('hex')}`);
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  if (durable) await syncDir(path.dirname(file));
}

let inboxCounter = 0;

/** Records an event from a process that is not the server (a CLI command); the server delivers it. */
export async function recordInInbox(projectDir: string, event: WebhookEvent, durable: boolean): Promise<void> {
  const dir = path.join(webhooksDir(projectDir), 'inbox');
  mkdirSync(dir, { recursive: true });
  // Named so that sorting the names gives the order they were recorded in.
  const name = `${String(Date.now()).padStart(15, '0')}-${String(process.pid).padStart(8, '0')}-${String(inboxCounter++).padStart(6, '0')}.json`;
  await writeFileAtomic(path.join(dir, name), JSON.stringify(event), durable);
}

function isEvent(value: unknown): value is StoredEvent {
  return (
    isPlainObject(value) &&
    Number.isInteger(value['seq']) &&
    typeof value['id'] === 'string' &&
    typeof value['event'] === 'string' &&
    typeof value['occurred_at'] === 'string' &&
    isPlainObject(value['data'])
  );
}

interface Pending {
  event: StoredEvent;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The server's side of the outbox: the events not yet had by every endpoint, in memory and on disk. */
export class Outbox {
  readonly dir: string;
  private readonly file: string;
  private readonly stateFile: string;
  /** Events in seq order, from the oldest some endpoint still needs. */
  events: StoredEvent[] = [];
  state: OutboxState = { next_seq: 1, cursors: {} };
  private handle: FileHandle | undefined;
  private size = 0;
  private queue: Pending[] = [];
  /** Every write to outbox.jsonl goes through this chain: appends and rewrites never interleave. */
  private chain: Promise<void> = Promise.resolve();
  private stateWrite: Promise<void> | undefined;
  private stateDirty = false;

  constructor(
    projectDir: string,
    private readonly durable: boolean,
    private readonly onAppended: () => void,
    private readonly warn: (msg: string) => void = () => {},
  ) {
    this.dir = webhooksDir(projectDir);
    this.file = path.join(this.dir, 'outbox.jsonl');
    this.stateFile = path.join(this.dir, 'state.json');
  }

  /** Reads the outbox and its state; a line cut short by a crash (never acknowledged) is dropped. */
  async open(): Promise<void> {
    mkdirSync(path.join(this.dir, 'inbox'), { recursive: true });
    try {
      const parsed: unknown = JSON.parse(await readFile(this.stateFile, 'utf8'));
      if (isPlainObject(parsed) && Number.isInteger(parsed['next_seq']) && isPlainObject(parsed['cursors'])) {
        this.state = parsed as unknown as OutboxState;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(`webhooks: ${this.stateFile} unreadable, starting from the outbox alone`);
    }
    let text = '';
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const complete = text.lastIndexOf('\n') + 1;
    for (const line of text.slice(0, complete).split('\n')) {
      if (line === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (isEvent(parsed)) this.events.push(parsed);
      else this.warn('webhooks: an unreadable line in the outbox was skipped');
    }
    const last = this.events[this.events.length - 1];
    if (last && last.seq >= this.state.next_seq) this.state.next_seq = last.seq + 1;
    this.handle = await open(this.file, 'a', 0o600);
    if (complete < text.length) {
      // A write cut short by a crash: its event was never acknowledged.
      await this.handle.truncate(Buffer.byteLength(text.slice(0, complete)));
    }
    this.size = (await this.handle.stat()).size;
  }

  /** Appends events; resolves when they are on disk (fsync'd when storage is durable). */
  append(events: WebhookEvent[]): Promise<void> {
    const promises = events.map(
      (event) =>
        new Promise<void>((resolve, reject) => {
          this.queue.push({ event: { seq: this.state.next_seq++, ...event }, resolve, reject });
        }),
    );
    if (this.queue.length === events.length) this.chain = this.chain.then(() => this.flush());
    return Promise.all(promises).then(() => undefined);
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0);
    if (batch.length === 0 || !this.handle) {
      for (const item of batch) item.reject(new Error('the webhook outbox is closed'));
      return;
    }
    const text = batch.map((item) => JSON.stringify(item.event) + '\n').join('');
    try {
      await this.handle.write(text);
      if (this.durable) await this.handle.datasync();
      this.size += Buffer.byteLength(text);
    } catch (err) {
      // Leave no half line for the next append to continue.
      await this.handle.truncate(this.size).catch(() => undefined);
      for (const item of batch) item.reject(err as Error);
      return;
    }
    for (const item of batch) {
      this.events.push(item.event);
      item.resolve();
    }
    this.onAppended();
  }

  /** Moves events recorded by CLI commands into the outbox, oldest first. */
  async importInbox(): Promise<number> {
    const dir = path.join(this.dir, 'inbox');
    let names: string[];
    try {
      names = (await readdir(dir)).filter((name) => name.endsWith('.json') && !name.startsWith('.')).sort();
    } catch {
      return 0;
    }
    let imported = 0;
    for (const name of names) {
      const file = path.join(dir, name);
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(file, 'utf8'));
      } catch {
        this.warn(`webhooks: unreadable inbox file ${name} skipped`);
        await rm(file, { force: true });
        continue;
      }
      if (!isEvent({ seq: 0, ...(isPlainObject(parsed) ? parsed : {}) })) {
        this.warn(`webhooks: inbox file ${name} is no event; skipped`);
        await rm(file, { force: true });
        continue;
      }
      const { id, event, occurred_at, data } = parsed as unknown as WebhookEvent;
      await this.append([{ id, event, occurred_at, data }]);
      // Removed only once in the outbox: a crash in between delivers it twice, never zero times.
      await rm(file, { force: true });
      imported++;
    }
    // Temporary files a crashed CLI command left (never renamed, never acknowledged).
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith('.tmp-')) continue;
      const info = await stat(path.join(dir, name)).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > 3_600_000) await rm(path.join(dir, name), { force: true });
    }
    return imported;
  }

  /** Saves the cursors (coalesced: one write at a time, the latest state wins). */
  saveState(): Promise<void> {
    this.stateDirty = true;
    this.stateWrite ??= (async () => {
      try {
        while (this.stateDirty) {
          this.stateDirty = false;
          await writeFileAtomic(this.stateFile, JSON.stringify(this.state), this.durable);
        }
      } finally {
        this.stateWrite = undefined;
      }
    })();
    return this.stateWrite;
  }

  /**
   * Forgets events every endpoint has had (seq ≤ `upTo`): in memory, and on disk when the file has
   * grown past `minBytes` (rewritten whole, then renamed over the old one).
   */
  compact(upTo: number, minBytes: number): Promise<void> {
    const keepFrom = this.events.findIndex((event) => event.seq > upTo);
    const dropped = keepFrom === -1 ? this.events.length : keepFrom;
    if (dropped === 0) return this.chain;
    this.events = this.events.slice(dropped);
    if (this.size < minBytes) return this.chain;
    this.chain = this.chain.then(async () => {
      if (!this.handle) return;
      // Events appended meanwhile are in `this.events` already (appends run on this same chain).
      const text = this.events.map((event) => JSON.stringify(event) + '\n').join('');
      await this.saveState();
      await writeFileAtomic(this.file, text, this.durable);
      await this.handle.close();
      this.handle = await open(this.file, 'a', 0o600);
      this.size = Buffer.byteLength(text);
    });
    return this.chain;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.stateWrite;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}

export async function readJsonLines(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: unknown[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A line cut short by a crash: skipped.
    }
  }
  return out;
}
