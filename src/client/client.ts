/**
 * A typed client for the REST API: fetch-based, no dependencies, credentials given once.
 * GET options go as PHP bracket query strings, writes as JSON bodies; every failure is a
 * FlextypeError carrying the status and the server's JSON error body.
 */
import { orderedMembers, toQueryString } from './encode.js';
import { FlextypeError, isErrorBody } from './errors.js';
import type {
  Answers,
  ChangeEvent,
  Collection,
  Entry,
  FetchOptions,
  Fields,
  FilterOptions,
  FindOptions,
  Page,
  QueryMap,
  Requests,
  TokenEntry,
} from './types.js';

export interface ClientOptions {
  /** The server's origin (`http://localhost:8000`); `/api/v1` is added. */
  baseUrl: string;
  token: string;
  /** Needed for writes and for reading tokens. */
  accessToken?: string;
  /**
   * `headers` (default): Authorization: Bearer and X-Access-Token, so secrets stay out of URLs;
   * `parameters`: `token`/`access_token` in the query or body, as Flextype 1.0 servers expect.
   */
  credentials?: 'headers' | 'parameters';
  /** Another fetch (tests, proxies, older runtimes). */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

/** An ETag, or an entry fetched through this client (its ETag is used). */
export type Version = string | object;

export interface WriteOptions {
  /** Refuse the write (412, FlextypeError) unless the entry is still this version. */
  ifMatch?: Version;
}

/** Remembered per answer object: the ETag it came with. */
const etags = new WeakMap<object, string>();

/** The ETag an entry (or collection) fetched or written through the client came with. */
export function etagOf(value: object): string | undefined {
  return etags.get(value);
}

function remember<T>(value: T, etag: string | null): T {
  if (etag && value !== null && typeof value === 'object') etags.set(value, etag);
  return value;
}

interface Sent {
  status: number;
  headers: Headers;
  text: string;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export class FlextypeClient {
  private readonly base: string;
  private readonly options: ClientOptions;
  private readonly fetcher: typeof fetch;

  readonly entries = {
    /** One entry (only/except may shape it). */
    get: (id: string, options: { filter?: Pick<FilterOptions, 'only' | 'except'> } = {}): Promise<Entry> =>
      this.json('GET', '/entries', this.withOptions(id, { filter: options.filter })) as Promise<Entry>,
    /** Any fetch, answered as the server answers it (an entry, a collection or groups). */
    fetch: (id: string, options?: FetchOptions): Promise<Answers['fetchEntry']> =>
      this.json('GET', '/entries', this.withOptions(id, options)) as Promise<Answers['fetchEntry']>,
    /** The entries below `id`, in result order, with X-Total-Count. */
    collection: (id: string, options: { find?: FindOptions; filter?: Omit<FilterOptions, 'group_by' | 'return'> } = {}): Promise<Collection<Entry>> =>
      this.collectionOf<Entry>('/entries', id, options),
    /** Groups of entries by a field's value (options[filter][group_by]). */
    groups: (id: string, groupBy: string, options: { find?: FindOptions; filter?: Omit<FilterOptions, 'group_by'> } = {}) =>
      this.json('GET', '/entries', this.withOptions(id, { collection: true, find: options.find, filter: { ...options.filter, group_by: groupBy } })) as Promise<Record<string, Entry[]>>,
    /** Pages of `pageSize` entries until X-Total-Count is reached. */
    pages: (id: string, options: { pageSize?: number; find?: FindOptions; filter?: Omit<FilterOptions, 'group_by' | 'return' | 'offset' | 'limit'> } = {}) =>
      this.pagesOf<Entry>('/entries', id, options),
    create: (id: string, data: Requests['createEntry']['data'] = {}): Promise<Entry> => this.write('POST', '/entries', { id, data } satisfies Requests['createEntry']) as Promise<Entry>,
    /** Shallow merge of `data` into the stored fields. */
    update: (id: string, data: Requests['updateEntry']['data'], options: WriteOptions = {}): Promise<Entry> =>
      this.write('PATCH', '/entries', { id, data } satisfies Requests['updateEntry'], options) as Promise<Entry>,
    /** Moves the entry and its children; undefined when the moved entry cannot be shown. */
    move: (id: string, newId: string, options: WriteOptions = {}): Promise<Entry | undefined> =>
      this.write('PUT', '/entries', { id, new_id: newId } satisfies Requests['moveEntry'], options) as Promise<Entry | undefined>,
    copy: (id: string, newId: string): Promise<Entry> => this.write('PUT', '/entries/copy', { id, new_id: newId } satisfies Requests['copyEntry']) as Promise<Entry>,
    delete: async (id: string, options: WriteOptions = {}): Promise<void> => {
      await this.write('DELETE', '/entries', { id } satisfies Requests['deleteEntry'], options);
    },
    /** The entry's stored text as is (needs write access: private fields included). */
    source: (id: string): Promise<Answers['fetchEntrySource']> =>
      this.json('GET', '/entries/source', { id } satisfies Requests['fetchEntrySource'], true) as Promise<Answers['fetchEntrySource']>,
    /** Replaces the stored text (it must parse); `ifMatch` refuses it (412) when someone changed the entry meanwhile. */
    saveSource: (id: string, source: string, options: WriteOptions = {}): Promise<Entry> =>
      this.write('PUT', '/entries/source', { id, source } satisfies Requests['saveEntrySource'], options) as Promise<Entry>,
    /** What `data` would answer as entry `id`, rendered by the server; nothing is stored. */
    preview: (id: string, data: Fields): Promise<Entry> =>
      this.write('POST', '/entries/preview', { id, data } satisfies Requests['previewEntry']) as Promise<Entry>,
    /**
     * The change stream: entries changing through the API, on disk or on another node, until
     * `signal` aborts or the server ends the stream (then reconnect, and refetch what is shown).
     */
    changes: (signal?: AbortSignal): AsyncGenerator<ChangeEvent, void, undefined> => this.changeStream(signal),
  };

  readonly tokens = {
    get: (id: string): Promise<TokenEntry> => this.json('GET', '/tokens', this.withOptions(id, undefined), true) as Promise<TokenEntry>,
    collection: (options: { find?: FindOptions; filter?: Omit<FilterOptions, 'group_by' | 'return'> } = {}): Promise<Collection<TokenEntry>> =>
      this.collectionOf<TokenEntry>('/tokens', '', options, true),
    pages: (options: { pageSize?: number; find?: FindOptions; filter?: Omit<FilterOptions, 'group_by' | 'return' | 'offset' | 'limit'> } = {}) =>
      this.pagesOf<TokenEntry>('/tokens', '', options, true),
    create: (data?: Requests['createToken']['data']): Promise<Answers['createToken']> =>
      this.write('POST', '/tokens', (data === undefined ? {} : { data }) satisfies Requests['createToken']) as Promise<Answers['createToken']>,
    update: (id: string, data: Requests['updateToken']['data']): Promise<TokenEntry> => this.write('PATCH', '/tokens', { id, data } satisfies Requests['updateToken']) as Promise<TokenEntry>,
    delete: async (id: string): Promise<void> => {
      await this.write('DELETE', '/tokens', { id } satisfies Requests['deleteToken']);
    },
    generate: (): Promise<Answers['generateToken']> => this.write('POST', '/tokens/generate', {} satisfies Requests['generateToken']) as Promise<Answers['generateToken']>,
    generateHash: (value: string): Promise<Answers['generateHash']> =>
      this.write('POST', '/tokens/generate-hash', { string: value } satisfies Requests['generateHash']) as Promise<Answers['generateHash']>,
    verifyHash: (value: string, hash: string): Promise<Answers['verifyHash']> =>
      this.write('POST', '/tokens/verify-hash', { string: value, hash } satisfies Requests['verifyHash']) as Promise<Answers['verifyHash']>,
  };

  /** What this client's token may do: its scopes (null: all), call limit and expiry. */
  self(): Promise<Answers['describeSelf']> {
    return this.json('GET', '/tokens/self', {}, true) as Promise<Answers['describeSelf']>;
  }

  readonly registry = {
    /** A registry value; with `fallback`, answered instead of 404 for a missing key. */
    get: (id: string, fallback?: unknown): Promise<Answers['getRegistry']> => {
      const params: Requests['getRegistry'] = fallback === undefined ? { id } : { id, default: fallback };
      return this.json('GET', '/registry', params) as Promise<Answers['getRegistry']>;
    },
  };

  readonly cache = {
    clear: async (): Promise<void> => {
      await this.write('POST', '/cache/clear', {} satisfies Requests['clearCache']);
    },
  };

  constructor(options: ClientOptions) {
    this.options = options;
    this.base = `${options.baseUrl.replace(/\/+$/, '')}/api/v1`;
    this.fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Evaluates a map of expressions on the server (Query API). */
  query(query: QueryMap): Promise<Answers['runQuery']> {
    const body: Requests['runQuery'] = { query };
    return this.write('POST', '/query', body) as Promise<Answers['runQuery']>;
  }

  /** The server's OpenAPI document. */
  async openapi(): Promise<Record<string, unknown>> {
    const sent = await this.send('GET', '/openapi.json', {}, false, undefined, false);
    return JSON.parse(sent.text) as Record<string, unknown>;
  }

  private async *changeStream(signal?: AbortSignal): AsyncGenerator<ChangeEvent, void, undefined> {
    const headers: Record<string, string> = { accept: 'text/event-stream', ...this.options.headers };
    let url = `${this.base}/changes`;
    if (this.options.credentials === 'parameters') url += `?${toQueryString({ token: this.options.token })}`;
    else headers['authorization'] = `Bearer ${this.options.token}`;
    const response = await this.fetcher(url, { method: 'GET', headers, ...(signal ? { signal } : {}) });
    if (!response.ok || !response.body) {
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      throw new FlextypeError({ status: response.status, body: isErrorBody(parsed) ? parsed : undefined, headers: response.headers, method: 'GET', path: '/changes' });
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let type = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) type = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (type === 'ready' || type === 'clear') yield { type };
          else if (type === 'change' && data !== '') yield { type: 'change', ...(JSON.parse(data) as Omit<Extract<ChangeEvent, { type: 'change' }>, 'type'>) };
        }
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }

  private withOptions(id: string, options: FetchOptions | undefined): Requests['fetchEntry'] & Requests['fetchToken'] {
    const cleaned = options && Object.values(options).some((value) => value !== undefined) ? options : undefined;
    return cleaned ? { id, options: cleaned } : { id };
  }

  private async collectionOf<T>(path: string, id: string, options: { find?: FindOptions; filter?: FilterOptions }, access = false): Promise<Collection<T>> {
    const params = this.withOptions(id, { collection: true, find: options.find, filter: options.filter });
    const sent = await this.send('GET', path, params, access);
    const total = sent.headers.get('x-total-count');
    return {
      items: orderedMembers(sent.text) as [string, T][],
      total: total === null ? undefined : Number(total),
      skipped: Number(sent.headers.get('x-skipped-count') ?? 0),
      etag: sent.headers.get('etag') ?? undefined,
    };
  }

  private async *pagesOf<T>(
    path: string,
    id: string,
    options: { pageSize?: number; find?: FindOptions; filter?: FilterOptions },
    access = false,
  ): AsyncGenerator<Page<T>, void, undefined> {
    const size = options.pageSize ?? 50;
    if (!Number.isInteger(size) || size < 1) throw new RangeError('pageSize must be a positive integer');
    for (let offset = 0; ; offset += size) {
      const page = await this.collectionOf<T>(path, id, { find: options.find, filter: { ...options.filter, offset, limit: size } }, access);
      if (page.items.length === 0) return;
      yield { ...page, offset };
      if (page.total !== undefined && offset + size >= page.total) return;
      if (page.items.length < size) return;
    }
  }

  private async json(method: Method, path: string, params: object, access = false): Promise<unknown> {
    const sent = await this.send(method, path, params, access);
    return remember(JSON.parse(sent.text), sent.headers.get('etag'));
  }

  private async write(method: Method, path: string, body: object, options: WriteOptions = {}): Promise<unknown> {
    let ifMatch: string | undefined;
    if (options.ifMatch !== undefined) {
      ifMatch = typeof options.ifMatch === 'string' ? options.ifMatch : etagOf(options.ifMatch);
      if (ifMatch === undefined) throw new TypeError('ifMatch: this object was not fetched through the client (no ETag known)');
    }
    const sent = await this.send(method, path, body, true, ifMatch);
    return sent.status === 204 || sent.text === '' ? undefined : remember(JSON.parse(sent.text), sent.headers.get('etag'));
  }

  private async send(method: Method, path: string, params: object, access: boolean, ifMatch?: string, credentials = true): Promise<Sent> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.options.headers };
    const values: Record<string, unknown> = { ...params };
    if (credentials) {
      if (this.options.credentials === 'parameters') {
        values['token'] = this.options.token;
        if (access && this.options.accessToken !== undefined) values['access_token'] = this.options.accessToken;
      } else {
        headers['authorization'] = `Bearer ${this.options.token}`;
        if (access && this.options.accessToken !== undefined) headers['x-access-token'] = this.options.accessToken;
      }
    }
    if (ifMatch !== undefined) headers['if-match'] = ifMatch;
    let url = `${this.base}${path}`;
    let body: string | undefined;
    if (method === 'GET') {
      const query = toQueryString(values);
      if (query !== '') url += `?${query}`;
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(values);
    }
    const response = await this.fetcher(url, { method, headers, body });
    const text = await response.text();
    if (!response.ok) {
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      throw new FlextypeError({ status: response.status, body: isErrorBody(parsed) ? parsed : undefined, headers: response.headers, method, path });
    }
    return { status: response.status, headers: response.headers, text };
  }
}

/** A client for the server at `baseUrl`, with the credentials given once. */
export function createClient(options: ClientOptions): FlextypeClient {
  return new FlextypeClient(options);
}
