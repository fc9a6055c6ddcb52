/**
 * The rendering stage (SPEC §9): turns a stored entry into what a fetch answers, and gives content
 * its narrow, §11-safe view of other entries, files and the registry. One Renderer per project;
 * one RenderSession per request.
 */
import { randomUUID } from 'node:crypto';
import type { EntriesService, FetchResult } from '../entries/service.js';
import { isTokenId, presentFields, type PresentOptions } from '../entries/present.js';
import { badRequest, CmsError } from '../errors.js';
import type { Registry } from '../registry.js';
import type { Settings } from '../settings.js';
import type { CachedEntry, ContentStore } from '../store/store.js';
import { getPath, isPlainObject, type PlainObject } from '../util.js';
import { RenderCache, type RenderedView } from './cache.js';
import { withoutPrivate } from './content-access.js';
import type { FetchedData, ProjectFiles, RenderContext } from './context.js';
import { directiveSwitches, type DirectiveWork } from './directives.js';
import { isPlainEntry, publicView, renderStoredEntry, type EntryRenderConfig, type EntryRenderHost } from './entry.js';
import { decodeFileData } from './expressions/functions/filesystem.js';
import { constantText } from './expressions/functions/constants.js';
import { ExpressionEngine } from './expressions/index.js';
import { deleteDot, getDot, setDot } from './expressions/paths.js';
import { Scope, type FieldStore } from './expressions/scope.js';
import { fromPlain, toPlain, toText, type PhpMap, type Value } from './expressions/values.js';
import { LimitError, RenderBudget, TimeLimitError } from './limits.js';
import { macroSwitches } from './macros.js';
import { createMarkdown, renderTextile } from './markup.js';
import { formatPhpDate } from './php-date.js';
import { createProjectFiles } from './project-files.js';
import { RenderSession, type RequestFacts } from './session.js';
import { builtinHandlers } from './shortcodes/builtins.js';
import type { PathScope, ShortcodeEnv } from './shortcodes/env.js';
import { ShortcodeProcessor } from './shortcodes/processor.js';
import { applyStringsOperation } from './strings/shortcode-ops.js';
import { renderTemplate, type TemplateTags } from './template.js';

/** Shortcode and expression nesting beyond this renders the tags as written (§11.9). */
const MAX_NESTING = 64;

