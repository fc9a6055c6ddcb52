/**
 * Every operation of the API in one catalogue: parameters and answers (zod schemas), the API
 * switch, scope and credentials it needs. Routes pass their entry to the guard, so the parameters
 * it requires, the scope it checks and what the OpenAPI document says are one definition.
 */
import { z } from 'zod';
import type { Scope } from '../../core/tokens/scopes.js';
import type { ApiName } from '../../core/tokens/service.js';
import type { GuardOptions } from '../auth.js';
import * as S from './schemas.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
export type Tag = 'Entries' | 'Tokens' | 'Registry' | 'Cache' | 'Query' | 'Documentation';

export interface Answer {
  description: string;
  schema?: z.ZodType;
  /** Response headers: etag, total (X-Total-Count, X-Skipped-Count). */
  headers?: ('etag' | 'total')[];
}

export interface Operation extends GuardOptions {
  operationId: string;
  method: Method;
  path: string;
  tag: Tag;
  summary: string;
  description?: string;
  /** GET: query parameters; otherwise the body (JSON or form brackets; query parameters merge in). */
  params: z.ZodObject;
  /** Writes that honour If-Match (412 on a stale ETag). */
  ifMatch?: boolean;
  /** Reads that answer 304 to a current If-None-Match. */
  conditionalRead?: boolean;
  answers: Record<number, Answer>;
  /** Error statuses besides those every authenticated call may give (400, 401, 429, 500). */
  errors: number[];
}

const CREDENTIAL_NAMES = new Set(['token', 'access_token']);

/** The names the guard requires (besides credentials): the schema's required keys, in schema order. */
export function requiredOf(params: z.ZodObject): string[] {
  return Object.entries(params.shape)
    .filter(([name, schema]) => !CREDENTIAL_NAMES.has(name) && !(schema as z.ZodType).safeParse(undefined).success)
    .map(([name]) => name);
}

type Spec = Omit<Operation, 'required' | 'api' | 'scope' | 'requireAccess'> & { api: ApiName; scope: Scope | readonly Scope[]; requireAccess: boolean };

function operation(spec: Spec): Operation {
  return { ...spec, required: requiredOf(spec.params) };
}

const id = z.string().meta({ description: 'Entry id: folder path below entries/ ("" for the root collection)', examples: ['movies/sg-1'] });
const newId = z.string().meta({ description: 'The target id', examples: ['movies/sg-2'] });
const WRITE_ERRORS = [404, 409, 413, 415, 507];

const entryAnswer: Answer = { description: 'The entry as fetched (rendered)', schema: S.Entry, headers: ['etag'] };
const noContent: Answer = { description: 'Done; empty body' };

const entriesRead = { api: 'entries', scope: 'entries:read', requireAccess: false, tag: 'Entries' } as const;
const entriesWrite = { api: 'entries', scope: 'entries:write', requireAccess: true, tag: 'Entries' } as const;
const tokensWrite = { api: 'tokens', scope: 'tokens:write', requireAccess: true, tag: 'Tokens' } as const;

