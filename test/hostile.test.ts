/**
 * Hostile input: every attack is answered with the seed's JSON error body, nothing is written
 * (the whole folder around the project is compared before and after), nothing outside the
 * project is read, and the server stays healthy. Also: the brake on repeated failed
 * authentication, and secrets kept out of the log.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { filesOnly } from './engine-helpers.js';
import { call, DEMO_PROJECT, isStored, q, startTestServer, storedText, withoutDemoTokens, type ApiResponse, type TestServer } from './helpers.js';

const SECRET = 'OUTSIDE-SECRET-7f3a9c';
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];

function assertErrorBody(res: ApiResponse, status: number | number[], context = ''): void {
  const wanted = Array.isArray(status) ? status : [status];
  assert.ok(wanted.includes(res.status), `${context}: status ${res.status} (wanted ${wanted.join('/')}) ${res.text.slice(0, 300)}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `${context}: content-type`);
  assert.equal(res.body?.http_status_code, res.status, `${context}: body ${res.text.slice(0, 300)}`);
  assert.equal(typeof res.body?.title, 'string', context);
  assert.equal(typeof res.body?.message, 'string', context);
  assert.ok(!/\bat .+:\d+:\d+/.test(res.text), `${context}: no stack trace in the body`);
}

/** Every file and folder under `dir` (not following links): kind, size and mtime. */
function snapshot(dir: string, skip: (rel: string) => boolean): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs)) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (skip(childRel)) continue;
      const child = path.join(abs, name);
      const s = lstatSync(child);
      if (s.isSymbolicLink()) out.set(childRel, 'link');
      else if (s.isDirectory()) {
        out.set(childRel, 'dir');
        walk(child, childRel);
      } else out.set(childRel, `file:${s.size}:${s.mtimeMs}`);
    }
  };
  walk(dir, '');
  return out;
}

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** A request through node:http: raw paths, chunked bodies and a chosen source address. */
function rawRequest(
  url: string,
  init: { method?: string; path: string; headers?: Record<string, string>; chunks?: (string | Buffer)[]; localAddress?: string },
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: hostname, port, method: init.method ?? 'GET', path: init.path, headers: init.headers, localAddress: init.localAddress, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    for (const chunk of init.chunks ?? []) req.write(chunk);
    req.end();
  });
}

function asApiResponse(raw: RawAnswer): ApiResponse {
  let body: unknown;
  try {
    body = JSON.parse(raw.text);
  } catch {
    body = undefined;
  }
  const headers = new Headers();
  for (const [k, v] of Object.entries(raw.headers)) if (typeof v === 'string') headers.set(k, v);
  return { status: raw.status, headers, text: raw.text, body };
}

