/**
 * Crash safety: the real server (a child process) is killed with SIGKILL in the middle of a
 * sustained write load and started again. Every entry file must parse, no temporary file may be
 * taken for an entry (leftovers are removed at start-up), and every write answered with 200
 * before the kill must be there with its value.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { checkEntriesFolder, createToken, demoProjectCopy, ensureBuilt, spawnServer, type SpawnedServer } from '../bench/soak.js';
import { TEMP_PREFIX } from '../src/storage/fs/engine.js';

const LOAD_MS = 2_000;
const CONCURRENCY = 8;

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests inspect arbitrary JSON shapes
}

async function send(base: string, method: string, query: string, json?: unknown): Promise<Answer> {
  const response = await fetch(`${base}/entries${query ? `?${query}` : ''}`, {
    method,
    headers: json === undefined ? {} : { 'content-type': 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

describe('crash safety', () => {
  const servers: SpawnedServer[] = [];
  let projectDir: string | undefined;
  after(async () => {
    for (const server of servers) await server.kill();
    if (projectDir) rmSync(projectDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write and no torn file across a SIGKILL mid-load', { timeout: 90_000 }, async () => {
    ensureBuilt();
    projectDir = demoProjectCopy();
    const creds = createToken(projectDir);
    const auth = { token: creds.token, access_token: creds.access_token };
    const first = await spawnServer(projectDir);
    servers.push(first);
    assert.equal((await send(first.base, 'POST', '', { ...auth, id: 'crash', data: { title: 'crash' } })).status, 200);

    // Acknowledged writes: created entries with their title, and single fields set by PATCH.
    const created = new Map<string, string>();
    const patched: { id: string; field: string; value: number }[] = [];
    let seq = 0;
    let killed = false;
    let inFlightAtKill = 0;
    let inFlight = 0;
    const worker = async (w: number) => {
      let mine = 0;
      while (!killed) {
        const ids = [...created.keys()];
        const n = seq++;
        inFlight++;
        try {
          if (ids.length < 4 || n % 4 === 0) {
            const id = `crash/w${w}-${mine++}`;
            const title = `entry ${n}`;
            const res = await send(first.base, 'POST', '', { ...auth, id, data: { title } });
            if (res.status === 200) created.set(id, title);
            else assert.fail(`create ${id}: ${res.status} ${JSON.stringify(res.body)}`);
          } else {
            const id = ids[n % ids.length]!;
            const res = await send(first.base, 'PATCH', '', { ...auth, id, data: { [`p${n}`]: n } });
            if (res.status === 200) patched.push({ id, field: `p${n}`, value: n });
            else assert.fail(`patch ${id}: ${res.status} ${JSON.stringify(res.body)}`);
          }
        } catch (err) {
          // Requests cut off by the kill fail at the socket; anything else is a real failure.
          if (!killed) throw err;
        } finally {
          inFlight--;
        }
      }
    };
    const load = Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
    await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
    inFlightAtKill = inFlight;
    killed = true;
    await first.kill();
    await load;
    assert.ok(created.size > 4 && patched.length > 10, `load too small: ${created.size} creates, ${patched.length} patches`);
    assert.ok(inFlightAtKill > 0, 'the kill happened with requests in flight');

    // What a kill can leave besides: a half-written temp file, a copy being staged, a delete's trash.
    const entries = path.join(projectDir, 'entries');
    writeFileSync(path.join(entries, 'crash', `${TEMP_PREFIX}0123456789ab-entry.md`), '---\ntitle: torn');
    mkdirSync(path.join(entries, `${TEMP_PREFIX}0123456789ac-staged`, 'child'), { recursive: true });
    writeFileSync(path.join(entries, `${TEMP_PREFIX}0123456789ac-staged`, 'entry.md'), '---\ntitle: staged\n---\n');
    writeFileSync(path.join(entries, `${TEMP_PREFIX}0123456789ac-staged`, 'child', 'entry.md'), '---\ntitle: staged child\n---\n');
    mkdirSync(path.join(entries, 'crash', `${TEMP_PREFIX}0123456789ad-deleted`), { recursive: true });
    writeFileSync(path.join(entries, 'crash', `${TEMP_PREFIX}0123456789ad-deleted`, 'entry.md'), '---\ntitle: trash\n---\n');

    const second = await spawnServer(projectDir);
    servers.push(second);

    // On disk: leftovers gone, every entry file parses, every acknowledged value stored.
    const folder = checkEntriesFolder(projectDir);
    assert.deepEqual(folder.problems, []);
    for (const [id, title] of created) assert.equal(folder.entries.get(id)?.['title'], title, `created ${id} on disk`);
    for (const { id, field, value } of patched) assert.equal(folder.entries.get(id)?.[field], value, `${field} of ${id} on disk`);

    // Over HTTP: the same, and no temporary name listed as an entry.
    const token = `token=${creds.token}`;
    for (const [id, title] of created) {
      const res = await send(second.base, 'GET', `id=${encodeURIComponent(id)}&${token}`);
      assert.equal(res.status, 200, `GET ${id}`);
      assert.equal(res.body.title, title);
      for (const { field, value } of patched.filter((p) => p.id === id)) assert.equal(res.body[field], value, `${field} of ${id}`);
    }
    const all = await send(second.base, 'GET', `id=&options[collection]=true&options[find][depth]=${encodeURIComponent('>= 1')}&${token}`);
    assert.equal(all.status, 200);
    const ids = Object.keys(all.body);
    assert.ok(ids.includes('crash') && ids.length > created.size);
    assert.deepEqual(ids.filter((id) => id.includes(TEMP_PREFIX) || id.includes('staged')), []);
    const torn = await send(second.base, 'GET', `id=crash&${token}`);
    assert.equal(torn.body.title, 'crash');

    // The restarted server takes writes again.
    const res = await send(second.base, 'PATCH', '', { ...auth, id: 'crash', data: { after: 'restart' } });
    assert.equal(res.status, 200);
    await second.stop();
  });
});
