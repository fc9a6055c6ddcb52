/** The `flextype` executable (SPEC §7): the real dist/cli/main.js run on temp projects. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { all, childEnv, cli, engineEnv, ensureBuilt, fails, ok, okJson, projectStoredText, serve, stop, waitForLog, withProjectStore, type Served } from './cli-helpers.js';
import { filesOnly, ON_POSTGRES } from './engine-helpers.js';
import { call, CLI, q, REPO_ROOT, removeProject, tempProject } from './helpers.js';

const execFileAsync = promisify(execFile);
const HEX32 = /^[0-9a-f]{32}$/;
const ANSI = /\x1b\[/;

before(ensureBuilt);

// ---- tests -----------------------------------------------------------------------------------

const COMMANDS = [
  'init',
  'serve',
  'tokens:create',
  'tokens:fetch',
  'tokens:update',
  'tokens:delete',
  'tokens:has',
  'tokens:generate',
  'tokens:generate-hash',
  'tokens:verify-hash',
  'entries:fetch',
  'entries:create',
  'entries:update',
  'entries:move',
  'entries:copy',
  'entries:delete',
  'entries:has',
  'cache:clear',
  'webhooks:list',
  'webhooks:log',
  'webhooks:test',
  'webhooks:redeliver',
];

describe('CLI: help, exit codes and output', () => {
  let project: string;
  before(() => {
    project = tempProject(true);
  });
  after(() => removeProject(project));

  it('--help works on the program and on every command (exit 0)', async () => {
    const main = await ok(['--help']);
    for (const command of COMMANDS) assert.ok(main.includes(command), `${command} listed in the main help`);
    const runs = await all(COMMANDS.map((command) => () => cli([command, '--help'])));
    runs.forEach((run, i) => {
      assert.equal(run.code, 0, `${COMMANDS[i]} --help: ${run.stderr}`);
      assert.ok(run.stdout.startsWith(`Usage: flextype ${COMMANDS[i]}`), `${COMMANDS[i]} --help: ${run.stdout}`);
      assert.match(run.stdout, /--help/);
    });
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal((await ok(['--version'])).trim(), pkg.version);
  });

  it('failures exit non-zero with a one-line reason on stderr; a missing entry is 3, bad input 2', async () => {
    await all([
      () => fails(['nope:command'], /unknown command 'nope:command'/),
      () => fails(['entries:fetch', 'no-such-entry', '--project', project], /entry "no-such-entry" does not exist/, 3),
      () => fails(['entries:create', 'bad-json', '{"title": oops}', '--project', project], /not valid JSON/, 2),
      () => fails(['entries:create', 'not-a-map', '[1, 2]', '--project', project], /JSON object/, 2),
      () => fails(['entries:create', 'bad-data', 'just words', '--project', project], /JSON or a query string/, 2),
      () => fails(['entries:create', '--project', project], /missing required argument 'id'/),
      () => fails(['entries:fetch', 'blog', '--no-such-flag', '--project', project], /unknown option '--no-such-flag'/),
      () => fails(['entries:create', '../escape', '--project', project], /id/, 2),
      () => fails(['entries:fetch', 'blog', '--project', path.join(project, 'missing')], /does not exist/),
      () => fails(['entries:fetch', 'blog', '--collection', '--where', 'title', '--project', project], /--where/, 2),
      () => fails(['tokens:generate', '3'], /length/, 2),
    ]);
    assert.equal(await projectStoredText(project, 'bad-json'), undefined);
    assert.ok(!existsSync(path.join(project, 'escape')));
  });

  it('output has no ANSI escapes when not on a terminal, nor with NO_COLOR', async () => {
    await all(
      ([{}, { NO_COLOR: '1' }] as Record<string, string>[]).map((env) => async () => {
        const fetched = await cli(['entries:fetch', 'blog', '--project', project], env);
        assert.equal(fetched.code, 0);
        assert.match(fetched.stdout, /^title: /m);
        assert.ok(!ANSI.test(fetched.stdout));
        const failed = await cli(['entries:fetch', 'missing', '--project', project], env);
        assert.ok(failed.stderr.startsWith('error: '));
        assert.ok(!ANSI.test(failed.stderr));
      }),
    );
  });

  // `script` gives the CLI a terminal, so colours appear; NO_COLOR must still switch them off.
  const hasScript = existsSync('/usr/bin/script');
  it('on a terminal it colours its output, unless NO_COLOR is set', { skip: hasScript ? false : 'util-linux script not available' }, async () => {
    // The command reads its arguments from the environment: no data is put into the shell string.
    const onTerminal = async (extra: Record<string, string>) => {
      const env = childEnv({ ...(await engineEnv(project)), TERM: 'xterm', NODE_BIN: process.execPath, CLI_JS: CLI, PROJECT: project, ...extra });
      const { stdout } = await execFileAsync('script', ['-qec', '"$NODE_BIN" "$CLI_JS" entries:fetch blog --project "$PROJECT"', '/dev/null'], {
        env,
        timeout: 30_000,
      });
      return stdout;
    };
    const [coloured, plain] = await Promise.all([onTerminal({}), onTerminal({ NO_COLOR: '1' })]);
    assert.match(coloured!, /title/);
    assert.ok(ANSI.test(coloured!), 'colours on a terminal');
    assert.match(plain!, /title: /);
    assert.ok(!ANSI.test(plain!), 'NO_COLOR switches colours off');
  });
});

describe('CLI: tokens, serve and cache:clear', () => {
  let project: string;
  let served: Served | undefined;
  let first: { token: string; access_token: string };
  let second: { token: string; access_token: string };
  // A token's stored text (its token.yaml, or its row), through an engine on the project's entries.
  const storedToken = (token: string) => projectStoredText(project, `tokens/${token}`);
  let readsInCacheTest = 0;

  before(() => {
    project = tempProject(true);
    // No watcher and a long re-check interval: the server sees edits on disk only after cache:clear.
    appendFileSync(path.join(project, 'config', 'flextype', 'settings.yaml'), '\ncache:\n  watch: false\n  poll_interval: 3600000\n');
  });
  after(async () => {
    if (served) await stop(served.child);
    removeProject(project);
  });

  it('tokens:create --json prints only {"token", "access_token"} and stores only the hash', async () => {
    const stdout = await ok(['tokens:create', '--json', '--project', project]);
    first = JSON.parse(stdout) as typeof first;
    assert.deepEqual(Object.keys(first).sort(), ['access_token', 'token']);
    assert.match(first.token, HEX32);
    assert.match(first.access_token, HEX32);
    const stored = (await storedToken(first.token)) ?? '';
    assert.match(stored, /hashed_access_token: /);
    assert.ok(!stored.includes(first.access_token));
  });

  it('tokens:create for people prints the token and the access token, with data', async () => {
    const stdout = await ok(['tokens:create', '{"title":"Second"}', '--project', project]);
    const token = /token:\s+([0-9a-f]{32})/.exec(stdout)?.[1];
    const access = /access_token:\s+([0-9a-f]{32})/.exec(stdout)?.[1];
    assert.ok(token && access, stdout);
    second = { token, access_token: access };
    assert.match((await storedToken(token)) ?? '', /title: Second/);
  });

  it('serve starts on the port it prints; the created token works over HTTP', async () => {
    served = await serve(project);
    assert.ok(existsSync(path.join(project, 'var', 'server.json')));
    assert.ok(!served.output().includes('No API token existed'), 'tokens existed, so none was made');
    const read = await call(served.base, 'GET', '/entries', { query: `id=blog/hello-world&token=${q(first.token)}` });
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.id, 'blog/hello-world');
    const write = await call(served.base, 'POST', '/entries', { json: { ...first, id: 'from-cli-token', data: { title: 'T' } } });
    assert.equal(write.status, 200, write.text);
    const self = await call(served.base, 'GET', '/tokens', { query: `id=${first.token}`, headers: { authorization: `Bearer ${first.token}`, 'x-access-token': first.access_token } });
    assert.equal(self.status, 200);
    assert.equal(self.body.calls, 3);
  });

  it('tokens:create --scopes gives a token the server restricts', async () => {
    const reader = await okJson(['tokens:create', '--scopes', 'entries:read,registry:read', '--limit-calls', '9', '--project', project]);
    const base = served!.base;
    assert.equal((await call(base, 'GET', '/entries', { query: `id=blog&token=${reader['token']}` })).status, 200);
    assert.equal((await call(base, 'GET', '/registry', { query: `id=flextype.manifest.name&token=${reader['token']}` })).status, 200);
    const write = await call(base, 'POST', '/entries', { json: { token: reader['token'], access_token: reader['access_token'], id: 'nope', data: {} } });
    assert.equal(write.status, 401);
    assert.match(write.body.detail, /scope/);
    await fails(['tokens:create', '--scopes', 'entries:everything', '--project', project], /unknown scope/);
  });

  it('tokens:fetch shows a token (never the hash); --collection lists them', async () => {
    const [one, human, all_, listing] = await all([
      () => okJson(['tokens:fetch', second.token, '--project', project]),
      () => ok(['tokens:fetch', second.token, '--project', project]),
      () => okJson(['tokens:fetch', '--collection', '--project', project]),
      () => ok(['tokens:fetch', '--collection', '--project', project]),
      () => fails(['tokens:fetch', 'f'.repeat(32), '--project', project], /does not exist/, 3),
    ] as (() => Promise<any>)[]); // eslint-disable-line @typescript-eslint/no-explicit-any -- mixed result shapes
    assert.equal(one['id'], second.token);
    assert.equal(one['title'], 'Second');
    assert.equal(one['state'], 'enabled');
    assert.ok(!('hashed_access_token' in one));
    assert.match(human, /^state: enabled$/m);
    assert.ok(!human.includes('hashed_access_token') && !human.includes('$2'));
    assert.ok(first.token in all_ && second.token in all_);
    assert.ok(!JSON.stringify(all_).includes('hashed_access_token'));
    assert.ok(listing.includes(second.token) && listing.includes('Second'));
  });

  it('tokens:has exits 0 for a token and 1 for none', async () => {
    const [yes, no, noJson] = await all([
      () => cli(['tokens:has', second.token, '--project', project]),
      () => cli(['tokens:has', 'a'.repeat(32), '--project', project]),
      () => cli(['tokens:has', 'a'.repeat(32), '--json', '--project', project]),
    ]);
    assert.equal(yes!.code, 0);
    assert.equal(yes!.stdout.trim(), 'true');
    assert.equal(no!.code, 1);
    assert.equal(no!.stdout.trim(), 'false');
    assert.equal(noJson!.code, 1);
    assert.deepEqual(JSON.parse(noJson!.stdout), { has: false });
  });

  it('tokens:update merges JSON or query-string data; the server sees it after cache:clear', async () => {
    const renamed = await okJson(['tokens:update', second.token, '{"title":"Renamed"}', '--project', project]);
    assert.equal(renamed['title'], 'Renamed');
    assert.ok(!('hashed_access_token' in renamed));
    const disabled = await okJson(['tokens:update', second.token, 'state=disabled', '--project', project]);
    assert.equal(disabled['state'], 'disabled');
    assert.equal(disabled['title'], 'Renamed');
    assert.match((await storedToken(second.token)) ?? '', /state: disabled/);
    await fails(['tokens:update', second.token, 'state=asleep', '--project', project], /state/);
    assert.match(await ok(['cache:clear', '--project', project]), /Cleared/);
    await waitForLog(served!, 'caches cleared', 1);
    const refused = await call(served!.base, 'GET', '/entries', { query: `id=blog&token=${second.token}` });
    assert.equal(refused.status, 400);
    assert.match(refused.body.detail, /disabled/);
  });

  it('tokens:delete removes a token; deleting it again fails', async () => {
    assert.match(await ok(['tokens:delete', second.token, '--project', project]), /deleted/);
    assert.equal(await storedToken(second.token), undefined);
    assert.equal((await cli(['tokens:has', second.token, '--project', project])).code, 1);
    await fails(['tokens:delete', second.token, '--project', project], /does not exist/);
  });

  it('tokens:generate prints a random hex token (32 by default, or the length asked)', async () => {
    const [a, b, short, json] = await all([
      () => ok(['tokens:generate']),
      () => ok(['tokens:generate']),
      () => ok(['tokens:generate', '16']),
      () => ok(['tokens:generate', '--json']),
    ]);
    assert.match(a!.trim(), HEX32);
    assert.notEqual(a, b);
    assert.match(short!.trim(), /^[0-9a-f]{16}$/);
    assert.match(String((JSON.parse(json!) as Record<string, unknown>)['token']), HEX32);
  });

  it('tokens:generate-hash and tokens:verify-hash agree with each other and with the server', async () => {
    const hash = (await ok(['tokens:generate-hash', 'cli secret', '--project', project])).trim();
    assert.match(hash, /^\$2[aby]\$\d\d\$.{53}$/);
    const [verified, wrong, json] = await all([
      () => cli(['tokens:verify-hash', 'cli secret', hash, '--project', project]),
      () => cli(['tokens:verify-hash', 'other', hash, '--project', project]),
      () => cli(['tokens:verify-hash', 'cli secret', hash, '--json', '--project', project]),
    ]);
    assert.equal(verified!.code, 0);
    assert.match(verified!.stdout, /^verified$/m);
    assert.equal(wrong!.code, 1);
    assert.match(wrong!.stdout, /not verified/);
    assert.deepEqual(JSON.parse(json!.stdout), { verified: true });
    const http = await call(served!.base, 'POST', '/tokens/verify-hash', { json: { ...first, string: 'cli secret', hash } });
    assert.deepEqual(http.body, { verified: true });
  });

  it('cache:clear makes a running server re-read an entry edited on disk', filesOnly('an entry file edited by hand, unseen until cache:clear'), async () => {
    const base = served!.base;
    const fetchTitle = async () => (readsInCacheTest++, await call(base, 'GET', '/entries', { query: `id=blog/hello-world&token=${first.token}` })).body.title as string;
    const original = await fetchTitle();
    const file = path.join(project, 'entries', 'blog', 'hello-world', 'entry.md');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^title: .*$/m, 'title: Edited for the CLI'));
    assert.equal(await fetchTitle(), original, 'the server answers from its cache until cleared');
    const result = await okJson(['cache:clear', '--project', project]);
    assert.equal(result['cleared'], true);
    assert.equal(result['pid'], served!.child.pid);
    await waitForLog(served!, 'caches cleared', 2);
    assert.equal(await fetchTitle(), 'Edited for the CLI');
  });

  it('serve stops cleanly on SIGTERM; cache:clear then reports that no server runs', async () => {
    const code = await stop(served!.child);
    assert.equal(code, 0);
    assert.ok(!existsSync(path.join(project, 'var', 'server.json')), 'the pid file is removed');
    // Call counters were written on shutdown (files; a database counts them in its own table): 3 calls, 1 verify-hash, the reads of the cache test.
    const calls = 4 + readsInCacheTest;
    const [text, sharedCalls] = await withProjectStore(project, async (engine) => [
      (await engine.readSource(`tokens/${first.token}`))?.text ?? '',
      await engine.coordination?.readCalls(`tokens/${first.token}`),
    ] as const);
    if (sharedCalls === undefined) assert.match(text, new RegExp(`^calls: ${calls}$`, 'm'));
    else assert.equal(sharedCalls, calls);
    assert.match(await ok(['cache:clear', '--project', project]), /No server is running/);
    assert.deepEqual(await okJson(['cache:clear', '--project', project]), { cleared: false, pid: null });
  });
});

describe('CLI: entries round trip', () => {
  let project: string;
  const stored = (id: string) => projectStoredText(project, id);
  const run = (args: string[]) => [...args, '--project', project];

  before(() => {
    project = tempProject(true);
  });
  after(() => removeProject(project));

  it('entries:create with JSON data and with query-string data', async () => {
    const notes = await okJson(run(['entries:create', 'notes', '{"title":"Notes","views":3,"meta":{"a":1}}']));
    assert.equal(notes['id'], 'notes');
    assert.equal(notes['title'], 'Notes');
    assert.equal(notes['views'], 3);
    assert.deepEqual(notes['meta'], { a: 1 });
    assert.equal(typeof notes['uuid'], 'string');
    assert.equal(typeof notes['created_at'], 'number');
    assert.ok(await stored('notes'));
    const fromQuery = await okJson(run(['entries:create', 'notes/a', 'title=Note A&tags[]=x&tags[]=y&meta[lang]=en']));
    assert.equal(fromQuery['title'], 'Note A');
    assert.deepEqual(fromQuery['tags'], ['x', 'y']);
    assert.deepEqual(fromQuery['meta'], { lang: 'en' });
    assert.match(await ok(run(['entries:create', 'notes/empty'])), /created/);
    await fails(run(['entries:create', 'notes/a', '{"title":"again"}']), /already exists/);
    await fails(run(['entries:create', 'orphan/child', '{}']), /orphan/);
  });

  it('entries:fetch shows an entry as JSON, as readable lines, and filtered', async () => {
    const a = await okJson(run(['entries:fetch', 'notes/a']));
    assert.equal(a['id'], 'notes/a');
    assert.equal(a['slug'], 'a');
    assert.deepEqual(a['tags'], ['x', 'y']);
    const human = await ok(run(['entries:fetch', 'notes/a']));
    assert.match(human, /^title: Note A$/m);
    assert.match(human, /^tags: \["x","y"\]$/m);
    assert.deepEqual(await okJson(run(['entries:fetch', 'notes/a', '--only', 'title,slug'])), { title: 'Note A', slug: 'a' });
  });

  it('entries:update merges data (JSON or query string) into the stored fields', async () => {
    const updated = await okJson(run(['entries:update', 'notes/a', '{"title":"Note A2","views":7}']));
    assert.equal(updated['title'], 'Note A2');
    assert.equal(updated['views'], 7);
    assert.deepEqual(updated['tags'], ['x', 'y'], 'untouched fields stay');
    await ok(run(['entries:update', 'notes/a', 'subtitle=Sub']));
    const a = await okJson(run(['entries:fetch', 'notes/a']));
    assert.equal(a['subtitle'], 'Sub');
    assert.equal(a['title'], 'Note A2');
    assert.match((await stored('notes/a')) ?? '', /subtitle: Sub/);
    await fails(run(['entries:update', 'notes/missing', '{"title":"x"}']), /does not exist/);
  });

  it('entries:has exits 0 or 1', async () => {
    const [yes, no, tokens, bad] = await all([
      () => cli(run(['entries:has', 'notes/a'])),
      () => cli(run(['entries:has', 'notes/zzz'])),
      () => cli(run(['entries:has', 'tokens'])),
      () => cli(run(['entries:has', '../x'])),
    ]);
    assert.equal(yes!.code, 0);
    assert.equal(yes!.stdout.trim(), 'true');
    assert.equal(no!.code, 1);
    assert.equal(no!.stdout.trim(), 'false');
    assert.equal(tokens!.code, 1, 'tokens are not entries here');
    assert.equal(tokens!.stdout.trim(), 'false');
    assert.equal(bad!.code, 2, 'a malformed id is an error, not a "no"');
  });

  it('entries:copy makes a new entry with a fresh uuid; entries:move renames; entries:delete removes', async () => {
    const original = await okJson(run(['entries:fetch', 'notes/a']));
    const copy = await okJson(run(['entries:copy', 'notes/a', 'notes/b']));
    assert.equal(copy['id'], 'notes/b');
    assert.equal(copy['title'], 'Note A2');
    assert.notEqual(copy['uuid'], original['uuid']);
    assert.match(await ok(run(['entries:copy', 'notes/b', 'notes/c'])), /copied/);
    await fails(run(['entries:copy', 'notes/b', 'notes/a']), /exists/);
    const moved = await okJson(run(['entries:move', 'notes/c', 'notes/d']));
    assert.equal(moved['id'], 'notes/d');
    assert.equal((await cli(run(['entries:has', 'notes/c']))).code, 1);
    assert.ok(await stored('notes/d'));
    assert.match(await ok(run(['entries:move', 'notes/d', 'notes/e'])), /moved/);
    assert.deepEqual(await okJson(run(['entries:delete', 'notes/e'])), { deleted: 'notes/e' });
    assert.match(await ok(run(['entries:delete', 'notes/b'])), /deleted/);
    assert.equal(await stored('notes/b'), undefined);
    assert.ok(!(await withProjectStore(project, (engine) => engine.children('notes'))).includes('notes/b'), 'nothing left of notes/b');
    if (!ON_POSTGRES) assert.ok(!existsSync(path.join(project, 'entries', 'notes', 'b')), 'nor its folder');
    assert.equal((await cli(run(['entries:has', 'notes/b']))).code, 1);
    await fails(run(['entries:delete', 'notes/b']), /does not exist/);
    await fails(run(['entries:move', 'notes/b', 'notes/x']), /does not exist/);
  });

  it('entries:fetch --collection with --where, --sort-by, --direction, --limit, --offset, --return', async () => {
    await all([1, 2, 3, 4].map((views) => () => ok(run(['entries:create', `notes/n${views}`, JSON.stringify({ title: `N${views}`, views })]))));
    const fetch = (...flags: string[]) => () => okJson(run(['entries:fetch', ...flags]));
    const [everything, top, next, listed, root, first] = await all([
      fetch('notes', '--collection'),
      fetch('notes', '--collection', '--where', 'views gte 2', '--where', 'title regexp ^n[0-9]$', '--sort-by', 'views', '--direction', 'desc', '--limit', '2'),
      fetch('notes', '--collection', '--where', 'views gte 2', '--sort-by', 'views', '--offset', '1', '--limit', '2'),
      fetch('notes', '--collection', '--where', 'views in ["1","4"]', '--sort-by', 'views'),
      fetch('--collection'),
      fetch('notes', '--collection', '--sort-by', 'views', '--where', 'views gt 1', '--return', 'first'),
    ]);
    assert.deepEqual(Object.keys(everything!).sort(), ['notes/a', 'notes/empty', 'notes/n1', 'notes/n2', 'notes/n3', 'notes/n4']);
    assert.deepEqual(Object.keys(top!), ['notes/n4', 'notes/n3']);
    assert.deepEqual(Object.keys(next!), ['notes/n3', 'notes/n4']);
    assert.deepEqual(Object.keys(listed!), ['notes/n1', 'notes/n4']);
    assert.ok('notes' in root! && 'blog' in root!);
    assert.ok(!Object.keys(root!).some((id) => id.startsWith('tokens')));
    assert.equal(first!['id'], 'notes/n2');
    const human = await ok(run(['entries:fetch', 'notes', '--collection', '--sort-by', 'views', '--where', 'views lt 3']));
    assert.match(human, /^2 of 2$/m);
    assert.match(human, /^notes\/n1 {2}N1$/m);
  });

  it('entries:fetch --options as JSON or as a query string', async () => {
    const fetch = (...flags: string[]) => () => okJson(run(['entries:fetch', ...flags]));
    const [json, query, merged, deep] = await all([
      fetch('notes', '--options', '{"collection":true,"filter":{"where":[{"key":"views","operator":"lt","value":3}],"sort_by":{"key":"views","direction":"DESC"}}}'),
      fetch('notes', '--collection', '--options', 'filter[sort_by][key]=views&filter[sort_by][direction]=DESC&filter[limit]=1'),
      // Flags are merged over --options.
      fetch('notes', '--options', 'collection=true&filter[where][0][key]=views&filter[where][0][operator]=gte&filter[where][0][value]=3', '--sort-by', 'views'),
      fetch('', '--collection', '--depth', '>= 1', '--where', 'id starts_with notes/n'),
    ]);
    assert.deepEqual(Object.keys(json!), ['notes/n2', 'notes/n1']);
    assert.deepEqual(Object.keys(query!), ['notes/a']);
    assert.deepEqual(Object.keys(merged!), ['notes/n3', 'notes/n4', 'notes/a']);
    assert.deepEqual(Object.keys(deep!).sort(), ['notes/n1', 'notes/n2', 'notes/n3', 'notes/n4']);
    await all([
      () => fails(run(['entries:fetch', 'notes', '--options', '{"collection":']), /--options is not valid JSON/, 2),
      () => fails(run(['entries:fetch', 'notes', '--collection', '--where', 'views bogus 3']), /operator/, 2),
    ]);
  });
});
