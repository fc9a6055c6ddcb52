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
import pLimit from 'p-limit';
import { StorageError, type StorageEngine } from './engine.js';

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

/** Runs `work` for every included id of `engine`, `concurrency` at a time, batch after batch. */
async function forEachId(
  engine: StorageEngine,
  include: (id: string) => boolean,
  concurrency: number,
  work: (id: string) => Promise<void>,
): Promise<void> {
  const limit = pLimit(concurrency);
  for await (const batch of engine.list('')) {
    await Promise.all(batch.filter(include).map((id) => limit(() => work(id))));
  }
}

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

export async function transferEntries(from: StorageEngine, to: StorageEngine, options: TransferOptions): Promise<TransferResult> {
  const include = options.include ?? (() => true);
  const maxReported = options.maxReported ?? 100;
  const result: TransferResult = { total: options.total, done: 0, copied: 0, skipped: 0, failed: 0, failures: [] };
  let aborted: Error | undefined;
  const fail = (id: string, reason: string) => {
    result.failed++;
    if (result.failures.length < maxReported) result.failures.push({ id, reason });
  };
  await forEachId(from, include, options.concurrency ?? 16, async (id) => {
    if (aborted) return;
    try {
      const source = await sourceOf(from, id);
      if (!source) {
        fail(id, 'disappeared from the source during the copy');
      } else if (options.mode === 'resume' && isSame(await to.readSource(id), source)) {
        result.skipped++;
      } else {
        await to.writeSource(id, source.text, source.extension);
        result.copied++;
      }
    } catch (err) {
      // A side that went away fails every entry alike: stop, and say how to go on.
      if (err instanceof StorageError && err.reason === 'unavailable') {
        aborted ??= err;
        return;
      }
      fail(id, reasonOf(err));
    }
    result.done++;
    options.onProgress?.(result);
  });
  if (aborted) throw new TransferAborted(aborted.message, result);
  return result;
}

function isSame(a: { text: string; extension: string } | undefined, b: { text: string; extension: string } | undefined): boolean {
  return a !== undefined && b !== undefined && a.text === b.text && a.extension === b.extension;
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
}

/**
 * Re-reads every entry on both sides: the stored text must be equal byte-for-byte (and the
 * extension), and the fields each engine reads from it must be deep-equal. Then counts the entries
 * only the target has.
 */
export async function verifyEntries(from: StorageEngine, to: StorageEngine, options: VerifyOptions = {}): Promise<VerifyResult> {
  const include = options.include ?? (() => true);
  const concurrency = options.concurrency ?? 16;
  const maxReported = options.maxReported ?? 100;
  const result: VerifyResult = { checked: 0, identical: 0, missing: 0, different: 0, extra: 0, differences: [] };
  const note = (id: string, reason: string) => {
    if (result.differences.length < maxReported) result.differences.push({ id, reason });
  };
  let aborted: Error | undefined;
  await forEachId(from, include, concurrency, async (id) => {
    if (aborted) return;
    try {
      const [a, b] = await Promise.all([sourceOf(from, id), to.readSource(id)]);
      if (!a) {
        // Deleted at the source since it was listed: nothing to compare.
      } else if (!b) {
        result.missing++;
        note(id, 'missing at the target');
      } else if (a.extension !== b.extension) {
        result.different++;
        note(id, `stored as .${b.extension} at the target, .${a.extension} at the source`);
      } else if (a.text !== b.text) {
        result.different++;
        note(id, `text differs (${Buffer.byteLength(a.text)} bytes at the source, ${Buffer.byteLength(b.text)} at the target)`);
      } else {
        const [fa, fb] = await Promise.all([fieldsOf(from, id), fieldsOf(to, id)]);
        if (!isDeepStrictEqual(fa, fb)) {
          result.different++;
          note(id, 'fields differ');
        } else {
          result.identical++;
        }
      }
    } catch (err) {
      if (err instanceof StorageError && err.reason === 'unavailable') {
        aborted ??= err;
        return;
      }
      result.different++;
      note(id, reasonOf(err));
    }
    result.checked++;
    options.onProgress?.({ done: result.checked, total: options.total });
  });
  if (aborted) throw aborted;
  await forEachId(to, include, concurrency, async (id) => {
    if ((await from.revision(id)) === undefined) result.extra++;
  });
  return result;
}

/** The fields the engine reads, or the reason it cannot (the same unreadable text reads the same everywhere). */
async function fieldsOf(engine: StorageEngine, id: string): Promise<unknown> {
  try {
    return (await engine.read(id))?.fields;
  } catch (err) {
    if (err instanceof StorageError && err.reason === 'unreadable') return { unreadable: true };
    throw err;
  }
}
