/**
 * The content core assembled for one project folder: settings, registry, store, entries and
 * tokens services. The HTTP server and the CLI both work through this object.
 */
import path from 'node:path';
import type { StorageEngine } from '../storage/engine.js';
import { createEngine } from './engine-choice.js';
import { createCollectionResolver } from './collections.js';
import { createPresenter } from './entries/present.js';
import { EntriesService, isListableId } from './entries/service.js';
import { Renderer } from './render/renderer.js';
import type { QueryLimits } from './query/collection.js';
import { slicing } from './query/execute.js';
import { Registry } from './registry.js';
import { loadManifest, loadSettings, type Settings } from './settings.js';
import { ContentStore, type Logger } from './store/store.js';
import { TokensService } from './tokens/service.js';
import type { PlainObject } from './util.js';
import { Webhooks, type WebhooksMode } from './webhooks/index.js';

export interface CmsOptions {
  projectDir: string;
  /** Settings given on the command line or by a test; they win over both settings files. */
  settings?: PlainObject;
  log?: Logger & { error(obj: object, msg?: string): void };
  /** Another storage engine; the file engine over `<project>/entries` by default. */
  engine?: StorageEngine;
  /**
   * The server delivers webhooks ('deliver'); other processes only record their events in the
   * outbox's inbox for the server to deliver ('record', the default).
   */
  webhooks?: WebhooksMode;
}

export class Cms {
  readonly projectDir: string;
  readonly settings: Settings;
  readonly registry: Registry;
  readonly store: ContentStore;
  readonly entries: EntriesService;
  readonly tokens: TokensService;
  readonly renderer: Renderer;
  readonly webhooks: Webhooks;

  private readonly log: CmsOptions['log'];
  private started = false;

  constructor(options: CmsOptions) {
    this.log = options.log;
    this.projectDir = path.resolve(options.projectDir);
    this.settings = loadSettings(this.projectDir, options.settings);
    this.registry = new Registry(loadManifest(), this.settings);
    this.webhooks = new Webhooks({ projectDir: this.projectDir, settings: this.settings, mode: options.webhooks ?? 'record', ...(options.log ? { log: options.log } : {}) });
    const resolve = createCollectionResolver(this.settings.entries.collections);
    const engine = options.engine ?? createEngine(this.projectDir, this.settings, resolve, options.log);
    const presentOptions = {
      dateFields: this.settings.entries.date_fields,
      timeZone: this.settings.timezone,
      isFrontmatter: (id: string) => resolve(id).serializer.name === 'frontmatter',
    };
    const present = createPresenter(presentOptions);
    this.store = new ContentStore(
      engine,
      present,
      {
        cacheEnabled: this.settings.cache.enabled,
        maxEntries: this.settings.cache.max_entries,
        jsonMaxEntries: this.settings.cache.json_max_entries,
        watch: this.settings.cache.watch,
        watchMaxEntries: this.settings.cache.watch_max_entries,
        pollInterval: this.settings.cache.poll_interval,
        listable: (id) => isListableId(id, this.settings.entries),
        ...(this.settings.cache.persist_index
          ? {
              index: {
                file: path.join(this.projectDir, 'var', 'index', 'entries.idx'),
                // What decoding depends on: which serializer each id gets.
                settings: { collections: this.settings.entries.collections, directory: this.settings.entries.directory },
              },
            }
          : {}),
      },
      options.log,
    );
    const queryLimits: QueryLimits = {
      maxDepth: this.settings.query.max_depth,
      maxPatternLength: this.settings.query.max_pattern_length,
      maxItems: this.settings.query.max_items,
      timeZone: this.settings.timezone,
    };
    // A process-wide value (the executor's pause points are module-level); the last Cms started sets it.
    slicing.ms = this.settings.query.slice_ms;
    this.entries = new EntriesService(this.store, this.settings.entries, queryLimits, resolve);
    this.entries.pushdownEnabled = this.settings.query.pushdown;
    this.renderer = new Renderer({ settings: this.settings, registry: this.registry, store: this.store, projectDir: this.projectDir, present: presentOptions });
    this.renderer.attach(this.entries);
    this.entries.attachRenderer(this.renderer);
    this.tokens = new TokensService(this.store, this.settings, queryLimits, (err) =>
      options.log?.error({ err: err.message }, 'could not write call counters'),
    );
    this.entries.attachEvents(this.webhooks.emit);
    this.tokens.attachEvents(this.webhooks.emit);
  }

