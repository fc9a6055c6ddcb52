/**
 * Entry operations shared by the REST API and the CLI: fetch (one entry or a collection), create,
 * update, move, copy, delete. Every id is checked here; every write holds the matching lock.
 */
import { randomUUID } from 'node:crypto';
import type { Fields } from '../../storage/serializers/index.js';
import { StorageError, type FormatResolver } from '../../storage/engine.js';
import { DecodeError } from '../../storage/serializers/index.js';
import { retryOnConflict } from '../store/retry.js';
import { EncodeError } from '../../storage/serializers/index.js';
import { nowForStorage } from '../dates.js';
import { badRequest, CmsError, conflict, notFound, preconditionFailed, storageFailure } from '../errors.js';
import { isUnderRoot, isValidId, isWithin, normalizeId, parentOf, type IdLimits } from '../ids.js';
import { runCollectionQuery, type QueryLimits } from '../query/collection.js';
import type { PushdownOptions } from '../query/pushed.js';
import { filterFields, type FilterResult } from '../query/filter.js';
import { parseFetchOptions } from '../query/options.js';
import { etagListIncludes, etagOf, type CachedEntry, type ContentStore } from '../store/store.js';
import { isPlainObject, MAX_NESTING, nestingDepth, sanitizeKeys, type PlainObject } from '../util.js';
import type { RenderedAnswer, Renderer } from '../render/renderer.js';
import type { RenderSession } from '../render/session.js';
import type { EventSink } from '../webhooks/events.js';
import { TOKENS_ROOT } from './present.js';

/**
 * Ids the Entries API never reaches: the tokens folder, in any spelling a case-insensitive file
 * system would take for it (`Tokens`, `TOKENS/x`, `to\u212Aens`, `tokens.`).
 */
/** Top-level keys presentFields (present.ts) adds or changes, and the token hash it hides. */
const PRESENTED_KEYS = new Set(['content', 'slug', 'published_at', 'modified_at', 'created_at', 'routable', 'visibility', 'id', 'hashed_access_token']);

export function isReservedId(id: string): boolean {
  return isUnderRoot(id, TOKENS_ROOT);
}

/** Ids a collection may list: exactly those the single-entry API serves. */
export function isListableId(id: string, limits: IdLimits): boolean {
  return isValidId(id, limits);
}

export type FetchResult =
  | {
      kind: 'entry';
      entry: CachedEntry;
      data: PlainObject;
      filtered: boolean;
      /** The unfiltered answer's JSON and ETag (the rendering's, or the file's for plain entries). */
      answer: RenderedAnswer;
    }
  | { kind: 'collection'; result: FilterResult; skipped: string[] };

export interface FetchHooks {
  /** Awaited before a collection's entries are loaded, with their number (e.g. to queue heavy queries). */
  admit?: (candidates: number) => Promise<void>;
  /** The request's rendering (shared by every entry it renders); a fresh one by default. */
  session?: RenderSession;
}

const VISIBILITY = new Set(['visible', 'draft', 'hidden']);

/**
 * Checks an If-Match header value against an entry's current ETag; `*` matches any version. The
 * ETag of a rendered answer names the file's revision plus its rendering: the file part decides.
 */