/** Expressions that read time, chance, files, the request or request variables: never cached. */
const VOLATILE_CALL = /\b(date|time|strtotime|random|shuffle|uuid|csrf|filesystem|fetch|vars?|actions|url|urlFor|getBaseUrl|getAbsoluteUrl|getProjectUrl|getUriString)\s*\(/;


/** What a fetch answers of one entry before filters: fields, their JSON, and the ETag naming them. */
export interface RenderedAnswer {
  view: PlainObject;
  etag: string;
  json: string;
}

export interface RendererOptions {
  settings: Settings;
  registry: Registry;
  store: ContentStore;
  projectDir: string;
  present: PresentOptions;
}

/** A map of Values as a dot-path scope (request variables); any use makes the render volatile. */
function mapScope(map: PhpMap, touched: () => void): PathScope {
  return {
    get: (path) => {
      touched();
      const value = getDot(map, path);
      return value === undefined ? undefined : toPlain(value);
    },
    has: (path) => (touched(), getDot(map, path) !== undefined),
    set: (path, value) => (touched(), setDot(map, path, fromPlain(value))),
    delete: (path) => (touched(), deleteDot(map, path)),
  };
}

/** The entry being rendered (plain fields) as a dot-path scope for `field` and `fields()`. */
function fieldsScope(fields: PlainObject): PathScope & FieldStore {
  const asValue = (): PhpMap => fromPlain(fields) as PhpMap;
  const commit = (map: PhpMap) => {
    const plain = toPlain(map) as PlainObject;
    for (const key of Object.keys(fields)) if (!(key in plain)) delete fields[key];
    Object.assign(fields, plain);
  };
  return {
    get: (path: string) => {
      const value = getPath(fields, path);
      return value === undefined ? undefined : (value as never);
    },
    has: (path: string) => getPath(fields, path) !== undefined,
    set: (path: string, value: unknown) => {
      const map = asValue();
      setDot(map, path, fromPlain(value));
      commit(map);
    },
    delete: (path: string) => {
      const map = asValue();
      deleteDot(map, path);
      commit(map);
    },
  };
}

export class Renderer {
  readonly cache: RenderCache;
  private readonly config: EntryRenderConfig;
  private readonly tags: TemplateTags;
  private readonly markdown: (text: string) => string;
  /** The expression engine (function groups as the settings enable them). */
  readonly expressions: ExpressionEngine;
  private readonly files: ProjectFiles;
  private readonly setting: (path: string) => unknown;
  private entries: EntriesService | undefined;

  constructor(private readonly options: RendererOptions) {
    const { settings } = options;
    this.setting = (path) => getPath(settings, path);
    const tag = (name: string, fallback: string) => String(this.setting(`parsers.expressions.${name}`) ?? fallback);
    this.tags = {
      comment: [tag('opening_comment_tag', '[#'), tag('closing_comment_tag', '#]')],
      block: [tag('opening_block_tag', '[%'), tag('closing_block_tag', '%]')],
      variable: [tag('opening_variable_tag', '[['), tag('closing_variable_tag', ']]')],
    };
    this.config = {
      directives: directiveSwitches(this.setting),
      macros: macroSwitches(this.setting),
      expressionTags: [this.tags.comment[0], this.tags.block[0], this.tags.variable[0]],
    };
    this.markdown = createMarkdown({
      htmlInput: String(this.setting('parsers.markdown.commonmark.html_input') ?? 'allow'),
      allowUnsafeLinks: this.setting('parsers.markdown.commonmark.allow_unsafe_links') === true,
    });
    this.expressions = new ExpressionEngine(this.setting);
    const limits = this.limits();
    this.files = createProjectFiles({
      projectDir: options.projectDir,
      entriesDirectory: settings.entries.directory,
      maxFileBytes: limits.maxValueBytes,
      maxListed: limits.maxItems,
    });
    this.cache = new RenderCache(
      {
        peekEtag: (id) => options.store.peekEtag(id),
        folderVersion: () => options.store.version,
      },
      Number(this.setting('entries.render.cache_max_entries') ?? 10_000),
    );
  }

  /** The entries service renders through us, and content fetches through it. */
  attach(entries: EntriesService): void {
    this.entries = entries;
  }

  private limits() {
    const render = (this.setting('entries.render') ?? {}) as PlainObject;
    return {
      maxValueBytes: Number(render['max_value_bytes'] ?? 1_048_576),
      maxItems: Number(render['max_items'] ?? 100_000),
      maxTimeMs: Number(render['max_time_ms'] ?? 10_000),
    };
  }

  session(request?: RequestFacts): RenderSession {
    return new RenderSession(new RenderBudget(this.limits()), request);
  }

  /** True when rendering cannot change the entry: its stored view is the answer. */
  isPlain(entry: CachedEntry): boolean {
    // Kept on the entry itself: a cached entry is never mutated, and every collection asks this.
    return (entry.plain ??= isPlainEntry(entry.fields, this.config));
  }

  /** The answer when it is ready without work (plain, or a valid cached rendering), else undefined. */
  peek(entry: CachedEntry): RenderedAnswer | undefined {
    if (this.isPlain(entry)) return { view: entry.view, etag: entry.etag, json: this.options.store.jsonOf(entry) };
    const cached = this.cache.get(entry.id, entry.etag);
    return cached ? { view: cached.fields, etag: cached.tag, json: cached.json } : undefined;
  }

  /** The fields a collection's filters see: at once when no rendering is needed. */
  viewOf(entry: CachedEntry, session: RenderSession): PlainObject | Promise<PlainObject> {
    if (this.isPlain(entry)) return entry.view;
    const cached = this.fitting(this.cache.get(entry.id, entry.etag), session);
    if (cached) {
      session.replay(cached.deps);
      return cached.fields;
    }
    return this.view(entry, session).then((answer) => answer.view);
  }

  /**
   * The entry as a fetch answers it (before filters): rendered, `_` fields and `macros` removed.
   * `etag` names this rendering (the file's ETag for plain entries).
   */
  async view(entry: CachedEntry, session: RenderSession): Promise<RenderedAnswer> {
    if (this.isPlain(entry)) return { view: entry.view, etag: entry.etag, json: this.options.store.jsonOf(entry) };
    const cached = this.fitting(this.cache.get(entry.id, entry.etag), session);
    if (cached) {
      session.replay(cached.deps);
      return { view: cached.fields, etag: cached.tag, json: cached.json };
    }
    let rendered;
    try {
      rendered = await session.within(entry.id, () => renderStoredEntry({ id: entry.id, fields: entry.fields, meta: entry.meta }, this.config, this.host(session), session));
    } catch (err) {
      if (err instanceof TimeLimitError) throw badRequest(`rendering limit exceeded: ${err.detail}`);
      throw err;
    }
    const view = publicView(rendered.result, this.setting('entries.macros.debug') === true);
    const json = JSON.stringify(view);
    const tag = renderedEtag(entry.etag, json);
    this.cache.set(entry.id, { etag: entry.etag, fields: view, tag, json, deps: rendered.deps });
    return { view, etag: tag, json };
  }

  /**
   * What `fields` would answer as entry `id`, without storing or caching anything (the editor's
   * preview): the same rendering stage, limits and §11 rules as a fetch.
   */
  async preview(id: string, fields: PlainObject, meta: CachedEntry['meta'], session: RenderSession): Promise<PlainObject> {
    try {
      const rendered = await session.within(id, () => renderStoredEntry({ id, fields, meta }, this.config, this.host(session), session));
      return publicView(rendered.result, this.setting('entries.macros.debug') === true);
    } catch (err) {
      if (err instanceof TimeLimitError) throw badRequest(`rendering limit exceeded: ${err.detail}`);
      throw err;
    }
  }

  /** A cached view only where its nested renders still fit below `entries.render.max_depth`. */
  private fitting(cached: RenderedView | undefined, session: RenderSession): RenderedView | undefined {
    if (cached === undefined || cached.deps.height === 0) return cached;
    return session.depth + cached.deps.height < this.maxDepth() ? cached : undefined;
  }

  private maxDepth(): number {
    return Number(this.setting('entries.render.max_depth') ?? 16);
  }

  private host(session: RenderSession): EntryRenderHost {
    return {
      present: (id, fields, meta) => presentFields(id, fields, meta, this.options.present),
      registryGet: (key) => this.registryValue(key),
      fetch: async (id, options) => this.plainFetched(await this.fetchForContent(id, options, session)),
      leafWork: (fields, s) => this.leafWork(fields, s),
    };
  }

  private registryValue(key: string): unknown {
    const found = this.options.registry.exposed(key);
    return found.found ? found.value : undefined;
  }

  /** Another entry as content sees it (§11.6, 11.7, 11.9): tokens, cycles and depth read as missing. */
  async fetchForContent(rawId: string, options: PlainObject | undefined, session: RenderSession): Promise<FetchedData> {
    const id = rawId.trim().replace(/^\/+|\/+$/g, '');
    const maxDepth = this.maxDepth();
    if (isTokenId(id.toLowerCase()) || !this.entries) return { kind: 'missing' };
    const collection = isPlainObject(options) && isTrue(options['collection']);
    // An entry being rendered higher up reads as missing (a collection of its children does not;
    // the service leaves the chain's members out of it instead).
    if ((!collection && session.chain.includes(id)) || session.depth >= maxDepth) {
      // Cut by this request's chain: the renders around it would differ elsewhere, so none is kept.
      session.markVolatile();
      return { kind: 'missing' };
    }
    let result: FetchResult;
    try {
      result = await this.entries.fetch(id, options ?? {}, { session });
    } catch (err) {
      if (err instanceof CmsError && err.code === 'not_found') {
        session.readFolder('', this.options.store.version);
        return { kind: 'missing' };
      }
      throw err;
    }
    session.embedded();
    const strip = (data: PlainObject) => withoutPrivate(data) as PlainObject;
    if (result.kind === 'entry') return { kind: 'entry', data: strip(result.data) };
    const r = result.result;
    switch (r.kind) {
      case 'items':
        return { kind: 'collection', items: r.items.map((item) => ({ id: item.id, data: strip(item.data) })) };
      case 'groups':
        return { kind: 'groups', groups: r.groups.map((g) => ({ key: g.key, items: g.items.map((item) => ({ id: item.id, data: strip(item.data) })) })) };
      case 'single':
        return { kind: 'entry', data: strip(r.item.data) };
      case 'none':
        return { kind: 'missing' };
    }
  }

  /** Fetched data as plain JSON-like data (macros, shortcodes); undefined when missing or empty. */
  private plainFetched(fetched: FetchedData): unknown {
    switch (fetched.kind) {
      case 'entry':
        return fetched.data;
      case 'collection':
        return fetched.items.length === 0 ? undefined : Object.fromEntries(fetched.items.map((item) => [item.id, item.data]));
      case 'groups':
        return fetched.groups.length === 0 ? undefined : Object.fromEntries(fetched.groups.map((g) => [g.key, g.items.map((item) => item.data)]));
      case 'missing':
        return undefined;
    }
  }

  private async hasForContent(rawId: string, session: RenderSession): Promise<boolean> {
    const id = rawId.trim().replace(/^\/+|\/+$/g, '');
    if (isTokenId(id.toLowerCase()) || !this.entries) return false;
    try {
      const has = await this.entries.has(id);
      if (!has) session.readFolder('', this.options.store.version);
      return has;
    } catch {
      return false;
    }
  }

  /** The render context of expressions: everything they may reach, already confined. */
  context(session: RenderSession, fields: PlainObject | undefined): RenderContext {
    return {
      budget: session.budget,
      setting: this.setting,
      registry: (key) => this.options.registry.exposed(key),
      content: {
        fetchEntry: (id, options) => this.fetchForContent(id, options, session),
        hasEntry: (id) => this.hasForContent(id, session),
      },
      files: this.files,
      request: session.request,
      parsers: {
        markdown: (text) => this.markdown(text),
        textile: (text) => renderTextile(text),
        shortcodes: (text) => this.processor(fields ?? {}, session).process(text),
      },
    };
  }

  private scope(fields: PlainObject | undefined, session: RenderSession): Scope {
    return new Scope(fields ? fieldsScope(fields) : undefined, session.vars, session.actions);
  }

  /** Evaluates one expression without entry variables (if/calc/eval shortcodes). */
  private async evaluate(expression: string, fields: PlainObject, session: RenderSession): Promise<Value> {
    if (VOLATILE_CALL.test(expression)) session.markVolatile();
    return this.expressions.evaluate(expression, this.context(session, fields), this.scope(fields, session));
  }

  private processor(fields: PlainObject, session: RenderSession): ShortcodeProcessor {
    const env = this.shortcodeEnv(fields, session);
    return new ShortcodeProcessor({
      syntax: {
        open: String(this.setting('parsers.shortcodes.opening_tag') ?? '('),
        close: String(this.setting('parsers.shortcodes.closing_tag') ?? ')'),
        marker: String(this.setting('parsers.shortcodes.closing_tag_marker') ?? '/'),
        separator: String(this.setting('parsers.shortcodes.parameter_value_separator') ?? ':'),
        delimiter: String(this.setting('parsers.shortcodes.parameter_value_delimiter') ?? "'"),
      },
      handlers: builtinHandlers(this.setting, () => env),
      rawNames: new Set(['raw']),
      maxNesting: MAX_NESTING,
      toText: (value) => toText(fromPlain(value)),
      step: () => session.budget.step(),
      breathe: () => session.budget.breathe(),
      isFatal: (err) => err instanceof TimeLimitError,
    });
  }

  private shortcodeEnv(fields: PlainObject, session: RenderSession): ShortcodeEnv {
    const timezone = String(this.setting('timezone') ?? 'UTC');
    const budget = session.budget;
    return {
      setting: this.setting,
      registryGet: (key) => this.registryValue(key),
      fetchEntry: async (id, options) => this.plainFetched(await this.fetchForContent(id, options, session)),
      hasEntry: (id) => this.hasForContent(id, session),
      readProjectFile: async (path) => {
        session.markVolatile();
        return this.files.readFile(path);
      },
      fetchFile: async (path) => {
        session.markVolatile();
        const text = await this.files.readFile(path);
        return text === undefined ? undefined : toPlain(decodeFileData(path, text));
      },
      field: fieldsScope(fields),
      vars: mapScope(session.vars, () => session.markVolatile()),
      evaluate: async (expression) => toPlain(await this.evaluate(expression, {}, session)),
      markdown: (text) => budget.text(this.markdown(text), 'markdown'),
      textile: (text) => budget.text(renderTextile(text), 'textile'),
      stringsOperation: (text, name, args) => {
        const out = applyStringsOperation(text, name, args, budget);
        if (out !== undefined && (name === 'random' || name === 'shuffle')) session.markVolatile();
        return out === undefined ? undefined : budget.text(out, `strings ${name}`);
      },
      formatDate: (format) => formatPhpDate(format, Math.floor(Date.now() / 1000), timezone),
      translate: (key) => key,
      constant: (name) => constantText(name),
      randomUuid: () => randomUUID(),
      markVolatile: () => session.markVolatile(),
      request: session.request,
    };
  }

  private leafWork(fields: PlainObject, session: RenderSession): DirectiveWork {
    const processor = this.processor(fields, session);
    return {
      expressions: (text) => {
        // Variables are the entry's top-level fields as they are when this field starts rendering.
        const variables = new Map<string, Value>();
        for (const [key, value] of Object.entries(fields)) {
          if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) variables.set(key, fromPlain(value));
        }
        return renderTemplate(text, this.tags, {
          evaluate: async (expression) => {
            if (VOLATILE_CALL.test(expression)) session.markVolatile();
            const value = await this.expressions.evaluate(expression, this.context(session, fields), this.scope(fields, session), variables);
            return session.budget.text(toText(value), 'an expression');
          },
          isFatal: (err) => err instanceof TimeLimitError,
          step: () => session.budget.step(),
          breathe: () => session.budget.breathe(),
        });
      },
      shortcodes: (text) => processor.process(text),
      markdown: (text) => session.budget.text(this.markdown(text), 'markdown'),
      textile: (text) => session.budget.text(renderTextile(text), 'textile'),
    };
  }
}

/** `options.collection` as the fetch options read it (true, 1, "true"). */
function isTrue(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 'true';
}

/** A rendering's ETag: the file's, marked with a digest of the rendered answer. */
export function renderedEtag(fileEtag: string, body: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < body.length; i++) hash = Math.imul(hash ^ body.charCodeAt(i), 0x01000193);
  return `${fileEtag.slice(0, -1)}~${(hash >>> 0).toString(36)}"`;
}

export { LimitError };
