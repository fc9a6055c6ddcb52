/**
 * `flextype storage:export | storage:import | storage:copy`: moves a project's entries between
 * files and PostgreSQL (or files to files, database to database), streaming, restartable with
 * `--resume`, with progress on stderr, a final count, and `--verify` comparing both sides.
 *
 * A side is a project folder (its entries folder, from its settings) or a postgres:// URL. The
 * file names and serializers of the collections come from the project's settings (`--project`,
 * else the folder side), so both engines agree on every entry's format.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import pg from 'pg';
import { createCollectionResolver } from '../../core/collections.js';
import { TOKENS_ROOT } from '../../core/entries/present.js';
import { loadSettings, type Settings } from '../../core/settings.js';
import { StorageError, type StorageEngine } from '../../storage/engine.js';
import { FsEngine } from '../../storage/fs/engine.js';
import { PgEngine } from '../../storage/postgres/engine.js';
import { quoteSchema, redactUrl } from '../../storage/postgres/sql.js';
import {
  countEntries,
  hasEntries,
  TransferAborted,
  transferEntries,
  verifyEntries,
  type TransferMode,
  type TransferResult,
  type VerifyResult,
} from '../../storage/transfer.js';
import { CliFailure, color, exitCodeOf, printJson, printLine, reasonOf } from '../output.js';
import { Progress, progressModeOf } from '../progress.js';

/** Exit code when `--verify` finds an entry that is missing or different at the target. */
export const VERIFY_FAILED = 4;

interface TransferFlags {
  project?: string;
  schema?: string;
  fromSchema?: string;
  toSchema?: string;
  resume?: boolean;
  force?: boolean;
  verify?: boolean;
  verifyOnly?: boolean;
  tokens: boolean;
  jobs: string;
  progress?: string;
  json?: boolean;
}

const isUrl = (text: string) => /^postgres(?:ql)?:\/\//i.test(text);

/** Removes every password given on the command line from a message, whatever printed it. */
function scrubberOf(urls: string[]): (text: string) => string {
  const secrets = new Set<string>();
  for (const url of urls) {
    try {
      const password = new URL(url).password;
      if (password) {
        secrets.add(password);
        secrets.add(decodeURIComponent(password));
      }
    } catch {
      // An unparsable URL is refused by pg before it connects; nothing to take from it here.
    }
  }
  const list = [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return (text) => list.reduce((out, secret) => out.split(secret).join('***'), text);
}

interface Side {
  engine: StorageEngine;
  /** For messages: the folder, or the URL without its password, and the schema. */
  shown: string;
  kind: 'files' | 'postgres';
  /** Makes what was written durable (files written without fsync each). */
  flush?: () => Promise<void>;
}

/** Flushes the file system holding `dir` to disk in one call (`sync -f`: syncfs). */
function flushFiles(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['-f', dir], { timeout: 600_000 }, (err) => {
      if (err) reject(new CliFailure(`the entries were written but flushing them to disk failed (${err.message}); run \`sync\``, 1));
      else resolve();
    });
  });
}

