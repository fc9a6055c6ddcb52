/**
 * `flextype storage:export | storage:import | storage:copy` through the real CLI against a real
 * PostgreSQL: round trips byte-for-byte, --verify, resuming after SIGKILL, progress, exit codes,
 * and the URL's password never printed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { childEnv, cli, ensureBuilt, type Run } from './cli-helpers.js';
import { CLI, REPO_ROOT } from './helpers.js';
import { describePg, withSchema, type TestSchema } from './pg-helpers.js';

const SECRET = 'pw-Zq81s3cret';
/** Trust auth ignores the password: the URL still carries one, which must never be printed. */
const withPassword = (url: string) => url.replace('postgres://postgres@', `postgres://postgres:${SECRET}@`);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ft-storage-cli-'));
const schemas: TestSchema[] = [];
function schema(): TestSchema {
  const s = withSchema('ft_cli');
  schemas.push(s);
  return s;
}

/** Every file below `dir` (relative path → bytes), for byte-for-byte comparison. */
function filesOf(dir: string, base = dir, out = new Map<string, Buffer>()): Map<string, Buffer> {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) filesOf(full, base, out);
    else out.set(path.relative(base, full), readFileSync(full));
  }
  return out;
}

function assertNoSecret(run: Run): void {
  assert.ok(!run.stdout.includes(SECRET) && !run.stderr.includes(SECRET), `the password was printed: ${run.stdout}${run.stderr}`);
}

/** The shop example plus entries in every format and awkward shapes. */
function makeProject(): string {
  const dir = path.join(tmp, `project-${Math.random().toString(36).slice(2)}`);
  cpSync(path.join(REPO_ROOT, 'examples', 'shop'), dir, { recursive: true });
  const settingsFile = path.join(dir, 'config', 'flextype', 'settings.yaml');
  writeFileSync(
    settingsFile,
    readFileSync(settingsFile, 'utf8') +
      '\n# added by the test: a JSON and a YAML collection\n' +
      'entries:\n  collections:\n    data:\n      pattern: "data/(.*)"\n      filename: entry\n      extension: json\n      serializer: json\n      fields: {}\n' +
      '    config_items:\n      pattern: "conf/(.*)"\n      filename: entry\n      extension: yaml\n      serializer: yaml\n      fields: {}\n',
  );
  const put = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, 'entries', rel)), { recursive: true });
    writeFileSync(path.join(dir, 'entries', rel), text);
  };
  put('data/one/entry.json', '{\n    "title": "Ünïcödé ✓ 日本語 🚲",\n  "n": 1.50, "nested": {"b": [1, 2, {"c": null}], "a": true}\n}\n');
  put('data/two/entry.json', '{"compact":true}');
  put('conf/site/entry.yaml', '# a comment kept\ntitle: "Sïte"\nlist:\n  - a\n  - b   # trailing\nempty:\n');
  // A folder without an entry file, holding entries below it.
  put('shelf/no-entry-here/deep/er/entry.md', '---\ntitle: Deep\n---\nBody with CRLF\r\nlines\r\n');
  put('crlf/entry.md', '---\r\ntitle: Windows\r\n---\r\ntext\r\n');
  put('empty-body/entry.md', '---\ntitle: Nothing below\n---\n');
  put('no-newline/entry.md', '---\ntitle: x\n---\nno final newline');
  put('tokens/abc123/token.yaml', 'state: enabled\ncalls: 3\nlimit_calls: 0\n');
  return dir;
}

function run(args: string[]): Promise<Run> {
  return cli(args);
}

