/**
 * Copying entries from one storage engine to another (files ⇄ PostgreSQL, or either to itself) and
 * checking afterwards that every entry arrived identical. Engine-neutral: it streams `list` batches
 * and moves each entry's stored text with `readSource`/`writeSource`, a bounded number at a time,
 * so memory stays flat however many entries there are.
 *
 * Restartable without a checkpoint: a re-run with `resume` compares each entry's text at the target
 * with the source and skips those already identical, so an interrupted copy (even SIGKILL) is
 * completed by running it again, and a source changed meanwhile is still copied as it is now.
 */
import { isDeepStrictEqual } from 'node:util';
import pLimit, { type LimitFunction } from 'p-limit';
import { StorageError, type SourceItem, type StorageEngine } from './engine.js';

export type TransferMode =
  /** The target must be empty (checked by the caller): every entry is written without comparing. */
  | 'fresh'
  /** Entries identical at the target are skipped; missing or different ones are written (the source wins). */
  | 'resume'
  /** Every entry is written, identical or not. */
  | 'force';

export interface TransferProgress {
  /** Entries to copy (undefined until counted). */
  total: number | undefined;
  done: number;
  copied: number;
  skipped: number;
  failed: number;
}

export interface EntryFailure {
  id: string;
  reason: string;
}

export interface TransferResult extends TransferProgress {
  /** The first failures (at most `maxReported`), with their reasons. */
  failures: EntryFailure[];
}

export interface TransferOptions {
  mode: TransferMode;
  /** Which ids take part (e.g. without the tokens subtree); all by default. */
  include?: (id: string) => boolean;
  /** Entries read and written at once (default 16). */
  concurrency?: number;
  /** Failures kept with their reasons (the count is always exact). */
  maxReported?: number;
  total?: number;
  onProgress?: (progress: TransferProgress) => void;
}

/** Thrown when the run cannot go on (a side became unavailable): what was copied stays, a re-run resumes. */
export class TransferAborted extends Error {
  override readonly name = 'TransferAborted';
  constructor(
    message: string,
    readonly progress: TransferResult,
  ) {
    super(message);
  }
}

const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** How many included entries `engine` holds (one pass over the ids, nothing kept). */
export async function countEntries(engine: StorageEngine, include: (id: string) => boolean = () => true): Promise<number> {
  let n = 0;
  for await (const batch of engine.list('')) for (const id of batch) if (include(id)) n++;
  return n;
}

/** True when the engine holds at least one entry. */
export async function hasEntries(engine: StorageEngine): Promise<boolean> {
  for await (const batch of engine.list('')) if (batch.length > 0) return true;
  return false;
}

/**
 * The source text of `id` as it really is: a file that is not valid UTF-8 is read lossily by the
 * file engine (its byte count then differs from the text's), and copying that would not be a copy.
 */
async function sourceOf(engine: StorageEngine, id: string): Promise<{ text: string; extension: string } | undefined> {
  const source = await engine.readSource(id);
  if (source && source.text.includes('\uFFFD')) {
    const revision = await engine.revision(id);
    if (revision && revision.size !== Buffer.byteLength(source.text)) {
      throw new StorageError(`entry "${id}" is not valid UTF-8; it cannot be copied byte-for-byte`, 'not_utf8');
    }
  }
  return source;
}

/** Entries read, compared and written together (one statement each way on PostgreSQL). */
const CHUNK = 500;

type Text = { text: string; extension: string };

/** The stored texts of `ids` (absent ids are missing): in one query where the engine can, else a few at a time. */
async function readMany(engine: StorageEngine, ids: string[], limit: LimitFunction, check: boolean): Promise<Map<string, Text | Error>> {
  if (engine.readSources) return engine.readSources(ids);
  const out = new Map<string, Text | Error>();
  await Promise.all(
    ids.map((id) =>
      limit(async () => {
        try {
          const text = check ? await sourceOf(engine, id) : await engine.readSource(id);
          if (text) out.set(id, text);
        } catch (err) {
          if (err instanceof StorageError && err.reason === 'unavailable') throw err;
          out.set(id, err as Error);
        }
      }),
    ),
  );
  return out;
}

/** Writes `items`; returns the failures by id. */
async function writeMany(engine: StorageEngine, items: SourceItem[], limit: LimitFunction): Promise<Map<string, Error>> {
  const failed = new Map<string, Error>();
  if (items.length === 0) return failed;
  if (engine.writeSources) {
    const refused = await engine.writeSources(items);
    refused.forEach((err, i) => err && failed.set(items[i]!.id, err));
    return failed;
  }
  await Promise.all(
    items.map((item) =>
      limit(async () => {
        try {
          await engine.writeSource(item.id, item.text, item.extension);
        } catch (err) {
          if (err instanceof StorageError && err.reason === 'unavailable') throw err;
          failed.set(item.id, err as Error);
        }
      }),
    ),
  );
  return failed;
}

/** Chunks of the included ids, in list order (a list batch at a time: memory flat). */
async function* chunksOf(engine: StorageEngine, include: (id: string) => boolean): AsyncGenerator<string[]> {
  for await (const batch of engine.list('')) {
    const ids = batch.filter(include);
    for (let i = 0; i < ids.length; i += CHUNK) yield ids.slice(i, i + CHUNK);
  }
}

