/** The OpenAPI 3.1 document, built from the operation catalogue and the error catalogue. */
import { z } from 'zod';
import { ERRORS } from '../errors.js';
import { OPERATIONS, PUBLIC_PATHS, type Operation } from './operations.js';
import { ErrorBody } from './schemas.js';

type Json = Record<string, unknown>;

const COMPONENT_REF = '#/components/schemas/';

/** Converts zod schemas to JSON Schema 2020-12, collecting every schema with an id as a component. */
class SchemaSet {
  readonly components: Record<string, Json> = {};

  ref(schema: z.ZodType): Json {
    const converted = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io: 'input',
      unrepresentable: 'any',
      cycles: 'ref',
      reused: 'inline',
    }) as Json;
    const defs = (converted['$defs'] ?? {}) as Record<string, Json>;
    delete converted['$defs'];
    delete converted['$schema'];
    for (const [name, def] of Object.entries(defs)) this.components[name] ??= rewriteRefs(def) as Json;
    const id = z.globalRegistry.get(schema)?.id;
    if (id) {
      // The root of a schema with an id becomes a component too; answers refer to it.
      this.components[id] ??= rewriteRefs(converted) as Json;
      return { $ref: COMPONENT_REF + id };
    }
    return rewriteRefs(converted) as Json;
  }
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = key === '$ref' && typeof item === 'string' ? item.replace('#/$defs/', COMPONENT_REF) : rewriteRefs(item);
  }
  return out;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  408: 'RequestTimeout',
  409: 'Conflict',
  412: 'PreconditionFailed',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
  431: 'HeadersTooLarge',
  500: 'ServerError',
  503: 'ServiceUnavailable',
  507: 'InsufficientStorage',
};

/** One response component per error status, its examples taken from the error catalogue. */
function errorResponses(): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [status, name] of Object.entries(STATUS_NAMES)) {
    const kinds = Object.entries(ERRORS).filter(([, kind]) => kind.status === Number(status));
    const examples: Record<string, Json> = {};
    for (const [code, kind] of kinds) {
      examples[code] = { value: { title: kind.title, message: kind.message, http_status_code: kind.status } };
    }
    const headers: Json = {};
    if (status === '429' || status === '503') headers['Retry-After'] = { $ref: '#/components/headers/RetryAfter' };
    if (status === '405') headers['Allow'] = { description: 'The methods of this path', schema: { type: 'string' } };
    out[name] = {
      description: kinds.map(([, kind]) => `${kind.title}: ${kind.message}`).join('; '),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: { 'application/json': { schema: { $ref: `${COMPONENT_REF}Error` }, examples } },
    };
  }
  return out;
}

const responseRef = (status: number) => ({ $ref: `#/components/responses/${STATUS_NAMES[status]}` });

function scopesOf(op: Operation): string[] {
  return typeof op.scope === 'string' ? [op.scope] : [...op.scope];
}

/** Which credential combinations an operation accepts; body parameters are the seed's other way. */
function securityOf(op: Operation): Json[] {
  const scopes = scopesOf(op);
  if (!op.requireAccess) return [{ tokenQuery: scopes }, { bearer: scopes }];
  return [
    { bearer: scopes, accessTokenHeader: scopes },
    { tokenQuery: scopes, accessTokenQuery: scopes },
    { tokenQuery: scopes, accessTokenHeader: scopes },
  ];
}

function isObjectSchema(schema: z.ZodType): boolean {
  const inner = schema instanceof z.ZodOptional ? schema.unwrap() : schema;
  return inner instanceof z.ZodObject || inner instanceof z.ZodRecord;
}

