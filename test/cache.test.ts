/**
 * Cache correctness (issue 5): edits made on disk reach the API without a restart, API writes are
 * visible at once, cache clear keeps content, ETag/304 and If-Match/412, compression, and the
 * `calls` counter across a graceful restart. No timing assertions: outside edits are awaited with
 * a bounded polling loop.
 */
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { filesOnly, ON_POSTGRES } from './engine-helpers.js';
import { call, editOutside, q, removeOutside, removeProject, startTestServer, storedText, tempProject, type ApiResponse, type TestServer } from './helpers.js';

/** Polls `probe` until `done` holds or `timeoutMs` passes; returns the last value seen. */
async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await probe();
  }
  return value;
}

function entryFile(t: TestServer, id: string, file = 'entry.md'): string {
  return path.join(t.projectDir, 'entries', ...id.split('/'), file);
}

function frontmatter(title: string, extra = ''): string {
  return `---\ntitle: ${title}\nviews: 1\n${extra}---\nBody of ${title}.\n`;
}

const getEntry = (t: TestServer, id: string, headers?: Record<string, string>): Promise<ApiResponse> =>
  call(t.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(t.token)}`, headers });

const getCollection = (t: TestServer, id: string): Promise<ApiResponse> =>
  call(t.base, 'GET', '/entries', { query: `id=${q(id)}&options[collection]=true&token=${q(t.token)}` });

const patchEntry = (t: TestServer, id: string, data: Record<string, unknown>, headers?: Record<string, string>): Promise<ApiResponse> =>
  call(t.base, 'PATCH', '/entries', { json: { id, data, token: t.token, access_token: t.accessToken }, headers });

/** A raw GET (no automatic decompression), to see exactly what travels on the wire. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('cache: edits on disk, with the file watcher', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: true });
  });
  after(async () => t.close());

  it('sees an entry file rewritten in place', async () => {
    const id = 'blog/hello-world';
    const first = await getEntry(t, id);
    assert.equal(first.body.title, 'Hello world');
    await editOutside(t, id, frontmatter('Edited in place by an editor'));
    const seen = await waitFor(() => getEntry(t, id), (r) => r.body?.title === 'Edited in place by an editor');
    assert.equal(seen.status, 200);
    assert.equal(seen.body.title, 'Edited in place by an editor');
    assert.equal(String(seen.body.content).trim(), 'Body of Edited in place by an editor.');
  });

  it('sees an entry file replaced through a temp file and a rename', filesOnly('a rename over an entry file'), async () => {
    const id = 'blog/flat-files';
    const first = await getEntry(t, id);
    assert.equal(first.body.title, 'Why flat files');
    const file = entryFile(t, id);
    const temp = `${file}.tmp-${process.pid}`;
    writeFileSync(temp, frontmatter('Replaced by rename'));
    renameSync(temp, file);
    const seen = await waitFor(() => getEntry(t, id), (r) => r.body?.title === 'Replaced by rename');
    assert.equal(seen.body.title, 'Replaced by rename');
    // The temp file was a passing name, never an entry of its own.
    const collection = await getCollection(t, 'blog');
    assert.ok(!Object.keys(collection.body).some((key) => key.includes('tmp')));
  });

  it('lists an entry folder created on disk in its collection', async () => {
    const before = await getCollection(t, 'blog');
    assert.ok(!('blog/from-disk' in before.body));
    await editOutside(t, 'blog/from-disk', frontmatter('Made on disk'));
    const seen = await waitFor(() => getCollection(t, 'blog'), (r) => r.body !== undefined && 'blog/from-disk' in r.body);
    assert.equal(seen.body['blog/from-disk']?.title, 'Made on disk');
    const single = await getEntry(t, 'blog/from-disk');
    assert.equal(single.status, 200);
    assert.equal(single.body.title, 'Made on disk');
  });

  it('drops an entry folder removed on disk from GET and from collections', async () => {
    const id = 'blog/json-headers';
    assert.equal((await getEntry(t, id)).status, 200);
    assert.ok(id in (await getCollection(t, 'blog')).body);
    await removeOutside(t, id);
    const gone = await waitFor(() => getEntry(t, id), (r) => r.status === 404);
    assert.equal(gone.status, 404);
    const collection = await waitFor(() => getCollection(t, 'blog'), (r) => r.body !== undefined && !(id in r.body));
    assert.equal(collection.status, 200);
    assert.ok(!(id in collection.body));
    assert.ok('blog/hello-world' in collection.body, 'its siblings stay');
  });
});

describe('cache: API writes, cache clear, conditional requests, compression', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: true });
  });
  after(async () => t.close());

  it('answers a GET right after a PATCH or POST with the new state, without waiting', async () => {
    const id = 'movies/arrival';
    assert.equal((await getEntry(t, id)).body.year, 2016);
    const patched = await patchEntry(t, id, { year: 2017 });
    assert.equal(patched.status, 200);
    const read = await getEntry(t, id);
    assert.equal(read.body.year, 2017);
    const inCollection = await getCollection(t, 'movies');
    assert.equal(inCollection.body[id].year, 2017);

    const created = await call(t.base, 'POST', '/entries', {
      json: { id: 'movies/brand-new', data: { title: 'Brand new', year: 2024 }, token: t.token, access_token: t.accessToken },
    });
    assert.equal(created.status, 200);
    assert.equal((await getEntry(t, 'movies/brand-new')).body.title, 'Brand new');
    assert.equal((await getCollection(t, 'movies')).body['movies/brand-new']?.year, 2024);
  });

  it('keeps every entry when the cache is cleared', async () => {
    const entryBefore = await getEntry(t, 'blog/hello-world');
    const collectionBefore = await getCollection(t, 'blog');
    const fileBefore = await storedText(t, 'blog/hello-world');
    const cleared = await call(t.base, 'POST', '/cache/clear', { json: { token: t.token, access_token: t.accessToken } });
    assert.equal(cleared.status, 204);
    assert.equal(cleared.text, '');
    const entryAfter = await getEntry(t, 'blog/hello-world');
    assert.equal(entryAfter.status, 200);
    assert.deepEqual(entryAfter.body, entryBefore.body);
    assert.deepEqual((await getCollection(t, 'blog')).body, collectionBefore.body);
    assert.equal(await storedText(t, 'blog/hello-world'), fileBefore);
  });

  it('answers If-None-Match with 304 and an empty body, and a changed entry with a new ETag', async () => {
    const id = 'blog/flat-files';
    const first = await getEntry(t, id);
    const etag = first.headers.get('etag');
    assert.ok(etag, 'GET carries an ETag');
    const again = await getEntry(t, id);
    assert.equal(again.headers.get('etag'), etag, 'the ETag is stable while the entry is unchanged');

    const notModified = await getEntry(t, id, { 'if-none-match': etag });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.text, '');

    assert.equal((await patchEntry(t, id, { views: 43 })).status, 200);
    const changed = await getEntry(t, id, { 'if-none-match': etag });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.views, 43);
    const newEtag = changed.headers.get('etag');
    assert.ok(newEtag);
    assert.notEqual(newEtag, etag);
    assert.equal((await getEntry(t, id, { 'if-none-match': newEtag })).status, 304);
  });

  it('gives collections an ETag that changes with their content', async () => {
    const first = await getCollection(t, 'movies');
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const same = await call(t.base, 'GET', '/entries', {
      query: `id=movies&options[collection]=true&token=${q(t.token)}`,
      headers: { 'if-none-match': etag },
    });
    assert.equal(same.status, 304);
    assert.equal(same.text, '');
    assert.equal((await patchEntry(t, 'movies/inception', { rating: 9.1 })).status, 200);
    const changed = await call(t.base, 'GET', '/entries', {
      query: `id=movies&options[collection]=true&token=${q(t.token)}`,
      headers: { 'if-none-match': etag },
    });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.get('etag'), etag);
  });

  it('applies a PATCH whose If-Match is current, and refuses a stale one with 412', async () => {
    const id = 'blog/hello-world';
    const current = (await getEntry(t, id)).headers.get('etag');
    assert.ok(current);
    const ok = await patchEntry(t, id, { views: 200 }, { 'if-match': current });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.views, 200);
    const fresh = ok.headers.get('etag') ?? (await getEntry(t, id)).headers.get('etag');
    assert.ok(fresh);
    assert.notEqual(fresh, current);

    const fileBefore = await storedText(t, id);
    const stale = await patchEntry(t, id, { views: 999 }, { 'if-match': current });
    assert.equal(stale.status, 412);
    assert.match(stale.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(stale.body.http_status_code, 412);
    assert.equal(typeof stale.body.title, 'string');
    assert.equal(typeof stale.body.message, 'string');
    const after = await getEntry(t, id);
    assert.equal(after.body.views, 200, 'the refused write changed nothing');
    assert.equal(after.headers.get('etag'), fresh);
    assert.equal(await storedText(t, id), fileBefore);
  });

  it('compresses a large collection for a client that accepts gzip', async () => {
    // Enough entries with enough text to pass the compression threshold (2 KiB by default).
    const filler = 'A flat-file CMS keeps content in folders. '.repeat(4);
    assert.equal((await call(t.base, 'POST', '/entries', { json: { id: 'bulk', data: { title: 'Bulk' }, token: t.token, access_token: t.accessToken } })).status, 200);
    for (let i = 0; i < 20; i++) {
      const res = await call(t.base, 'POST', '/entries', {
        json: { id: `bulk/item-${i}`, data: { title: `Item ${i}`, summary: filler }, token: t.token, access_token: t.accessToken },
      });
      assert.equal(res.status, 200);
    }
    const url = `${t.base}/entries?id=bulk&options[collection]=true&token=${q(t.token)}`;
    const plain = await rawGet(url, { 'accept-encoding': 'identity' });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.ok(plain.body.length > 2048, `the plain body is large (${plain.body.length} bytes)`);

    const zipped = await rawGet(url, { 'accept-encoding': 'gzip' });
    assert.equal(zipped.status, 200);
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(zipped.body.length < plain.body.length);
    const decoded = gunzipSync(zipped.body).toString('utf8');
    assert.equal(decoded, plain.body.toString('utf8'));
    assert.equal(Object.keys(JSON.parse(decoded) as object).length, 20);
  });
});

describe('cache: bounded by cache.max_entries', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: true, settings: { cache: { max_entries: 3, preload: false } } });
  });
  after(async () => t.close());

  it('keeps at most max_entries parsed entries and still answers every entry correctly', async () => {
    const ids = ['home', 'blog', 'blog/hello-world', 'blog/flat-files', 'movies', 'movies/arrival', 'movies/inception'];
    for (let round = 0; round < 2; round++) {
      for (const id of ids) {
        const res = await getEntry(t, id);
        assert.equal(res.status, 200, id);
        assert.equal(res.body.id, id);
        assert.ok(t.server.cms.store.cachedCount <= 3, `cache holds ${t.server.cms.store.cachedCount} entries`);
      }
    }
    // An entry dropped from the cache is read again from its file, edits included.
    await editOutside(t, 'home', frontmatter('Home, edited while evicted'));
    const seen = await waitFor(() => getEntry(t, 'home'), (r) => r.body?.title === 'Home, edited while evicted');
    assert.equal(seen.body.title, 'Home, edited while evicted');
  });
});

describe('cache: the calls counter across a graceful restart', () => {
  it('loses no count when the server is closed and started again', async () => {
    const projectDir = tempProject(true);
    try {
      const first = await startTestServer({ projectDir, keepStore: true });
      const { token, accessToken } = first;
      // Counted: every authorized call, whatever the operation's outcome.
      for (let i = 0; i < 5; i++) assert.equal((await getEntry(first, 'home')).status, 200);
      for (let i = 0; i < 2; i++) assert.equal((await getEntry(first, 'no/such/entry')).status, 404);
      // Not counted: a call whose access token does not verify.
      const refused = await call(first.base, 'GET', '/entries', { query: `id=home&token=${q(token)}&access_token=${'0'.repeat(32)}` });
      assert.equal(refused.status, 401);
      const counted = 7;
      await first.close();

      const second = await startTestServer({ projectDir, withToken: false, sameStoreAs: first });
      try {
        // On PostgreSQL the shared counter table holds the count, not the token entry (README "Scaling out").
        if (!ON_POSTGRES) {
          const stored = parseYaml(await storedText(second, `tokens/${token}`)) as Record<string, unknown>;
          assert.equal(stored['calls'], counted, 'the graceful close wrote the counter');
        }

        // This read is itself an authorized call, counted before the token is shown.
        const read = await call(second.base, 'GET', '/tokens', { query: `id=${q(token)}&token=${q(token)}&access_token=${q(accessToken)}` });
        assert.equal(read.status, 200);
        assert.equal(read.body.calls, counted + 1);
      } finally {
        await second.close();
      }
    } finally {
      removeProject(projectDir);
    }
  });
});

describe('cache: without a watcher, stat checks pick up outside edits', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: true, settings: { cache: { watch: false, poll_interval: 100 } } });
  });
  after(async () => t.close());

  it('really runs without a watcher', () => {
    assert.equal(t.server.startup.watching, false);
  });

  it('sees an edited entry, a new entry and a removed entry', async () => {
    const id = 'blog/hello-world';
    assert.equal((await getEntry(t, id)).body.title, 'Hello world');
    assert.ok('blog/flat-files' in (await getCollection(t, 'blog')).body);

    await editOutside(t, id, frontmatter('Edited with polling'));
    const edited = await waitFor(() => getEntry(t, id), (r) => r.body?.title === 'Edited with polling');
    assert.equal(edited.body.title, 'Edited with polling');

    await editOutside(t, 'blog/polled', frontmatter('Found by polling'));
    const added = await waitFor(() => getCollection(t, 'blog'), (r) => r.body !== undefined && 'blog/polled' in r.body);
    assert.equal(added.body['blog/polled']?.title, 'Found by polling');

    await removeOutside(t, 'blog/flat-files');
    const removed = await waitFor(() => getEntry(t, 'blog/flat-files'), (r) => r.status === 404);
    assert.equal(removed.status, 404);
    const listed = await waitFor(() => getCollection(t, 'blog'), (r) => r.body !== undefined && !('blog/flat-files' in r.body));
    assert.ok(!('blog/flat-files' in listed.body));
  });
});
