/** `flextype serve`: the HTTP server on a project folder. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CliFailure, color, printLine } from '../output.js';
import { pidFileOf, projectDirOf } from '../project.js';

function portOf(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliFailure(`invalid port "${text}"`, 2);
  return port;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('start the HTTP server (REST API under /api/v1)')
    .option('--project <dir>', 'project folder (env FLEXTYPE_PROJECT, default ./project)')
    .option('--host <host>', 'address to listen on (env FLEXTYPE_HOST, settings server.host, default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (env FLEXTYPE_PORT, settings server.port, default 8000)')
    .action(async (options: { project?: string; host?: string; port?: string }) => {
      const projectDir = projectDirOf(options);
      mkdirSync(path.join(projectDir, 'entries'), { recursive: true });
      // Loaded here, not at the top: the HTTP stack would slow every other command's start-up.
      const { startServer } = await import('../../http/start.js');
      const server = await startServer({
        projectDir,
        host: options.host ?? process.env['FLEXTYPE_HOST'] ?? undefined,
        port: portOf(options.port) ?? portOf(process.env['FLEXTYPE_PORT']),
      }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') {
          throw new CliFailure(`${err.message}; choose another port with --port N (or FLEXTYPE_PORT)`);
        }
        throw err;
      });
      const { cms, url } = server;
      const pidFile = pidFileOf(projectDir);
      mkdirSync(path.dirname(pidFile), { recursive: true });
      writeFileSync(pidFile, JSON.stringify({ pid: process.pid, url }) + '\n');

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
        printLine(`  curl -g '${url}/api/v1/entries?id=blog/hello-world&token=${created.token}'`);
        printLine(`  curl -g '${url}/api/v1/entries?id=blog&options[collection]=true&token=${created.token}'`);
      } else {
        printLine(`  tokens:   create one with ${color.bold(`npx flextype tokens:create --project ${path.relative(process.cwd(), projectDir) || '.'}`)}`);
      }
      printLine(`Press Ctrl+C to stop.`);

      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        printLine(`\n${signal}: finishing requests in flight and saving counters…`);
        const grace = setTimeout(() => process.exit(1), cms.settings.server.shutdown_grace * 1000);
        grace.unref();
        try {
          await server.close();
        } finally {
          rmSync(pidFile, { force: true });
        }
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
      // `flextype cache:clear` signals a running server through this.
      process.on('SIGUSR2', () => {
        cms.clearCaches();
        server.logger.info('caches cleared (SIGUSR2)');
      });
    });
}
