/**
 * Entry operations shared by the REST API and the CLI: fetch (one entry or a collection), create,
 * update, move, copy, delete. Every id is checked here; every write holds the matching lock.
 */
import { randomUUID } from 'node:crypto';
import type { Fields } from '../../storage/serializers/index.js';
import { StorageError } from '../../storage/driver.js';
import { nowForStorage } from '../dates.js';
import { badRequest, notFound, preconditionFailed } from '../errors.js';
import { isUnderRoot, isValidId, isWithin, normalizeId, parentOf, type IdLimits } from '../ids.js';
import { runCollectionQuery, type QueryLimits } from '../query/collection.js';
import { filterFields, type FilterResult } from '../query/filter.js';
import { parseFetchOptions } from '../query/options.js';
import { etagListIncludes, type CachedEntry, type ContentStore } from '../store.js';
import { isPlainObject, sanitizeKeys, type PlainObject } from '../util.js';
import { TOKENS_ROOT } from './present.js';

/**
 * Ids the Entries API never reaches: the tokens folder, in any spelling a case-insensitive file
 * system would take for it (`Tokens`, `TOKENS/x`, `to\u212Aens`, `tokens.`).
 */
export function isReservedId(id: string): boolean {
  return isUnderRoot(id, TOKENS_ROOT);
}

export type FetchResult =
  | { kind: 'entry'; entry: CachedEntry; data: PlainObject; filtered: boolean }
  | { kind: 'collection'; result: FilterResult };

const VISIBILITY = new Set(['visible', 'draft', 'hidden']);

/** Checks an If-Match header value against an entry's current ETag; `*` matches any version. */
export function assertIfMatch(entry: CachedEntry, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  if (!etagListIncludes(ifMatch, entry.etag)) {
    throw preconditionFailed(`the entry has changed (current ETag ${entry.etag})`);
  }
}

export function asDataMap(data: unknown, required: boolean): Fields {
  if (data === undefined || data === '') {
    if (required) throw badRequest('parameter "data" is required');
    return {};
  }
  if (!isPlainObject(data)) throw badRequest('parameter "data" must be an object of fields');
  return sanitizeKeys(data) as Fields;
}

export class EntriesService {
  constructor(
    private readonly store: ContentStore,
    private readonly idLimits: IdLimits,
    private readonly queryLimits: QueryLimits,
  ) {}

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
      if (err instanceof StorageError && err.reason === 'unsafe') throw badRequest(err.message);
      throw err;
    }
  }

  private async assertParent(id: string, param: string): Promise<void> {
    const parent = parentOf(id);
    if (parent !== '' && !(await this.store.has(parent))) {
      throw notFound(`parent entry "${parent}" of "${param}" does not exist`);
    }
  }

  /** A cached entry by id when no disk access is needed to trust it; undefined otherwise (even for bad ids). */
  peek(rawId: string): CachedEntry | undefined {
    try {
      const id = normalizeId(rawId, this.idLimits);
      return isReservedId(id) ? undefined : this.store.peek(id);
    } catch {
      return undefined;
    }
  }

  async has(rawId: unknown): Promise<boolean> {
    // Token ids are no entries here: "no", not an error (a malformed id still is one).
    const id = normalizeId(rawId, this.idLimits, false, 'id');
    if (isReservedId(id)) return false;
    return (await this.readEntry(id)) !== undefined;
  }

  async fetch(rawId: unknown, rawOptions: unknown): Promise<FetchResult> {
    const options = parseFetchOptions(rawOptions);
    if (options.collection) {
      const base = this.id(rawId ?? '', 'id', true);
      if (!(await this.store.exists(base))) throw notFound(`entry "${base}" does not exist`);
      const result = await runCollectionQuery(
        this.store,
        // Listed are exactly the ids the single-entry API serves: the same validator decides both.
        { base, find: options.find, filter: options.filter, hidden: (id) => isReservedId(id) || !isValidId(id, this.idLimits) },
        this.queryLimits,
      );
      return { kind: 'collection', result };
    }
    const id = this.id(rawId);
    const entry = await this.existing(id);
    const data = filterFields(entry.view, options.filter);
    return { kind: 'entry', entry, data, filtered: data !== entry.view };
  }

  async create(rawId: unknown, rawData: unknown): Promise<CachedEntry> {
    const id = this.id(rawId);
    const data = asDataMap(rawData, false);
    return this.store.locks.withEntry(id, async () => {
      // Checked under the lock: a parent moved or deleted meanwhile must not get an orphan child.
      await this.assertParent(id, 'id');
      if (await this.store.has(id)) throw badRequest(`entry "${id}" already exists`);
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
      return this.store.write(id, fields).catch((err) => this.mapStorageError(err));
    });
  }

  async update(rawId: unknown, rawData: unknown, ifMatch?: string): Promise<CachedEntry> {
    const id = this.id(rawId);
    const data = asDataMap(rawData, true);
    return this.store.locks.withEntry(id, async () => {
      const entry = await this.existing(id, true);
      assertIfMatch(entry, ifMatch);
      return this.store.write(id, { ...entry.fields, ...data });
    });
  }

  private async targetChecks(id: string, newId: string): Promise<void> {
    if (newId === id) throw badRequest('"new_id" is the same as "id"');
    if (isWithin(newId, id)) throw badRequest('"new_id" lies inside the entry itself');
    if (await this.store.has(newId)) throw badRequest(`entry "${newId}" already exists`);
    await this.assertParent(newId, 'new_id');
  }

  private mapStorageError(err: unknown): never {
    if (err instanceof StorageError && err.reason === 'exists') throw badRequest(`target: ${err.message}`);
    if (err instanceof StorageError && err.reason === 'unsafe') throw badRequest(err.message);
    throw err;
  }

  async move(rawId: unknown, rawNewId: unknown, ifMatch?: string): Promise<CachedEntry> {
    const id = this.id(rawId);
    const newId = this.id(rawNewId, 'new_id');
    return this.store.locks.withTree(async () => {
      const entry = await this.existing(id, true);
      assertIfMatch(entry, ifMatch);
      await this.targetChecks(id, newId);
      await this.store.move(id, newId).catch((err) => this.mapStorageError(err));
      return this.existing(newId);
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
        .catch((err) => this.mapStorageError(err));
      return this.existing(newId);
    });
  }

  async delete(rawId: unknown, ifMatch?: string): Promise<void> {
    const id = this.id(rawId);
    await this.store.locks.withTree(async () => {
      const entry = await this.existing(id, true);
      assertIfMatch(entry, ifMatch);
      await this.store.remove(id);
    });
  }
}
