/**
 * `flextype cache:clear`: asks the project's running server (found through var/server.json) to drop
 * its caches, over its local control request, authenticated by the secret in that file.
 */
import type { Command } from 'commander';
import { CONTROL_SECRET_HEADER } from '../../http/routes/control.js';
import { CliFailure, color, printJson, printLine } from '../output.js';
import { projectDirOf } from '../project.js';
import { isRunning, readServerInfo, type ServerInfo } from '../server-lock.js';

async function clearServer(server: ServerInfo & { control_url: string }): Promise<void> {
  let response: Response;
  try {
    response = await fetch(server.control_url, {
      method: 'POST',
      headers: { [CONTROL_SECRET_HEADER]: server.control_secret },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    const reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new CliFailure(`the server of this project (pid ${server.pid}) did not answer at ${server.control_url}: ${reason}`);
  }
  await response.body?.cancel();
  if (response.status !== 200) {
    throw new CliFailure(`the server at ${server.control_url} refused to clear its caches (HTTP ${response.status})`);
  }
}

export function registerCache(program: Command): void {
  program
    .command('cache:clear')
    .description("clear a running server's caches (parsed entries, id tree); content is never touched")
    .option('--project <dir>', 'project folder (env FLEXTYPE_PROJECT, default ./project)')
    .option('--json', 'machine-readable JSON output')
    .action(async (options: { project?: string; json?: boolean }) => {
      const projectDir = projectDirOf(options);
      const info = readServerInfo(projectDir);
      const server = info && isRunning(info) ? info : undefined;
      if (server && server.control_url === undefined) {
        throw new CliFailure(`the server of this project (pid ${server.pid}) is still starting; try again in a moment`);
      }
      if (server) await clearServer(server as ServerInfo & { control_url: string });
      if (options.json) return printJson({ cleared: server !== undefined, pid: server?.pid ?? null });
      if (server) printLine(color.green(`Cleared the caches of the server at ${server.url} (pid ${server.pid}).`));
      else printLine('No server is running on this project; the server keeps its caches in memory only, so there is nothing to clear.');
    });
}
