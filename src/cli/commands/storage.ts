/** `flextype storage:migrate`: brings a PostgreSQL schema to the version this release needs (also done by every start). */
import type { Command } from 'commander';
import { StorageError } from '../../storage/engine.js';
import { migrate } from '../../storage/postgres/migrations.js';
import { redactUrl } from '../../storage/postgres/sql.js';
import { CliFailure, color, printJson, printLine } from '../output.js';
import { registerStorageTransfer } from './storage-transfer.js';

export function registerStorage(program: Command): void {
  program
    .command('storage:migrate')
    .description('apply the missing PostgreSQL schema migrations (safe while other nodes run or start)')
    .option('--url <url>', 'postgres://user:password@host:port/database (env FLEXTYPE_STORAGE_URL)')
    .option('--schema <name>', 'schema holding the tables', 'public')
    .option('--json', 'machine-readable JSON output')
    .action(async (options: { url?: string; schema: string; json?: boolean }) => {
      const url = options.url ?? process.env['FLEXTYPE_STORAGE_URL'];
      if (!url) throw new CliFailure('no database given: pass --url postgres://… (or set FLEXTYPE_STORAGE_URL)', 2);
      if (!/^postgres(?:ql)?:\/\//.test(url)) throw new CliFailure('--url must be a postgres:// URL', 2);
      let result: Awaited<ReturnType<typeof migrate>>;
      try {
        result = await migrate({ url, schema: options.schema });
      } catch (err) {
        if (err instanceof StorageError) throw new CliFailure(err.message, err.reason === 'bad_name' ? 2 : 1);
        throw new CliFailure(`migrating ${redactUrl(url)} failed: ${(err as Error).message}`);
      }
      if (options.json) return printJson({ schema: options.schema, applied: result.applied, version: result.version });
      const where = `${redactUrl(url)} (schema ${options.schema})`;
      if (result.applied.length === 0) printLine(`${where} is up to date (version ${result.version}).`);
      else printLine(color.green(`Applied migration${result.applied.length > 1 ? 's' : ''} ${result.applied.join(', ')} to ${where}; now at version ${result.version}.`));
    });
  registerStorageTransfer(program);
}
