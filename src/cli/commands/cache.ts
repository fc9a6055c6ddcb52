/** `flextype cache:clear`: tells a running server (found through var/server.json) to drop its caches. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { color, printJson, printLine } from '../output.js';
import { pidFileOf, projectDirOf } from '../project.js';

function runningServer(projectDir: string): { pid: number; url: string } | undefined {
  try {
    const info = JSON.parse(readFileSync(pidFileOf(projectDir), 'utf8')) as { pid: number; url: string };
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}

export function registerCache(program: Command): void {
  program
    .command('cache:clear')
    .description("clear a running server's caches (parsed entries, id tree); content is never touched")
    .option('--project <dir>', 'project folder (env FLEXTYPE_PROJECT, default ./project)')
    .option('--json', 'machine-readable JSON output')
    .action((options: { project?: string; json?: boolean }) => {
      const projectDir = projectDirOf(options);
      const server = runningServer(projectDir);
      if (server) process.kill(server.pid, 'SIGUSR2');
      if (options.json) return printJson({ cleared: server !== undefined, pid: server?.pid ?? null });
      if (server) printLine(color.green(`Cleared the caches of the server at ${server.url} (pid ${server.pid}).`));
      else printLine('No server is running on this project; the server keeps its caches in memory only, so there is nothing to clear.');
    });
}
