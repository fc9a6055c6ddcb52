/**
 * Concurrent writers: no lost update on one entry, one winner among simultaneous creates,
 * structural changes (move, copy, delete) racing with writes never leave a torn tree, and
 * If-Match with a stale ETag changes nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkEntriesFolder } from '../bench/soak.js';
import { getSerializer } from '../src/storage/serializers/index.js';
import { ON_POSTGRES } from './engine-helpers.js';
import { call, isStored, q, startTestServer, storedEntries, storedText, type ApiResponse, type TestServer } from './helpers.js';

const frontmatter = getSerializer('frontmatter')!;

function assertErrorBody(res: ApiResponse, status: number): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body?.http_status_code, status, res.text);
  assert.equal(typeof res.body?.title, 'string');
  assert.equal(typeof res.body?.message, 'string');
}

describe('concurrent writers', () => {
  let t: TestServer;
  let auth: { token: string; access_token: string };
  const entriesDir = () => path.join(t.projectDir, 'entries');

  const readStored = async (id: string) => frontmatter.decode(await storedText(t, id));
  const get = (id: string) => call(t.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(t.token)}` });
  const create = async (id: string, data: Record<string, unknown> = {}) => {
    const res = await call(t.base, 'POST', '/entries', { json: { ...auth, id, data } });
    assert.equal(res.status, 200, `create ${id}: ${res.text}`);
    return res;
  };

  before(async () => {
    t = await startTestServer({ fromDemo: true });
    auth = { token: t.token, access_token: t.accessToken };
  });
  after(async () => t.close());

  it('keeps all 50 fields when 50 PATCHes of distinct fields hit one entry at once', async () => {
    await create('lost-update', { title: 'start' });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0
          ? call(t.base, 'PATCH', '/entries', { json: { ...auth, id: 'lost-update', data: { [`field_${i}`]: `value ${i}` } } })
          : call(t.base, 'PATCH', '/entries', {
              form: `token=${q(t.token)}&access_token=${q(t.accessToken)}&id=lost-update&data[field_${i}]=${q(`value ${i}`)}`,
            }),
      ),
    );
    assert.deepEqual(answers.map((a) => a.status), new Array(50).fill(200));
    const stored = (await readStored('lost-update'));
    const served = (await get('lost-update')).body;
    for (let i = 0; i < 50; i++) {
      assert.equal(stored[`field_${i}`], `value ${i}`, `field_${i} in the file`);
      assert.equal(served[`field_${i}`], `value ${i}`, `field_${i} over HTTP`);
    }
    assert.equal(stored['title'], 'start');
  });

  it('lets exactly one of 20 simultaneous creates of one id succeed', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(t.base, 'POST', '/entries', { json: { ...auth, id: 'one-winner', data: { writer: i } } })),
    );
    const winners = answers.flatMap((a, i) => (a.status === 200 ? [i] : []));
    assert.equal(winners.length, 1, `statuses: ${answers.map((a) => a.status).join(',')}`);
    for (const [i, answer] of answers.entries()) {
      if (i === winners[0]) continue;
      assertErrorBody(answer, 400);
      assert.match(answer.body.detail, /already exists/);
    }
    // The stored entry is the winner's, not a mix and not a later writer's.
    assert.equal((await readStored('one-winner'))['writer'], winners[0]);
    assert.equal((await get('one-winner')).body.writer, winners[0]);
  });

  it('never leaves a torn tree when move, copy, delete and creates race with PATCHes', async () => {
    // tree/a (moved to tree/b while being written), tree/d (deleted while being written).
    await create('tree', { title: 'tree' });
    for (const top of ['tree/a', 'tree/d']) {
      await create(top);
      for (let c = 0; c < 5; c++) {
        await create(`${top}/c${c}`);
        await create(`${top}/c${c}/g`);
      }
    }
    const targets = ['tree/a', 'tree/d', ...[0, 1, 2, 3, 4].flatMap((c) => [`tree/a/c${c}`, `tree/a/c${c}/g`, `tree/d/c${c}`])];
    const acknowledged: { id: string; field: string; value: number }[] = [];
    let seq = 0;
    let started!: () => void;
    const warm = new Promise<void>((resolve) => (started = resolve));
    const writer = async (w: number) => {
      for (let i = 0; i < 15; i++) {
        const id = targets[(w * 7 + i * 3) % targets.length]!;
        const value = seq++;
        const res = await call(t.base, 'PATCH', '/entries', { json: { ...auth, id, data: { [`p${value}`]: value } } });
        assert.ok(res.status === 200 || res.status === 404, `PATCH ${id}: ${res.status} ${res.text}`);
        if (res.status === 200) {
          assert.equal(res.body.id, id);
          acknowledged.push({ id, field: `p${value}`, value });
        }
        if (acknowledged.length >= 10) started();
      }
    };
    const structural = (async () => {
      await warm;
      return Promise.all([
        call(t.base, 'PUT', '/entries/copy', { json: { ...auth, id: 'tree/a', new_id: 'tree/copy' } }),
        call(t.base, 'PUT', '/entries', { json: { ...auth, id: 'tree/a', new_id: 'tree/b' } }),
        call(t.base, 'DELETE', '/entries', { json: { ...auth, id: 'tree/d' } }),
        // Children created while their parent moves: each lands with the parent, or is refused.
        ...Array.from({ length: 6 }, (_, k) => call(t.base, 'POST', '/entries', { json: { ...auth, id: `tree/a/new${k}`, data: { k } } })),
      ]);
    })();
    // If the writers finish before enough acknowledgements, start the structural changes anyway.
    const writers = Promise.all(Array.from({ length: 8 }, (_, w) => writer(w))).finally(() => started());
    const [[copy, move, del, ...creates]] = await Promise.all([structural, writers]);
    assert.equal(move!.status, 200, move!.text);
    assert.equal(del!.status, 204, del!.text);
    assert.ok(copy!.status === 200 || copy!.status === 404, copy!.text);

    // The files: every entry file parses, no temporary leftovers, and every folder of the
    // subtree holds its entry file (no orphan child, no half-moved folder).
    if (!ON_POSTGRES) {
      const folder = checkEntriesFolder(t.projectDir);
      assert.deepEqual(folder.problems, []);
      const walk = (dir: string, id: string) => {
        assert.ok(existsSync(path.join(dir, 'entry.md')), `folder ${id} has no entry file`);
        for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) walk(path.join(dir, d.name), `${id}/${d.name}`);
      };
      walk(path.join(entriesDir(), 'tree'), 'tree');
    }
    // Through the engine (both engines): every entry readable, no child without its parent.
    const folder = { entries: await storedEntries(t) };
    for (const id of folder.entries.keys()) {
      if (id.startsWith('tree/')) assert.ok(folder.entries.has(id.slice(0, id.lastIndexOf('/'))), `${id} is stored without its parent`);
    }
    assert.equal(await isStored(t, 'tree/a'), false, 'tree/a is gone after the move');
    assert.equal(await isStored(t, 'tree/d'), false, 'tree/d is gone after the delete');
    for (let c = 0; c < 5; c++) {
      assert.ok(folder.entries.has(`tree/b/c${c}/g`), `tree/b/c${c}/g moved with its parent`);
      if (copy!.status === 200) assert.ok(folder.entries.has(`tree/copy/c${c}/g`), `tree/copy/c${c}/g copied`);
    }
    for (const [k, res] of creates.entries()) {
      assert.ok(res.status === 200 || res.status === 404, `create tree/a/new${k}: ${res.status} ${res.text}`);
      // An acknowledged child was created before the move, so it moved along.
      if (res.status === 200) assert.equal(folder.entries.get(`tree/b/new${k}`)?.['k'], k);
    }
    // Every PATCH acknowledged on tree/a happened before the move: its value moved along.
    for (const { id, field, value } of acknowledged) {
      if (!id.startsWith('tree/a')) continue;
      const moved = id.replace(/^tree\/a/, 'tree/b');
      assert.equal(folder.entries.get(moved)?.[field], value, `${field} acknowledged on ${id} is in ${moved}`);
    }
    // The server agrees with the disk.
    const listed = await call(t.base, 'GET', '/entries', {
      query: `id=tree&options[collection]=true&options[find][depth]=${q('>= 1')}&token=${q(t.token)}`,
    });
    assert.equal(listed.status, 200);
    const onDisk = [...folder.entries.keys()].filter((id) => id.startsWith('tree/')).sort();
    assert.deepEqual(Object.keys(listed.body).sort(), onDisk);
  });

  it('refuses a stale If-Match with 412 and changes nothing (PATCH, move, DELETE)', async () => {
    await create('guarded', { title: 'v1' });
    const first = await get('guarded');
    const stale = first.headers.get('etag')!;
    assert.ok(stale);
    const updated = await call(t.base, 'PATCH', '/entries', {
      json: { ...auth, id: 'guarded', data: { title: 'v2' } },
      headers: { 'if-match': stale },
    });
    assert.equal(updated.status, 200, updated.text);
    const current = updated.headers.get('etag')!;
    assert.notEqual(current, stale);
    const before = (await storedText(t, 'guarded'));

    const patch = await call(t.base, 'PATCH', '/entries', { json: { ...auth, id: 'guarded', data: { title: 'v3' } }, headers: { 'if-match': stale } });
    assertErrorBody(patch, 412);
    const move = await call(t.base, 'PUT', '/entries', { json: { ...auth, id: 'guarded', new_id: 'guarded-moved' }, headers: { 'if-match': stale } });
    assertErrorBody(move, 412);
    const del = await call(t.base, 'DELETE', '/entries', { json: { ...auth, id: 'guarded' }, headers: { 'if-match': stale } });
    assertErrorBody(del, 412);

    assert.equal((await storedText(t, 'guarded')), before);
    assert.equal((await isStored(t, 'guarded-moved')), false);
    const after = await get('guarded');
    assert.equal(after.body.title, 'v2');
    assert.equal(after.headers.get('etag'), current);

    // The current ETag lets the write through.
    const ok = await call(t.base, 'DELETE', '/entries', { json: { ...auth, id: 'guarded' }, headers: { 'if-match': current } });
    assert.equal(ok.status, 204, ok.text);
    assert.equal((await isStored(t, 'guarded')), false);
  });

  it('lets only one of several editors holding the same ETag write', async () => {
    await create('editors', { title: 'base' });
    const etag = (await get('editors')).headers.get('etag')!;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call(t.base, 'PATCH', '/entries', { json: { ...auth, id: 'editors', data: { title: `editor ${i}` } }, headers: { 'if-match': etag } }),
      ),
    );
    const winners = answers.flatMap((a, i) => (a.status === 200 ? [i] : []));
    assert.equal(winners.length, 1, `statuses: ${answers.map((a) => a.status).join(',')}`);
    for (const [i, answer] of answers.entries()) if (i !== winners[0]) assertErrorBody(answer, 412);
    assert.equal((await readStored('editors'))['title'], `editor ${winners[0]}`);
  });
});
