/**
 * The one schema of the settings tree (built-in defaults merged with the project's file). It checks
 * types at start-up, gives the TypeScript type, and is the registry's allowlist: what the schema
 * knows is a documented setting. The defaults themselves live in config/default-settings.yaml (the
 * file users read); a test checks that the two agree key for key.
 */
import { z } from 'zod';
import { getSerializer, serializerNames } from '../storage/serializers/index.js';
import { compileIdPattern } from './query/regex.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const count = () => z.number().int().min(0);
const switchOnly = () => z.object({ enabled: z.boolean() });
const stringList = () => z.array(z.string());
const optionalSwitch = () => switchOnly().optional();
/**
 * A map of shortcode or expression names to their switches. Names are open (the reference's plugins
 * add more); inside one, only `enabled` and the documented sub-switches (`entries.fetch`…) exist.
 */
const switches = () =>
  z.record(
    z.string(),
    z.object({
      enabled: z.boolean(),
      fetch: optionalSwitch(),
      get: optionalSwitch(),
      has: optionalSwitch(),
      registry: optionalSwitch(),
      create: optionalSwitch(),
      move: optionalSwitch(),
      update: optionalSwitch(),
      delete: optionalSwitch(),
    }),
  );

const timeZone = z.string().refine(
  (zone) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'UTC or an IANA time zone name such as Europe/Berlin' },
);

/** Collection patterns run on RE2 (linear time), so they are checked with the same compiler. */
const regexSource = z.string().refine(
  (source) => {
    try {
      compileIdPattern(source);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'a valid regular expression (RE2 syntax: no look-around or back-references)' },
);
const seconds = () => z.number().min(0);

const collection = z.object({
  pattern: regexSource.optional(),
  filename: z.string().min(1),
  extension: z.string(),
  serializer: z.string().refine((name) => getSerializer(name) !== undefined, {
    message: `one of ${serializerNames().join(', ')}`,
  }),
  fields: z.record(z.string(), z.object({ enabled: z.boolean() })).optional(),
});

const directive = z.object({ enabled: z.boolean(), enabled_globally: z.boolean() });
const frontmatterHeader = z.object({ header: z.object({ serializer: z.string(), allowed: stringList() }) });
const dotPath = z.string().regex(/^[^.]+(\.[^.]+)*$/, { message: 'a dot path such as mail.host' });

/** Event names a webhook may subscribe to; `*` is every event. */
export const WEBHOOK_EVENTS = [
  'entries.created',
  'entries.updated',
  'entries.moved',
  'entries.copied',
  'entries.deleted',
  'tokens.created',
  'tokens.updated',
  'tokens.deleted',
  'cache.cleared',
] as const;

const webhookUrl = z.string().refine(
  (text) => {
    try {
      const url = new URL(text);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'an http:// or https:// URL' },
);

const webhookEndpoint = z
  .object({
    url: webhookUrl,
    events: z.array(z.enum(['*', ...WEBHOOK_EVENTS])).min(1),
    // The HMAC key: given here, or the name of an environment variable holding it.
    secret: z.string().min(16).optional(),
    secret_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'an environment variable name' }).optional(),
  })
  .refine((endpoint) => (endpoint.secret === undefined) !== (endpoint.secret_env === undefined), {
    message: 'exactly one of "secret" (at least 16 characters) or "secret_env"',
  });

