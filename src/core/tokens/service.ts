/**
 * Tokens: authorization of every API call (SPEC §2's order), and the token operations shared by
 * the Tokens API and the CLI. A token is the entry `tokens/<token>`; its secret is a bcrypt hash.
 */
import { randomUUID } from 'node:crypto';
import type { Fields } from '../../storage/serializers/index.js';
import { nowForStorage, toTimestamp } from '../dates.js';
import { asDataMap } from '../entries/service.js';
import { TOKENS_ROOT } from '../entries/present.js';
import { badRequest, notFound, unauthorized, type CmsError } from '../errors.js';
import { runCollectionQuery, type QueryLimits } from '../query/collection.js';
import type { FilterResult } from '../query/filter.js';
import { filterFields } from '../query/filter.js';
import { parseFetchOptions } from '../query/options.js';
import type { Settings } from '../settings.js';
import { retryOnConflict } from '../store/retry.js';
import type { CachedEntry, ContentStore } from '../store/store.js';
import type { PlainObject } from '../util.js';
import { tokenEventData, type EventSink } from '../webhooks/events.js';
import { CallCounters } from './counters.js';
import { SharedCallCounters } from './shared-counters.js';
import { BCRYPT_SHAPE, costOf, generateToken, hashSecret, verifySecret, VerifiedSecrets } from './hash.js';
import { aboveDetail, excess, grantDetail, hasExpiry, limitOf, powerOf, type Power } from './power.js';
import { allows, parseScopes, type Scope } from './scopes.js';

export type ApiName = 'entries' | 'tokens' | 'registry' | 'cache' | 'query';

/** Who is calling, with what power (a token never gives or touches more than it has). */
export interface Caller extends Power {
  token: string;
}

/** Runs one bcrypt verification when the caller's address may have one (see the HTTP failure brake). */
export type Throttle = <R>(work: () => Promise<R>) => Promise<R>;

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

/** A token entry revision found fit for reads of one API with one scope (countCachedRead). */
interface AdmittedRead {
  api: ApiName;
  scope: Scope;
  entryId: string;
  entry: CachedEntry;
  limit: number;
}
const ADMITTED_READS_MAX = 1024;

/** verify-hash accepts hashes up to this cost (or the configured one, if higher): one call must not hold a bcrypt worker for hours. */
const MAX_VERIFY_COST = 12;

function nonNegativeInteger(value: unknown, what: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw badRequest(`${what} must be a non-negative integer`);
  return n;
}

export class TokensService {
  readonly verified = new VerifiedSecrets();
  readonly counters: CallCounters | SharedCallCounters;
  private dummy: Promise<string> | undefined;
  /** countCachedRead()'s memo: token → what was checked once for that revision of its entry. */
  private readonly admittedReads = new Map<string, AdmittedRead>();
  /** Where token changes are reported (webhooks): never with the token or its secret. */
  private emit: EventSink = async () => {};

  constructor(
    private readonly store: ContentStore,
    private readonly settings: Settings,
    private readonly queryLimits: QueryLimits,
    onError: (err: Error) => void = () => {},
  ) {
    const coordination = store.engine.coordination;
    // Many nodes on one database count in it; one process counts in memory and writes the token files.
    this.counters = coordination
      ? new SharedCallCounters(coordination, settings.tokens.calls_flush_interval, onError)
      : new CallCounters(store, settings.tokens.calls_flush_interval, onError);
  }

  attachEvents(sink: EventSink): void {
    this.emit = sink;
  }

  private async tokenEntry(token: string): Promise<CachedEntry | undefined> {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const id = entryIdOf(token);
    return this.store.peek(id) ?? this.store.get(id);
  }

