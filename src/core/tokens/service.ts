/**
 * Tokens: authorization of every API call (SPEC §2's order), and the token operations shared by
 * the Tokens API and the CLI. A token is the entry `tokens/<token>`; its secret is a bcrypt hash.
 */
import { randomUUID } from 'node:crypto';
import type { Fields } from '../../storage/serializers/index.js';
import { nowForStorage, toTimestamp } from '../dates.js';
import { asDataMap } from '../entries/service.js';
import { TOKENS_ROOT } from '../entries/present.js';
import { badRequest, notFound, unauthorized } from '../errors.js';
import { runCollectionQuery, type QueryLimits } from '../query/collection.js';
import type { FilterResult } from '../query/filter.js';
import { filterFields } from '../query/filter.js';
import { parseFetchOptions } from '../query/options.js';
import type { Settings } from '../settings.js';
import type { CachedEntry, ContentStore } from '../store.js';
import type { PlainObject } from '../util.js';
import { CallCounters } from './counters.js';
import { generateToken, hashSecret, verifySecret, VerifiedSecrets } from './hash.js';
import { allows, parseScopes, scopesOfToken, within, type Scope, type ScopeSet } from './scopes.js';

export type ApiName = 'entries' | 'tokens' | 'registry' | 'cache' | 'query';

export interface Caller {
  token: string;
  scopes: ScopeSet;
}

export interface AuthRequest {
  api: ApiName;
  /** The scope needed, or several that are all needed (the Query API reads entries and the registry). */
  scope: Scope | readonly Scope[];
  token: unknown;
  accessToken: unknown;
  /** Writes need the access token; reads check it only when given. */
  requireAccess: boolean;
}

const TOKEN_SHAPE = /^[a-zA-Z0-9_-]{1,128}$/;

const entryIdOf = (token: string) => `${TOKENS_ROOT}/${token}`;

function nonNegativeInteger(value: unknown, what: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw badRequest(`${what} must be a non-negative integer`);
  return n;
}

export class TokensService {
  readonly verified = new VerifiedSecrets();
  readonly counters: CallCounters;

  constructor(
    private readonly store: ContentStore,
    private readonly settings: Settings,
    private readonly queryLimits: QueryLimits,
    onError: (err: Error) => void = () => {},
  ) {
    this.counters = new CallCounters(store, settings.tokens.calls_flush_interval, onError);
  }

  private async tokenEntry(token: string): Promise<CachedEntry | undefined> {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const id = entryIdOf(token);
    return this.store.peek(id) ?? this.store.get(id);
  }

  /** Validates a call in the specification's order and counts it; returns who is calling. */
  async authorize(request: AuthRequest): Promise<Caller> {
    if (!this.settings.api[request.api].enabled) throw badRequest(`the ${request.api} API is disabled in the settings`);
    if (typeof request.token !== 'string' || request.token === '') throw badRequest('parameter "token" is required');
    const token = request.token;
    const entry = await this.tokenEntry(token);
    if (!entry) throw unauthorized('unknown token');
    this.assertUsable(entry);
    const accessGiven = request.accessToken !== undefined && request.accessToken !== '';
    if (request.requireAccess || accessGiven) {
      if (typeof request.accessToken !== 'string' || request.accessToken === '') throw badRequest('parameter "access_token" is required');
      const hash = entry.fields['hashed_access_token'];
      const ok = typeof hash === 'string' && (await this.verified.verify(token, request.accessToken, hash));
      if (!ok) throw unauthorized('the access token does not match this token');
    }
    // After an await the token may have changed meanwhile: re-read it. Then check and count in one step.
    const fresh = accessGiven || request.requireAccess ? await this.tokenEntry(token) : entry;
    if (!fresh) throw unauthorized('unknown token');
    if (fresh !== entry) this.assertUsable(fresh);
    const scopes = scopesOfToken(fresh.fields);
    for (const scope of typeof request.scope === 'string' ? [request.scope] : request.scope) {
      if (!allows(scopes, scope)) throw unauthorized(`this token lacks the scope "${scope}"`);
    }
    if (!this.counters.tryCount(fresh.id, fresh.fields, this.limitOf(fresh.fields))) {
      throw badRequest('this token has reached its limit_calls');
    }
    return { token, scopes };
  }

