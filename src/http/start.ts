/** Starts a server for a project: core start-up, listening, graceful shutdown. */
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { Cms } from '../core/cms.js';
import type { StorageEngine } from '../storage/engine.js';
import { loadCheckedSettings } from '../core/settings.js';
import type { PlainObject } from '../core/util.js';
import { createLogger } from '../logging.js';
import { buildServer } from './server.js';

export interface StartOptions {
  projectDir: string;
  host?: string;
  port?: number;
  settings?: PlainObject;
  logger?: Logger;
  /** Where the logger made from the settings writes (stdout by default); ignored with `logger`. */
  logDestination?: DestinationStream;
  /**
   * A random secret (at least 32 characters) that opens the local control requests (cache clear by
   * `flextype cache:clear`); without it the server has no control requests.
   */
  controlSecret?: string;
  /** Another storage engine (tests: one whose walk can be held back). */
  engine?: StorageEngine;
  /** Called once the server listens, before the id tree is built and entries are preloaded. */
  onListening?: (url: string) => void;
}

export interface RunningServer {
  cms: Cms;
  logger: Logger;
  app: FastifyInstance;
  url: string;
  port: number;
  host: string;
  startup: { entries: number; recovered: number; watching: boolean; ms: number };
  /** Stops accepting requests, finishes those in flight, writes pending counters. */
  close(): Promise<void>;
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const started = Date.now();
  const checked = loadCheckedSettings(options.projectDir, options.settings);
  const logger = options.logger ?? createLogger(checked.settings.log.level, options.logDestination);
  // A project's own keys that registry.public opens are meant to be there: no warning for them.
  const opened = checked.settings.registry.public;
  const unknown = checked.unknownKeys.filter((key) => !opened.some((open) => key === open || key.startsWith(`${open}.`)));
  if (unknown.length > 0) {
    logger.warn(
      { keys: unknown },
      `unknown settings (misspelled? not used by the server, hidden from the registry unless listed in registry.public): ${unknown.join(', ')}`,
    );
  }
  if (checked.unknownVariables.length > 0) {
    logger.warn(
      { variables: checked.unknownVariables },
      `environment variables that name no setting (misspelled?): ${checked.unknownVariables.join(', ')}`,
    );
  }
  const cms = new Cms({ projectDir: options.projectDir, settings: options.settings, log: logger, webhooks: 'deliver', ...(options.engine ? { engine: options.engine } : {}) });
  const app = await buildServer(cms, { logger, controlSecret: options.controlSecret });
  const host = options.host ?? cms.settings.server.host;
  const port = options.port ?? cms.settings.server.port;
  // Listen first: single entries are answered from the files at once, collections once the id
  // tree is built (they wait for it), while the tree loads and entries preload.
  await app.listen({ host, port });
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  logger.info({ url }, 'listening; building the id tree');
  options.onListening?.(url);
  let info: Awaited<ReturnType<Cms['start']>>;
  try {
    info = await cms.start();
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  let closing: Promise<void> | undefined;
  logger.info({ url, entries: info.entries, watching: info.watching }, 'server listening');
  return {
    cms,
    logger,
    app,
    url,
    port: actualPort,
    host,
    startup: { ...info, ms: Date.now() - started },
    close() {
      closing ??= (async () => {
        await app.close();
        await cms.close();
      })();
      return closing;
    },
  };
}
