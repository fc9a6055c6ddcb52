/**
 * `flextype webhooks:*`: the configured endpoints and what is pending for them, the delivery log,
 * a test event, and redelivery of an event (one attempt each, from this process, logged).
 * Endpoints are configured in the settings only; nothing here shows a secret.
 */
import type { Command } from 'commander';
import { loadSettings } from '../../core/settings.js';
import { deliverOnce, endpointsNamed, findEvent, readDeliveryLog, summarizeEndpoints, testEvent } from '../../core/webhooks/inspect.js';
import { subscribes } from '../../core/webhooks/events.js';
import { CliFailure, color, printJson, printLine } from '../output.js';
import { projectDirOf } from '../project.js';

interface Common {
  project?: string;
  json?: boolean;
}

function common(command: Command): Command {
  return command.option('--project <dir>', 'project folder (env FLEXTYPE_PROJECT, default ./project)').option('--json', 'machine-readable JSON output');
}

function statusText(record: { ok: boolean; status: number | null; error?: string; duration_ms: number }): string {
  const what = record.ok ? color.green(String(record.status)) : color.red(record.error ?? String(record.status));
  return `${what} in ${record.duration_ms} ms`;
}

export function registerWebhooks(program: Command): void {
  common(program.command('webhooks:list').description('list the webhook endpoints (settings webhooks.endpoints), events pending and the last attempt')).action(
    async (options: Common) => {
      const projectDir = projectDirOf(options);
      const summaries = await summarizeEndpoints(projectDir, loadSettings(projectDir));
      if (options.json) return printJson(summaries);
      if (summaries.length === 0) return printLine('No webhook endpoints are configured (webhooks.endpoints in the settings).');
      for (const summary of summaries) {
        printLine(`${color.bold(summary.url)}  events: ${summary.events.join(', ')}  pending: ${summary.pending}`);
        if (summary.last) printLine(`  last: ${summary.last.at} ${summary.last.event} attempt ${summary.last.attempt}: ${statusText(summary.last)}`);
      }
    },
  );

  common(
    program
      .command('webhooks:log')
      .description('show the last delivery attempts (status, duration, error)')
      .option('--limit <n>', 'number of attempts shown', '20'),
  ).action(async (options: Common & { limit: string }) => {
    const limit = Number(options.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new CliFailure('--limit must be a positive integer', 2);
    const records = await readDeliveryLog(projectDirOf(options), limit);
    if (options.json) return printJson(records);
    if (records.length === 0) return printLine('No delivery attempts yet.');
    for (const record of records) {
      const outcome = record.outcome ? ` ${record.outcome === 'delivered' ? color.green('delivered') : color.red('given up')}` : '';
      printLine(`${record.at}  ${record.endpoint}  ${record.event} ${record.event_id}  attempt ${record.attempt}: ${statusText(record)}${outcome}`);
    }
  });

  common(program.command('webhooks:test [url]').description('send a signed test event (webhooks.test) to one configured endpoint, or to all')).action(
    async (url: string | undefined, options: Common) => {
      const projectDir = projectDirOf(options);
      const settings = loadSettings(projectDir);
      const endpoints = endpointsNamed(settings, url);
      if (typeof endpoints === 'string') throw new CliFailure(endpoints, 2);
      const results = [];
      for (const endpoint of endpoints) {
        const event = testEvent();
        results.push({ url: endpoint.shownUrl, event_id: event.id, ...(await deliverOnce(projectDir, settings, endpoint, event)) });
      }
      if (options.json) printJson(results);
      else for (const result of results) printLine(`${result.url}: ${statusText(result)}`);
      if (results.some((result) => !result.ok)) process.exitCode = 1;
    },
  );

  common(
    program
      .command('webhooks:redeliver <event-id>')
      .description('send a recorded event again (one attempt): to the endpoints that gave it up, or --url')
      .option('--url <url>', 'the configured endpoint to send it to'),
  ).action(async (eventId: string, options: Common & { url?: string }) => {
    const projectDir = projectDirOf(options);
    const settings = loadSettings(projectDir);
    const found = await findEvent(projectDir, eventId);
    if (!found) throw new CliFailure(`no event ${eventId} is in the outbox or among those given up (see flextype webhooks:log)`, 3);
    const named = endpointsNamed(settings, options.url);
    if (typeof named === 'string') throw new CliFailure(named, 2);
    const endpoints =
      options.url !== undefined
        ? named
        : named.filter((endpoint) => (found.failedFor.length > 0 ? found.failedFor.includes(endpoint.shownUrl) : subscribes(endpoint, found.event.event)));
    if (endpoints.length === 0) throw new CliFailure(`no configured endpoint is waiting for event ${eventId}; name one with --url`, 2);
    const results = [];
    for (const endpoint of endpoints) results.push({ url: endpoint.shownUrl, ...(await deliverOnce(projectDir, settings, endpoint, found.event)) });
    if (options.json) printJson(results);
    else for (const result of results) printLine(`${result.url}: ${statusText(result)}`);
    if (results.some((result) => !result.ok)) process.exitCode = 1;
  });
}