  /**
   * authorize()'s outcome for the common read — cached, usable token, no access token — decided
   * synchronously; undefined means "not that case: take authorize()", which also owns every error.
   */
  authorizeCachedRead(api: ApiName, scope: Scope, token: string): Caller | undefined {
    if (!this.settings.api[api].enabled || !TOKEN_SHAPE.test(token)) return undefined;
    const entry = this.store.peek(entryIdOf(token));
    if (!entry) return undefined;
    try {
      this.assertUsable(entry);
    } catch {
      return undefined;
    }
    const scopes = scopesOfToken(entry.fields);
    if (!allows(scopes, scope) || !this.counters.tryCount(entry.id, entry.fields, this.limitOf(entry.fields))) return undefined;
    return { token, scopes };
  }

  private limitOf(fields: Fields): number {
    const limit = Number(fields['limit_calls'] ?? 0);
    return Number.isFinite(limit) && limit > 0 ? limit : 0;
  }

  private assertUsable(entry: CachedEntry): void {
    const fields = entry.fields;
    if (fields['state'] === 'disabled') throw badRequest('this token is disabled');
    const limit = this.limitOf(fields);
    if (limit > 0 && this.counters.current(entry.id, fields) >= limit) throw badRequest('this token has reached its limit_calls');
    if (fields['expires_at'] !== undefined && fields['expires_at'] !== null && fields['expires_at'] !== '') {
      const expires = toTimestamp(fields['expires_at'], this.settings.timezone);
      if (typeof expires !== 'number' || expires <= Date.now() / 1000) throw badRequest('this token has expired');
    }
  }

  /** The token fields answered by the API (calls include those not yet written). */
  private view(entry: CachedEntry): PlainObject {
    return { ...entry.view, calls: this.counters.current(entry.id, entry.fields) };
  }

  private tokenId(raw: unknown, param = 'id'): string {
    if (typeof raw !== 'string' || raw === '') throw badRequest(`parameter "${param}" is required`);
    if (!TOKEN_SHAPE.test(raw)) throw badRequest(`parameter "${param}" is not a valid token (letters, digits, "-" and "_")`);
    return raw;
  }

  async has(rawId: unknown): Promise<boolean> {
    return (await this.tokenEntry(this.tokenId(rawId))) !== undefined;
  }

  async fetch(rawId: unknown, rawOptions: unknown): Promise<{ kind: 'entry'; data: PlainObject; entry: CachedEntry } | { kind: 'collection'; result: FilterResult }> {
    const options = parseFetchOptions(rawOptions);
    if (options.collection && (rawId === undefined || rawId === '')) {
      // A raw-file search would be an oracle on the stored hash of each access token.
      if (options.find['contains'] !== undefined || options.find['not_contains'] !== undefined) {
        throw badRequest('options.find.contains and options.find.not_contains are not available for tokens');
      }
      const result = await runCollectionQuery(
        this.store,
        { base: TOKENS_ROOT, find: options.find, filter: options.filter, keyOf: (id) => id.slice(TOKENS_ROOT.length + 1) },
        this.queryLimits,
      );
      // Collections are built from cached views; bring the live call counts in.
      const patch = (item: { id: string; data: PlainObject }) => {
        if ('calls' in item.data) item.data = { ...item.data, calls: this.counters.current(entryIdOf(item.id), item.data) };
      };
      if (result.kind === 'items') result.items.forEach(patch);
      if (result.kind === 'single') patch(result.item);
      if (result.kind === 'groups') result.groups.forEach((g) => g.items.forEach(patch));
      return { kind: 'collection', result };
    }
    const token = this.tokenId(rawId);
    const entry = await this.tokenEntry(token);
    if (!entry) throw notFound(`token "${token}" does not exist`);
    return { kind: 'entry', entry, data: filterFields(this.view(entry), options.filter) };
  }

