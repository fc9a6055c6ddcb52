/** `flextype tokens:*`: the token operations of the Tokens API, on the project folder directly. */
import type { Command } from 'commander';
import type { Cms } from '../../core/cms.js';
import { generateToken } from '../../core/tokens/hash.js';
import { renderCollection } from '../../http/reply.js';
import { parseDataArgument } from '../input.js';
import { CliFailure, color, printFields, printJson, printLine } from '../output.js';
import { openProject } from '../project.js';

interface Common {
  project?: string;
  json?: boolean;
}

/** Opens the project, runs the command, writes what is pending, closes. */
export async function withProject<T>(options: Common, run: (cms: Cms) => Promise<T>, create = false): Promise<T> {
  const cms = openProject(options, !create);
  try {
    await cms.open();
    return await run(cms);
  } finally {
    await cms.close();
  }
}

function common(command: Command): Command {
  return command.option('--project <dir>', 'project folder (env FLEXTYPE_PROJECT, default ./project)').option('--json', 'machine-readable JSON output');
}

export function registerTokens(program: Command): void {
  common(
    program
      .command('tokens:create [data]')
      .description('create a token; prints the token and its access token (only the hash is stored)')
      .option('--scopes <list>', 'comma-separated scopes, e.g. entries:read,registry:read (default: all)')
      .option('--expires-at <when>', 'Unix timestamp or date after which the token is refused')
      .option('--limit-calls <n>', 'number of calls allowed (0 = unlimited)'),
  ).action(async (dataText: string | undefined, options: Common & { scopes?: string; expiresAt?: string; limitCalls?: string }) => {
    const data = parseDataArgument(dataText) ?? {};
    if (options.scopes !== undefined) data['scopes'] = options.scopes.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (options.expiresAt !== undefined) data['expires_at'] = /^\d+$/.test(options.expiresAt) ? Number(options.expiresAt) : options.expiresAt;
    if (options.limitCalls !== undefined) data['limit_calls'] = options.limitCalls;
    const created = await withProject(options, (cms) => cms.tokens.create(data), true);
    if (options.json) return printJson(created);
    printLine(color.green('Token created.'));
    printLine(`  token:        ${color.bold(created.token)}`);
    printLine(`  access_token: ${color.bold(created.access_token)}`);
    printLine('Keep the access token now: only its bcrypt hash is stored.');
  });

  common(
    program
      .command('tokens:fetch [token]')
      .description('show a token (or all tokens with --collection)')
      .option('--collection', 'list every token')
      .option('--options <json|query>', 'fetch options, e.g. {"filter":{"where":[...]}}'),
  ).action(async (token: string | undefined, options: Common & { collection?: boolean; options?: string }) => {
    const fetchOptions = parseDataArgument(options.options, '--options') ?? {};
    if (options.collection) fetchOptions['collection'] = true;
    await withProject(options, async (cms) => {
      const result = await cms.tokens.fetch(options.collection ? '' : token, fetchOptions);
      if (result.kind === 'entry') return options.json ? printJson(result.data) : printFields(result.data);
      const body = JSON.parse(renderCollection(result.result).body) as Record<string, Record<string, unknown>>;
      if (options.json) return printJson(body);
      for (const [id, fields] of Object.entries(body)) {
        printLine(`${color.bold(id)}  ${fields['state'] ?? ''}  calls=${fields['calls'] ?? 0}${fields['title'] ? `  ${fields['title']}` : ''}`);
      }
    });
  });

  common(program.command('tokens:update <token> <data>').description('update a token entry (shallow merge of data)')).action(
    async (token: string, dataText: string, options: Common) => {
      const data = parseDataArgument(dataText);
      const updated = await withProject(options, (cms) => cms.tokens.update(token, data));
      if (options.json) return printJson(updated);
      printLine(color.green(`Token ${token} updated.`));
      printFields(updated, '  ');
    },
  );

  common(program.command('tokens:delete <token>').description('delete a token')).action(async (token: string, options: Common) => {
    await withProject(options, (cms) => cms.tokens.delete(token));
    if (options.json) return printJson({ deleted: token });
    printLine(color.green(`Token ${token} deleted.`));
  });

  common(program.command('tokens:has <token>').description('tell whether a token exists (exit code 0 yes, 1 no)')).action(
    async (token: string, options: Common) => {
      const has = await withProject(options, (cms) => cms.tokens.has(token));
      if (options.json) printJson({ has });
      else printLine(String(has));
      if (!has) process.exitCode = 1;
    },
  );

  program
    .command('tokens:generate [length]')
    .description('print a random token of [length] hex characters (default 32)')
    .option('--json', 'machine-readable JSON output')
    .action((lengthText: string | undefined, options: { json?: boolean }) => {
      const length = lengthText === undefined ? 32 : Number(lengthText);
      if (!Number.isInteger(length) || length < 8 || length > 256) throw new CliFailure('length must be an integer from 8 to 256', 2);
      const token = generateToken(Math.ceil(length / 2)).slice(0, length);
      if (options.json) printJson({ token });
      else printLine(token);
    });

  common(program.command('tokens:generate-hash <string>').description('print the bcrypt hash of a string')).action(
    async (value: string, options: Common) => {
      const result = await withProject(options, (cms) => cms.tokens.generateHash(value));
      if (options.json) printJson(result);
      else printLine(result.hashed_token);
    },
  );

  common(
    program.command('tokens:verify-hash <string> <hash>').description('check a string against a bcrypt hash (exit code 0 match, 1 no match)'),
  ).action(async (value: string, hash: string, options: Common) => {
    const result = await withProject(options, (cms) => cms.tokens.verifyHash(value, hash));
    if (options.json) printJson(result);
    else printLine(result.verified ? color.green('verified') : color.red('not verified'));
    if (!result.verified) process.exitCode = 1;
  });
}