export const OPERATIONS = {
  fetchEntry: operation({
    ...entriesRead,
    operationId: 'fetchEntry',
    method: 'GET',
    path: '/api/v1/entries',
    summary: 'Fetch an entry, or the collection below it',
    description:
      'Without options[collection] the entry itself; with it the entries below `id` keyed by id (X-Total-Count: matches before offset/limit). ' +
      'options[filter][group_by] answers groups; return=first|last|random answers one entry.',
    params: z.object({ id, options: S.FetchOptions.optional() }),
    conditionalRead: true,
    answers: {
      200: { description: 'The entry, a collection, or groups', schema: z.union([S.Entry, S.EntryCollection, S.EntryGroups]), headers: ['etag', 'total'] },
    },
    errors: [404, 503],
  }),
  createEntry: operation({
    ...entriesWrite,
    operationId: 'createEntry',
    method: 'POST',
    path: '/api/v1/entries',
    summary: 'Create an entry',
    description: 'The parent of a nested id must exist (404). An existing id is 400.',
    params: z.object({ id, data: S.Fields.optional(), ...S.secretCredentials }),
    answers: { 200: entryAnswer },
    errors: WRITE_ERRORS,
  }),
  updateEntry: operation({
    ...entriesWrite,
    operationId: 'updateEntry',
    method: 'PATCH',
    path: '/api/v1/entries',
    summary: 'Update an entry (shallow merge of data)',
    params: z.object({ id, data: S.Fields, ...S.secretCredentials }),
    ifMatch: true,
    answers: { 200: entryAnswer },
    errors: WRITE_ERRORS,
  }),
  moveEntry: operation({
    ...entriesWrite,
    operationId: 'moveEntry',
    method: 'PUT',
    path: '/api/v1/entries',
    summary: 'Move an entry and its children',
    params: z.object({ id, new_id: newId, ...S.secretCredentials }),
    ifMatch: true,
    answers: { 200: entryAnswer, 204: { description: 'Moved; the entry file cannot be shown (unreadable)' } },
    errors: WRITE_ERRORS,
  }),
  copyEntry: operation({
    ...entriesWrite,
    operationId: 'copyEntry',
    method: 'PUT',
    path: '/api/v1/entries/copy',
    summary: 'Copy an entry and its children (the copy gets a new uuid)',
    params: z.object({ id, new_id: newId, ...S.secretCredentials }),
    answers: { 200: entryAnswer },
    errors: WRITE_ERRORS,
  }),
  deleteEntry: operation({
    ...entriesWrite,
    operationId: 'deleteEntry',
    method: 'DELETE',
    path: '/api/v1/entries',
    summary: 'Delete an entry and its children',
    params: z.object({ id, ...S.secretCredentials }),
    ifMatch: true,
    answers: { 204: noContent },
    errors: WRITE_ERRORS,
  }),
  fetchEntrySource: operation({
    ...entriesWrite,
    operationId: 'fetchEntrySource',
    method: 'GET',
    path: '/api/v1/entries/source',
    summary: "An entry's stored text, as is (the raw editor)",
    description: 'The whole file, private `_` fields included: it needs write access (entries:write and the access token).',
    params: z.object({ id }),
    answers: {
      200: {
        description: 'The stored text, its format and ETag',
        schema: z.object({
          id: z.string(),
          source: z.string(),
          format: z.string(),
          extension: z.string(),
          etag: z.string(),
          fields: z.record(z.string(), z.unknown()).nullable().meta({ description: 'The stored fields, unrendered; null when the text does not parse' }),
        }),
        headers: ['etag'],
      },
    },
    errors: [404],
  }),
  saveEntrySource: operation({
    ...entriesWrite,
    operationId: 'saveEntrySource',
    method: 'PUT',
    path: '/api/v1/entries/source',
    summary: "Replace an entry's stored text (it must parse in the entry's format)",
    description: 'A text that does not parse is 400 and nothing is written. Use If-Match: a stale ETag is 412.',
    params: z.object({ id, source: z.string().meta({ description: 'The whole entry file' }), ...S.secretCredentials }),
    ifMatch: true,
    answers: { 200: entryAnswer },
    errors: WRITE_ERRORS,
  }),
  previewEntry: operation({
    ...entriesWrite,
    operationId: 'previewEntry',
    method: 'POST',
    path: '/api/v1/entries/preview',
    summary: 'Render fields as entry `id` would answer them, storing nothing (the editor preview)',
    params: z.object({ id, data: S.Fields, ...S.secretCredentials }),
    answers: { 200: { description: 'The rendered fields', schema: S.Entry } },
    errors: [413, 415],
  }),
  watchChanges: operation({
    ...entriesRead,
    operationId: 'watchChanges',
    method: 'GET',
    path: '/api/v1/changes',
    summary: 'Server-sent events: entries changing (through the API, on disk, on another node)',
    description:
      'A text/event-stream. Each `change` event carries JSON `{"kind": "entry"|"subtree", "id": …, "origin": "api"|"outside"}`; ' +
      '`clear` means everything may have changed (refetch). Tokens are never reported. The stream ends after a few minutes; reconnect (and refetch: events may have been missed).',
    params: z.object({}),
    answers: { 200: { description: 'An event stream (text/event-stream)' } },
    errors: [503],
  }),
  fetchToken: operation({
    api: 'tokens',
    scope: 'tokens:read',
    requireAccess: true,
    tag: 'Tokens',
    operationId: 'fetchToken',
    method: 'GET',
    path: '/api/v1/tokens',
    summary: 'Fetch a token entry, or the collection (id empty, options[collection]=true)',
    params: z.object({ id: z.string().meta({ description: 'The token ("" for the collection)' }), options: S.FetchOptions.optional() }),
    conditionalRead: true,
    answers: { 200: { description: 'The token entry or the collection', schema: z.union([S.TokenEntry, S.TokenCollection]), headers: ['etag', 'total'] } },
    errors: [404],
  }),
  createToken: operation({
    ...tokensWrite,
    operationId: 'createToken',
    method: 'POST',
    path: '/api/v1/tokens',
    summary: 'Create a token',
    description: 'The new token cannot get scopes the caller lacks (400).',
    params: z.object({ data: S.Fields.optional(), ...S.secretCredentials }),
    answers: { 200: { description: 'The new token and its access token (shown once)', schema: S.NewToken } },
    errors: [413, 415, 507],
  }),
  updateToken: operation({
    ...tokensWrite,
    operationId: 'updateToken',
    method: 'PATCH',
    path: '/api/v1/tokens',
    summary: 'Update a token entry',
    params: z.object({ id: z.string().meta({ description: 'The token to change' }), data: S.Fields, ...S.secretCredentials }),
    answers: { 200: { description: 'The token entry', schema: S.TokenEntry } },
    errors: [404, 413, 415, 507],
  }),
  deleteToken: operation({
    ...tokensWrite,
    operationId: 'deleteToken',
    method: 'DELETE',
    path: '/api/v1/tokens',
    summary: 'Delete a token',
    params: z.object({ id: z.string().meta({ description: 'The token to delete' }), ...S.secretCredentials }),
    answers: { 204: noContent },
    errors: [404, 413, 415],
  }),
  generateToken: operation({
    ...tokensWrite,
    operationId: 'generateToken',
    method: 'POST',
    path: '/api/v1/tokens/generate',
    summary: 'A new random token string (nothing stored)',
    params: z.object({ ...S.secretCredentials }),
    answers: { 200: { description: 'A token string', schema: S.GeneratedToken } },
    errors: [413, 415],
  }),
  generateHash: operation({
    ...tokensWrite,
    operationId: 'generateHash',
    method: 'POST',
    path: '/api/v1/tokens/generate-hash',
    summary: 'bcrypt hash of a string',
    params: z.object({ string: z.string(), ...S.secretCredentials }),
    answers: { 200: { description: 'The hash', schema: S.HashedToken } },
    errors: [413, 415],
  }),
  verifyHash: operation({
    ...tokensWrite,
    operationId: 'verifyHash',
    method: 'POST',
    path: '/api/v1/tokens/verify-hash',
    summary: 'Check a string against a bcrypt hash',
    params: z.object({ string: z.string(), hash: z.string(), ...S.secretCredentials }),
    answers: { 200: { description: 'Whether it matches', schema: S.Verified } },
    errors: [413, 415],
  }),
  validateHash: operation({
    ...tokensWrite,
    operationId: 'validateHash',
    method: 'POST',
    path: '/api/v1/tokens/validate-hash',
    summary: 'Alias of verify-hash',
    params: z.object({ string: z.string(), hash: z.string(), ...S.secretCredentials }),
    answers: { 200: { description: 'Whether it matches', schema: S.Verified } },
    errors: [413, 415],
  }),
  describeSelf: operation({
    api: 'tokens',
    scope: [],
    requireAccess: true,
    tag: 'Tokens',
    operationId: 'describeSelf',
    method: 'GET',
    path: '/api/v1/tokens/self',
    summary: "What the calling token may do: its scopes (null: all), call limit and expiry",
    description: 'Needs the token and its access token, no scope (a token with `scopes: []` may ask too). Counts as a call.',
    params: z.object({}),
    answers: {
      200: {
        description: "The token's powers",
        schema: z.object({ scopes: z.array(z.string()).nullable(), limit_calls: z.number(), expires_at: z.number().nullable() }),
      },
    },
    errors: [],
  }),
  getRegistry: operation({
    api: 'registry',
    scope: 'registry:read',
    requireAccess: false,
    tag: 'Registry',
    operationId: 'getRegistry',
    method: 'GET',
    path: '/api/v1/registry',
    summary: 'Read a registry value (settings and manifest)',
    params: z.object({
      id: z.string().meta({ description: 'Dot path', examples: ['flextype.manifest.name'] }),
      default: z.unknown().optional().meta({ description: 'Answered when the key is missing (else 404)' }),
    }),
    conditionalRead: true,
    answers: { 200: { description: 'The value', schema: S.RegistryValue, headers: ['etag'] } },
    errors: [404],
  }),
  clearCache: operation({
    api: 'cache',
    scope: 'cache:write',
    requireAccess: true,
    tag: 'Cache',
    operationId: 'clearCache',
    method: 'POST',
    path: '/api/v1/cache/clear',
    summary: 'Drop every cache (files stay untouched)',
    params: z.object({ ...S.secretCredentials }),
    answers: { 204: noContent },
    errors: [413, 415],
  }),
  runQuery: operation({
    api: 'query',
    scope: ['entries:read', 'registry:read'],
    requireAccess: true,
    tag: 'Query',
    operationId: 'runQuery',
    method: 'POST',
    path: '/api/v1/query',
    summary: 'Evaluate a map of expressions',
    description: 'A leaf that fails to parse or evaluate is 400 with a detail naming its key.',
    params: z.object({ query: S.QueryMap, ...S.secretCredentials }),
    answers: { 200: { description: 'The results', schema: S.QueryResult } },
    errors: [413, 415],
  }),
} satisfies Record<string, Operation>;

export type OperationName = keyof typeof OPERATIONS;

/** Endpoints without credentials: the description itself and its docs page. */
export const PUBLIC_PATHS = {
  openapi: '/api/v1/openapi.json',
  docs: '/api/v1/docs',
} as const;
