/**
 * The client's view of the API's data. Written by hand (the client imports nothing from the
 * server); test/client-types.test.ts checks them against types generated from the OpenAPI document.
 */

/** Every error answer's body. */
export interface ErrorBody {
  title: string;
  message: string;
  http_status_code: number;
  detail?: string;
}

/** A rendered entry: its fields at the top level (system fields may be removed by only/except). */
export interface Entry {
  id?: string;
  slug?: string;
  uuid?: string;
  /** Unix time, seconds. */
  published_at?: number;
  created_at?: number;
  modified_at?: number;
  published_by?: string;
  created_by?: string;
  routable?: boolean;
  visibility?: 'visible' | 'draft' | 'hidden';
  content?: unknown;
  [field: string]: unknown;
}

export type Fields = Record<string, unknown>;

export type WhereOperator =
  | '=' | '==' | 'eq' | '!=' | '<>' | 'neq'
  | '<' | 'lt' | '<=' | 'lte' | '>' | 'gt' | '>=' | 'gte'
  | 'in' | 'nin' | 'contains' | 'like' | 'ncontains' | 'nlike'
  | 'starts_with' | 'ends_with' | 'between' | 'nbetween'
  | 'regexp' | 'nregexp' | 'newer' | 'older';

export interface WhereCondition {
  /** Dot path into the entry. */
  key: string;
  /** Default `eq`. */
  operator?: WhereOperator;
  value: unknown;
}

export type WhereItem = WhereCondition | { or: WhereItem[] } | { and: WhereItem[] };

export type SortDirection = 'ASC' | 'DESC' | 'asc' | 'desc';

export interface FilterOptions {
  only?: string | string[];
  except?: string | string[];
  where?: WhereItem[];
  group_by?: string;
  sort_by?: string | { key: string; direction?: SortDirection };
  offset?: number | `${number}`;
  limit?: number | `${number}`;
  return?: 'all' | 'first' | 'last' | 'random' | 'shuffle' | `random=${number}`;
  random?: number | `${number}`;
}

type Comparisons = string | number | (string | number)[];

export interface FindOptions {
  depth?: Comparisons;
  date?: Comparisons;
  size?: Comparisons;
  exclude?: string | string[];
  path?: string | string[];
  contains?: string | string[];
  not_contains?: string | string[];
  sort_by?: 'mtime' | 'ctime' | 'atime' | { key: 'mtime' | 'ctime' | 'atime'; direction?: SortDirection };
  direction?: SortDirection;
}

export interface FetchOptions {
  collection?: boolean;
  find?: FindOptions;
  filter?: FilterOptions;
}

export type Scope = 'entries:read' | 'entries:write' | 'tokens:read' | 'tokens:write' | 'registry:read' | 'cache:write';

export interface TokenEntry {
  id?: string;
  state?: 'enabled' | 'disabled';
  calls?: number;
  limit_calls?: number;
  scopes?: Scope[];
  expires_at?: number;
  uuid?: string;
  created_at?: number;
  created_by?: string;
  modified_at?: number;
  [field: string]: unknown;
}

export interface NewToken {
  token: string;
  access_token: string;
}

export interface RegistryValue {
  id: string;
  value: unknown;
}

export type QueryMap = { [key: string]: string | QueryMap };
export type QueryResult = Record<string, unknown>;

/** The request bodies (and GET parameters) the client sends, per operation; credentials aside. */
export interface Requests {
  fetchEntry: { id: string; options?: FetchOptions };
  createEntry: { id: string; data?: Fields };
  updateEntry: { id: string; data: Fields };
  moveEntry: { id: string; new_id: string };
  copyEntry: { id: string; new_id: string };
  deleteEntry: { id: string };
  fetchToken: { id: string; options?: FetchOptions };
  createToken: { data?: Fields };
  updateToken: { id: string; data: Fields };
  deleteToken: { id: string };
  generateToken: Record<string, never>;
  generateHash: { string: string };
  verifyHash: { string: string; hash: string };
  getRegistry: { id: string; default?: unknown };
  clearCache: Record<string, never>;
  runQuery: { query: QueryMap };
  fetchEntrySource: { id: string };
  saveEntrySource: { id: string; source: string };
  previewEntry: { id: string; data: Fields };
  describeSelf: Record<string, never>;
  watchChanges: Record<string, never>;
}

/** The 200 answers, per operation (204 answers have no body). */
export interface Answers {
  fetchEntry: Entry | Record<string, Entry> | Record<string, Entry[]>;
  createEntry: Entry;
  updateEntry: Entry;
  moveEntry: Entry;
  copyEntry: Entry;
  fetchToken: TokenEntry | Record<string, TokenEntry>;
  createToken: NewToken;
  updateToken: TokenEntry;
  generateToken: { token: string };
  generateHash: { hashed_token: string };
  verifyHash: { verified: boolean };
  getRegistry: RegistryValue;
  runQuery: QueryResult;
  fetchEntrySource: EntrySource;
  saveEntrySource: Entry;
  previewEntry: Entry;
  describeSelf: TokenPowers;
}

/** An entry's stored text (the raw editor). */
export interface EntrySource {
  id: string;
  source: string;
  /** The serializer: frontmatter, yaml, json, json5. */
  format: string;
  extension: string;
  etag: string;
  /** The stored fields, unrendered (what an editor edits); null when the text does not parse. */
  fields: Fields | null;
}

/** What the calling token may do. */
export interface TokenPowers {
  /** null: every scope. */
  scopes: string[] | null;
  /** 0: no limit. */
  limit_calls: number;
  /** Unix seconds; null: never. */
  expires_at: number | null;
}

/** One event of the change stream (GET /api/v1/changes). */
export type ChangeEvent =
  | { type: 'ready' }
  | { type: 'clear' }
  | { type: 'change'; kind: 'entry' | 'subtree'; id: string; origin: 'api' | 'outside' };

/** A collection answer, its order kept exactly (ids that look like numbers included). */
export interface Collection<T> {
  /** [id, item] in result order. */
  items: [id: string, item: T][];
  /** X-Total-Count: matches before offset/limit. */
  total: number | undefined;
  /** X-Skipped-Count: unreadable entries left out. */
  skipped: number;
  etag: string | undefined;
}

export interface Page<T> extends Collection<T> {
  /** Offset of this page's first item. */
  offset: number;
}
