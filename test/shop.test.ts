/**
 * The bundled `examples/shop` demo answers exactly as recorded from the PHP reference
 * (test/fixtures/shop-expected: cases.json, NOTES.md lists where a file holds our [ours] answer).
 * Bodies are compared with key order kept (integer-like keys included) and numbers by value.
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, REPO_ROOT, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';

const SHOP = path.join(REPO_ROOT, 'examples', 'shop');
const EXPECTED = path.join(REPO_ROOT, 'test', 'fixtures', 'shop-expected');
/** 2024-05-01T12:00:00Z, the modification time of every file when the answers were recorded. */
const RECORDED_MTIME = 1714564800;

interface ShopCase {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, unknown>;
  body?: Record<string, unknown>;
  file: string;
  status: number;
}

const cases = JSON.parse(readFileSync(path.join(EXPECTED, 'cases.json'), 'utf8')) as ShopCase[];

/**
 * Re-prints JSON text canonically: one token per line, key order exactly as written, numbers by
 * value (`1299.0` and `1299` print alike). Hand-written because JSON.parse reorders integer-like
 * keys ("1" before "0" matters for group_by) and no parser in our dependencies keeps that order.
 */
function canonicalJson(text: string): string {
  let at = 0;
  const out: string[] = [];
  const space = () => { while (/\s/.test(text[at] ?? '')) at++; };
  const fail = (what: string): never => { throw new Error(`bad JSON at ${at}: ${what}`); };
  const scalar = (pattern: RegExp): string => {
    pattern.lastIndex = at;
    const match = pattern.exec(text) ?? fail('token');
    at += match[0].length;
    return match[0];
  };
  const STRING = /"(?:[^"\\]|\\.)*"/y;
  const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const WORD = /true|false|null/y;
  const value = (depth: number, prefix: string): void => {
    space();
    const pad = '  '.repeat(depth);
    const open = text[at];
    if (open === '{' || open === '[') {
      const close = open === '{' ? '}' : ']';
      at++;
      out.push(`${pad}${prefix}${open}`);
      space();
      while (text[at] !== close) {
        let key = '';
        if (open === '{') {
          space();
          key = `${JSON.stringify(JSON.parse(scalar(STRING)))}: `;
          space();
          if (text[at++] !== ':') fail('colon');
        }
        value(depth + 1, key);
        space();
        if (text[at] === ',') at++;
        else if (text[at] !== close) fail('comma');
        space();
      }
      at++;
      out.push(`${pad}${close}`);
    } else if (open === '"') {
      out.push(`${pad}${prefix}${JSON.stringify(JSON.parse(scalar(STRING)))}`);
    } else if (open === '-' || /\d/.test(open ?? '')) {
      out.push(`${pad}${prefix}${String(Number(scalar(NUMBER)))}`);
    } else {
      out.push(`${pad}${prefix}${scalar(WORD)}`);
    }
  };
  value(0, '');
  space();
  if (at !== text.length) fail('trailing text');
  return out.join('\n');
}

/** A nested map as a PHP-style bracket query string: `options[filter][where][0][key]=in_stock`. */
function bracketQuery(map: Record<string, unknown>): string {
  const pairs: string[] = [];
  const walk = (value: unknown, name: string): void => {
    if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) walk(inner, `${name}[${encodeURIComponent(key)}]`);
    } else {
      pairs.push(`${name}=${encodeURIComponent(String(value))}`);
    }
  };
  for (const [key, value] of Object.entries(map)) walk(value, encodeURIComponent(key));
  return pairs.join('&');
}

/** Sets the modification time of a folder and everything below it. */
function setTimes(dir: string, seconds: number): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) setTimes(full, seconds);
    else utimesSync(full, seconds, seconds);
  }
  utimesSync(dir, seconds, seconds);
}

let server: TestServer;
let projectDir: string;

before(async () => {
  projectDir = tempProject(false);
  cpSync(SHOP, projectDir, { recursive: true });
  setTimes(path.join(projectDir, 'entries'), RECORDED_MTIME);
  server = await startTestServer({ projectDir });
});

after(async () => {
  await server?.close();
  removeProject(projectDir);
});

describe('examples/shop answers as the reference recorded (shop-expected)', () => {
  it('canonicalJson keeps key order and compares numbers by value', () => {
    assert.equal(canonicalJson('{"1": [1299.0, 1.0e-5], "0": "\\u00e9"}'), canonicalJson('{ "1":[1299,0.00001],"0":"é" }'));
    assert.notEqual(canonicalJson('{"1": 1, "0": 0}'), canonicalJson('{"0": 0, "1": 1}'));
    assert.notEqual(canonicalJson('[1, 2]'), canonicalJson('{"0": 1, "1": 2}'));
  });

  it('collection toString and sort as the reference (answers recorded from PHP Flextype)', async () => {
    const query = {
      desc_lower: 'collection([3,1,2]).sort("desc").toArray()',
      desc: 'collection([3,1,2]).sort("DESC").toArray()',
      desc_keys: 'collection([3,1,2]).sort("DESC", 0, true).toArray()',
      asc_keys: 'collection([3,1,2]).sort("ASC", 0, true).toArray()',
      map_sorted: 'collection({b:3,a:1,c:2}).sort("ASC").toArray()',
      keys_desc_lower: 'collection({b:1,a:2,c:0}).sortKeys("desc").toArray()',
      leaves: 'collection({x:[1," a"],y:true, z:false, w:null, v:[]}).toString("; ")',
      with_keys: 'collection({x:[1," a"],y:2}).toString("-", true, false)',
      empty: 'collection([]).toString()',
      no_break_space_kept: 'collection([0.1+0.2, "a\u00a0b"]).toString()',
    };
    const response = await call(server.base, 'POST', '/query', { json: { query, token: server.token, access_token: server.accessToken } });
    assert.equal(response.status, 200, response.text);
    // As text: integer-like keys in the reference's order, which a JS object literal would not keep.
    const expected = `{"desc_lower":[1,2,3],"desc":[3,2,1],"desc_keys":{"0":3,"2":2,"1":1},"asc_keys":{"1":1,"2":2,"0":3},
      "map_sorted":[1,2,3],"keys_desc_lower":{"a":2,"b":1,"c":0},"leaves":"1;a;1;;","with_keys":"0-1-1- a-y-2","empty":"","no_break_space_kept":"0.3,a\u00a0b"}`;
    assert.equal(canonicalJson(response.text), canonicalJson(expected));
  });

  for (const shopCase of cases) {
    it(`${shopCase.name} (${shopCase.file})`, async () => {
      const response = shopCase.method === 'GET'
        ? await call(server.base, 'GET', shopCase.path.replace(/^\/api\/v1/, ''), {
          query: `${bracketQuery(shopCase.query ?? {})}&token=${server.token}`,
        })
        : await call(server.base, 'POST', shopCase.path.replace(/^\/api\/v1/, ''), {
          json: { ...(shopCase.body ?? {}), token: server.token, access_token: server.accessToken },
        });
      const expected = readFileSync(path.join(EXPECTED, shopCase.file), 'utf8');
      assert.equal(response.status, shopCase.status, response.text);
      assert.equal(canonicalJson(response.text), canonicalJson(expected));
    });
  }
});
