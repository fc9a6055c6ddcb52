/** `flextype serve`: the HTTP server on a project folder. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Cms } from '../../core/cms.js';
import type { RunningServer } from '../../http/start.js';
import { CONTROL_CACHE_CLEAR_PATH } from '../../http/routes/control.js';
import { CliFailure, color, printLine } from '../output.js';
import { projectDirOf } from '../project.js';
import { acquireServerLock } from '../server-lock.js';

function portOf(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliFailure(`invalid port "${text}"`, 2);
  return port;
}

/** An entry the API answers, for the banner's example (none in an empty project). */
async function exampleEntryId(cms: Cms): Promise<string | undefined> {
  const candidates = (await cms.store.descendants('', 2)).filter((e) => e.id.split('/')[0]!.toLowerCase() !== 'tokens');
  for (const { id } of candidates.slice(0, 20)) {
    if (await cms.entries.has(id).catch(() => false)) return id;
  }
  return undefined;
}

/** The address the CLI reaches the server at: loopback when it listens on every address. */
function controlUrlOf(host: string, port: number): string {
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${local.includes(':') ? `[${local}]` : local}:${port}${CONTROL_CACHE_CLEAR_PATH}`;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('start the HTTP server (REST API under /api/v1); one server per project')
    .option('--project <dir>', 'project folder (env FLEXTYPE_PROJECT, default ./project)')
    .option('--host <host>', 'address to listen on (env FLEXTYPE_HOST, settings server.host, default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (env FLEXTYPE_PORT, settings server.port, default 8000)')
    .action(async (options: { project?: string; host?: string; port?: string }) => {
      const projectDir = projectDirOf(options);
      const host = options.host ?? process.env['FLEXTYPE_HOST'] ?? undefined;
      const port = portOf(options.port) ?? portOf(process.env['FLEXTYPE_PORT']);
      mkdirSync(path.join(projectDir, 'entries'), { recursive: true });
      // Taken before start-up: its crash recovery must never run beside another server's writes.
      const lock = acquireServerLock(projectDir);
      process.on('exit', () => lock.release());
      // Signals are taken from now on: one during start-up stops the server as soon as it is up.
      let server: RunningServer | undefined;
      let stopSignal: string | undefined;
      const shutdown = async (running: RunningServer, signal: string) => {
        printLine(`\n${signal}: finishing requests in flight and saving counters…`);
        const grace = setTimeout(() => process.exit(1), running.cms.settings.server.shutdown_grace * 1000);
        grace.unref();
        try {
          await running.close();
        } finally {
          lock.release();
        }
        process.exit(0);
      };
      const onSignal = (signal: string) => {
        if (stopSignal !== undefined) return;
        stopSignal = signal;
        if (server) void shutdown(server, signal);
      };
      process.on('SIGINT', () => onSignal('SIGINT'));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      // An operator may also signal the server themselves (`kill -USR2 <pid>`); cache:clear does not.
      process.on('SIGUSR2', () => {
        if (!server) return;
        const { cms, logger } = server;
        cms.clearCaches('signal').then(
          () => logger.info('caches cleared (SIGUSR2)'),
          (err: Error) => logger.error({ err: err.message }, 'caches cleared (SIGUSR2), but the webhook event could not be recorded'),
        );
      });
      // Loaded here, not at the top: the HTTP stack would slow every other command's start-up.
      const { startServer } = await import('../../http/start.js');
      server = await startServer({
        projectDir,
        host,
        port,
        // Logs (JSON lines) on stderr, so that stdout carries only what a person reads.
        logDestination: process.stderr,
        controlSecret: lock.info.control_secret,
      }).catch((err: NodeJS.ErrnoException) => {
        lock.release();
        if (err.code === 'EADDRINUSE') {
          throw new CliFailure(`${err.message}; choose another port with --port N (or FLEXTYPE_PORT)`);
        }
        throw err;
      });
      const { cms, url } = server;
      const running = server;
      lock.update({ url, control_url: controlUrlOf(server.host, server.port) });

      printLine(`${color.green('Flextype TS')} serving ${color.bold(projectDir)}`);
      printLine(`  API:      ${color.bold(`${url}/api/v1`)}`);
      printLine(`  entries:  ${server.startup.entries} (ready in ${server.startup.ms} ms${server.startup.watching ? ', watching for file changes' : ''})`);
      if ((await cms.tokens.count()) === 0) {
        // First start: make a token so a newcomer can call the API right away. Shown once only.
        const created = await cms.tokens.create({ title: 'First token, created by serve' });
        printLine();
        printLine(color.yellow('No API token existed, so one was created. Keep the access token: it is shown only once.'));
        printLine(`  token:        ${color.bold(created.token)}`);
        printLine(`  access_token: ${color.bold(created.access_token)}`);
        printLine();
        printLine('Try it:');
        const example = await exampleEntryId(cms);
        if (example !== undefined) {
          const id = example.split('/').map(encodeURIComponent).join('/');
          printLine(`  curl -g '${url}/api/v1/entries?id=${id}&token=${created.token}'`);
        }
        printLine(`  curl -g '${url}/api/v1/entries?id=&options[collection]=true&token=${created.token}'`);
      } else {
        printLine(`  tokens:   create one with ${color.bold(`npx flextype tokens:create --project ${path.relative(process.cwd(), projectDir) || '.'}`)}`);
      }
      printLine(`Press Ctrl+C to stop.`);
      if (stopSignal !== undefined) await shutdown(running, stopSignal);
    });
}