  /** Checks token fields given by a client; returns them normalized. */
  private checkFields(data: Fields, caller: Caller | undefined, current: Fields | undefined): Fields {
    const fields: Fields = { ...data };
    if ('hashed_access_token' in fields) throw badRequest('"hashed_access_token" cannot be set; create a new token instead');
    if ('scopes' in fields) fields['scopes'] = parseScopes(fields['scopes'], 'data.scopes') ?? null;
    if (fields['scopes'] === null) delete fields['scopes'];
    if ('state' in fields && fields['state'] !== 'enabled' && fields['state'] !== 'disabled') {
      throw badRequest('data.state must be "enabled" or "disabled"');
    }
    if ('limit_calls' in fields) fields['limit_calls'] = nonNegativeInteger(fields['limit_calls'], 'data.limit_calls');
    if ('calls' in fields) fields['calls'] = nonNegativeInteger(fields['calls'], 'data.calls');
    if ('expires_at' in fields && fields['expires_at'] !== null && fields['expires_at'] !== '') {
      const expires = toTimestamp(fields['expires_at'], this.settings.timezone);
      if (typeof expires !== 'number') throw badRequest('data.expires_at must be a Unix timestamp or a date');
      fields['expires_at'] = expires;
    }
    if (caller && caller.scopes !== undefined) {
      // `scopes: null` in data removes the list, i.e. makes the token unrestricted.
      const resulting = 'scopes' in fields ? fields['scopes'] : current && !('scopes' in data) ? current['scopes'] : undefined;
      const wanted = resulting === undefined ? undefined : new Set(parseScopes(resulting) ?? []);
      if (!within(wanted, caller.scopes)) {
        throw badRequest(`a token cannot grant scopes it does not hold (caller has: ${[...caller.scopes].join(', ') || 'none'})`);
      }
    }
    return fields;
  }

  /** Creates a token; without `scopes`, a restricted caller's token inherits the caller's scopes. */
  async create(rawData: unknown, caller?: Caller): Promise<{ token: string; access_token: string }> {
    const data = asDataMap(rawData, false);
    if (caller?.scopes !== undefined && !('scopes' in data)) data['scopes'] = [...caller.scopes];
    const fields = this.checkFields(data, caller, undefined);
    const token = generateToken();
    const accessToken = generateToken();
    const hashed = await hashSecret(accessToken, this.settings.tokens.hash_rounds);
    const id = entryIdOf(token);
    await this.store.locks.withEntry(id, async () => {
      await this.store.write(id, {
        ...fields,
        hashed_access_token: hashed,
        state: fields['state'] ?? 'enabled',
        calls: 0,
        limit_calls: fields['limit_calls'] ?? 0,
        uuid: randomUUID(),
        created_at: nowForStorage(),
        created_by: typeof fields['created_by'] === 'string' ? fields['created_by'] : '',
      });
    });
    return { token, access_token: accessToken };
  }

  async update(rawId: unknown, rawData: unknown, caller?: Caller): Promise<PlainObject> {
    const token = this.tokenId(rawId);
    const data = asDataMap(rawData, true);
    const id = entryIdOf(token);
    const entry = await this.store.locks.withEntry(id, async () => {
      const current = await this.store.getFresh(id);
      if (!current) throw notFound(`token "${token}" does not exist`);
      const fields = this.checkFields(data, caller, current.fields);
      const merged: Fields = { ...current.fields, ...fields };
      if ('scopes' in data && data['scopes'] === null) delete merged['scopes'];
      if ('calls' in fields) return this.store.write(id, merged);
      // The file gets the live count; the counter must know it is written, or it counts it twice.
      return this.counters.persistWith(id, current.fields, (calls) => this.store.write(id, { ...merged, calls }));
    });
    return this.view(entry);
  }

  async delete(rawId: unknown): Promise<void> {
    const token = this.tokenId(rawId);
    const id = entryIdOf(token);
    await this.store.locks.withTree(async () => {
      if (!(await this.store.get(id))) throw notFound(`token "${token}" does not exist`);
      const all = await this.store.descendants(TOKENS_ROOT, 1);
      if (all.length <= 1) throw badRequest('this is the last token: create another one before deleting it');
      await this.store.remove(id);
      this.counters.forget(id);
    });
  }

  async count(): Promise<number> {
    return (await this.store.descendants(TOKENS_ROOT, 1)).length;
  }

  generate(): { token: string } {
    return { token: generateToken() };
  }

  async generateHash(value: unknown): Promise<{ hashed_token: string }> {
    if (typeof value !== 'string' || value === '') throw badRequest('parameter "string" is required');
    return { hashed_token: await hashSecret(value, this.settings.tokens.hash_rounds) };
  }

  async verifyHash(value: unknown, hash: unknown): Promise<{ verified: boolean }> {
    if (typeof value !== 'string' || value === '') throw badRequest('parameter "string" is required');
    if (typeof hash !== 'string' || hash === '') throw badRequest('parameter "hash" is required');
    return { verified: await verifySecret(value, hash) };
  }
}