describe('hostile input', () => {
  let outer: string;
  let projectDir: string;
  let entries: string;
  let t: TestServer;
  let auth: { token: string; access_token: string };
  let before1: Map<string, string>;
  // Token files change as calls are counted; var/ is the server's own.
  const skip = (rel: string) => rel === 'project/entries/tokens' || rel === 'project/var';
  // The folder around the project, and every stored entry's revision (the rows on PostgreSQL).
  const takeSnapshot = async () => {
    const out = snapshot(outer, skip);
    const engine = t.server.cms.store.engine;
    for await (const batch of engine.list()) {
      for (const id of batch) if (id !== 'tokens' && !id.startsWith('tokens/')) out.set(`stored:${id}`, JSON.stringify(await engine.revision(id)));
    }
    return out;
  };
  const assertNothingWritten = async () => assert.deepEqual(await takeSnapshot(), before1, 'nothing is written anywhere around the project');
  const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();
  const assertNoPollution = () => {
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeNames);
  };
  const healthy = async () => {
    const res = await call(t.base, 'GET', '/entries', { query: `id=home&token=${q(t.token)}` });
    assert.equal(res.status, 200, `the server is still healthy: ${res.text}`);
  };

  before(async () => {
    // outer/project is the project; outer/outside and outer/secret.txt must never be reached.
    outer = mkdtempSync(path.join(os.tmpdir(), 'flextype-hostile-'));
    projectDir = path.join(outer, 'project');
    cpSync(DEMO_PROJECT, projectDir, { recursive: true, filter: withoutDemoTokens });
    entries = path.join(projectDir, 'entries');
    mkdirSync(path.join(outer, 'outside', 'child'), { recursive: true });
    writeFileSync(path.join(outer, 'outside', 'entry.md'), `---\ntitle: ${SECRET}\n---\n${SECRET}\n`);
    writeFileSync(path.join(outer, 'outside', 'child', 'entry.md'), `---\ntitle: ${SECRET} child\n---\n`);
    writeFileSync(path.join(outer, 'secret.txt'), SECRET);
    // Links inside entries/ pointing outside: a folder, a folder inside an entry, an entry file.
    symlinkSync(path.join(outer, 'outside'), path.join(entries, 'escape'));
    symlinkSync(path.join(outer, 'outside'), path.join(entries, 'home', 'sub'));
    mkdirSync(path.join(entries, 'blog', 'linked'));
    symlinkSync(path.join(outer, 'outside', 'entry.md'), path.join(entries, 'blog', 'linked', 'entry.md'));
    // A long string for hostile regular expressions, and an unparsable entry (forces a 500).
    mkdirSync(path.join(entries, 'redos'));
    writeFileSync(path.join(entries, 'redos', 'entry.md'), `---\ntitle: ${'a'.repeat(3000)}!\n---\n`);
    mkdirSync(path.join(entries, 'broken'));
    writeFileSync(path.join(entries, 'broken', 'entry.md'), '---\ntitle: [unclosed\n  - : :\n---\n');
    mkdirSync(path.join(entries, 'tokens', 'brokentoken'), { recursive: true });
    writeFileSync(path.join(entries, 'tokens', 'brokentoken', 'token.yaml'), 'state: [unclosed\n  - : :\n');
    t = await startTestServer({ projectDir, settings: { server: { body_limit: 4096 } } });
    auth = { token: t.token, access_token: t.accessToken };
    before1 = await takeSnapshot();
  });
  after(async () => {
    await t.close();
    rmSync(outer, { recursive: true, force: true });
  });

  describe('path traversal', () => {
    const HOSTILE_IDS = [
      '..', '../', '../..', '../../escaped', '../entries/home', 'home/../..', 'home/../../secret.txt', 'home/..',
      '.', './home', 'home/./x', '...', '.hidden', 'home/.x',
      '..\\..\\escaped', 'home\\..\\..', '\\escaped', 'home\\x',
      '/etc/passwd', '//etc/passwd', '/', '//', 'home//x', 'C:\\Windows', 'C:/escaped', 'c:escaped',
      'home\u0000', '\u0000', 'home/\u0000/x', '..\u0000', 'a\nb', 'home\r', '\u007f', 'x\u0085y', '\u001b[31m',
      'a'.repeat(1100), `home/${'b'.repeat(300)}`, `${'a/'.repeat(600)}a`,
    ];

    it('refuses every hostile id with 400 on every entries endpoint', async () => {
      for (const id of HOSTILE_IDS) {
        const label = JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…(${id.length})` : id);
        const answers: [string, ApiResponse][] = [
          ['GET', await call(t.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(t.token)}` })],
          ['GET collection', await call(t.base, 'GET', '/entries', { query: `id=${q(id)}&options[collection]=true&token=${q(t.token)}` })],
          ['POST', await call(t.base, 'POST', '/entries', { json: { ...auth, id, data: { title: 'hostile' } } })],
          ['POST form', await call(t.base, 'POST', '/entries', { form: `token=${q(t.token)}&access_token=${q(t.accessToken)}&id=${q(id)}&data[title]=x` })],
          ['PATCH', await call(t.base, 'PATCH', '/entries', { json: { ...auth, id, data: { title: 'hostile' } } })],
          ['PUT id', await call(t.base, 'PUT', '/entries', { json: { ...auth, id, new_id: 'moved-away' } })],
          ['PUT new_id', await call(t.base, 'PUT', '/entries', { json: { ...auth, id: 'home', new_id: id } })],
          ['copy id', await call(t.base, 'PUT', '/entries/copy', { json: { ...auth, id, new_id: 'copied-away' } })],
          ['copy new_id', await call(t.base, 'PUT', '/entries/copy', { json: { ...auth, id: 'home', new_id: id } })],
          ['DELETE', await call(t.base, 'DELETE', '/entries', { json: { ...auth, id } })],
        ];
        for (const [what, res] of answers) assertErrorBody(res, 400, `${what} ${label}`);
      }
      await assertNothingWritten();
      await healthy();
    });

    it('refuses percent-encoded traversal in query strings and form bodies', async () => {
      const encoded = [
        '%2e%2e', '%2E%2E%2F%2E%2E', '..%2F..%2Fsecret.txt', '%2e%2e%5c%2e%2e', '%2Fetc%2Fpasswd', 'home%00', '%00',
        '.%2e', '%2e.', 'home%2F%2E%2E%2F%2E%2E', '%2e%2e%2f%2e%2e%2fsecret.txt', '%5c%5cserver%5cshare', 'home%0a',
      ];
      const creds = `token=${q(t.token)}&access_token=${q(t.accessToken)}`;
      for (const id of encoded) {
        assertErrorBody(await call(t.base, 'GET', '/entries', { query: `id=${id}&token=${q(t.token)}` }), 400, `GET ${id}`);
        // The reference's worst case: DELETE with id=.. wiped the project.
        assertErrorBody(await call(t.base, 'DELETE', '/entries', { query: `id=${id}`, json: auth }), 400, `DELETE ?id=${id}`);
        assertErrorBody(await call(t.base, 'DELETE', '/entries', { form: `${creds}&id=${id}` }), 400, `DELETE form ${id}`);
        assertErrorBody(await call(t.base, 'POST', '/entries', { form: `${creds}&id=${id}&data[title]=x` }), 400, `POST form ${id}`);
        assertErrorBody(await call(t.base, 'PUT', '/entries', { form: `${creds}&id=home&new_id=${id}` }), 400, `PUT form ${id}`);
      }
      await assertNothingWritten();
      assert.ok(await isStored(t, 'home'));
    });

    it('keeps double-encoded and look-alike dots as literal, harmless ids', async () => {
      // Decoded once, these are names such as "%2e%2e": plain folder names inside entries/.
      for (const raw of ['%252e%252e', '%252e%252e%252f%252e%252e%252fsecret.txt', '%c0%ae%c0%ae', '%EF%BC%8E%EF%BC%8E']) {
        const get = await call(t.base, 'GET', '/entries', { query: `id=${raw}&token=${q(t.token)}` });
        assertErrorBody(get, [400, 404], `GET ${raw}`);
        assertErrorBody(await call(t.base, 'DELETE', '/entries', { query: `id=${raw}`, json: auth }), [400, 404], `DELETE ${raw}`);
      }
      await assertNothingWritten();
      const literal = decodeURIComponent('%252e%252e%252f%252e%252e%252fsecret.txt');
      const created = await call(t.base, 'POST', '/entries', { query: `id=${q(literal)}`, json: { ...auth, data: { title: 'literal' } } });
      if (created.status === 200) {
        assert.equal(created.body.id, '%2e%2e%2f%2e%2e%2fsecret.txt');
        assert.ok(await isStored(t, '%2e%2e%2f%2e%2e%2fsecret.txt'), 'created inside entries/');
        assert.equal(readFileSync(path.join(outer, 'secret.txt'), 'utf8'), SECRET);
        const removed = await call(t.base, 'DELETE', '/entries', { json: { ...auth, id: literal } });
        assert.equal(removed.status, 204);
      } else {
        assertErrorBody(created, 400, 'POST literal');
      }
      await assertNothingWritten();
    });

    it('answers traversal in the URL path with the JSON 404 and no file content', async () => {
      const paths = [
        '/api/v1/../../secret.txt', '/api/v1/entries/%2e%2e/%2e%2e/secret.txt', '/api/v1/entries/..%2f..%2fsecret.txt',
        '/api/v1/%2e%2e%2f%2e%2e%2fsecret.txt', '/..%2f..%2fsecret.txt', '/api/v1/entries/..%5c..%5csecret.txt',
        '/api/v1/entries%00', '/api/v1/%00/../secret.txt', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      ];
      for (const p of paths) {
        const res = asApiResponse(await rawRequest(t.server.url, { path: p }));
        assertErrorBody(res, [400, 404], `path ${p}`);
        assert.ok(!res.text.includes(SECRET) && !res.text.includes('root:'), `path ${p} leaks nothing`);
      }
      await healthy();
    });

    it('refuses hostile ids on the Tokens API', async () => {
      for (const id of ['..', '../..', '../home', '%2e%2e', 'x/../..', '/etc', 'a\\b', 'a\u0000']) {
        const query = `id=${q(id)}&token=${q(t.token)}&access_token=${q(t.accessToken)}`;
        assertErrorBody(await call(t.base, 'GET', '/tokens', { query }), 400, `GET tokens ${id}`);
        assertErrorBody(await call(t.base, 'PATCH', '/tokens', { json: { ...auth, id, data: { title: 'x' } } }), 400, `PATCH tokens ${id}`);
        assertErrorBody(await call(t.base, 'DELETE', '/tokens', { json: { ...auth, id } }), 400, `DELETE tokens ${id}`);
      }
      await assertNothingWritten();
    });
  });

  describe('symlinks inside entries/ pointing outside', filesOnly('symbolic links inside the entries folder'), () => {
    const noSecret = (res: ApiResponse, what: string) => assert.ok(!res.text.includes(SECRET), `${what} leaks outside content`);

    it('never reads through them, for single entries or collections', async () => {
      const token = `token=${q(t.token)}`;
      for (const id of ['escape', 'escape/child', 'home/sub', 'home/sub/child', 'blog/linked']) {
        const res = await call(t.base, 'GET', '/entries', { query: `id=${q(id)}&${token}` });
        assertErrorBody(res, [400, 404], `GET ${id}`);
        noSecret(res, `GET ${id}`);
        const coll = await call(t.base, 'GET', '/entries', { query: `id=${q(id)}&options[collection]=true&options[find][depth]=${q('>= 1')}&${token}` });
        assert.ok([200, 400, 404].includes(coll.status), `collection ${id}: ${coll.status}`);
        if (coll.status === 200) assert.deepEqual(coll.body, {});
        noSecret(coll, `collection ${id}`);
      }
      for (const id of ['', 'home', 'blog']) {
        const res = await call(t.base, 'GET', '/entries', {
          query: `id=${q(id)}&options[collection]=true&options[find][depth]=${q('>= 1')}&options[find][contains]=${q(SECRET)}&${token}`,
        });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.body, {}, `collection ${id} finds nothing through a link`);
        const all = await call(t.base, 'GET', '/entries', { query: `id=${q(id)}&options[collection]=true&options[find][depth]=${q('>= 1')}&${token}` });
        assert.equal(all.status, 200);
        noSecret(all, `collection ${id}`);
        assert.ok(!Object.keys(all.body).some((key) => key.startsWith('escape') || key.includes('sub') || key === 'blog/linked'));
      }
      await assertNothingWritten();
    });

    it('never writes, moves, copies or deletes through them', async () => {
      const answers: [string, ApiResponse][] = [
        ['POST escape/new', await call(t.base, 'POST', '/entries', { json: { ...auth, id: 'escape/new', data: { title: 'x' } } })],
        ['POST home/sub/new', await call(t.base, 'POST', '/entries', { json: { ...auth, id: 'home/sub/new', data: { title: 'x' } } })],
        ['POST escape', await call(t.base, 'POST', '/entries', { json: { ...auth, id: 'escape', data: { title: 'x' } } })],
        ['PATCH escape', await call(t.base, 'PATCH', '/entries', { json: { ...auth, id: 'escape', data: { title: 'x' } } })],
        ['PATCH blog/linked', await call(t.base, 'PATCH', '/entries', { json: { ...auth, id: 'blog/linked', data: { title: 'x' } } })],
        ['PATCH escape/child', await call(t.base, 'PATCH', '/entries', { json: { ...auth, id: 'escape/child', data: { title: 'x' } } })],
        ['move escape', await call(t.base, 'PUT', '/entries', { json: { ...auth, id: 'escape', new_id: 'taken' } })],
        ['move into escape', await call(t.base, 'PUT', '/entries', { json: { ...auth, id: 'authors', new_id: 'escape/authors' } })],
        ['copy escape', await call(t.base, 'PUT', '/entries/copy', { json: { ...auth, id: 'escape', new_id: 'taken' } })],
        ['copy into escape', await call(t.base, 'PUT', '/entries/copy', { json: { ...auth, id: 'authors', new_id: 'escape/authors' } })],
        ['copy into home/sub', await call(t.base, 'PUT', '/entries/copy', { json: { ...auth, id: 'authors', new_id: 'home/sub/authors' } })],
        ['DELETE escape', await call(t.base, 'DELETE', '/entries', { json: { ...auth, id: 'escape' } })],
        ['DELETE escape/child', await call(t.base, 'DELETE', '/entries', { json: { ...auth, id: 'escape/child' } })],
        ['DELETE blog/linked', await call(t.base, 'DELETE', '/entries', { json: { ...auth, id: 'blog/linked' } })],
      ];
      for (const [what, res] of answers) {
        assertErrorBody(res, [400, 404], what);
        noSecret(res, what);
      }
      await assertNothingWritten();
      assert.ok(existsSync(path.join(entries, 'authors', 'entry.md')));
    });

    it('leaves links out of a copy of an entry that contains one', async () => {
      const res = await call(t.base, 'PUT', '/entries/copy', { json: { ...auth, id: 'home', new_id: 'home-copy' } });
      assert.equal(res.status, 200, res.text);
      noSecret(res, 'copy');
      assert.equal(existsSync(path.join(entries, 'home-copy', 'sub')), false);
      const coll = await call(t.base, 'GET', '/entries', { query: `id=home-copy&options[collection]=true&options[find][depth]=${q('>= 1')}&token=${q(t.token)}` });
      assert.deepEqual(coll.body, {});
      assert.equal((await call(t.base, 'DELETE', '/entries', { json: { ...auth, id: 'home-copy' } })).status, 204);
      await assertNothingWritten();
    });
  });

  describe('oversized bodies and parameter bombs', () => {
    it('answers bodies over server.body_limit with 413 and writes nothing', async () => {
      const big = 'x'.repeat(5000);
      assertErrorBody(await call(t.base, 'POST', '/entries', { json: { ...auth, id: 'too-big', data: { title: big } } }), 413, 'JSON');
      assertErrorBody(
        await call(t.base, 'POST', '/entries', { form: `token=${t.token}&access_token=${t.accessToken}&id=too-big&data[title]=${big}` }),
        413,
        'form',
      );
      assertErrorBody(await call(t.base, 'PATCH', '/entries', { json: { ...auth, id: 'home', data: { title: big } } }), 413, 'PATCH');
      const chunked = await rawRequest(t.server.url, {
        method: 'POST',
        path: '/api/v1/entries',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        chunks: [`{"token":"${t.token}","access_token":"${t.accessToken}","id":"too-big","data":{"title":"`, big, big, '"}}'],
      });
      assertErrorBody(asApiResponse(chunked), 413, 'chunked');
      // Just under the limit is read normally (a missing entry: 404, nothing written).
      const under = await call(t.base, 'PATCH', '/entries', { json: { ...auth, id: 'no-such-entry', data: { title: 'x'.repeat(3500) } } });
      assertErrorBody(under, 404, 'under the limit');
      await assertNothingWritten();
      await healthy();
    });

    it('refuses deeply nested and huge bracket parameters with 400', async () => {
      const token = `token=${q(t.token)}`;
      const creds = `${token}&access_token=${q(t.accessToken)}`;
      const cases: [string, () => Promise<ApiResponse>][] = [
        ['deep query', () => call(t.base, 'GET', '/entries', { query: `id=home&options${'[a]'.repeat(40)}=1&${token}` })],
        ['deep data', () => call(t.base, 'PATCH', '/entries', { form: `${creds}&id=home&data${'[a]'.repeat(40)}=1` })],
        ['many parameters', () => call(t.base, 'GET', '/entries', { query: `id=home&${token}&${'x&'.repeat(1100)}` })],
        ['many form parameters', () => call(t.base, 'PATCH', '/entries', { form: `${creds}&id=home&${'x&'.repeat(1100)}` })],
        ['huge array', () => call(t.base, 'GET', '/entries', { query: `id=home&${token}&${'o[]=a&'.repeat(1050)}` })],
        ['huge array index', () => call(t.base, 'GET', '/entries', { query: `id=home&${token}&options[filter][only][99999999]=title` })],
        ['empty brackets chain', () => call(t.base, 'GET', '/entries', { query: `id=home&${token}&a${'[]'.repeat(40)}=1` })],
      ];
      for (const [what, run] of cases) {
        const res = await run();
        if (what === 'huge array index') assert.ok(res.status < 500, `${what}: ${res.status}`);
        else assertErrorBody(res, 400, what);
      }
      await assertNothingWritten();
      await healthy();
    });

    it('answers URLs over the header size limit and malformed request lines with the JSON body', async () => {
      const long = await rawRequest(t.server.url, { path: `/api/v1/entries?id=home&token=${t.token}&x=${'y'.repeat(20_000)}` });
      assertErrorBody(asApiResponse(long), 431, 'long URL');
      const malformed = await new Promise<string>((resolve, reject) => {
        const { hostname, port } = new URL(t.server.url);
        const socket = net.connect(Number(port), hostname, () => socket.end('GET /api/v1/entries?id=a b c HTTP/1.1\r\nHost: x\r\n\r\n'));
        let text = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      assert.match(malformed, /^HTTP\/1\.1 400 /);
      assert.match(malformed, /\{"title":"Bad Request","message":"[^"]+","http_status_code":400\}$/);
      await healthy();
    });

    it('answers deeply nested JSON without a 5xx', async () => {
      const depth = 1800;
      const raw = `{"token":"${t.token}","access_token":"${t.accessToken}","id":"no-such-entry","data":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
      const res = await call(t.base, 'PATCH', '/entries', { raw, headers: { 'content-type': 'application/json' } });
      assertErrorBody(res, [400, 404], 'deep JSON');
      await assertNothingWritten();
      await healthy();
    });
  });

  describe('prototype keys', () => {
    const assertClean = (text: string, what: string) => {
      assert.ok(!text.includes('polluted') && !text.includes('hijacked'), `${what}: ${text}`);
      for (const key of PROTO_KEYS) assert.ok(!text.includes(key), `${what} stores "${key}": ${text}`);
    };
    const cleanup = async (id: string) => {
      if (await isStored(t, id)) {
        assert.equal((await call(t.base, 'DELETE', '/entries', { json: { ...auth, id } })).status, 204);
      }
    };

    it('drops __proto__, constructor and prototype keys from JSON bodies', async () => {
      const poison = '{"polluted":"yes"}';
      const raw = `{"token":"${t.token}","access_token":"${t.accessToken}","id":"proto-json","__proto__":${poison},` +
        `"constructor":{"prototype":${poison}},"data":{"title":"ok","__proto__":${poison},"constructor":{"prototype":${poison}},` +
        `"prototype":${poison},"nested":{"__proto__":${poison},"list":[{"__proto__":${poison}}]}}}`;
      const res = await call(t.base, 'POST', '/entries', { raw, headers: { 'content-type': 'application/json' } });
      assertNoPollution();
      if (res.status === 200) {
        assertClean(res.text, 'the answer');
        assertClean(await storedText(t, 'proto-json'), 'the file');
        assert.equal(res.body.title, 'ok');
        const patch = `{"token":"${t.token}","access_token":"${t.accessToken}","id":"proto-json","data":{"__proto__":{"title":"hijacked"}}}`;
        const patched = await call(t.base, 'PATCH', '/entries', { raw: patch, headers: { 'content-type': 'application/json' } });
        assert.ok(patched.status === 200 || patched.status === 400, patched.text);
        const got = await call(t.base, 'GET', '/entries', { query: `id=proto-json&token=${q(t.token)}` });
        assert.equal(got.body.title, 'ok');
        assertClean(got.text, 'GET');
        assertClean(await storedText(t, 'proto-json'), 'the file after PATCH');
      } else {
        assertErrorBody(res, 400, 'POST');
      }
      assertNoPollution();
      await cleanup('proto-json');
      await assertNothingWritten();
    });

    it('drops them from query strings and form bodies', async () => {
      const creds = `token=${q(t.token)}&access_token=${q(t.accessToken)}`;
      const poison = 'data[__proto__][polluted]=yes&data[constructor][prototype][polluted]=yes&data[prototype][polluted]=yes' +
        '&__proto__[polluted]=yes&constructor[prototype][polluted]=yes&data[a][__proto__][polluted]=yes';
      const res = await call(t.base, 'POST', '/entries', { form: `${creds}&id=proto-form&data[title]=ok&${poison}` });
      assertNoPollution();
      if (res.status === 200) {
        assertClean(res.text, 'the answer');
        assertClean(await storedText(t, 'proto-form'), 'the file');
      } else assertErrorBody(res, 400, 'POST form');
      await cleanup('proto-form');

      const token = `token=${q(t.token)}`;
      const queries = [
        `id=home&__proto__[polluted]=yes&options[__proto__][polluted]=yes&constructor[prototype][polluted]=yes&${token}`,
        `id=&options[collection]=true&options[filter][where][0][key]=__proto__.polluted&options[filter][where][0][value]=yes&${token}`,
        `id=&options[collection]=true&options[filter][where][0][key]=constructor&options[filter][where][0][operator]=contains&options[filter][where][0][value]=Object&${token}`,
        `id=&options[collection]=true&options[filter][sort_by][key]=__proto__&options[filter][group_by]=constructor&${token}`,
        `id=home&options[filter][only][0]=__proto__.polluted&options[filter][only][1]=constructor.prototype.polluted&${token}`,
        `id=home&options[filter][except][0]=__proto__&options[filter][except][1]=constructor.prototype&${token}`,
      ];
      for (const query of queries) {
        const got = await call(t.base, 'GET', '/entries', { query });
        assert.ok(got.status < 500, `${query}: ${got.status} ${got.text}`);
        assert.ok(!got.text.includes('polluted'), `${query}: ${got.text}`);
        if (query.includes('where') && got.status === 200) assert.deepEqual(got.body, {}, 'no entry has such a field');
      }
      assertNoPollution();
      await assertNothingWritten();
    });

    it('serves entries whose fields are named like Object.prototype members', async () => {
      const data = { title: 'names', toString: 'a', valueOf: 'b', hasOwnProperty: 'c', toJSON: 'd', isPrototypeOf: 'e' };
      const res = await call(t.base, 'POST', '/entries', { json: { ...auth, id: 'proto-names', data } });
      assert.equal(res.status, 200, res.text);
      const got = await call(t.base, 'GET', '/entries', { query: `id=proto-names&token=${q(t.token)}` });
      assert.equal(got.status, 200, got.text);
      assert.equal(got.body.hasOwnProperty, 'c');
      const token = `token=${q(t.token)}`;
      for (const query of [
        `id=&options[collection]=true&options[filter][where][0][key]=toString&options[filter][where][0][value]=a&${token}`,
        `id=&options[collection]=true&options[filter][sort_by][key]=valueOf&options[filter][group_by]=hasOwnProperty&${token}`,
        `id=proto-names&options[filter][only][0]=toJSON&options[filter][except][0]=valueOf&${token}`,
      ]) {
        const answer = await call(t.base, 'GET', '/entries', { query });
        assert.equal(answer.status, 200, `${query}: ${answer.text}`);
      }
      const found = await call(t.base, 'GET', '/entries', {
        query: `id=&options[collection]=true&options[filter][where][0][key]=toString&options[filter][where][0][value]=a&${token}`,
      });
      assert.deepEqual(Object.keys(found.body), ['proto-names']);
      assertNoPollution();
      await cleanup('proto-names');
      await assertNothingWritten();
    });
  });

  describe('malformed bodies', () => {
    it('refuses bodies that are not valid UTF-8 with 400', async () => {
      const head = `{"token":"${t.token}","access_token":"${t.accessToken}","id":"bad-utf8","data":{"title":"`;
      for (const bytes of [[0xff, 0xfe], [0xc0, 0xae], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
        const raw = Buffer.concat([Buffer.from(head), Buffer.from(bytes), Buffer.from('"}}')]);
        assertErrorBody(await call(t.base, 'POST', '/entries', { raw, headers: { 'content-type': 'application/json' } }), 400, `JSON ${bytes}`);
        const form = Buffer.concat([Buffer.from(`token=${t.token}&access_token=${t.accessToken}&id=bad-utf8&data[title]=`), Buffer.from(bytes)]);
        assertErrorBody(
          await call(t.base, 'POST', '/entries', { raw: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
          400,
          `form ${bytes}`,
        );
      }
      await assertNothingWritten();
    });

    it('refuses data that is not an object, and bodies that are not JSON objects, with 400', async () => {
      for (const data of ['text', 5, true, null, [1, 2], [], [{ title: 'x' }]]) {
        assertErrorBody(await call(t.base, 'POST', '/entries', { json: { ...auth, id: 'not-object', data } }), 400, `POST data=${JSON.stringify(data)}`);
        assertErrorBody(await call(t.base, 'PATCH', '/entries', { json: { ...auth, id: 'home', data } }), 400, `PATCH data=${JSON.stringify(data)}`);
      }
      const creds = `token=${q(t.token)}&access_token=${q(t.accessToken)}`;
      for (const form of ['data=text', 'data[]=a&data[]=b', 'data[0]=a']) {
        assertErrorBody(await call(t.base, 'POST', '/entries', { form: `${creds}&id=not-object&${form}` }), 400, `POST ${form}`);
        assertErrorBody(await call(t.base, 'PATCH', '/entries', { form: `${creds}&id=home&${form}` }), 400, `PATCH ${form}`);
      }
      for (const raw of ['[]', '"x"', 'null', '5', '{', '{"id":', '\u0000', '{"a":1}{"b":2}']) {
        assertErrorBody(await call(t.base, 'POST', '/entries', { raw, headers: { 'content-type': 'application/json' } }), 400, `body ${raw}`);
      }
      await assertNothingWritten();
      await healthy();
    });
  });

  describe('hostile regular expressions', () => {
    it('answers catastrophic and invalid patterns quickly, and the server stays responsive', async () => {
      const token = `token=${q(t.token)}`;
      const where = (operator: string, pattern: string) =>
        `id=&options[collection]=true&options[find][depth]=${q('>= 1')}&options[filter][where][0][key]=title` +
        `&options[filter][where][0][operator]=${operator}&options[filter][where][0][value]=${q(pattern)}&${token}`;
      const catastrophic = ['^(a+)+$', '^(a|aa)+$', '(a*)*b', '^(.*a){12}$', '((a+)+)+c', '^(a|a?)+$', '(\\w+\\s?)+$', '(a+)+(b+)+$'];
      for (const pattern of catastrophic) {
        for (const operator of ['regexp', 'nregexp']) {
          const res = await call(t.base, 'GET', '/entries', { query: where(operator, pattern) });
          assert.equal(res.status, 200, `${operator} ${pattern}: ${res.text}`);
          if (operator === 'regexp') assert.equal('redos' in res.body, false, `${pattern} does not match "aaa…!"`);
          else assert.equal('redos' in res.body, true, `${pattern} does not match "aaa…!"`);
        }
      }
      // The engine does run: a pattern that matches finds the entry.
      const match = await call(t.base, 'GET', '/entries', { query: where('regexp', '^(a+)+!$') });
      assert.deepEqual(Object.keys(match.body), ['redos']);
      const invalid = ['(a)\\1', '(?=a)', '(?<=a)b', '[', 'x{2,1}', '(?:a+){1001}', '((((a{100}){100}){100}){100})', '\\p{NoSuchClass}', 'a'.repeat(300)];
      for (const pattern of invalid) {
        const res = await call(t.base, 'GET', '/entries', { query: where('regexp', pattern) });
        assertErrorBody(res, 400, `pattern ${pattern.slice(0, 40)}`);
      }
      const path = await call(t.base, 'GET', '/entries', {
        query: `id=&options[collection]=true&options[find][depth]=${q('>= 1')}&options[find][path]=${q('/^(a+)+$/')}&${token}`,
      });
      assert.ok(path.status === 200 || path.status === 400, path.text);
      await healthy();
    });
  });

  describe('credentials', () => {
    it('slows a client that keeps failing with 429 and Retry-After, without affecting others', async (ctx) => {
      const s = await startTestServer({ fromDemo: true, settings: { security: { auth_failures_per_minute: 5, auth_block_seconds: 30 } } });
      try {
        const fail = (localAddress = '127.0.0.1', headers: Record<string, string> = {}) =>
          rawRequest(s.server.url, { path: `/api/v1/entries?id=home&token=${'0'.repeat(32)}`, localAddress, headers }).then(asApiResponse);
        const statuses: number[] = [];
        let refused: ApiResponse | undefined;
        for (let i = 0; i < 10; i++) {
          const res = await fail();
          statuses.push(res.status);
          if (res.status === 429) refused ??= res;
        }
        assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401], 'the first five failures are plain 401s');
        const firstRefusal = statuses.indexOf(429);
        assert.ok(firstRefusal >= 5 && firstRefusal <= 6, `refused once over the limit: ${statuses}`);
        assert.ok(statuses.slice(firstRefusal).every((s) => s === 429), `and refused from then on: ${statuses}`);
        assertErrorBody(refused!, 429, '429');
        const retry = Number(refused!.headers.get('retry-after'));
        assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 30, `Retry-After ${refused!.headers.get('retry-after')}`);
        // A forged X-Forwarded-For does not get around it, nor do right credentials (no oracle while refused).
        assert.equal((await fail('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' })).status, 429);
        const right = await rawRequest(s.server.url, { path: `/api/v1/entries?id=home&token=${s.token}` });
        assert.equal(right.status, 429);

        // Another client address is not affected.
        let other: ApiResponse;
        try {
          other = asApiResponse(await rawRequest(s.server.url, { path: `/api/v1/entries?id=home&token=${s.token}`, localAddress: '127.0.0.2' }));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') return ctx.skip('127.0.0.2 is not available here');
          throw err;
        }
        assert.equal(other.status, 200, other.text);
        assert.equal((await fail('127.0.0.2')).status, 401);

        // Wrong access tokens (bcrypt checks) count as failures too.
        const wrongAccess = () =>
          rawRequest(s.server.url, {
            method: 'PATCH',
            path: '/api/v1/entries',
            localAddress: '127.0.0.3',
            headers: { 'content-type': 'application/json' },
            chunks: [JSON.stringify({ token: s.token, access_token: 'f'.repeat(32), id: 'home', data: { title: 'x' } })],
          }).then(asApiResponse);
        const accessStatuses: number[] = [];
        for (let i = 0; i < 8; i++) accessStatuses.push((await wrongAccess()).status);
        assert.deepEqual(accessStatuses.slice(0, 5), [401, 401, 401, 401, 401]);
        assert.equal(accessStatuses[7], 429, `${accessStatuses}`);
      } finally {
        await s.close();
      }
    });

    it('tolerates 60 failed authentications a minute from one client by default', async () => {
      const s = await startTestServer({ fromDemo: true });
      try {
        const statuses: number[] = [];
        for (let batch = 0; batch < 6; batch++) {
          const answers = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              i % 3 === 0
                ? call(s.base, 'PATCH', '/entries', { json: { token: s.token, access_token: 'f'.repeat(32), id: 'home', data: { x: 1 } } })
                : call(s.base, 'GET', '/entries', { query: `id=home&token=${'0'.repeat(31)}${batch}` }),
            ),
          );
          statuses.push(...answers.map((a) => a.status));
        }
        assert.equal(statuses.length, 60);
        assert.deepEqual([...new Set(statuses)], [401]);
        const ok = await call(s.base, 'GET', '/entries', { query: `id=home&token=${q(s.token)}` });
        assert.equal(ok.status, 200);
      } finally {
        await s.close();
      }
    });

    it('keeps access tokens and hashes out of the log, even for failures and 500s', async () => {
      const tokenFile = await storedText(t, `tokens/${t.token}`);
      const hash = /hashed_access_token:\s*['"]?([^'"\n]+)/.exec(tokenFile)![1]!;
      assert.match(hash, /^\$2[aby]\$/);
      const A = t.accessToken;
      const T = t.token;
      const json = { 'content-type': 'application/json' };
      const answers: [string, ApiResponse][] = [
        ['GET with access_token', await call(t.base, 'GET', '/entries', { query: `id=home&token=${T}&access_token=${A}` })],
        ['500 GET', await call(t.base, 'GET', '/entries', { query: `id=broken&token=${T}&access_token=${A}` })],
        ['500 GET encoded key', await call(t.base, 'GET', '/entries', { query: `id=broken&%74oken=${T}&access%5Ftoken=${A}` })],
        ['500 GET headers', await call(t.base, 'GET', '/entries', { query: 'id=broken', headers: { authorization: `Bearer ${T}`, 'x-access-token': A } })],
        ['409 PATCH JSON', await call(t.base, 'PATCH', '/entries', { json: { token: T, access_token: A, id: 'broken', data: { a: 1 } } })],
        ['409 PATCH form', await call(t.base, 'PATCH', '/entries', { form: `token=${T}&access_token=${A}&id=broken&data[a]=1` })],
        ['409 PATCH query', await call(t.base, 'PATCH', '/entries', { query: `token=${T}&access_token=${A}&id=broken`, json: { data: { a: 1 } } })],
        ['500 broken token', await call(t.base, 'GET', '/entries', { query: `id=home&token=brokentoken&access_token=${A}` })],
        ['500 broken token, hash', await call(t.base, 'POST', '/tokens/verify-hash', { query: `token=brokentoken&access_token=${A}&string=${A}&hash=${q(hash)}` })],
        ['wrong access token', await call(t.base, 'GET', '/entries', { query: `id=home&token=${T}&access_token=${A.slice(0, -1)}0` })],
        ['unknown token', await call(t.base, 'PATCH', '/entries', { json: { token: '1'.repeat(32), access_token: A, id: 'home', data: { a: 1 } } })],
        ['unknown token, query', await call(t.base, 'GET', '/entries', { query: `id=home&token=${'2'.repeat(32)}&access_token=${A}` })],
        ['generate-hash', await call(t.base, 'POST', '/tokens/generate-hash', { json: { token: T, access_token: A, string: A } })],
        ['verify-hash', await call(t.base, 'POST', '/tokens/verify-hash', { query: `string=${A}&hash=${q(hash)}`, json: { token: T, access_token: A } })],
        ['bad JSON', await call(t.base, 'POST', '/entries', { raw: `{"token":"${T}","access_token":"${A}",`, headers: json })],
      ];
      const serverErrors = answers.filter(([, res]) => res.status >= 500);
      // A PATCH of a broken entry is a 409 (issue 9, item 22), the rest are 500s.
      assert.equal(serverErrors.length, 5, `the 500s were produced: ${answers.map(([w, r]) => `${w}=${r.status}`).join(', ')}`);
      for (const [what, res] of serverErrors) {
        assertErrorBody(res, 500, what);
        assert.ok(!res.text.includes(A) && !res.text.includes(hash), `${what}: no secret in the body`);
      }
      assert.equal(answers.find(([w]) => w === 'verify-hash')![1].body.verified, true);
      const logs = t.logs.text;
      assert.ok(logs.includes('request failed'), 'the 500s were logged');
      assert.equal(logs.includes(A), false, 'the access token is not in the log');
      assert.equal(logs.includes(hash), false, 'the hash is not in the log');
      assert.equal(logs.includes(hash.slice(7)), false, 'no part of the hash is in the log');
    });
  });
});