export const settingsSchema = z.object({
  timezone: timeZone,
  charset: z.string(),
  locale: z.string(),
  base_url: z.string(),
  base_path: z.string(),
  date_format: z.string(),
  date_display_format: z.string(),
  server: z.object({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    body_limit: count(),
    cache_control: z.string(),
    compress_threshold: count(),
    stream_threshold: count(),
    query_depth: count(),
    query_parameter_limit: count(),
    query_array_limit: count(),
    shutdown_grace: z.number().min(0),
    trust_proxy: z.union([z.boolean(), z.string()], { message: 'true, false, or proxy addresses as one string' }),
    max_connections: count(),
    max_connections_per_address: count(),
    headers_timeout: seconds(),
    request_timeout: seconds(),
    keep_alive_timeout: seconds(),
  }).refine((server) => server.request_timeout === 0 || server.headers_timeout <= server.request_timeout, {
    message: 'headers_timeout must not exceed request_timeout',
    path: ['headers_timeout'],
  }),
  cors: z.object({
    enabled: z.boolean(),
    origin: z.union([z.string(), stringList()], { message: '"*", one origin, or a list of origins' }),
    methods: stringList(),
    headers: stringList(),
    expose: stringList(),
    credentials: z.boolean(),
  }),
  api: z.object({
    entries: switchOnly(),
    tokens: switchOnly(),
    registry: switchOnly(),
    cache: switchOnly(),
    query: switchOnly(),
  }),
  registry: z.object({ public: z.array(dotPath) }),
  entries: z.object({
    directory: z.string().min(1),
    date_fields: stringList(),
    max_id_length: count(),
    max_segment_length: count(),
    max_data_depth: z.number().int().min(1).max(1000),
    directives: z.object({
      expressions: directive,
      shortcodes: directive,
      markdown: directive,
      textile: directive,
      php: directive,
      types: switchOnly(),
    }),
    macros: z.object({
      debug: z.boolean(),
      php: switchOnly(),
      registry: z.object({ enabled: z.boolean(), get: switchOnly() }),
      entries: z.object({ enabled: z.boolean(), fetch: z.object({ enabled: z.boolean(), type: z.enum(['array', 'collection', 'json']) }) }),
    }),
    render: z.object({
      max_depth: count(),
      max_value_bytes: count(),
      max_items: count(),
      max_time_ms: count(),
      cache_max_entries: count(),
    }),
    collections: z.record(z.string(), collection).refine((all) => all['default'] !== undefined, {
      message: 'a map of collections that includes "default"',
    }),
  }),
  query: z.object({
    max_depth: count(),
    max_pattern_length: count(),
    max_items: count(),
    slice_ms: count(),
    heavy: z.object({ threshold: count(), concurrency: z.number().int().min(1), queue: count(), retry_after: count() }),
    pushdown: z.boolean(),
  }),
  storage: z.object({
    engine: z.enum(['auto', 'files', 'postgres']),
    url: z.string(),
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier'),
    pool_size: z.number().int().min(1).max(1000),
    connect_timeout: z.number().int().min(100),
    durable: z.boolean(),
    max_parallel_io: z.number().int().min(1),
  }),
  cache: z.object({
    enabled: z.boolean(),
    preload: z.boolean(),
    max_entries: count(),
    json_max_entries: count(),
    watch: z.boolean(),
    watch_max_entries: count(),
    poll_interval: count(),
    persist_index: z.boolean(),
  }),
  tokens: z.object({ calls_flush_interval: count(), hash_rounds: z.number().int().min(4).max(31) }),
  security: z.object({
    auth_failures_per_minute: count(),
    auth_block_seconds: count(),
    auth_concurrent_per_address: z.number().int().min(1),
    auth_waiting_per_address: count(),
  }),
  fetch: z.object({ remote: z.object({ enabled: z.boolean(), allowed_hosts: stringList() }) }),
  slugify: z.object({
    enabled: z.boolean(),
    separator: z.string(),
    lowercase: z.boolean(),
    trim: z.boolean(),
    regexp: z.string(),
    lowercase_after_regexp: z.boolean(),
    strip_tags: z.boolean(),
  }),
  serializers: z.object({ frontmatter: z.object({ decode: frontmatterHeader, encode: frontmatterHeader }) }),
  parsers: z.object({
    markdown: z.object({
      commonmark: z.object({ html_input: z.enum(['allow', 'escape', 'strip']), allow_unsafe_links: z.boolean() }),
    }),
    shortcodes: z.object({
      opening_tag: z.string().min(1),
      closing_tag: z.string().min(1),
      closing_tag_marker: z.string().min(1),
      parameter_value_separator: z.string().min(1),
      parameter_value_delimiter: z.string().min(1),
      shortcodes: switches(),
    }),
    expressions: z.object({
      opening_variable_tag: z.string().min(1),
      closing_variable_tag: z.string().min(1),
      opening_block_tag: z.string().min(1),
      closing_block_tag: z.string().min(1),
      opening_comment_tag: z.string().min(1),
      closing_comment_tag: z.string().min(1),
      expressions: switches(),
    }),
  }),
  log: z.object({
    level: z.enum(LOG_LEVELS),
    // One JSON line per answered request (request id, method, route, status, duration, bytes).
    access: z.boolean(),
  }),
  admin: z.object({
    // The editors' web app at /admin (static files; it signs in with a token, like any client).
    enabled: z.boolean(),
  }),
  metrics: z.object({
    // Prometheus text at GET /metrics.
    enabled: z.boolean(),
    // When not empty, /metrics needs `Authorization: Bearer <token>` (compared in constant time);
    // when empty, only loopback clients may read it.
    token: z.string(),
  }),
  webhooks: z.object({
    endpoints: z.array(webhookEndpoint),
    max_attempts: z.number().int().min(1).max(100),
    backoff_base: z.number().min(0),
    backoff_max: z.number().min(0),
    timeout: z.number().positive(),
    log_size: z.number().int().min(1),
  }),
});

export type SchemaSettings = z.infer<typeof settingsSchema>;

type Issue = z.core.$ZodIssue;

function describeFound(issue: Issue): string {
  if (!('input' in issue) || issue.input === undefined) return 'nothing';
  // Never repeat a secret in an error message (it reaches logs and terminals).
  if (issue.path.some((key) => typeof key === 'string' && /secret/i.test(key))) return '(a value, not shown)';
  const text = JSON.stringify(issue.input);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function describeExpected(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'int') return 'a whole number';
      if (issue.expected === 'array') return 'a list';
      if (issue.expected === 'object') return 'a map';
      return `a ${issue.expected}`;
    case 'invalid_value':
      return `one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'too_small':
      return issue.origin === 'string' ? 'a non-empty string' : `a number of at least ${String(issue.minimum)}`;
    case 'too_big':
      return `a number of at most ${String(issue.maximum)}`;
    case 'invalid_format':
    case 'custom':
    case 'invalid_union':
      return issue.message;
    default:
      return issue.message;
  }
}

/**
 * One readable line per problem: where (dot path, and the variable that set it when `origin` knows
 * one), what was expected, what was found.
 */
export function describeIssues(issues: readonly Issue[], origin?: (dotPath: string) => string | undefined): string[] {
  return issues.map((issue) => {
    const dotPath = issue.path.map(String).join('.');
    const variable = dotPath === '' ? undefined : origin?.(dotPath);
    const where = issue.path.length > 0 ? `${dotPath}${variable ? ` (from ${variable})` : ''}` : '(the whole file)';
    return `${where}: expected ${describeExpected(issue)}, found ${describeFound(issue)}`;
  });
}
