/**
 * Issue 13, item 3: the typed client (src/client, `flextype-ts/client`) against a real server, for
 * every endpoint group: typed options encoded to brackets, FlextypeError with the JSON body, a 412
 * with If-Match, pagination with X-Total-Count. Every answer it received is then checked against
 * the operation's documented statuses and answer schema.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient, etagOf, FlextypeError, orderedMembers, toQueryString, type Entry, type FlextypeClient } from '../src/client/index.js';
import { OPERATIONS, type Operation } from '../src/http/openapi/operations.js';
import { REPO_ROOT, startTestServer, type TestServer } from './helpers.js';

interface Seen {
  method: string;
  path: string;
  status: number;
  text: string;
}

async function rejects(promise: Promise<unknown>, status: number, detail?: RegExp): Promise<FlextypeError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof FlextypeError, String(err));
    assert.equal(err.status, status, err.message);
    assert.equal(err.body?.http_status_code, status);
    assert.equal(typeof err.body?.title, 'string');
    if (detail) assert.match(err.detail ?? '', detail);
    return err;
  }
  assert.fail(`expected a ${status}`);
}

describe('the typed client against a real server', () => {
  let t: TestServer;
  let client: FlextypeClient;
  const seen: Seen[] = [];
  before(async () => {
    t = await startTestServer({ fromDemo: false, settings: { security: { auth_failures_per_minute: 0 }, storage: { durable: false } } });
    // Records every answer, to check it against the document afterwards.
    const recording: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const copy = response.clone();
      seen.push({ method: init?.method ?? 'GET', path: new URL(String(input)).pathname, status: response.status, text: await copy.text() });
      return response;
    };
    client = createClient({ baseUrl: t.server.url, token: t.token, accessToken: t.accessToken, fetch: recording });
  });
  after(async () => t.close());

  it('entries: create, get, collection with typed where/sort, groups, copy, move, delete', async () => {
    const films = await client.entries.create('films', { title: 'Films' });
    assert.equal(films.id, 'films');
    assert.ok(etagOf(films), 'a write answer carries its ETag');
    for (const [slug, year, genre] of [['10', 2010, 'drama'], ['9', 1999, 'action'], ['2', 2002, 'drama'], ['alien', 1979, 'horror']] as const) {
      await client.entries.create(`films/${slug}`, { title: `Film ${slug}`, year, genre });
    }
    const one = await client.entries.get('films/10');
    assert.equal(one.title, 'Film 10');
    assert.equal(typeof one.created_at, 'number');
    const only = await client.entries.get('films/10', { filter: { only: ['title'] } });
    assert.deepEqual(only, { title: 'Film 10' });

    const recent = await client.entries.collection('films', {
      filter: { where: [{ key: 'year', operator: '>=', value: 2000 }], sort_by: { key: 'year', direction: 'DESC' } },
    });
    // Ids that look like numbers keep the server's order (JSON.parse would put them first, ascending).
    assert.deepEqual(recent.items.map(([id]) => id), ['films/10', 'films/2']);
    assert.equal(recent.total, 2);
    assert.equal(recent.skipped, 0);
    assert.ok(recent.etag);

    const either = await client.entries.collection('films', {
      filter: { where: [{ or: [{ key: 'genre', value: 'horror' }, { key: 'year', operator: 'lt', value: 2000 }] }], sort_by: 'title' },
    });
    assert.deepEqual(either.items.map(([id]) => id), ['films/9', 'films/alien']);

    const groups = await client.entries.groups('films', 'genre', { filter: { sort_by: 'year' } });
    assert.deepEqual(Object.keys(groups).sort(), ['action', 'drama', 'horror']);
    assert.deepEqual(groups['drama']!.map((e: Entry) => e.id), ['films/2', 'films/10']);

    const first = await client.entries.fetch('films', { collection: true, filter: { sort_by: 'year', return: 'first' } });
    assert.equal((first as Entry).id, 'films/alien');

    const copy = await client.entries.copy('films/alien', 'films/aliens');
    assert.equal(copy.id, 'films/aliens');
    assert.notEqual(copy.uuid, (await client.entries.get('films/alien')).uuid);
    const moved = await client.entries.move('films/aliens', 'films/aliens-2');
    assert.equal(moved?.id, 'films/aliens-2');
    await client.entries.delete('films/aliens-2');
    await rejects(client.entries.get('films/aliens-2'), 404);
  });

  it('If-Match: the ETag of a fetched entry guards update, move and delete; a stale one is 412 and changes nothing', async () => {
    await client.entries.create('notes', { title: 'v1' });
    const read = await client.entries.get('notes');
    const updated = await client.entries.update('notes', { title: 'v2' }, { ifMatch: read });
    assert.equal(updated.title, 'v2');
    // `read` is stale now: its ETag is refused.
    const stale = await rejects(client.entries.update('notes', { title: 'v3' }, { ifMatch: read }), 412, /changed/);
    assert.equal(stale.isPreconditionFailed, true);
    assert.equal(stale.body?.title, 'Precondition Failed');
    assert.equal((await client.entries.get('notes')).title, 'v2');
    await rejects(client.entries.delete('notes', { ifMatch: read }), 412);
    await rejects(client.entries.move('notes', 'notes-moved', { ifMatch: etagOf(read)! }), 412);
    assert.equal((await client.entries.get('notes')).title, 'v2');
    // The answer of the update carries the current ETag: it passes.
    await client.entries.delete('notes', { ifMatch: updated });
    await rejects(client.entries.get('notes'), 404);
    await assert.rejects(client.entries.update('x', {}, { ifMatch: {} }), TypeError);
  });

  it('pagination: an async iterator over pages, bounded by X-Total-Count', async () => {
    await client.entries.create('paged', {});
    for (let i = 0; i < 7; i++) await client.entries.create(`paged/p${i}`, { n: i, even: i % 2 === 0 });
    const pages = [];
    for await (const page of client.entries.pages('paged', { pageSize: 3, filter: { sort_by: { key: 'n', direction: 'DESC' } } })) pages.push(page);
    assert.deepEqual(pages.map((p) => p.items.length), [3, 3, 1]);
    assert.deepEqual(pages.map((p) => p.offset), [0, 3, 6]);
    assert.ok(pages.every((p) => p.total === 7));
    assert.deepEqual(pages.flatMap((p) => p.items.map(([, e]) => e['n'])), [6, 5, 4, 3, 2, 1, 0]);
    const even = [];
    for await (const page of client.entries.pages('paged', { pageSize: 2, filter: { where: [{ key: 'even', value: true }] } })) even.push(...page.items.map(([id]) => id));
    assert.deepEqual(even, ['paged/p0', 'paged/p2', 'paged/p4', 'paged/p6']);
    const exact = [];
    for await (const page of client.entries.pages('paged', { pageSize: 7 })) exact.push(page);
    assert.equal(exact.length, 1, 'no extra request past the total');
  });

  it('errors: FlextypeError carries the status and the JSON body', async () => {
    const missing = await rejects(client.entries.get('nowhere'), 404);
    assert.equal(missing.body?.message, 'The requested resource or endpoint could not be found');
    await rejects(client.entries.create('films', {}), 400, /exists/);
    const readOnly = createClient({ baseUrl: t.server.url, token: t.token });
    await rejects(readOnly.entries.create('x', {}), 400, /^missing required parameter: access_token$/);
    const wrong = createClient({ baseUrl: t.server.url, token: 'not-a-token', accessToken: 'nope' });
    await rejects(wrong.entries.get('films'), 401);
    await rejects(client.entries.collection('films', { filter: { where: [{ key: 'title', operator: 'bogus' as 'eq', value: 1 }] } }), 400, /unknown operator/);
  });

  it('tokens: create with scopes, get, collection, update, hashes, delete', async () => {
    const created = await client.tokens.create({ title: 'reader', scopes: ['entries:read'] });
    assert.match(created.token, /^[0-9a-f]{32}$/);
    const entry = await client.tokens.get(created.token);
    assert.deepEqual(entry.scopes, ['entries:read']);
    assert.equal(entry['hashed_access_token'], undefined);
    const all = await client.tokens.collection();
    assert.ok(all.items.some(([id]) => id === created.token));
    assert.equal(all.total, all.items.length);
    const pages = [];
    for await (const page of client.tokens.pages({ pageSize: 1 })) pages.push(page);
    assert.equal(pages.length, all.total);
    const updated = await client.tokens.update(created.token, { state: 'disabled' });
    assert.equal(updated.state, 'disabled');
    const reader = createClient({ baseUrl: t.server.url, token: created.token });
    await rejects(reader.entries.get('films'), 400, /disabled/);
    const { token } = await client.tokens.generate();
    assert.match(token, /^[0-9a-f]{32}$/);
    const { hashed_token } = await client.tokens.generateHash('secret');
    assert.deepEqual(await client.tokens.verifyHash('secret', hashed_token), { verified: true });
    assert.deepEqual(await client.tokens.verifyHash('other', hashed_token), { verified: false });
    await client.tokens.delete(created.token);
    await rejects(client.tokens.get(created.token), 404);
  });

  it('registry, cache and the Query API', async () => {
    const name = await client.registry.get('flextype.manifest.name');
    assert.equal(name.id, 'flextype.manifest.name');
    assert.equal(typeof name.value, 'string');
    assert.deepEqual(await client.registry.get('no.such.key', 'fallback'), { id: 'no.such.key', value: 'fallback' });
    await rejects(client.registry.get('no.such.key'), 404);
    assert.equal(await client.cache.clear(), undefined);
    assert.deepEqual(await client.query({ sum: '1 + 1', nested: { list: '[1, 2]' } }), { sum: 2, nested: { list: [1, 2] } });
    await rejects(client.query({ bad: '1 +' }), 400, /bad/);
    const doc = await client.openapi();
    assert.equal(doc['openapi'], '3.1.0');
  });

  it('credentials as parameters (the Flextype 1.0 way) work too', async () => {
    const classic = createClient({ baseUrl: t.server.url, token: t.token, accessToken: t.accessToken, credentials: 'parameters' });
    await classic.entries.create('classic', { title: 'C' });
    assert.equal((await classic.entries.get('classic')).title, 'C');
    assert.equal((await classic.tokens.get(t.token)).id, t.token);
    await classic.entries.delete('classic');
  });

  it('every answer received has a documented status and matches the documented schema', () => {
    const byRoute = new Map<string, Operation>();
    for (const op of Object.values(OPERATIONS) as Operation[]) byRoute.set(`${op.method} ${op.path}`, op);
    let checked = 0;
    for (const answer of seen) {
      if (answer.path === '/api/v1/openapi.json') continue;
      const op = byRoute.get(`${answer.method} ${answer.path}`);
      assert.ok(op, `${answer.method} ${answer.path} is an operation`);
      if (answer.status >= 400) {
        const documented = [400, 401, 429, 500, ...op.errors, ...(op.ifMatch ? [412] : [])];
        assert.ok(documented.includes(answer.status), `${op.operationId} ${answer.status} documented`);
        continue;
      }
      const documented = op.answers[answer.status];
      assert.ok(documented, `${op.operationId} ${answer.status} documented`);
      if (documented.schema) {
        const parsed = documented.schema.safeParse(JSON.parse(answer.text));
        assert.ok(parsed.success, `${op.operationId}: ${parsed.error?.message}`);
        checked++;
      } else assert.equal(answer.text, '');
    }
    assert.ok(checked > 40, `${checked} answers checked`);
  });
});

describe('the client module', () => {
  it('encodes typed options to PHP brackets', () => {
    const text = toQueryString({
      id: 'films',
      options: { collection: true, filter: { where: [{ key: 'year', operator: 'gte', value: 2000 }], sort_by: { key: 'title' }, limit: 5 } },
    });
    assert.equal(
      text,
      'id=films&options[collection]=true&options[filter][where][0][key]=year&options[filter][where][0][operator]=gte&options[filter][where][0][value]=2000&options[filter][sort_by][key]=title&options[filter][limit]=5',
    );
    assert.equal(toQueryString({ id: 'a b&c', skip: undefined }), 'id=a+b%26c');
  });

  it('keeps the order of members, integer-like keys included', () => {
    assert.deepEqual(orderedMembers('{"b/10": {"x": "}"}, "b/9": [1, {"y": null}], "7": "s\\"", "a": 1}'), [
      ['b/10', { x: '}' }],
      ['b/9', [1, { y: null }]],
      ['7', 's"'],
      ['a', 1],
    ]);
    assert.deepEqual(orderedMembers('{}'), []);
  });

  it('imports nothing but its own files (no server code, no dependencies)', () => {
    const dir = path.join(REPO_ROOT, 'src', 'client');
    for (const file of readdirSync(dir)) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      for (const match of text.matchAll(/\bfrom\s+'([^']+)'|import\(\s*'([^']+)'/g)) {
        const target = match[1] ?? match[2]!;
        assert.match(target, /^\.\/[a-z-]+\.js$/, `${file} imports ${target}`);
      }
    }
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.exports['./client'], { types: './dist/client/index.d.ts', default: './dist/client/index.js' });
  });
});
