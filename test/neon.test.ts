/**
 * NEON is not supported (SPEC §1 "if practical"): the only npm NEON library, neon-js 1.1.2, decodes
 * several of the reference's (nette/neon 3) forms wrongly, so entries in NEON must fail clearly
 * rather than be served as something else. A `---neon` front matter header answers a JSON error
 * that names the language and the supported ones, changes nothing on a write, and does not hide its
 * readable siblings; a collection naming the `neon` serializer is refused at start-up.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, q, removeProject, startTestServer, storedText, tempProject, writeStoredText, type TestServer } from './helpers.js';

// The reference's own fixture (tests/fixtures/serializers/frontmatter-neon.md).
const NEON_ENTRY = '---neon\ntitle: "Frontmatter NEON"\n---\nContent is here.';

describe('NEON entries', () => {
  let t: TestServer;
  let projectDir: string;
  const auth = () => ({ authorization: `Bearer ${t.token}`, 'x-access-token': t.accessToken });

  before(async () => {
    // The entries are in the project before start (on PostgreSQL they are imported into its schema).
    projectDir = tempProject(false);
    const entries = path.join(projectDir, 'entries');
    mkdirSync(path.join(entries, 'notes', 'neon'), { recursive: true });
    mkdirSync(path.join(entries, 'notes', 'plain'), { recursive: true });
    writeFileSync(path.join(entries, 'notes', 'entry.md'), '---\ntitle: Notes\n---\n');
    writeFileSync(path.join(entries, 'notes', 'neon', 'entry.md'), NEON_ENTRY);
    writeFileSync(path.join(entries, 'notes', 'plain', 'entry.md'), '---\ntitle: Plain\n---\nBody');
    t = await startTestServer({ projectDir });
  });
  after(async () => {
    await t.close();
    removeProject(projectDir);
  });

  it('a ---neon header answers a clear JSON error naming the language, without a stack', async () => {
    const res = await call(t.base, 'GET', '/entries', { query: `id=${q('notes/neon')}`, headers: auth() });
    assert.equal(res.status, 500, res.text);
    assert.equal(res.body?.title, 'Entry Unreadable', res.text);
    assert.equal(res.body?.http_status_code, 500);
    const detail = String(res.body?.detail ?? '');
    assert.match(detail, /"neon" is not supported/, detail);
    assert.match(detail, /yaml, json, json5/, detail);
    assert.ok(!/\bat .+:\d+:\d+/.test(res.text), 'no stack trace');
  });

  it('a header language named like an object member (---constructor) answers the same clear error', async () => {
    await writeStoredText(t, 'notes/odd', '---constructor\ntitle: Odd\n---\n');
    const res = await call(t.base, 'GET', '/entries', { query: `id=${q('notes/odd')}`, headers: auth() });
    assert.equal(res.body?.title, 'Entry Unreadable', res.text);
    assert.match(String(res.body?.detail ?? ''), /"constructor" is not supported/, res.text);
  });

  it('a PATCH of a ---neon entry is refused and leaves the file as it was', async () => {
    const res = await call(t.base, 'PATCH', '/entries', {
      json: { id: 'notes/neon', data: { title: 'Changed' } },
      headers: auth(),
    });
    assert.ok(res.status >= 400 && res.status < 500, res.text);
    assert.equal(res.body?.http_status_code, res.status, res.text);
    assert.match(String(res.body?.detail ?? ''), /"neon" is not supported/, res.text);
    assert.equal(await storedText(t, 'notes/neon'), NEON_ENTRY);
  });

  it('the collection still lists its readable entries', async () => {
    const res = await call(t.base, 'GET', '/entries', { query: `id=notes&options[collection]=true`, headers: auth() });
    assert.equal(res.status, 200, res.text);
    const items: unknown = res.body;
    const titles = (Array.isArray(items) ? items : Object.values(items as object)).map((item) => (item as { title?: string }).title);
    assert.ok(titles.includes('Plain'), res.text);
  });

  it('a collection with serializer "neon" is refused at start-up, naming the supported serializers', async () => {
    const project = tempProject(false);
    try {
      mkdirSync(path.join(project, 'config', 'flextype'), { recursive: true });
      writeFileSync(
        path.join(project, 'config', 'flextype', 'settings.yaml'),
        'entries:\n  collections:\n    neon_items:\n      pattern: "n/.+"\n      filename: entry\n      extension: neon\n      serializer: neon\n',
      );
      await assert.rejects(startTestServer({ projectDir: project }), /neon_items\.serializer: expected one of frontmatter, yaml, json, json5, found "neon"/);
    } finally {
      removeProject(project);
    }
  });
});
