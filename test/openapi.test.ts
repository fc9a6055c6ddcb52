/**
 * Issue 13, item 2: the OpenAPI 3.1 document served at /api/v1/openapi.json is valid, covers every
 * route the server registers, and says what the server does: the required parameters, scopes and
 * credentials it documents are the ones requests are refused for. The docs page's CSP and assets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { SCOPES, type Scope } from '../src/core/tokens/scopes.js';
import { call, startTestServer, type TestServer } from './helpers.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- walking an arbitrary JSON document

const METHODS = ['get', 'post', 'patch', 'put', 'delete'] as const;

/** Every (METHOD path) Fastify registered, read from its route tree (HEAD and OPTIONS left out). */
function registeredRoutes(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    const path = stack.join('');
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '' && m !== 'HEAD' && m !== 'OPTIONS')) {
      out.push(`${method} ${path}`);
    }
  }
  return out.sort();
}

function operationsOf(doc: Json): { method: string; path: string; op: Json }[] {
  const out: { method: string; path: string; op: Json }[] = [];
  for (const [path, item] of Object.entries(doc['paths'] as Json)) {
    for (const method of METHODS) if (item[method]) out.push({ method: method.toUpperCase(), path, op: item[method] });
  }
  return out;
}

function resolve(doc: Json, value: Json): Json {
  if (typeof value['$ref'] !== 'string') return value;
  const parts = (value['$ref'] as string).slice(2).split('/');
  let target: Json = doc;
  for (const part of parts) target = target[part];
  return target;
}

/** The parameters an operation documents as required, in document order (credentials excluded). */
function documentedRequired(doc: Json, op: Json): string[] {
  if (op['requestBody']) {
    const schema = op['requestBody']['content']['application/json']['schema'];
    return (resolve(doc, schema)['required'] ?? []) as string[];
  }
  return ((op['parameters'] ?? []) as Json[]).map((p) => resolve(doc, p)).filter((p) => p['in'] === 'query' && p['required']).map((p) => p['name'] as string);
}

function scopesOf(op: Json): string[] {
  const first = (op['security'] as Json[])[0]!;
  return [...new Set(Object.values(first).flat() as string[])];
}

/** Plausible values for an operation's required parameters (the outcome may be 404, never 400-missing). */
const SAMPLE: Record<string, unknown> = {
  id: 'does-not-exist',
  new_id: 'does-not-exist-either',
  data: { title: 'x' },
  string: 'secret',
  source: '---\ntitle: x\n---\n',
  hash: '$2a$04$abcdefghijklmnopqrstuu5Ih8mCX3EBdJ9WyczWjlxTCcjSzVfO2',
  query: { sum: '1 + 1' },
};


/** An event stream's status (and its body when refused): it never ends by itself, so it is not read whole. */
async function streamStatus(url: string, headers: Record<string, string>): Promise<{ status: number; text: string; body: Json }> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const text = response.ok ? '' : await response.text();
  controller.abort();
  return { status: response.status, text, body: text === '' ? undefined : JSON.parse(text) };
}