function asAborted(err: unknown, result: TransferResult): unknown {
  return err instanceof StorageError && err.reason === 'unavailable' ? new TransferAborted(err.message, result) : err;
}

export async function transferEntries(from: StorageEngine, to: StorageEngine, options: TransferOptions): Promise<TransferResult> {
  const include = options.include ?? (() => true);
  const maxReported = options.maxReported ?? 100;
  const limit = pLimit(options.concurrency ?? 16);
  const result: TransferResult = { total: options.total, done: 0, copied: 0, skipped: 0, failed: 0, failures: [] };
  const fail = (id: string, reason: string) => {
    result.failed++;
    if (result.failures.length < maxReported) result.failures.push({ id, reason });
  };
  // One chunk is written while the next is read (the two sides work at the same time).
  let writing: Promise<void> = Promise.resolve();
  try {
    for await (const ids of chunksOf(from, include)) {
      const sources = await readMany(from, ids, limit, true);
      const existing = options.mode === 'resume' ? await readMany(to, ids, limit, false) : undefined;
      const items: SourceItem[] = [];
      let skipped = 0;
      const failedHere: [string, string][] = [];
      for (const id of ids) {
        const source = sources.get(id);
        if (source === undefined) failedHere.push([id, 'disappeared from the source during the copy']);
        else if (source instanceof Error) failedHere.push([id, reasonOf(source)]);
        else if (existing && isSame(existing.get(id), source)) skipped++;
        else items.push({ id, text: source.text, extension: source.extension });
      }
      await writing;
      writing = writeMany(to, items, limit).then((failed) => {
        for (const [id, reason] of failedHere) fail(id, reason);
        for (const [id, err] of failed) fail(id, reasonOf(err));
        result.copied += items.length - failed.size;
        result.skipped += skipped;
        result.done += ids.length;
        options.onProgress?.(result);
      });
    }
    await writing;
  } catch (err) {
    await writing.catch(() => undefined);
    throw asAborted(err, result);
  }
  return result;
}

function isSame(a: Text | Error | undefined, b: Text): boolean {
  return a !== undefined && !(a instanceof Error) && a.text === b.text && a.extension === b.extension;
}

export interface VerifyResult {
  checked: number;
  identical: number;
  /** At the source, not at the target. */
  missing: number;
  /** Text, extension or fields differ. */
  different: number;
  /** At the target, not at the source (reported, not a difference of the copied entries). */
  extra: number;
  /** The first differences, with what differs. */
  differences: EntryFailure[];
}

export interface VerifyOptions {
  include?: (id: string) => boolean;
  concurrency?: number;
  maxReported?: number;
  onProgress?: (progress: { done: number; total: number | undefined }) => void;
  total?: number;
  /** The fields of a stored text (the collection's serializer): tells a formatting-only difference from a change. */
  decode?: (id: string, text: string) => unknown;
}

/**
 * Re-reads every entry on both sides: the stored text must be equal byte-for-byte (and the
 * extension; equal text means equal fields, as both engines decode fields from that text). A
 * difference says whether the fields decoded from both texts are still equal (formatting only).
 * Then counts the entries only the target has (reported, not a failure).
 */
export async function verifyEntries(from: StorageEngine, to: StorageEngine, options: VerifyOptions = {}): Promise<VerifyResult> {
  const include = options.include ?? (() => true);
  const limit = pLimit(options.concurrency ?? 16);
  const maxReported = options.maxReported ?? 100;
  const decode = options.decode ?? (() => undefined);
  const result: VerifyResult = { checked: 0, identical: 0, missing: 0, different: 0, extra: 0, differences: [] };
  const differ = (id: string, reason: string) => {
    result.different++;
    if (result.differences.length < maxReported) result.differences.push({ id, reason });
  };
  for await (const ids of chunksOf(from, include)) {
    const [a, b] = await Promise.all([readMany(from, ids, limit, true), readMany(to, ids, limit, false)]);
    for (const id of ids) {
      const left = a.get(id);
      const right = b.get(id);
      // Deleted at the source since it was listed: nothing to compare.
      if (left === undefined) continue;
      result.checked++;
      if (left instanceof Error) differ(id, `cannot be read at the source: ${left.message}`);
      else if (right === undefined) {
        result.missing++;
        if (result.differences.length < maxReported) result.differences.push({ id, reason: 'missing at the target' });
      } else if (right instanceof Error) differ(id, `cannot be read at the target: ${right.message}`);
      else if (left.extension !== right.extension) differ(id, `stored as .${right.extension} at the target, .${left.extension} at the source`);
      else if (left.text !== right.text) {
        const same = isDeepStrictEqual(decode(id, left.text), decode(id, right.text));
        differ(id, `text differs (${Buffer.byteLength(left.text)} bytes at the source, ${Buffer.byteLength(right.text)} at the target; fields ${same ? 'equal' : 'differ'})`);
      } else {
        result.identical++;
      }
    }
    options.onProgress?.({ done: result.checked, total: options.total });
  }
  // What only the target holds: the source is asked about the target's ids, a chunk at a time.
  for await (const ids of chunksOf(to, include)) {
    const there = from.readSources ? await from.readSources(ids) : undefined;
    await Promise.all(
      ids.map((id) =>
        limit(async () => {
          if (there ? !there.has(id) : (await from.revision(id)) === undefined) result.extra++;
        }),
      ),
    );
  }
  return result;
}

