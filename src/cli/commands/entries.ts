/** `flextype entries:*`: the entry operations of the Entries API, on the project folder directly. */
import type { Command } from 'commander';
import { badRequest } from '../../core/errors.js';
import type { Cms } from '../../core/cms.js';
import type { CachedEntry } from '../../core/store/store.js';
import type { PlainObject } from '../../core/util.js';
import { renderCollection } from '../../http/reply.js';
import { parseDataArgument } from '../input.js';
import { color, printFields, printJson, printLine } from '../output.js';
import { withProject } from './tokens.js';

interface Common {
  project?: string;
  json?: boolean;
}

interface FetchFlags extends Common {
  collection?: boolean;
  options?: string;
  depth?: string;
  where: string[];
  sortBy?: string;
  direction?: string;
  limit?: string;
  offset?: string;
  only?: string;
  except?: string;
  return?: string;
}

function common(command: Command): Command {
  return command.option('--project <dir>', 'project folder (env FLEXTYPE_PROJECT, default ./project)').option('--json', 'machine-readable JSON output');
}

/** `--where "year gte 2010"`: key, operator, then the rest as the value. */
function parseWhere(text: string): PlainObject {
  const match = /^\s*(\S+)\s+(\S+)\s+(.*)$/s.exec(text);
  if (!match) throw badRequest(`--where expects "key operator value", got "${text}"`);
  const raw = match[3]!.trim();
  let value: unknown = raw;
  if (raw.startsWith('[')) {
    try {
      value = JSON.parse(raw);
    } catch {
      throw badRequest(`--where value ${raw} is not a JSON list`);
    }
  }
  return { key: match[1], operator: match[2], value };
}

/** Fetch options from flags, merged over an --options JSON or query-string argument. */
export function fetchOptionsOf(flags: FetchFlags): PlainObject {
  const options = parseDataArgument(flags.options, '--options') ?? {};
  const filter: PlainObject = { ...((options['filter'] as PlainObject | undefined) ?? {}) };
  const find: PlainObject = { ...((options['find'] as PlainObject | undefined) ?? {}) };
  if (flags.collection) options['collection'] = true;
  if (flags.depth !== undefined) find['depth'] = flags.depth;
  if (flags.where.length > 0) filter['where'] = flags.where.map(parseWhere);
  if (flags.sortBy !== undefined) filter['sort_by'] = { key: flags.sortBy, direction: (flags.direction ?? 'ASC').toUpperCase() };
  if (flags.limit !== undefined) filter['limit'] = flags.limit;
  if (flags.offset !== undefined) filter['offset'] = flags.offset;
  if (flags.only !== undefined) filter['only'] = flags.only.split(',');
  if (flags.except !== undefined) filter['except'] = flags.except.split(',');
  if (flags.return !== undefined) filter['return'] = flags.return;
  if (Object.keys(filter).length > 0) options['filter'] = filter;
  if (Object.keys(find).length > 0) options['find'] = find;
  return options;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** A written entry with its answer as the API shows it (rendered). */
async function answered(cms: Cms, entry: CachedEntry): Promise<readonly [CachedEntry, PlainObject]> {
  return [entry, (await cms.entries.answerOf(entry)).view] as const;
}

export function registerEntries(program: Command): void {
  common(
    program
      .command('entries:fetch [id]')
      .description('show an entry, or with --collection the entries below it')
      .option('--collection', 'fetch the collection below id (id may be empty for the root)')
      .option('--options <json|query>', 'fetch options as JSON or a bracket query string')
      .option('--depth <comparison>', 'find depth, e.g. 1, ">= 1", "< 3"')
      .option('--where <condition>', 'filter "key operator value" (repeatable)', collect, [])
      .option('--sort-by <key>', 'sort by a field (dot path)')
      .option('--direction <dir>', 'ASC or DESC', 'ASC')
      .option('--limit <n>', 'at most n items')
      .option('--offset <n>', 'skip n items')
      .option('--only <fields>', 'comma-separated fields to keep')
      .option('--except <fields>', 'comma-separated fields to drop')
      .option('--return <mode>', 'all, first, last, random, random=N, shuffle'),
  ).action(async (id: string | undefined, flags: FetchFlags) => {
    const options = fetchOptionsOf(flags);
    await withProject(flags, async (cms) => {
      const result = await cms.entries.fetch(id ?? '', options);
      if (result.kind === 'entry') return flags.json ? printJson(result.data) : printFields(result.data);
      const rendered = renderCollection(result.result);
      const body = JSON.parse(rendered.body) as Record<string, unknown>;
      if (flags.json) return printJson(body);
      if (result.result.kind === 'single') return printFields(body);
      printLine(color.dim(`${Object.keys(body).length} of ${rendered.total ?? Object.keys(body).length}`));
      for (const [key, value] of Object.entries(body)) {
        const title = value && typeof value === 'object' && 'title' in value ? `  ${String((value as PlainObject)['title'])}` : '';
        printLine(`${color.bold(key)}${title}`);
      }
    });
  });

  common(program.command('entries:create <id> [data]').description('create an entry (data: JSON or title=Foo&tags[]=a)')).action(
    async (id: string, dataText: string | undefined, options: Common) => {
      const data = parseDataArgument(dataText);
      const [entry, view] = await withProject(options, async (cms) => answered(cms, await cms.entries.create(id, data)));
      if (options.json) return printJson(view);
      printLine(color.green(`Entry ${entry.id} created.`));
    },
  );

  common(program.command('entries:update <id> <data>').description('update an entry (shallow merge of data)')).action(
    async (id: string, dataText: string, options: Common) => {
      const data = parseDataArgument(dataText);
      const [entry, view] = await withProject(options, async (cms) => answered(cms, await cms.entries.update(id, data)));
      if (options.json) return printJson(view);
      printLine(color.green(`Entry ${entry.id} updated.`));
    },
  );

  common(program.command('entries:move <id> <new_id>').description('move an entry with all its children')).action(
    async (id: string, newId: string, options: Common) => {
      const [entry, view] = await withProject(options, async (cms) => {
        const moved = await cms.entries.move(id, newId);
        return moved ? answered(cms, moved) : ([undefined, { id: newId }] as const);
      });
      if (options.json) return printJson(view);
      printLine(color.green(`Entry ${id} moved to ${entry?.id ?? newId}.`));
    },
  );

  common(program.command('entries:copy <id> <new_id>').description('copy an entry with all its children')).action(
    async (id: string, newId: string, options: Common) => {
      const [entry, view] = await withProject(options, async (cms) => answered(cms, await cms.entries.copy(id, newId)));
      if (options.json) return printJson(view);
      printLine(color.green(`Entry ${id} copied to ${entry.id}.`));
    },
  );

  common(program.command('entries:delete <id>').description('delete an entry with all its children')).action(
    async (id: string, options: Common) => {
      await withProject(options, (cms) => cms.entries.delete(id));
      if (options.json) return printJson({ deleted: id });
      printLine(color.green(`Entry ${id} deleted.`));
    },
  );

  common(program.command('entries:has <id>').description('tell whether an entry exists (exit code 0 yes, 1 no)')).action(
    async (id: string, options: Common) => {
      const has = await withProject(options, (cms) => cms.entries.has(id));
      if (options.json) printJson({ has });
      else printLine(String(has));
      if (!has) process.exitCode = 1;
    },
  );
}