function operationObject(op: Operation, schemas: SchemaSet): Json {
  const parameters: Json[] = [];
  let requestBody: Json | undefined;
  const shape = op.params.shape as Record<string, z.ZodType>;
  if (op.method === 'GET') {
    for (const [name, schema] of Object.entries(shape)) {
      const meta = z.globalRegistry.get(schema);
      const parameter: Json = { name, in: 'query', required: op.required.includes(name), schema: schemas.ref(schema) };
      if (meta?.description) parameter['description'] = meta.description;
      if (name === 'id') parameter['allowEmptyValue'] = true;
      if (isObjectSchema(schema)) {
        // PHP bracket syntax: options[filter][where][0][key]=year (nested deeper than deepObject's one level).
        parameter['style'] = 'deepObject';
        parameter['explode'] = true;
        parameter['description'] = `${meta?.description ?? ''} Nested keys in brackets: ${name}[filter][where][0][key]=year&${name}[filter][where][0][operator]=gte&${name}[filter][where][0][value]=2000, ${name}[filter][sort_by][key]=year, ${name}[filter][limit]=10.`.trim();
      }
      parameters.push(parameter);
    }
    if (op.conditionalRead) parameters.push({ $ref: '#/components/parameters/IfNoneMatch' });
  } else {
    const body = schemas.ref(op.params);
    const encoding: Json = {};
    for (const [name, schema] of Object.entries(shape)) {
      if (isObjectSchema(schema)) encoding[name] = { style: 'deepObject', explode: true };
    }
    requestBody = {
      required: op.required.length > 0,
      description: 'JSON, or a form with PHP brackets (data[title]=Foo; form values stay strings). Query-string parameters are merged in.',
      content: {
        'application/json': { schema: body },
        'application/x-www-form-urlencoded': { schema: body, ...(Object.keys(encoding).length > 0 ? { encoding } : {}) },
      },
    };
  }
  if (op.ifMatch) parameters.push({ $ref: '#/components/parameters/IfMatch' });

  const responses: Json = {};
  for (const [status, answer] of Object.entries(op.answers)) {
    const headers: Json = {};
    if (answer.headers?.includes('etag')) headers['ETag'] = { $ref: '#/components/headers/ETag' };
    if (answer.headers?.includes('total')) {
      headers['X-Total-Count'] = { $ref: '#/components/headers/XTotalCount' };
      headers['X-Skipped-Count'] = { $ref: '#/components/headers/XSkippedCount' };
    }
    responses[status] = {
      description: answer.description,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(answer.schema ? { content: { 'application/json': { schema: schemas.ref(answer.schema) } } } : {}),
    };
  }
  if (op.conditionalRead) responses['304'] = { description: 'Not modified (If-None-Match matched)', headers: { ETag: { $ref: '#/components/headers/ETag' } } };
  const errors = new Set([400, 401, 429, 500, ...op.errors, ...(op.ifMatch ? [412] : [])]);
  for (const status of [...errors].sort((a, b) => a - b)) responses[String(status)] = responseRef(status);
  responses['default'] = { $ref: '#/components/responses/Default' };

  const scopes = scopesOf(op);
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    description: [
      op.description,
      `Scope: ${scopes.join(' and ')}. Credentials: token${op.requireAccess ? ' and access_token' : ''} (parameters, or Authorization: Bearer${op.requireAccess ? ' and X-Access-Token' : ''}). API switch: api.${op.api}.enabled.`,
    ]
      .filter(Boolean)
      .join('\n\n'),
    'x-flextype-scopes': scopes,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
    security: securityOf(op),
  };
}

export interface DocumentInfo {
  version: string;
  /** Whether GET /metrics is served (settings metrics.enabled). */
  metrics?: boolean;
}

const JSON_TYPE = 'application/json';
const STATUS_OK = { type: 'object', properties: { status: { const: 'ok' } }, required: ['status'] };
const READINESS = {
  type: 'object',
  properties: {
    status: { enum: ['ready', 'not_ready'] },
    checks: {
      type: 'object',
      description: '"ok", or what is not ready',
      properties: { store: { type: 'string' }, storage: { type: 'string' } },
      required: ['store', 'storage'],
    },
  },
  required: ['status', 'checks'],
};