async function schemaExists(url: string, schema: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, application_name: 'flextype:copy' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`${quoteSchema(schema)}.flextype_entries`]);
    return rows[0]?.t != null;
  } catch (err) {
    throw new CliFailure(`cannot reach ${redactUrl(url)}: ${(err as Error).message}`, 1);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Opens one side: a project folder's entries, or a database schema (migrated when it is the target). */
async function openSide(where: string, schema: string, settings: Settings, isTarget: boolean, jobs: number): Promise<Side> {
  const resolveFormat = createCollectionResolver(settings.entries.collections);
  if (isUrl(where)) {
    quoteSchema(schema);
    if (!isTarget && !(await schemaExists(where, schema))) {
      throw new CliFailure(`${redactUrl(where)} has no Flextype entries in schema "${schema}" (wrong --schema?)`, 2);
    }
    const engine = new PgEngine({ url: where, schema, poolSize: jobs + 2, connectTimeoutMs: settings.storage.connect_timeout, resolveFormat });
    return { engine, shown: `${engine.location}`, kind: 'postgres' };
  }
  const dir = path.resolve(where);
  if (!isTarget && !existsSync(dir)) throw new CliFailure(`project folder ${dir} does not exist`, 2);
  const own = existsSync(dir) ? loadSettings(dir) : settings;
  const root = path.resolve(dir, own.entries.directory);
  if (!isTarget && !existsSync(root)) throw new CliFailure(`${root} does not exist: ${dir} holds no entries folder`, 2);
  // A bulk copy does not fsync each file: a crash mid-way is completed by --resume anyway, and the
  // whole file system is flushed once at the end (flushFiles), which is many times faster.
  const durable = own.storage.durable && !isTarget;
  const engine = new FsEngine({ root, resolveFormat, durable, maxParallelIo: Math.max(jobs * 2, 16) });
  return { engine, shown: root, kind: 'files', ...(isTarget && own.storage.durable ? { flush: () => flushFiles(root) } : {}) };
}

function modeOf(flags: TransferFlags): TransferMode {
  if (flags.resume && flags.force) throw new CliFailure('--resume and --force exclude each other: pick one', 2);
  return flags.force ? 'force' : flags.resume ? 'resume' : 'fresh';
}

function jobsOf(text: string): number {
  const jobs = Number(text);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new CliFailure('--jobs must be a whole number from 1 to 256', 2);
  return jobs;
}

interface Summary {
  from: { engine: string; location: string };
  to: { engine: string; location: string };
  mode: TransferMode | 'verify-only';
  tokens: boolean;
  seconds: number;
  copy?: TransferResult;
  verify?: VerifyResult;
}

async function run(fromWhere: string, toWhere: string, flags: TransferFlags, schemas: { from: string | undefined; to: string | undefined }): Promise<void> {
  const scrub = scrubberOf([fromWhere, toWhere]);
  try {
    await runScrubbed(fromWhere, toWhere, flags, schemas, scrub);
  } catch (err) {
    const code = err instanceof StorageError && err.reason === 'bad_name' ? 2 : exitCodeOf(err);
    throw new CliFailure(scrub(reasonOf(err)), code);
  }
}

async function runScrubbed(
  fromWhere: string,
  toWhere: string,
  flags: TransferFlags,
  schemas: { from: string | undefined; to: string | undefined },
  scrub: (text: string) => string,
): Promise<void> {
  const mode = modeOf(flags);
  const jobs = jobsOf(flags.jobs);
  let progressMode;
  try {
    progressMode = progressModeOf(flags.progress, flags.json === true);
  } catch (err) {
    throw new CliFailure((err as Error).message, 2);
  }
  if (isUrl(fromWhere) === false && isUrl(toWhere) === false && path.resolve(fromWhere) === path.resolve(toWhere)) {
    throw new CliFailure('--from and --to are the same folder', 2);
  }
  // The formats: the named project, else the folder side, else the defaults.
  const settingsDir = flags.project ?? [fromWhere, toWhere].find((w) => !isUrl(w) && existsSync(w));
  if (flags.project !== undefined && !existsSync(flags.project)) throw new CliFailure(`project folder ${path.resolve(flags.project)} does not exist`, 2);
  const settings = loadSettings(path.resolve(settingsDir ?? '.flextype-defaults-only'));
  const formats = createCollectionResolver(settings.entries.collections);
  const fromSchema = schemas.from ?? settings.storage.schema;
  const toSchema = schemas.to ?? settings.storage.schema;
  if (isUrl(fromWhere) && isUrl(toWhere) && fromWhere === toWhere && fromSchema === toSchema) {
    throw new CliFailure('--from and --to are the same database schema', 2);
  }
  const include = flags.tokens ? () => true : (id: string) => id !== TOKENS_ROOT && !id.startsWith(`${TOKENS_ROOT}/`);
  const started = performance.now();
  const from = await openSide(fromWhere, fromSchema, settings, false, jobs);
  let to: Side | undefined;
  try {
    to = await openSide(toWhere, toSchema, settings, true, jobs);
    await from.engine.open();
    await to.engine.open();
    const label = (side: Side) => side.shown;
    const summary: Summary = {
      from: { engine: from.kind, location: scrub(label(from)) },
      to: { engine: to.kind, location: scrub(label(to)) },
      mode: flags.verifyOnly ? 'verify-only' : mode,
      tokens: flags.tokens,
      seconds: 0,
    };
    if (!flags.verifyOnly && mode === 'fresh' && (await hasEntries(to.engine))) {
      throw new CliFailure(
        `${summary.to.location} already holds entries; pass --resume to complete an earlier copy (entries already identical are skipped) or --force to overwrite every entry`,
        2,
      );
    }
    // Counted alongside the copy (a walk of a large folder tree takes a while): the bar gets its total when known.
    let total: number | undefined;
    const counting = countEntries(from.engine, include).then(
      (n) => (total = n),
      () => undefined,
    );
    const say = (text: string) => {
      if (progressMode !== 'none') process.stderr.write(`${scrub(text)}\n`);
    };
    if (!flags.verifyOnly) {
      say(`copying entries from ${summary.from.location} to ${summary.to.location}${flags.tokens ? '' : ' (without tokens)'}`);
      const progress = new Progress(progressMode, 'copy');
      const detail = (p: TransferResult | { copied: number; skipped: number; failed: number }) => `copied ${p.copied}, skipped ${p.skipped}, failed ${p.failed}`;
      try {
        summary.copy = await transferEntries(from.engine, to.engine, {
          mode,
          include,
          concurrency: jobs,
          onProgress: (p) => progress.update({ total, done: p.done, detail: detail(p) }),
        });
      } catch (err) {
        if (err instanceof TransferAborted) {
          progress.finish({ total, done: err.progress.done, detail: detail(err.progress) });
          throw new CliFailure(`${err.message}; ${err.progress.copied} entries were copied; run the same command with --resume to go on`, 1);
        }
        throw err;
      }
      await to.flush?.();
      await counting;
      summary.copy.total = total;
      progress.finish({ total, done: summary.copy.done, detail: detail(summary.copy) });
    }
    if (flags.verify || flags.verifyOnly) {
      await counting;
      say(`verifying ${total ?? 0} entries`);
      const progress = new Progress(progressMode, 'verify');
      summary.verify = await verifyEntries(from.engine, to.engine, {
        include,
        concurrency: jobs,
        total,
        decode: (id, text) => {
          try {
            return formats(id).serializer.decode(text);
          } catch {
            return { unreadable: true };
          }
        },
        onProgress: (p) => progress.update({ total, done: p.done }),
      });
      progress.finish({ total, done: summary.verify.checked });
    }
    await counting;
    summary.seconds = Math.round((performance.now() - started) / 100) / 10;
    report(summary, flags.json === true, scrub);
    const failed = summary.copy?.failed ?? 0;
    const differing = summary.verify ? summary.verify.missing + summary.verify.different : 0;
    if (differing > 0) throw new CliFailure(`verification failed: ${summary.verify!.missing} entries missing and ${summary.verify!.different} different at the target`, VERIFY_FAILED);
    if (failed > 0) throw new CliFailure(`${failed} entries could not be copied (reasons above); fix them and run the same command with --resume`, 1);
  } finally {
    await from.engine.close();
    await to?.engine.close();
  }
}

function report(summary: Summary, json: boolean, scrub: (text: string) => string): void {
  if (json) {
    printJson(JSON.parse(scrub(JSON.stringify(summary))));
    return;
  }
  const { copy, verify } = summary;
  if (copy) {
    const line = `${copy.copied} copied, ${copy.skipped} skipped (already identical), ${copy.failed} failed`;
    printLine(`${copy.failed > 0 ? color.red('Copied with failures') : color.green('Copied')} ${copy.done} entries from ${summary.from.location} to ${summary.to.location} in ${summary.seconds} s: ${line}.`);
    for (const failure of copy.failures) printLine(`  ${color.red('failed')} ${failure.id}: ${scrub(failure.reason)}`);
    if (copy.failed > copy.failures.length) printLine(`  … and ${copy.failed - copy.failures.length} more`);
  }
  if (verify) {
    const bad = verify.missing + verify.different;
    const extra = verify.extra > 0 ? `; ${verify.extra} entries exist only at the target (left as they are)` : '';
    if (bad === 0) printLine(color.green(`Verified ${verify.checked} entries: all identical (stored text byte-for-byte, fields)${extra}.`));
    else printLine(color.red(`Verified ${verify.checked} entries: ${verify.identical} identical, ${verify.missing} missing, ${verify.different} different${extra}.`));
    for (const difference of verify.differences) printLine(`  ${color.red('differs')} ${difference.id}: ${scrub(difference.reason)}`);
    if (bad > verify.differences.length) printLine(`  … and ${bad - verify.differences.length} more`);
  }
}

/** The options every transfer command has. */
function common(command: Command): Command {
  return command
    .option('--resume', 'the target may hold entries: skip those already identical, write the rest (completes an interrupted run)')
    .option('--force', 'the target may hold entries: write every entry, identical or not')
    .option('--verify', 'afterwards, re-read every entry on both sides and compare (exit 4 on a difference)')
    .option('--verify-only', 'only compare both sides, copy nothing (exit 4 on a difference)')
    .option('--no-tokens', `leave out the ${TOKENS_ROOT}/ subtree (API tokens)`)
    .option('--jobs <n>', 'entries read and written at once', '16')
    .option('--progress <mode>', 'auto (a bar on a terminal, lines otherwise), bar, lines or none')
    .option('--json', 'machine-readable JSON summary on stdout (no progress unless --progress)');
}

const urlOrEnv = (url: string | undefined, flag: string): string => {
  const chosen = url ?? process.env['FLEXTYPE_STORAGE_URL'];
  if (!chosen) throw new CliFailure(`no database given: pass ${flag} postgres://… (or set FLEXTYPE_STORAGE_URL)`, 2);
  if (!isUrl(chosen)) throw new CliFailure(`${flag} must be a postgres:// URL`, 2);
  return chosen;
};

export function registerStorageTransfer(program: Command): void {
  common(
    program
      .command('storage:export')
      .description("copy a project's entries (files) into a PostgreSQL schema")
      .option('--project <dir>', 'the project folder (env FLEXTYPE_PROJECT, default ./project)')
      .option('--to <url>', 'postgres://user:password@host:port/database (env FLEXTYPE_STORAGE_URL)')
      .option('--schema <name>', "the schema (default: the project's storage.schema)"),
  ).action(async (flags: TransferFlags & { to?: string }) => {
    const project = path.resolve(flags.project ?? process.env['FLEXTYPE_PROJECT'] ?? 'project');
    await run(project, urlOrEnv(flags.to, '--to'), { ...flags, project }, { from: undefined, to: flags.schema });
  });

  common(
    program
      .command('storage:import')
      .description('copy the entries of a PostgreSQL schema into a project folder (files)')
      .option('--from <url>', 'postgres://user:password@host:port/database (env FLEXTYPE_STORAGE_URL)')
      .option('--schema <name>', "the schema (default: the project's storage.schema)")
      .requiredOption('--to <dir>', 'the project folder to write (created if needed; its settings give the formats)'),
  ).action(async (flags: TransferFlags & { from?: string; to: string }) => {
    await run(urlOrEnv(flags.from, '--from'), flags.to, flags, { from: flags.schema, to: undefined });
  });

  common(
    program
      .command('storage:copy')
      .description('copy entries between any two stores: project folders or postgres:// URLs')
      .requiredOption('--from <dir|url>', 'a project folder or postgres:// URL')
      .requiredOption('--to <dir|url>', 'a project folder or postgres:// URL')
      .option('--project <dir>', 'the project whose settings give the formats (default: the folder side)')
      .option('--from-schema <name>', 'the schema of a postgres:// source')
      .option('--to-schema <name>', 'the schema of a postgres:// target'),
  ).action(async (flags: TransferFlags & { from: string; to: string }) => {
    await run(flags.from, flags.to, flags, { from: flags.fromSchema, to: flags.toSchema });
  });
}