  /** Opens the engine (cleans what a crash left behind), builds the id tree and starts the change feed. */
  async start(): Promise<{ entries: number; recovered: number; watching: boolean }> {
    // Requests may arrive from now on (the server listens meanwhile): answered, not cached yet.
    this.store.beginStart();
    let startedUp!: (ok: boolean) => void;
    if (this.settings.cache.preload) {
      // In the background once started: the server answers meanwhile (small reads from the
      // files, large listings from the preloaded cache).
      const ready = new Promise<boolean>((resolve) => (startedUp = resolve));
      void this.store.preloadWhen(ready).catch((err: Error) => this.log?.warn({ err: err.message }, 'preload stopped'));
    }
    let ok = false;
    try {
      // Crash leftovers are removed during the walk that builds the id tree (one walk, not two).
      this.opened ??= this.store.engine.open({ deferRecovery: true });
      const { recovered } = await this.opened;
      const entries = await this.store.warm();
      const watching = await this.store.startWatching();
      await this.webhooks.start();
      this.started = true;
      ok = true;
      return { entries, recovered, watching };
    } finally {
      startedUp?.(ok);
    }
  }

  private opened: Promise<{ recovered: number }> | undefined;

  /** Readies the engine (migrations, crash leftovers) once; enough for one-off CLI commands. */
  open(): Promise<{ recovered: number }> {
    this.opened ??= this.store.engine.open();
    return this.opened;
  }

  /**
   * Whether the content can be served (readiness): start-up done (crash recovery, id tree), and
   * the storage answering a read now. Each check is 'ok' or says what is wrong.
   */
  async readiness(timeoutMs = 2000): Promise<{ ready: boolean; checks: { store: string; storage: string } }> {
    const store = this.started ? 'ok' : 'starting: the entries are not loaded yet';
    let storage: string;
    let timer: NodeJS.Timeout | undefined;
    const ours = new Set<unknown>();
    try {
      const probe = (async () => {
        // ping's messages are public by contract (no path, no URL).
        await this.store.engine.ping().catch((err: unknown) => {
          ours.add(err);
          throw err;
        });
      })();
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const slow = new Error(`no answer within ${timeoutMs} ms`);
          ours.add(slow);
          reject(slow);
        }, timeoutMs);
      });
      await Promise.race([probe, late]);
      storage = 'ok';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // The reason, never a path or a connection string (the answer may be public).
      const reason = ours.has(err) ? (err as Error).message : code === 'ENOENT' ? 'the entries folder is missing' : (code ?? 'the storage refused a read');
      storage = `unreachable: ${reason}`;
    } finally {
      clearTimeout(timer);
    }
    return { ready: store === 'ok' && storage === 'ok', checks: { store, storage } };
  }

  /**
   * Drops every cache (parsed entries, id tree, verified secrets); content is untouched. Resolves
   * once the `cache.cleared` webhook event is recorded (at once when no endpoint wants it).
   */
  clearCaches(source: 'api' | 'cli' | 'signal' = 'api'): Promise<void> {
    this.store.clear();
    this.renderer.cache.clear();
    this.tokens.verified.clear();
    return this.webhooks.emit('cache.cleared', { source });
  }

  /** Writes pending counters, stops background work and closes the engine. */
  async close(): Promise<void> {
    this.tokens.counters.stop();
    try {
      await this.tokens.counters.flush();
    } finally {
      await this.store.stopWatching();
      await this.webhooks.close();
      await this.store.engine.close();
    }
  }
}