  /** Validates a call in the specification's order and counts it; returns who is calling. */
  async authorize(request: AuthRequest, throttle: Throttle = (work) => work()): Promise<Caller> {
    if (!this.settings.api[request.api].enabled) throw badRequest(`the ${request.api} API is disabled in the settings`);
    if (typeof request.token !== 'string' || request.token === '') throw badRequest('parameter "token" is required');
    const token = request.token;
    const secret = typeof request.accessToken === 'string' && request.accessToken !== '' ? request.accessToken : undefined;
    const checkAccess = request.requireAccess || (request.accessToken !== undefined && request.accessToken !== '');
    // Made before it is needed, so that the first unknown token does not pay for it.
    if (!this.dummy) void this.dummyHash().catch(() => {});
    const entry = await this.tokenEntry(token);
    // With an access token, every refusal costs one bcrypt run, like a wrong access token: the
    // answer's timing must not tell unknown (or disabled) tokens from known ones.
    if (!entry) {
      if (secret !== undefined) await this.verifyAccess(token, secret, undefined, throttle);
      throw unauthorized('unknown token');
    }
    const unusable = this.unusable(entry);
    if (unusable) {
      if (secret !== undefined) await this.verifyAccess(token, secret, undefined, throttle);
      throw unusable;
    }
    if (checkAccess) {
      if (secret === undefined) throw badRequest('parameter "access_token" is required');
      if (!(await this.verifyAccess(token, secret, entry.fields['hashed_access_token'], throttle))) {
        throw unauthorized('the access token does not match this token');
      }
    }
    // After an await the token may have changed meanwhile: re-read it. Then check and count in one step.
    const fresh = checkAccess ? await this.tokenEntry(token) : entry;
    if (!fresh) throw unauthorized('unknown token');
    if (fresh !== entry) this.assertUsable(fresh);
    const power = this.scoped(request.scope, fresh, true)!;
    // Shared counters may reserve more calls from the database here (one round trip per block).
    if (!(await this.counters.count(fresh.id, fresh.fields, limitOf(fresh.fields)))) throw badRequest('this token has reached its limit_calls');
    return { token, ...power };
  }

  /**
   * authorize()'s outcome when it can be decided synchronously — cached usable token, and no access
   * token or one verified before — with no bcrypt and no waiting; undefined means "not that case:
   * take authorize()", which also owns every error.
   */
  authorizeCached(request: AuthRequest): Caller | undefined {
    const entry = this.knownEntry(request);
    if (!entry || this.unusable(entry)) return undefined;
    return this.admit(request.scope, entry.id.slice(TOKENS_ROOT.length + 1), entry);
  }

  /**
   * The same case when the call cannot be counted synchronously (shared counters with no local
   * budget left): counts it, reserving from the database, without the failure brake — nothing is
   * guessed with known credentials. Undefined: not that case, take authorize().
   */
  async authorizeKnown(request: AuthRequest): Promise<Caller | undefined> {
    const entry = this.knownEntry(request);
    if (!entry) return undefined;
    // The credentials are known already: refusing at once tells the caller nothing new.
    this.assertUsable(entry);
    const power = this.scoped(request.scope, entry, false);
    if (!power) return undefined;
    if (!(await this.counters.count(entry.id, entry.fields, limitOf(entry.fields)))) throw badRequest('this token has reached its limit_calls');
    return { token: entry.id.slice(TOKENS_ROOT.length + 1), ...power };
  }