describePg('storage:export / storage:import / storage:copy', () => {
  before(ensureBuilt);
  after(async () => {
    for (const s of schemas) await s.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('round trip files → PostgreSQL → files keeps every entry byte-for-byte, and --verify says so', async () => {
    const project = makeProject();
    const s = schema();
    const url = withPassword(s.url);
    const exported = await run(['storage:export', '--project', project, '--to', url, '--schema', s.schema, '--verify', '--json']);
    assertNoSecret(exported);
    assert.equal(exported.code, 0, exported.stderr);
    const summary = JSON.parse(exported.stdout) as { copy: { copied: number; failed: number; total: number }; verify: { identical: number; missing: number; different: number } };
    const before = filesOf(path.join(project, 'entries'));
    assert.equal(summary.copy.copied, before.size);
    assert.equal(summary.copy.total, before.size);
    assert.equal(summary.copy.failed, 0);
    assert.deepEqual([summary.verify.identical, summary.verify.missing, summary.verify.different], [before.size, 0, 0]);

    const back = path.join(tmp, `back-${s.schema}`);
    mkdirSync(path.join(back, 'config', 'flextype'), { recursive: true });
    cpSync(path.join(project, 'config', 'flextype', 'settings.yaml'), path.join(back, 'config', 'flextype', 'settings.yaml'));
    const imported = await run(['storage:import', '--from', url, '--schema', s.schema, '--to', back, '--verify']);
    assertNoSecret(imported);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /all identical/);
    const after = filesOf(path.join(back, 'entries'));
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
    for (const [rel, bytes] of before) assert.ok(bytes.equals(after.get(rel)!), `${rel} changed in the round trip`);
  });

  it('--verify-only finds a tampered row and a missing one, exit 4; --resume repairs them', async () => {
    const project = makeProject();
    const s = schema();
    const args = ['--project', project, '--to', s.url, '--schema', s.schema];
    assert.equal((await run(['storage:export', ...args])).code, 0);
    const admin = await s.admin();
    try {
      await admin.query(`UPDATE "${s.schema}".flextype_entries SET source = source || ' ' WHERE id = 'data/one'`);
      await admin.query(`DELETE FROM "${s.schema}".flextype_entries WHERE id = 'conf/site'`);
    } finally {
      await admin.end();
    }
    const checked = await run(['storage:export', ...args, '--verify-only', '--json']);
    assert.equal(checked.code, 4, checked.stderr);
    const report = JSON.parse(checked.stdout) as { verify: { missing: number; different: number; differences: { id: string; reason: string }[] } };
    assert.equal(report.verify.missing, 1);
    assert.equal(report.verify.different, 1);
    assert.deepEqual(report.verify.differences.map((d) => d.id).sort(), ['conf/site', 'data/one']);
    assert.match(checked.stderr, /^error: verification failed/);

    const repaired = await run(['storage:export', ...args, '--resume', '--verify', '--json']);
    assert.equal(repaired.code, 0, repaired.stderr);
    const again = JSON.parse(repaired.stdout) as { copy: { copied: number; skipped: number }; verify: { different: number; missing: number } };
    assert.equal(again.copy.copied, 2);
    assert.ok(again.copy.skipped > 20);
    assert.equal(again.verify.different + again.verify.missing, 0);
  });

  it('refuses a non-empty target without --resume or --force (exit 2), and bad flags (exit 2)', async () => {
    const project = makeProject();
    const s = schema();
    const url = withPassword(s.url);
    assert.equal((await run(['storage:export', '--project', project, '--to', url, '--schema', s.schema, '--no-tokens'])).code, 0);
    const refused = await run(['storage:export', '--project', project, '--to', url, '--schema', s.schema]);
    assertNoSecret(refused);
    assert.equal(refused.code, 2);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /^error: .*already holds entries; pass --resume/);
    assert.match(refused.stderr, /postgres:\/\/postgres:\*\*\*@/);
    const both = await run(['storage:export', '--project', project, '--to', url, '--schema', s.schema, '--resume', '--force']);
    assert.equal(both.code, 2);
    const badSchema = await run(['storage:export', '--project', project, '--to', url, '--schema', 'no-such"schema']);
    assert.equal(badSchema.code, 2);
    assertNoSecret(badSchema);
    const noSource = await run(['storage:import', '--from', url, '--schema', 'ft_cli_never_created', '--to', path.join(tmp, 'x')]);
    assert.equal(noSource.code, 2);
    assert.match(noSource.stderr, /no Flextype entries in schema/);
    // --no-tokens left the tokens out; --force writes them now.
    const forced = await run(['storage:export', '--project', project, '--to', url, '--schema', s.schema, '--force', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    const admin = await s.admin();
    try {
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${s.schema}".flextype_entries WHERE id LIKE 'tokens/%'`);
      assert.equal(rows[0].n, 1);
    } finally {
      await admin.end();
    }
  });

  it('an unreachable database: exit 1, one line, no password', async () => {
    const project = makeProject();
    const url = `postgres://postgres:${SECRET}@127.0.0.1:1/test`;
    const result = await run(['storage:export', '--project', project, '--to', url, '--schema', 'ft_cli_unreachable']);
    assert.equal(result.code, 1);
    assertNoSecret(result);
    assert.match(result.stderr, /^error: /);
    assert.ok(!/\n\s+at /.test(result.stderr), 'no stack trace');
  });

  it('progress: plain lines when not a terminal, a redrawn bar with --progress bar, none with --json', async () => {
    const project = makeProject();
    const s = schema();
    const lines = await run(['storage:export', '--project', project, '--to', s.url, '--schema', s.schema]);
    assert.equal(lines.code, 0, lines.stderr);
    assert.match(lines.stderr, /^copying entries from /);
    assert.match(lines.stderr, /copy: \d+\/\d+ \(100%\) entries, \d+\/s, copied \d+, skipped 0, failed 0\n$/);
    assert.ok(!lines.stderr.includes('\r'));
    assert.match(lines.stdout, /^Copied \d+ entries from .* in [\d.]+ s: \d+ copied, 0 skipped \(already identical\), 0 failed\.\n$/);
    // A new project folder with the same collections (its settings give the formats).
    const back = path.join(tmp, `bar-${s.schema}`);
    mkdirSync(path.join(back, 'config', 'flextype'), { recursive: true });
    cpSync(path.join(project, 'config', 'flextype', 'settings.yaml'), path.join(back, 'config', 'flextype', 'settings.yaml'));
    const bar = await run(['storage:import', '--from', s.url, '--schema', s.schema, '--to', back, '--progress', 'bar']);
    assert.equal(bar.code, 0, bar.stderr);
    assert.match(bar.stderr, /\rcopy \[#+\] 100% \d+\/\d+ /);
    const quiet = await run(['storage:import', '--from', s.url, '--schema', s.schema, '--to', back, '--resume', '--json']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
    assert.equal((JSON.parse(quiet.stdout) as { copy: { copied: number } }).copy.copied, 0);
  });

  it('storage:copy between two schemas and between two folders', async () => {
    const project = makeProject();
    const a = schema();
    const b = schema();
    assert.equal((await run(['storage:export', '--project', project, '--to', a.url, '--schema', a.schema])).code, 0);
    const pgToPg = await run(['storage:copy', '--from', a.url, '--from-schema', a.schema, '--to', b.url, '--to-schema', b.schema, '--project', project, '--verify']);
    assert.equal(pgToPg.code, 0, pgToPg.stderr);
    assert.match(pgToPg.stdout, /all identical/);
    const target = path.join(tmp, `copy-${a.schema}`);
    const dirs = await run(['storage:copy', '--from', project, '--to', target, '--verify']);
    assert.equal(dirs.code, 0, dirs.stderr);
    const before = filesOf(path.join(project, 'entries'));
    const after = filesOf(path.join(target, 'entries'));
    assert.equal(after.size, before.size);
  });

  it('an export killed with SIGKILL mid-way is completed by --resume and verifies', { timeout: 240_000 }, async () => {
    const project = path.join(tmp, 'many');
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const dir = path.join(project, 'entries', 'items', `item-${String(i).padStart(5, '0')}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'entry.md'), `---\ntitle: Item ${i} ✓\nrank: ${i}\n---\nBody ${i}\n`);
    }
    const s = schema();
    const args = [CLI, 'storage:export', '--project', project, '--to', s.url, '--schema', s.schema, '--jobs', '2', '--progress', 'lines'];
    const killedAt = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, args, { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let killed = false;
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        const done = [...stderr.matchAll(/copy: (\d+)/g)].map((m) => Number(m[1]));
        if (!killed && done.some((d) => d >= 500)) {
          killed = true;
          child.kill('SIGKILL');
        }
      });
      child.on('error', reject);
      child.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve(Math.max(...[...stderr.matchAll(/copy: (\d+)/g)].map((m) => Number(m[1])))) : reject(new Error(`ended by itself (${code}) before it could be killed: ${stderr}`))));
    });
    const admin = await s.admin();
    let present: number;
    try {
      present = (await admin.query(`SELECT count(*)::int AS n FROM "${s.schema}".flextype_entries`)).rows[0].n as number;
    } finally {
      await admin.end();
    }
    assert.ok(present >= killedAt && present < n, `${present} rows after the kill at ${killedAt}`);
    const refused = await run(['storage:export', '--project', project, '--to', s.url, '--schema', s.schema]);
    assert.equal(refused.code, 2);
    const resumed = await run(['storage:export', '--project', project, '--to', s.url, '--schema', s.schema, '--resume', '--verify', '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const summary = JSON.parse(resumed.stdout) as { copy: { copied: number; skipped: number; total: number }; verify: { identical: number } };
    assert.equal(summary.copy.total, n);
    assert.equal(summary.copy.skipped, present);
    assert.equal(summary.copy.copied, n - present);
    assert.equal(summary.verify.identical, n);
  });
});