/** Health, readiness and metrics (routes/ops.ts): no API token; /metrics has its own rule. */
function operationsPaths(metrics: boolean): Record<string, Json> {
  const paths: Record<string, Json> = {
    '/api/v1/health': {
      get: {
        operationId: 'getHealth',
        tags: ['Operations'],
        summary: 'Liveness: 200 while the process serves',
        security: [],
        responses: { 200: { description: 'Alive', content: { [JSON_TYPE]: { schema: STATUS_OK } } } },
      },
    },
    '/api/v1/ready': {
      get: {
        operationId: 'getReady',
        tags: ['Operations'],
        summary: 'Readiness: 200 once the entries are loaded and the storage answers, else 503',
        security: [],
        responses: {
          200: { description: 'Ready', content: { [JSON_TYPE]: { schema: READINESS } } },
          503: { description: 'Not ready; the checks say what is not', content: { [JSON_TYPE]: { schema: READINESS } } },
        },
      },
    },
  };
  if (metrics) {
    paths['/metrics'] = {
      get: {
        operationId: 'getMetrics',
        tags: ['Operations'],
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        description: 'With settings metrics.token set: `Authorization: Bearer <metrics.token>`; without: loopback clients only.',
        security: [],
        responses: {
          200: { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
          401: { description: 'Missing or wrong metrics token, or not a local client', content: { [JSON_TYPE]: { schema: { $ref: `${COMPONENT_REF}Error` } } } },
        },
      },
    };
  }
  return paths;
}

export function buildOpenApiDocument(info: DocumentInfo): Json {
  const schemas = new SchemaSet();
  schemas.ref(ErrorBody);
  const paths: Record<string, Json> = {};
  for (const op of Object.values(OPERATIONS) as Operation[]) {
    paths[op.path] ??= {};
    paths[op.path]![op.method.toLowerCase()] = operationObject(op, schemas);
  }
  paths[PUBLIC_PATHS.openapi] = {
    get: {
      operationId: 'getOpenApi',
      tags: ['Documentation'],
      summary: 'This OpenAPI 3.1 document',
      security: [],
      responses: { 200: { description: 'The document', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  };
  paths[PUBLIC_PATHS.docs] = {
    get: {
      operationId: 'getDocs',
      tags: ['Documentation'],
      summary: 'Interactive documentation of this API (Swagger UI)',
      security: [],
      responses: { 200: { description: 'An HTML page', content: { 'text/html': { schema: { type: 'string' } } } } },
    },
  };
  Object.assign(paths, operationsPaths(info.metrics ?? true));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Flextype-compatible REST API',
      version: info.version,
      description:
        'A headless flat-file CMS with a Flextype 1.0 compatible REST API. GET parameters go in the query string, ' +
        'write parameters in a JSON or form body (query and body are merged); nested values use PHP brackets ' +
        '(options[filter][where][0][key]=year). Every error answers the body of the Error schema.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: [
      { name: 'Entries', description: 'Content entries (folders under entries/)' },
      { name: 'Tokens', description: 'API tokens; each call needs a token, writes its access token too' },
      { name: 'Registry', description: 'Read-only settings and manifest' },
      { name: 'Cache', description: 'Server caches' },
      { name: 'Query', description: 'Expressions evaluated on the server' },
      { name: 'Documentation', description: 'This description and its docs page' },
      { name: 'Operations', description: 'Health, readiness and Prometheus metrics for operators' },
    ],
    paths,
    components: {
      schemas: schemas.components,
      responses: {
        ...errorResponses(),
        Default: { description: 'Any other error (405 with Allow, 408, 431, …)', content: { 'application/json': { schema: { $ref: `${COMPONENT_REF}Error` } } } },
      },
      parameters: {
        IfMatch: { name: 'If-Match', in: 'header', required: false, description: 'ETag of the entry as last read: a stale one is refused with 412 and changes nothing', schema: { type: 'string' } },
        IfNoneMatch: { name: 'If-None-Match', in: 'header', required: false, description: 'ETag(s) of the copy held: 304 when current', schema: { type: 'string' } },
      },
      headers: {
        ETag: { description: 'Version of this answer (for If-None-Match and If-Match)', schema: { type: 'string' } },
        XTotalCount: { description: 'Collections: matches before offset/limit (groups with group_by)', schema: { type: 'integer' } },
        XSkippedCount: { description: 'Collections: unreadable entries left out', schema: { type: 'integer' } },
        RetryAfter: { description: 'Seconds to wait', schema: { type: 'integer' } },
      },
      securitySchemes: {
        tokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'The public token as a parameter (in a body for writes, the seed’s way)' },
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <token>' },
        accessTokenHeader: { type: 'apiKey', in: 'header', name: 'X-Access-Token', description: 'The secret access token' },
        accessTokenQuery: { type: 'apiKey', in: 'query', name: 'access_token', description: 'The secret access token as a parameter (in a body for writes)' },
      },
    },
  };
}