  /** The cached token entry when the request's credentials need no bcrypt run (none, or verified before). */
  private knownEntry(request: AuthRequest): CachedEntry | undefined {
    const { api, token } = request;
    if (!this.settings.api[api].enabled || typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return undefined;
    const entry = this.store.peek(entryIdOf(token));
    if (!entry) return undefined;
    if (request.requireAccess || (request.accessToken !== undefined && request.accessToken !== '')) {
      const hash = entry.fields['hashed_access_token'];
      if (typeof request.accessToken !== 'string' || request.accessToken === '' || typeof hash !== 'string') return undefined;
      if (!this.verified.knows(token, request.accessToken, hash)) return undefined;
    }
    return entry;
  }

  /** The fast path's case: a read with a token and no access token. */
  authorizeCachedRead(api: ApiName, scope: Scope, token: string): Caller | undefined {
    return this.authorizeCached({ api, scope, token, accessToken: undefined, requireAccess: false });
  }

  /**
   * authorizeCachedRead() answering only yes (one call counted) or no (nothing counted: take the
   * full path), for the fast path: what depends on the token entry alone (shape, API, scope) is
   * checked once per revision of that entry; state, limit and expiry are checked on every call.
   */
  countCachedRead(api: ApiName, scope: Scope, token: string): boolean {
    const known = this.admittedReads.get(token);
    if (known !== undefined && known.api === api && known.scope === scope) {
      const entry = this.store.peek(known.entryId);
      // A changed token file is a new entry object: everything is checked again.
      if (entry === known.entry) return !this.unusable(entry) && this.counters.tryCount(entry.id, entry.fields, known.limit);
    }
    const caller = this.authorizeCachedRead(api, scope, token);
    if (caller === undefined) return false;
    const entry = this.store.peek(entryIdOf(token));
    if (entry !== undefined) {
      // Bounded whatever tokens clients send: forgotten all at once when full.
      if (this.admittedReads.size >= ADMITTED_READS_MAX) this.admittedReads.clear();
      this.admittedReads.set(token, { api, scope, entryId: entry.id, entry, limit: limitOf(entry.fields) });
    }
    return true;
  }

  /** The token's power when it has the scope (throwing, or answering undefined, when not). */
  private scoped(scope: Scope | readonly Scope[], entry: CachedEntry, throwing: boolean): Power | undefined {
    const power = powerOf(entry.fields, this.settings.timezone);
    // Some calls need several scopes (the Query API reads entries and the registry).
    const missing = (typeof scope === 'string' ? [scope] : scope).find((one) => !allows(power.scopes, one));
    if (missing !== undefined) {
      if (throwing) throw unauthorized(`this token lacks the scope "${missing}"`);
      return undefined;
    }
    return power;
  }

  /** The synchronous case: the scope, then one call counted (undefined: refused, or not decidable without waiting). */
  private admit(scope: Scope | readonly Scope[], token: string, entry: CachedEntry): Caller | undefined {
    const power = this.scoped(scope, entry, false);
    if (!power || !this.counters.tryCount(entry.id, entry.fields, limitOf(entry.fields))) return undefined;
    return { token, ...power };
  }

  /** One bcrypt verification, against the token's hash or, without a well-formed one, a dummy of the configured cost. */
  private async verifyAccess(token: string, secret: string, hash: unknown, throttle: Throttle): Promise<boolean> {
    const real = typeof hash === 'string' && BCRYPT_SHAPE.test(hash) ? hash : undefined;
    const ok = await throttle(async () => this.verified.verify(token, secret, real ?? (await this.dummyHash())));
    return ok && real !== undefined;
  }

  /** A hash of a random secret nobody knows, made once: it never verifies, and costs what a real one does. */
  private dummyHash(): Promise<string> {
    if (!this.dummy) {
      const made = hashSecret(generateToken(), this.settings.tokens.hash_rounds);
      made.catch(() => {
        if (this.dummy === made) this.dummy = undefined; // a failed worker: try again next time
      });
      this.dummy = made;
    }
    return this.dummy;
  }

  /** SPEC §2 step 4: why the token may not be used now, or undefined. */
  private unusable(entry: CachedEntry): CmsError | undefined {
    const fields = entry.fields;
    if (fields['state'] === 'disabled') return badRequest('this token is disabled');
    const limit = limitOf(fields);
    if (this.counters.exhausted(entry.id, fields, limit)) return badRequest('this token has reached its limit_calls');
    if (hasExpiry(fields)) {
      const expires = toTimestamp(fields['expires_at'], this.settings.timezone);
      if (typeof expires !== 'number' || expires <= Date.now() / 1000) return badRequest('this token has expired');
    }
    return undefined;
  }

  private assertUsable(entry: CachedEntry): void {
    const unusable = this.unusable(entry);
    if (unusable) throw unusable;
  }

  /** The token fields answered by the API (calls include those not yet written). */
  private async view(entry: CachedEntry): Promise<PlainObject> {
    return { ...entry.view, calls: await this.counters.readTotal(entry.id, entry.fields) };
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
      const patch = async (item: { id: string; data: PlainObject }) => {
        if ('calls' in item.data) item.data = { ...item.data, calls: await this.counters.readTotal(entryIdOf(item.id), item.data) };
      };
      if (result.kind === 'items') await Promise.all(result.items.map(patch));
      if (result.kind === 'single') await patch(result.item);
      if (result.kind === 'groups') await Promise.all(result.groups.flatMap((g) => g.items.map(patch)));
      return { kind: 'collection', result };
    }
    const token = this.tokenId(rawId);
    const entry = await this.tokenEntry(token);
    if (!entry) throw notFound(`token "${token}" does not exist`);
    return { kind: 'entry', entry, data: filterFields(await this.view(entry), options.filter) };
  }

  /** Checks token fields given by a client; returns them normalized. */
  private checkFields(data: Fields, caller: Caller | undefined): Fields {
    const fields: Fields = { ...data };
    if ('hashed_access_token' in fields) throw badRequest('"hashed_access_token" cannot be set; create a new token instead');
    // The count is the server's: through the API a token could otherwise reset its own.
    if (caller && 'calls' in fields) throw badRequest('"calls" is counted by the server and cannot be set');
    if ('scopes' in fields) fields['scopes'] = parseScopes(fields['scopes'], 'data.scopes') ?? null;
    if ('state' in fields && fields['state'] !== 'enabled' && fields['state'] !== 'disabled') {
      throw badRequest('data.state must be "enabled" or "disabled"');
    }
    if ('limit_calls' in fields) fields['limit_calls'] = nonNegativeInteger(fields['limit_calls'], 'data.limit_calls');
    if ('calls' in fields) fields['calls'] = nonNegativeInteger(fields['calls'], 'data.calls');
    if ('expires_at' in fields && hasExpiry(fields)) {
      const expires = toTimestamp(fields['expires_at'], this.settings.timezone);
      if (typeof expires !== 'number') throw badRequest('data.expires_at must be a Unix timestamp or a date');
      fields['expires_at'] = expires;
    }
    return fields;
  }