export function assertIfMatch(entry: CachedEntry, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  if (!etagListIncludes(ifMatch.replace(/~[0-9a-z]+"/g, '"'), entry.etag)) {
    throw preconditionFailed(`the entry has changed (current ETag ${entry.etag})`);
  }
}

export function asDataMap(data: unknown, required: boolean, maxDepth = MAX_NESTING): Fields {
  if (data === undefined || data === '') {
    if (required) throw badRequest('parameter "data" is required');
    return {};
  }
  if (!isPlainObject(data)) throw badRequest('parameter "data" must be an object of fields');
  // Refused, never cut: what is acknowledged is what is stored.
  if (nestingDepth(data, maxDepth + 1) > maxDepth) {
    throw badRequest(`parameter "data" is nested more than ${maxDepth} levels deep (entries.max_data_depth)`);
  }
  return sanitizeKeys(data) as Fields;
}

export class EntriesService {
  private renderer: Renderer | undefined;
  /** Where changes are reported (webhooks), under the write's lock, before the caller is answered. */
  private emit: EventSink = async () => {};

  constructor(
    private readonly store: ContentStore,
    private readonly idLimits: IdLimits & { max_data_depth: number; date_fields?: readonly string[] },
    private readonly queryLimits: QueryLimits,
    /** The file format of each id: the raw editor checks a text parses before storing it. */
    private readonly formatOf?: FormatResolver,
  ) {}

  /** Off by default (`query.pushdown`): exact, but slower than memory until SQL key columns exist. */
  pushdownEnabled = false;

  attachEvents(sink: EventSink): void {
    this.emit = sink;
  }

  /** What an engine that answers queries itself must know (query/pushed.ts): keys the presenter changes, and the tokens subtree. */
  private get pushdownOptions(): PushdownOptions {
    const dates = new Set(this.idLimits.date_fields ?? []);
    return { excluded: [TOKENS_ROOT], presented: (key) => PRESENTED_KEYS.has(key) || dates.has(key) };
  }

  /** Fetches render through it (and it fetches other entries for content through us). */
  attachRenderer(renderer: Renderer): void {
    this.renderer = renderer;
  }

  /** An entry as every answer shows it: rendered, without private fields. */
  async answerOf(entry: CachedEntry, session?: RenderSession): Promise<RenderedAnswer> {
    if (!this.renderer) return { view: entry.view, etag: entry.etag, json: this.store.jsonOf(entry) };
    return this.renderer.view(entry, session ?? this.renderer.session());
  }

  /** An entry being rendered higher up this request's chain: left out of the collections it reads. */
  private inChain(id: string, session: RenderSession | undefined): boolean {
    if (!session || !session.chain.includes(id)) return false;
    session.markVolatile();
    return true;
  }

  /** The answer of a cached entry when it is ready without any work (the fast path), else undefined. */
  peekAnswer(entry: CachedEntry): RenderedAnswer | undefined {
    if (!this.renderer) return { view: entry.view, etag: entry.etag, json: this.store.jsonOf(entry) };
    return this.renderer.peek(entry);
  }

  private id(raw: unknown, param = 'id', allowRoot = false): string {
    const id = normalizeId(raw, this.idLimits, allowRoot, param);
    if (isReservedId(id)) throw notFound(`entry "${id}" does not exist (tokens are managed through the Tokens API)`);
    return id;
  }

  /** The entry or a 404; `fresh` (for writers) checks the file instead of trusting the cache. */
  private async existing(id: string, fresh = false): Promise<CachedEntry> {
    const entry = await this.readEntry(id, fresh);
    if (!entry) throw notFound(`entry "${id}" does not exist`);
    return entry;
  }

  private async readEntry(id: string, fresh = false): Promise<CachedEntry | undefined> {
    try {
      return await (fresh ? this.store.getFresh(id) : this.store.get(id));
    } catch (err) {
      throw this.failure(err, `reading entry "${id}"`);
    }
  }

  /** A storage failure as the client error it means (else unchanged). */
  private failure(err: unknown, what: string): unknown {
    // Data the file format cannot hold exactly is refused, never stored differently.
    if (err instanceof EncodeError) return badRequest(err.message);
    return storageFailure(err, what) ?? err;
  }

  /**
   * For delete and move: the entry's ETag, also when its file cannot be parsed (so a broken
   * entry can still be removed or moved away through the API).
   */
  private async existingEtag(id: string): Promise<{ etag: string; entry: CachedEntry | undefined }> {
    try {
      const entry = await this.store.getFresh(id);
      if (!entry) throw notFound(`entry "${id}" does not exist`);
      return { etag: entry.etag, entry };
    } catch (err) {
      if (!(err instanceof StorageError && err.reason === 'unreadable')) throw this.failure(err, `reading entry "${id}"`);
      const meta = await this.store.revision(id);
      if (!meta) throw notFound(`entry "${id}" does not exist`);
      return { etag: etagOf(meta), entry: undefined };
    }
  }

  private async assertParent(id: string, param: string): Promise<void> {
    const parent = parentOf(id);
    if (parent === '') return;
    let exists: boolean;
    try {
      // Read through the cache: the next create in the same folder needs no engine call.
      exists = (await this.store.get(parent)) !== undefined;
    } catch {
      exists = await this.store.has(parent); // a parent that cannot be parsed is a parent all the same
    }
    if (!exists) throw notFound(`parent entry "${parent}" of "${param}" does not exist`);
  }

  /** A cached entry by id when no disk access is needed to trust it; undefined otherwise (even for bad ids). */
  peek(rawId: string): CachedEntry | undefined {
    const key = this.peekKey(rawId);
    return key === undefined ? undefined : this.store.peek(key);
  }

  /** The id peek() looks up for `rawId` (undefined: one it never finds). Pure, so callers may remember it. */
  peekKey(rawId: string): string | undefined {
    try {
      const id = normalizeId(rawId, this.idLimits);
      return isReservedId(id) ? undefined : id;
    } catch {
      return undefined;
    }
  }

  /** peek() by an id from peekKey(). */
  peekByKey(key: string): CachedEntry | undefined {
    return this.store.peek(key);
  }

  async has(rawId: unknown): Promise<boolean> {
    // Token ids are no entries here: "no", not an error (a malformed id still is one).
    const id = normalizeId(rawId, this.idLimits, false, 'id');
    if (isReservedId(id)) return false;
    return (await this.readEntry(id)) !== undefined;
  }

  async fetch(rawId: unknown, rawOptions: unknown, hooks: FetchHooks = {}): Promise<FetchResult> {
    const options = parseFetchOptions(rawOptions);
    if (options.collection) {
      const base = this.id(rawId ?? '', 'id', true);
      if (!(await this.store.exists(base))) throw notFound(`entry "${base}" does not exist`);
      const skipped: string[] = [];
      const renderer = this.renderer;
      const session = hooks.session ?? renderer?.session();
      session?.readFolder(base, this.store.version);
      // Each item renders as a fetch without options; the filters then see the rendered fields.
      // The store's version covers every item (one check instead of one per item on a cache hit).
      const viewOf = renderer && session ? (entry: CachedEntry) => renderer.viewOf(entry, session) : undefined;
      const result = await runCollectionQuery(
        this.store,
        // Listed are exactly the ids the single-entry API serves: the same validator decides both.
        {
          base,
          find: options.find,
          filter: options.filter,
          // Ids the single-entry API refuses are never listed (the store applies the id rules).
          ...(session && session.chain.length > 0
            ? { hidden: (id: string) => isReservedId(id) || this.inChain(id, session) }
            : { hidden: isReservedId, hiddenIsPure: true, ...(this.pushdownEnabled ? { pushdown: this.pushdownOptions } : {}) }),
          admit: hooks.admit,
          onSkip: (id) => void (isReservedId(id) || skipped.push(id)),
          ...(viewOf && renderer ? { viewOf, isPlain: (entry: CachedEntry) => renderer.isPlain(entry) } : {}),
        },
        this.queryLimits,
      );
      return { kind: 'collection', result, skipped };
    }
    const id = this.id(rawId);
    const entry = await this.existing(id);
    hooks.session?.readEntry(entry.id, entry.etag);
    const answer = await this.answerOf(entry, hooks.session);
    const data = filterFields(answer.view, options.filter);
    return { kind: 'entry', entry, data, filtered: data !== answer.view, answer };
  }

  async create(rawId: unknown, rawData: unknown): Promise<CachedEntry> {
    const id = this.id(rawId);
    const data = asDataMap(rawData, false, this.idLimits.max_data_depth);
    return this.store.locks.withEntry(id, async () => {
      // Checked under the lock: a parent moved or deleted meanwhile must not get an orphan child.
      await this.assertParent(id, 'id');
      // Whether it exists is decided by the write itself (one step: no other node can create it in between).
      if (this.store.peek(id)) throw badRequest(`entry "${id}" already exists`);
      const now = nowForStorage();
      const visibility = typeof data['visibility'] === 'string' && VISIBILITY.has(data['visibility']) ? data['visibility'] : 'visible';
      const fields: Fields = {
        ...data,
        uuid: data['uuid'] ?? randomUUID(),
        created_at: data['created_at'] ?? now,
        published_at: data['published_at'] ?? now,
        created_by: data['created_by'] ?? '',
        published_by: data['published_by'] ?? '',
        routable: data['routable'] ?? true,
        visibility,
      };
      // A folder link on the way out of entries/ is refused by the store: a 400, not a 500.
      const created = await this.store.write(id, fields, { create: true }).catch((err: unknown) => {
        if (err instanceof StorageError && err.reason === 'exists') throw badRequest(`entry "${id}" already exists`);
        throw this.failure(err, `creating entry "${id}"`);
      });
      await this.emit('entries.created', { id, etag: created.etag });
      return created;
    });
  }

  async update(rawId: unknown, rawData: unknown, ifMatch?: string): Promise<CachedEntry> {
    const id = this.id(rawId);
    const data = asDataMap(rawData, true, this.idLimits.max_data_depth);
    return this.store.locks.withEntry(id, async () => {
      // Another writer (a node, an editor) may replace the entry between the read and the write:
      // the write names the revision it merged into, and a conflict merges again into the new one.
      // The client's If-Match is checked on every attempt: a 412 only once it no longer matches.
      // The first attempt merges into the cached copy when it is trusted (a change feed runs): no
      // read first. Stale after all, its write is a conflict, and the next attempt reads afresh;
      // an If-Match it does not match is decided by a fresh read too.
      let first = true;
      const updated = await retryOnConflict(async () => {
        const cached = first ? this.store.peek(id) : undefined;
        first = false;
        if (cached && (ifMatch === undefined || etagListIncludes(ifMatch.replace(/~[0-9a-z]+"/g, '"'), cached.etag))) {
          return this.store.write(id, { ...cached.fields, ...data }, { expected: cached.meta.revision });
        }
        let entry: CachedEntry;
        try {
          entry = await this.existing(id, true);
        } catch (err) {
          // Merging into fields that cannot be read would lose the rest of the file.
          if (err instanceof CmsError && err.code === 'entry_unreadable') throw conflict(`${err.detail}; fix or delete it first`);
          throw err;
        }
        assertIfMatch(entry, ifMatch);
        return this.store.write(id, { ...entry.fields, ...data }, { expected: entry.meta.revision });
      }).catch((err: unknown) => {
        throw this.failure(err, `updating entry "${id}"`);
      });
      await this.emit('entries.updated', { id, etag: updated.etag, fields: Object.keys(data) });
      return updated;
    });
  }

  private async targetChecks(id: string, newId: string): Promise<void> {
    if (newId === id) throw badRequest('"new_id" is the same as "id"');
    if (isWithin(newId, id)) throw badRequest('"new_id" lies inside the entry itself');
    if (await this.store.has(newId)) throw badRequest(`entry "${newId}" already exists`);
    await this.assertParent(newId, 'new_id');
  }

  /** Moves an entry; answers the moved entry, or undefined when its file cannot be parsed. */
  async move(rawId: unknown, rawNewId: unknown, ifMatch?: string): Promise<CachedEntry | undefined> {
    const id = this.id(rawId);
    const newId = this.id(rawNewId, 'new_id');
    return this.store.locks.withTree(async () => {
      const { etag, entry } = await this.existingEtag(id);
      if (ifMatch !== undefined && !etagListIncludes(ifMatch, etag)) throw preconditionFailed(`the entry has changed (current ETag ${etag})`);
      await this.targetChecks(id, newId);
      await this.store.move(id, newId).catch((err: unknown) => {
        throw this.failure(err, `moving entry "${id}"`);
      });
      await this.emit('entries.moved', { id, new_id: newId });
      return entry ? this.existing(newId) : undefined;
    });
  }

  async copy(rawId: unknown, rawNewId: unknown): Promise<CachedEntry> {
    const id = this.id(rawId);
    const newId = this.id(rawNewId, 'new_id');
    return this.store.locks.withTree(async () => {
      await this.existing(id);
      await this.targetChecks(id, newId);
      // A copy is a new entry: every copied entry gets its own uuid.
      await this.store
        .copy(id, newId, (_copyId, fields) => ({ ...fields, uuid: randomUUID() }))
        .catch((err: unknown) => {
          throw this.failure(err, `copying entry "${id}"`);
        });
      await this.emit('entries.copied', { id, new_id: newId });
      return this.existing(newId);
    });
  }

  async delete(rawId: unknown, ifMatch?: string): Promise<void> {
    const id = this.id(rawId);
    await this.store.locks.withTree(async () => {
      const { etag } = await this.existingEtag(id);
      if (ifMatch !== undefined && !etagListIncludes(ifMatch, etag)) throw preconditionFailed(`the entry has changed (current ETag ${etag})`);
      await this.store.remove(id).catch((err: unknown) => {
        throw this.failure(err, `deleting entry "${id}"`);
      });
      await this.emit('entries.deleted', { id });
    });
  }

  // ---- the editor's raw text and preview ---------------------------------------------------------

  /** The entry's stored text as is (private fields included: callers need write access). */
  async source(rawId: unknown): Promise<{ id: string; source: string; format: string; extension: string; etag: string; fields: Fields | null }> {
    const id = this.id(rawId);
    const { etag, entry } = await this.existingEtag(id);
    const stored = await this.store.readSource(id).catch((err: unknown) => {
      throw this.failure(err, `reading entry "${id}"`);
    });
    if (!stored) throw notFound(`entry "${id}" does not exist`);
    // The stored fields, unrendered (null when the text does not parse): what an editor edits.
    return { id, source: stored.text, format: this.formatOf?.(id).serializer.name ?? stored.extension, extension: stored.extension, etag, fields: entry ? entry.fields : null };
  }

  /**
   * Replaces the entry's stored text (the raw editor). The text must parse in the entry's format
   * (else 400, nothing written); `ifMatch` guards against overwriting someone else's change. An
   * entry whose file no longer parses can be repaired this way.
   */
  async writeSource(rawId: unknown, rawSource: unknown, ifMatch?: string): Promise<CachedEntry> {
    const id = this.id(rawId);
    if (typeof rawSource !== 'string') throw badRequest('parameter "source" must be the text of the entry file');
    const source = rawSource;
    return this.store.locks.withEntry(id, async () => {
      const { etag } = await this.existingEtag(id);
      if (ifMatch !== undefined && !etagListIncludes(ifMatch.replace(/~[0-9a-z]+"/g, '"'), etag)) {
        throw preconditionFailed(`the entry has changed (current ETag ${etag})`);
      }
      const format = this.formatOf?.(id);
      if (format) {
        let fields: Fields;
        try {
          fields = format.serializer.decode(source);
        } catch (err) {
          if (err instanceof DecodeError) throw badRequest(`the text is not valid ${format.serializer.name}: ${err.message}`);
          throw err;
        }
        if (!isPlainObject(fields)) throw badRequest(`the text must hold a map of fields`);
        if (nestingDepth(fields, this.idLimits.max_data_depth + 1) > this.idLimits.max_data_depth) {
          throw badRequest(`the fields are nested deeper than ${this.idLimits.max_data_depth} levels`);
        }
      }
      const stored = await this.store.readSource(id);
      const written = await this.store
        .writeSource(id, source, stored?.extension ?? format?.extension ?? 'md', { expected: etag.slice(1, -1) })
        .catch((err: unknown) => {
          if (err instanceof StorageError && err.reason === 'conflict') throw preconditionFailed('the entry was changed meanwhile by another writer');
          throw this.failure(err, `writing entry "${id}"`);
        });
      if (!written) throw notFound(`entry "${id}" does not exist`);
      await this.emit('entries.updated', { id, etag: written.etag, fields: Object.keys(written.fields) });
      return written;
    });
  }

  /** What `data` would answer as entry `id` (rendered, nothing stored): the editor's preview. */
  async preview(rawId: unknown, rawData: unknown, session?: RenderSession): Promise<PlainObject> {
    const id = this.id(rawId);
    const data = asDataMap(rawData, true, this.idLimits.max_data_depth);
    const current = await this.readEntry(id).catch(() => undefined);
    const now = Date.now();
    const meta = current?.meta ?? { revision: '0', mtimeMs: now, ctimeMs: now, atimeMs: now, size: 0 };
    if (!this.renderer) return data;
    return this.renderer.preview(id, data, meta, session ?? this.renderer.session());
  }
}
