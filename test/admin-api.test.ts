/**
 * Issue 14, the server side of the admin app: the raw entry text (read, save with If-Match, refused
 * when it does not parse), the rendered preview, the change stream (server-sent events) and the
 * app's own page at /admin under a strict CSP.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { filesOnly } from './engine-helpers.js';
import { call, q, startTestServer, storedText, type TestServer } from './helpers.js';

const auth = (t: TestServer) => ({ authorization: `Bearer ${t.token}`, 'x-access-token': t.accessToken });

/** Reads server-sent events until `until` says enough (or the time runs out: then it fails). */
async function readEvents(
  url: string,
  headers: Record<string, string>,
  until: (events: { event: string; data: string }[]) => boolean,
  act: () => Promise<void>,
): Promise<{ event: string; data: string }[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 15_000);
  const response = await fetch(url, { headers, signal: controller.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: string }[] = [];
  let buffer = '';
  let acted = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) events.push({ event, data: data.join('\n') });
        if (event === 'ready' && !acted) {
          acted = true;
          await act();
        }
      }
      if (until(events)) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

describe('admin API: raw text, preview and the change stream', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: true });
  });
  after(async () => t?.close());

  it('answers the stored text with its ETag, private fields included, to write access only', async () => {
    await call(t.base, 'POST', '/entries', { json: { id: 'notes', data: { title: 'Notes', _secret: 'kept' }, token: t.token, access_token: t.accessToken } });
    const read = await call(t.base, 'GET', '/entries/source', { query: `id=notes`, headers: auth(t) });
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.id, 'notes');
    assert.equal(read.body.format, 'frontmatter');
    assert.match(read.body.source, /_secret: kept/);
    assert.equal(read.headers.get('etag'), read.body.etag);
    assert.equal(read.body.source, await storedText(t, 'notes'));
    // Without the access token: refused (the fetch answer never shows `_` fields).
    const noAccess = await call(t.base, 'GET', '/entries/source', { query: `id=notes&token=${t.token}` });
    assert.equal(noAccess.status, 400, noAccess.text);
    assert.match(noAccess.body.detail, /access_token/);
    const wrongAccess = await call(t.base, 'GET', '/entries/source', { query: `id=notes`, headers: { ...auth(t), 'x-access-token': '0'.repeat(32) } });
    assert.equal(wrongAccess.status, 401, wrongAccess.text);
    const missing = await call(t.base, 'GET', '/entries/source', { query: `id=nope`, headers: auth(t) });
    assert.equal(missing.status, 404);
    const tokens = await call(t.base, 'GET', '/entries/source', { query: `id=${q(`tokens/${t.token}`)}`, headers: auth(t) });
    assert.equal(tokens.status, 404, 'tokens are never reachable through the entries API');
  });

  it('saves a new text with If-Match, keeps it byte for byte, refuses a stale ETag and text that does not parse', async () => {
    const read = await call(t.base, 'GET', '/entries/source', { query: `id=notes`, headers: auth(t) });
    const text = '---\n# a comment the editor keeps\ntitle: Notes, raw\n---\nBody *here*.\n';
    const saved = await call(t.base, 'PUT', '/entries/source', { json: { id: 'notes', source: text }, headers: { ...auth(t), 'if-match': read.body.etag } });
    assert.equal(saved.status, 200, saved.text);
    assert.equal(saved.body.title, 'Notes, raw');
    assert.equal(await storedText(t, 'notes'), text);
    // The old ETag is stale now.
    const stale = await call(t.base, 'PUT', '/entries/source', { json: { id: 'notes', source: '---\ntitle: lost\n---\n' }, headers: { ...auth(t), 'if-match': read.body.etag } });
    assert.equal(stale.status, 412, stale.text);
    assert.equal(await storedText(t, 'notes'), text);
    // A text that does not parse changes nothing.
    const broken = await call(t.base, 'PUT', '/entries/source', { json: { id: 'notes', source: '---\ntitle: [unclosed\n---\n' }, headers: auth(t) });
    assert.equal(broken.status, 400, broken.text);
    assert.match(broken.body.detail, /not valid/);
    assert.equal(await storedText(t, 'notes'), text);
    const notText = await call(t.base, 'PUT', '/entries/source', { json: { id: 'notes', source: { title: 'x' } }, headers: auth(t) });
    assert.equal(notText.status, 400);
    const missing = await call(t.base, 'PUT', '/entries/source', { json: { id: 'nope', source: '---\ntitle: x\n---\n' }, headers: auth(t) });
    assert.equal(missing.status, 404);
  });

  it('previews fields as the entry would answer them, storing nothing', async () => {
    const before = await storedText(t, 'notes');
    const preview = await call(t.base, 'POST', '/entries/preview', {
      json: { id: 'notes', data: { title: 'Draft', content: '@markdown **Heading**', shout: '@shortcodes (strings upper)shout(/strings)' } },
      headers: auth(t),
    });
    assert.equal(preview.status, 200, preview.text);
    assert.equal(preview.body.title, 'Draft');
    assert.match(preview.body.content, /<strong>Heading<\/strong>/);
    assert.equal(preview.body.shout, 'SHOUT');
    assert.equal(await storedText(t, 'notes'), before);
    const readOnly = await call(t.base, 'POST', '/entries/preview', { json: { id: 'notes', data: { title: 'x' }, token: t.token } });
    assert.equal(readOnly.status, 400, 'the access token is required (a missing parameter)');
  });

  it('streams changes made through the API and on disk, never tokens', filesOnly('edits a file on disk'), async () => {
    const url = `${t.server.url}/api/v1/changes`;
    const seen = await readEvents(
      url,
      { authorization: `Bearer ${t.token}` },
      (events) => events.some((e) => e.event === 'change' && e.data.includes('"home"')),
      async () => {
        await call(t.base, 'PATCH', '/entries', { json: { id: 'notes', data: { title: 'Changed' } }, headers: auth(t) });
        await call(t.base, 'POST', '/tokens', { json: { data: { title: 'another' } }, headers: auth(t) });
        writeFileSync(path.join(t.projectDir, 'entries', 'home', 'entry.md'), '---\ntitle: Home, edited on disk\n---\n');
      },
    );
    const changes = seen.filter((e) => e.event === 'change').map((e) => JSON.parse(e.data) as { id: string; origin: string; kind: string });
    assert.ok(changes.some((c) => c.id === 'notes' && c.origin === 'api'), JSON.stringify(changes));
    assert.ok(changes.some((c) => c.id === 'home' && c.origin === 'outside'), JSON.stringify(changes));
    assert.ok(!changes.some((c) => c.id.startsWith('tokens')), 'no token changes in the stream');
  });

  it('streams API changes on every engine', async () => {
    const seen = await readEvents(
      `${t.server.url}/api/v1/changes`,
      { authorization: `Bearer ${t.token}` },
      (events) => events.some((e) => e.event === 'change' && e.data.includes('"notes"')),
      async () => {
        await call(t.base, 'PATCH', '/entries', { json: { id: 'notes', data: { title: 'Again' } }, headers: auth(t) });
      },
    );
    assert.ok(seen.some((e) => e.event === 'ready'));
    const bad = await call(t.base, 'GET', '/changes', { query: 'token=nope' });
    assert.equal(bad.status, 401);
  });

  it('serves the app at /admin under a strict CSP, with screens routed to the page and unknown assets 404', async () => {
    for (const route of ['/admin', '/admin/', '/admin/entries/blog']) {
      const page = await fetch(`${t.server.url}${route}`);
      assert.equal(page.status, 200, route);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      const csp = page.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(page.headers.get('x-frame-options'), 'DENY');
      const html = await page.text();
      assert.match(html, /<script type="module"[^>]* src="\/admin\/assets\/[^"]+\.js"/);
      assert.doesNotMatch(html, /<script(?![^>]*src=)[^>]*>/, 'no inline script');
    }
    const asset = await fetch(`${t.server.url}/admin/assets/none-such.js`);
    assert.equal(asset.status, 404);
    assert.equal((await asset.json()).http_status_code, 404);
  });
});

describe('admin app switched off', () => {
  it('is not served when admin.enabled is false', async () => {
    const t = await startTestServer({ fromDemo: false, withToken: false, settings: { admin: { enabled: false } } });
    try {
      const page = await fetch(`${t.server.url}/admin`);
      assert.equal(page.status, 404);
      assert.equal((await page.json()).http_status_code, 404);
    } finally {
      await t.close();
    }
  });
});