describe('the OpenAPI document', () => {
  let t: TestServer;
  let doc: Json;
  before(async () => {
    t = await startTestServer({ fromDemo: false, settings: { security: { auth_failures_per_minute: 0 }, storage: { durable: false } } });
    const res = await call(t.base, 'GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.ok(res.headers.get('etag'));
    doc = res.body;
  });
  after(async () => t.close());

  it('is a valid OpenAPI 3.1 document whose references all resolve', async () => {
    assert.equal(doc['openapi'], '3.1.0');
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.deepEqual(result.errors ?? [], [], JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
    assert.equal(result.valid, true);
    // Every $ref points at something that exists.
    const refs: string[] = [];
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') {
        for (const [key, item] of Object.entries(value)) {
          if (key === '$ref' && typeof item === 'string') refs.push(item);
          else walk(item);
        }
      }
    };
    walk(doc);
    assert.ok(refs.length > 50);
    for (const ref of new Set(refs)) assert.ok(resolve(doc, { $ref: ref }) !== undefined, `unresolved ${ref}`);
    const ids = operationsOf(doc).map((o) => o.op['operationId']);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  it('covers every route the server registers, and nothing it does not', () => {
    const served = registeredRoutes(t.server.app.printRoutes({ commonPrefix: false }))
      // The docs page's own files, the admin app's pages and the CLI's loopback control requests are not API endpoints.
      .filter((route) => !route.includes('/:file') && !route.includes('/_control/') && !route.startsWith('GET /admin'));
    const documented = operationsOf(doc).map((o) => `${o.method} ${o.path}`).sort();
    assert.deepEqual(documented, served);
    assert.equal(documented.length, 27); // 24 of the API (5 for the admin app), health, ready and metrics (issue 13 item 5)
    assert.equal(Object.keys(doc['paths']).length, 19);
  });

  it('documents the error body of the one error catalogue on every operation', () => {
    const errorSchema = doc['components']['schemas']['Error'];
    assert.deepEqual(errorSchema['required'], ['title', 'message', 'http_status_code']);
    assert.deepEqual(Object.keys(errorSchema['properties']), ['title', 'message', 'http_status_code', 'detail']);
    for (const { method, path, op } of operationsOf(doc)) {
      if (op['tags'][0] === 'Documentation' || op['tags'][0] === 'Operations') continue; // no API token
      for (const status of ['400', '401', '429', '500', 'default']) {
        const response = resolve(doc, op['responses'][status]);
        assert.equal(response['content']['application/json']['schema']['$ref'], '#/components/schemas/Error', `${method} ${path} ${status}`);
      }
    }
    const notFound = doc['components']['responses']['NotFound']['content']['application/json']['examples']['not_found']['value'];
    assert.deepEqual(notFound, { title: 'Not Found', message: 'The requested resource or endpoint could not be found', http_status_code: 404 });
  });

  it('documents the bracket options of GET and the If-Match writes', () => {
    const fetch = doc['paths']['/api/v1/entries']['get'];
    const options = fetch['parameters'].find((p: Json) => p['name'] === 'options');
    assert.equal(options['style'], 'deepObject');
    assert.match(options['description'], /options\[filter\]\[where\]\[0\]\[key\]/);
    const where = doc['components']['schemas']['FilterOptions']['properties']['where'];
    assert.equal(where['items']['$ref'], '#/components/schemas/WhereItem');
    for (const [path, method] of [['/api/v1/entries', 'patch'], ['/api/v1/entries', 'put'], ['/api/v1/entries', 'delete']] as const) {
      const op = doc['paths'][path][method];
      assert.ok(op['parameters'].some((p: Json) => p['$ref'] === '#/components/parameters/IfMatch'), `${method} ${path}`);
      assert.ok(op['responses']['412'], `${method} ${path} 412`);
    }
    assert.ok(fetch['responses']['200']['headers']['X-Total-Count']);
  });

  it('requires exactly the parameters it documents as required, with today’s message', async () => {
    let checked = 0;
    for (const { method, path, op } of operationsOf(doc)) {
      if (op['tags'][0] === 'Documentation' || op['tags'][0] === 'Operations') continue; // no API token
      const required = documentedRequired(doc, op);
      const names = required.filter((name) => name !== 'token' && name !== 'access_token');
      const endpoint = path.slice('/api/v1'.length);
      const headers = { authorization: `Bearer ${t.token}`, 'x-access-token': t.accessToken };
      if (op['operationId'] === 'watchChanges') {
        // An event stream never ends by itself (reading it whole waited out its 5-minute lifetime).
        assert.deepEqual(names, []);
        assert.equal((await streamStatus(`${t.base}${endpoint}`, headers)).status, 200);
        continue;
      }
      const res = method === 'GET' ? await call(t.base, method, endpoint, { headers }) : await call(t.base, method, endpoint, { headers, json: {} });
      if (names.length === 0) {
        assert.notEqual(res.status, 400, `${method} ${path}: ${res.text}`);
        continue;
      }
      assert.equal(res.status, 400, `${method} ${path}`);
      assert.equal(res.body.detail, `missing required parameter${names.length > 1 ? 's' : ''}: ${names.join(', ')}`, `${method} ${path}`);
      checked++;
    }
    assert.ok(checked >= 12);
  });

  it('enforces exactly the scopes it documents, for every operation', async () => {
    for (const { method, path, op } of operationsOf(doc)) {
      if (op['tags'][0] === 'Documentation' || op['tags'][0] === 'Operations') continue; // no API token
      const scopes = scopesOf(op);
      // Only asking what one's own token may do needs no scope.
      assert.ok((scopes.length > 0 || op['operationId'] === 'describeSelf') && scopes.every((s) => (SCOPES as readonly string[]).includes(s)), `${method} ${path}`);
      const params: Record<string, unknown> = {};
      for (const name of documentedRequired(doc, op)) params[name] = SAMPLE[name];
      const attempt = async (granted: Scope[]) => {
        const created = await t.server.cms.tokens.create({ title: 'scoped', scopes: granted });
        const headers = { authorization: `Bearer ${created.token}`, 'x-access-token': created.access_token };
        const endpoint = path.slice('/api/v1'.length);
        if (op['operationId'] === 'watchChanges') return streamStatus(`${t.base}${endpoint}`, headers);
        if (method === 'GET') {
          const query = new URLSearchParams(params as Record<string, string>).toString();
          return call(t.base, method, endpoint, { headers, query });
        }
        return call(t.base, method, endpoint, { headers, json: params });
      };
      const exact = await attempt(scopes as Scope[]);
      assert.notEqual(exact.status, 401, `${method} ${path} with ${scopes}: ${exact.text}`);
      for (const missing of scopes) {
        const others = SCOPES.filter((s) => s !== missing);
        const refused = await attempt(others);
        assert.equal(refused.status, 401, `${method} ${path} without ${missing}: ${refused.text}`);
        assert.match(refused.body.detail, /scope/);
      }
    }
  });

  it('lists the header and parameter credentials as security schemes', () => {
    const schemes = doc['components']['securitySchemes'];
    assert.deepEqual(schemes['bearer'], { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <token>' });
    assert.equal(schemes['accessTokenHeader']['name'], 'X-Access-Token');
    assert.equal(schemes['tokenQuery']['name'], 'token');
    const create = doc['paths']['/api/v1/entries']['post'];
    assert.ok(create['security'].some((s: Json) => 'bearer' in s && 'accessTokenHeader' in s));
    const body = create['requestBody']['content']['application/json']['schema'];
    assert.ok(body['properties']['token'] && body['properties']['access_token'], 'body credentials documented');
    const read = doc['paths']['/api/v1/entries']['get'];
    assert.ok(read['security'].every((s: Json) => !('accessTokenHeader' in s)), 'reads need no access token');
  });
});

describe('the docs page', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fromDemo: false, withToken: false, settings: { storage: { durable: false } } });
  });
  after(async () => t.close());

  it('is served with a strict Content-Security-Policy and no other origin', async () => {
    const res = await call(t.base, 'GET', '/docs');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.doesNotMatch(res.text, /https?:\/\//, 'no external URL in the page');
    assert.doesNotMatch(res.text, /<script>(?!<\/script>)|<style/, 'no inline script or style');
  });

  it('serves the package files and refuses anything else', async () => {
    for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css', 'init.js']) {
      const res = await call(t.base, 'GET', `/docs/${file}`);
      assert.equal(res.status, 200, file);
      assert.ok(res.text.length > 100, file);
    }
    for (const file of ['package.json', '..%2Fpackage.json', 'index.html', 'swagger-ui-bundle.js.map']) {
      const res = await call(t.base, 'GET', `/docs/${file}`);
      assert.equal(res.status, 404, file);
      assert.equal(res.body.title, 'Not Found');
    }
    const wrong = await call(t.base, 'POST', '/openapi.json', { json: {} });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, OPTIONS');
  });
});
