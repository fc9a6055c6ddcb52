/** `flextype query '<json>'`: the Query API (SPEC §10) on the project folder, printing its JSON answer. */
import type { Command } from 'commander';
import { runQuery } from '../../core/render/query.js';
import { parseDataArgument } from '../input.js';
import { printLine } from '../output.js';
import { withProject } from './tokens.js';

export function registerQuery(program: Command): void {
  program
    .command('query')
    .description('evaluate expressions as POST /api/v1/query does: query is JSON ({"sum": "1 + 1"}) or a query string')
    .argument('<query>', 'a map of names to expressions')
    .option('--project <dir>', 'project folder (env FLEXTYPE_PROJECT, default ./project)')
    .action(async (text: string, options: { project?: string }) => {
      const query = parseDataArgument(text, 'query') ?? {};
      // Key order as evaluated, compact: the same bytes the HTTP API answers.
      const answer = await withProject(options, (cms) => runQuery(cms, query));
      printLine(answer);
    });
}
