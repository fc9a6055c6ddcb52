/**
 * `flextype init [dir]`: a new project — a commented settings file, a sample entry and a first
 * token (all scopes) whose token and access token are printed once — then the commands to run next.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Cms } from '../../core/cms.js';
import { projectSettingsFile } from '../../core/settings.js';
import { CliFailure, color, printJson, printLine } from '../output.js';

/** The new project's settings: the few a newcomer changes first, each explained; the rest are defaults. */
const SETTINGS = `# Settings of this Flextype TS project. They are deep-merged over the built-in defaults
# (node_modules/flextype-ts/config/default-settings.yaml lists and explains every setting).
# Any setting can also come from an environment variable FLEXTYPE_<PATH>, e.g.
# FLEXTYPE_SERVER_PORT=9000 or FLEXTYPE_CACHE_ENABLED=false; the environment wins over this file,
# and command-line flags (--port, --host) win over both.

# Time zone of dates written without one (UTC, or an IANA name such as Europe/Berlin).
timezone: UTC

server:
  # Where the REST API listens. 127.0.0.1 keeps it on this machine; 0.0.0.0 opens it to the network.
  host: 127.0.0.1
  port: 8000

# Browsers calling the API from another origin (a front end on its own domain).
cors:
  enabled: true
  # "*" or a list of origins, e.g. [https://www.example.com]
  origin: '*'

cache:
  # Parsed entries are kept in memory and checked against their files; off re-reads every file.
  enabled: true
  # Edits made to the files directly (an editor, git pull) are noticed as they happen.
  watch: true

log:
  # fatal, error, warn, info, debug, trace or silent.
  level: info

# Webhooks: a signed POST to your URL whenever content, tokens or caches change, e.g. to rebuild a
# static site. Uncomment, set your URL, and keep the secret out of this file with secret_env:
# webhooks:
#   endpoints:
#     - url: https://example.com/hooks/flextype
#       events: [entries.created, entries.updated, entries.moved, entries.copied, entries.deleted]
#       secret_env: FLEXTYPE_WEBHOOK_SECRET
`;

const SAMPLE_ENTRY = {
  title: 'Home',
  description: 'The first entry of this project',
  content: 'Welcome! Every entry is a plain file under `entries/`: edit this one in `entries/home/entry.md`, or through the API.',
};

function isEmptyDir(dir: string): boolean {
  return readdirSync(dir).length === 0;
}

function shown(dir: string): string {
  const relative = path.relative(process.cwd(), dir);
  return relative === '' ? '.' : relative.startsWith('..') ? dir : relative;
}

/** A shell word: quoted when it holds anything a shell would read specially. */
function shellWord(text: string): string {
  return /^[\w./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

export function registerInit(program: Command): void {
  program
    .command('init [dir]')
    .description('create a new project in [dir] (default ./project): settings, a sample entry and a first token')
    .option('--force', 'also in a folder that is not empty (existing files are kept, never overwritten)')
    .option('--json', 'machine-readable JSON output')
    .action(async (dirArg: string | undefined, options: { force?: boolean; json?: boolean }) => {
      const dir = path.resolve(dirArg ?? 'project');
      if (existsSync(dir)) {
        if (!statSync(dir).isDirectory()) throw new CliFailure(`${dir} exists and is not a folder`, 2);
        if (!isEmptyDir(dir) && !options.force) {
          throw new CliFailure(`${dir} is not empty; choose a new folder, or add --force to add a project to it (existing files are kept)`, 2);
        }
      }
      const created: string[] = [];
      const kept: string[] = [];
      const settingsFile = projectSettingsFile(dir);
      mkdirSync(path.dirname(settingsFile), { recursive: true });
      mkdirSync(path.join(dir, 'entries'), { recursive: true });
      if (existsSync(settingsFile)) kept.push(settingsFile);
      else {
        writeFileSync(settingsFile, SETTINGS, { flag: 'wx' });
        created.push(settingsFile);
      }
      const gitignore = path.join(dir, '.gitignore');
      if (!existsSync(gitignore)) {
        // var/ holds the server's runtime files (lock, webhook outbox, delivery log).
        writeFileSync(gitignore, 'var/\n', { flag: 'wx' });
        created.push(gitignore);
      }
      const cms = new Cms({ projectDir: dir, settings: { cache: { watch: false } } });
      let token: { token: string; access_token: string };
      try {
        if (await cms.entries.has('home')) kept.push(path.join(dir, 'entries', 'home'));
        else {
          await cms.entries.create('home', SAMPLE_ENTRY);
          created.push(path.join(dir, 'entries', 'home'));
        }
        token = await cms.tokens.create({ title: 'First token, created by init' });
      } finally {
        await cms.close();
      }
      const url = `http://${cms.settings.server.host}:${cms.settings.server.port}/api/v1`;
      const project = shellWord(shown(dir));
      const next = [
        `npx flextype serve --project ${project}`,
        `curl -g '${url}/entries?id=home&token=${token.token}'`,
        `curl -X POST ${url}/entries -H 'content-type: application/json' -d '{"id":"hello","data":{"title":"Hello"},"token":"${token.token}","access_token":"${token.access_token}"}'`,
      ];
      if (options.json) {
        return printJson({ dir, token: token.token, access_token: token.access_token, created, kept, next });
      }
      printLine(color.green(`Created a Flextype TS project in ${shown(dir)}`));
      for (const file of created) printLine(`  created  ${shown(file)}`);
      for (const file of kept) printLine(`  kept     ${shown(file)} (already there)`);
      printLine();
      printLine(color.yellow('A first token with every scope was created. Keep the access token now: it is shown only once.'));
      printLine(`  token:        ${color.bold(token.token)}`);
      printLine(`  access_token: ${color.bold(token.access_token)}`);
      printLine();
      printLine('Next:');
      printLine(`  ${next[0]}`);
      printLine('and in another terminal:');
      printLine(`  ${next[1]}`);
      printLine(`  ${next[2]}`);
      printLine();
      printLine(`Settings: ${shown(settingsFile)} (or FLEXTYPE_<SETTING> environment variables). More tokens: npx flextype tokens:create --project ${project}`);
    });
}