  /** Refuses a token that would end up with more power than its caller (none for the CLI). */
  private assertGrantable(resulting: Fields, caller: Caller | undefined): void {
    if (!caller) return;
    const aspect = excess(powerOf(resulting, this.settings.timezone), caller);
    if (aspect) throw badRequest(grantDetail(aspect, caller));
  }

  /** Refuses to let a caller change or delete a token above it (a restricted token deleting the admin's). */
  private assertBelow(target: Fields, caller: Caller | undefined, action: 'change' | 'delete'): void {
    if (!caller) return;
    const aspect = excess(powerOf(target, this.settings.timezone), caller);
    if (aspect) throw badRequest(aboveDetail(action, aspect));
  }

  /**
   * Creates a token. What a restricted caller does not say is inherited from it — scopes, limit_calls,
   * expires_at — never "everything".
   */
  async create(rawData: unknown, caller?: Caller): Promise<{ token: string; access_token: string }> {
    const data = asDataMap(rawData, false);
    if (caller?.scopes !== undefined && !('scopes' in data)) data['scopes'] = [...caller.scopes];
    if (caller && caller.limitCalls > 0 && !('limit_calls' in data)) data['limit_calls'] = caller.limitCalls;
    if (caller?.expiresAt !== undefined && !('expires_at' in data)) data['expires_at'] = caller.expiresAt;
    const fields = this.checkFields(data, caller);
    if (fields['scopes'] === null) delete fields['scopes'];
    if ('expires_at' in fields && !hasExpiry(fields)) delete fields['expires_at'];
    this.assertGrantable(fields, caller);
    const token = generateToken();
    const accessToken = generateToken();
    const hashed = await hashSecret(accessToken, this.settings.tokens.hash_rounds);
    const id = entryIdOf(token);
    await this.store.locks.withEntry(id, async () => {
      const written = await this.store.write(id, {
        ...fields,
        hashed_access_token: hashed,
        state: fields['state'] ?? 'enabled',
        calls: 0,
        limit_calls: fields['limit_calls'] ?? 0,
        uuid: randomUUID(),
        created_at: nowForStorage(),
        created_by: typeof fields['created_by'] === 'string' ? fields['created_by'] : '',
      });
      await this.emit('tokens.created', tokenEventData(token, written.fields));
    });
    return { token, access_token: accessToken };
  }

  async update(rawId: unknown, rawData: unknown, caller?: Caller): Promise<PlainObject> {
    const token = this.tokenId(rawId);
    const data = asDataMap(rawData, true);
    const id = entryIdOf(token);
    const entry = await this.store.locks.withEntry(id, async () => {
      // Merged into the revision read; changed meanwhile by another writer: read and merge again.
      const written = await retryOnConflict(async () => {
        const current = await this.store.getFresh(id);
        if (!current) throw notFound(`token "${token}" does not exist`);
        this.assertBelow(current.fields, caller, 'change');
        const fields = this.checkFields(data, caller);
        const merged: Fields = { ...current.fields, ...fields };
        // `scopes: null` removes the list, i.e. makes the token unrestricted.
        if (merged['scopes'] === null) delete merged['scopes'];
        this.assertGrantable(merged, caller);
        const expected = { expected: current.meta.revision };
        if ('calls' in fields) {
          const written = await this.store.write(id, merged, expected);
          await this.counters.set(id, fields['calls'] as number);
          return written;
        }
        // The file gets the live count; the counter must know it is written, or it counts it twice.
        return this.counters.persistWith(id, current.fields, (calls) => this.store.write(id, { ...merged, calls }, expected));
      });
      await this.emit('tokens.updated', tokenEventData(token, written.fields));
      return written;
    });
    return this.view(entry);
  }

  async delete(rawId: unknown, caller?: Caller): Promise<void> {
    const token = this.tokenId(rawId);
    const id = entryIdOf(token);
    await this.store.locks.withTree(async () => {
      const entry = await this.store.get(id);
      if (!entry) throw notFound(`token "${token}" does not exist`);
      this.assertBelow(entry.fields, caller, 'delete');
      const all = await this.store.descendants(TOKENS_ROOT, 1);
      if (all.length <= 1) throw badRequest('this is the last token: create another one before deleting it');
      await this.store.remove(id);
      this.counters.forget(id);
      await this.emit('tokens.deleted', tokenEventData(token));
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
    const cost = costOf(hash);
    const maxCost = Math.max(MAX_VERIFY_COST, this.settings.tokens.hash_rounds);
    if (cost !== undefined && cost > maxCost) throw badRequest(`parameter "hash" has cost ${cost}; at most ${maxCost} is verified`);
    return { verified: await verifySecret(value, hash) };
  }
}
