/**
 * The shapes of the API's parameters and answers, as zod schemas with component ids. They are
 * the source of the OpenAPI document (converted by `z.toJSONSchema`) and of each route's list of
 * required parameters (operations.ts); the content core keeps checking values with its own messages.
 */
import { z } from 'zod';
import { SCOPES } from '../../core/tokens/scopes.js';
import { OPERATORS } from '../../core/query/where.js';

/** Values from a query string or a form are strings, from JSON typed: both are accepted. */
const intLike = z.union([z.int().min(0), z.string().regex(/^\d+$/)]);
const flag = z.union([z.boolean(), z.literal(0), z.literal(1), z.string()]);
const stringList = z.union([z.string(), z.array(z.string())]);
const comparisons = z.union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))]);
const direction = z.string().regex(/^(asc|desc|ASC|DESC|Asc|Desc)$/);

export const ErrorBody = z
  .object({
    title: z.string().meta({ description: 'Short name of the status (e.g. "Bad Request")' }),
    message: z.string().meta({ description: 'The fixed message of this kind of error' }),
    http_status_code: z.int().meta({ description: 'The HTTP status again' }),
    detail: z.string().optional().meta({ description: 'What exactly was wrong (parameter, entry, token state)' }),
  })
  .strict()
  .meta({ id: 'Error', description: 'Every error answer has this body; never a stack trace.' });

export const WhereCondition = z
  .object({
    key: z.string().meta({ description: 'Dot path into the entry (e.g. "specs.year")' }),
    operator: z
      .string()
      .optional()
      .meta({ description: `Case-insensitive, default "eq". One of: ${OPERATORS.join(' ')}`, examples: ['eq', '>=', 'in', 'contains', 'regexp'] }),
    value: z.unknown().meta({ description: 'Compared type-aware: a numeric or boolean string matches a number or boolean field' }),
  })
  .meta({ id: 'WhereCondition', description: 'One condition; an entry lacking the key never matches.' });

export type WhereItemShape = z.infer<typeof WhereCondition> | { or: WhereItemShape[] } | { and: WhereItemShape[] };

export const WhereItem: z.ZodType<WhereItemShape> = z
  .union([
    WhereCondition,
    z.object({ get or() { return z.array(WhereItem); } }).strict(),
    z.object({ get and() { return z.array(WhereItem); } }).strict(),
  ])
  .meta({ id: 'WhereItem', description: 'A condition, or a group {"or": [...]} / {"and": [...]} (nestable).' });

const SortBy = z.union([
  z.string(),
  z.object({ key: z.string().meta({ description: 'Dot path' }), direction: direction.optional().meta({ description: 'ASC (default) or DESC' }) }),
]);

export const FindOptions = z
  .object({
    depth: comparisons.optional().meta({ description: 'Depth below id: "1" (default), "> 1", ["> 1", "< 5"]' }),
    date: comparisons.optional().meta({ description: 'File modification date comparisons: ">= 2018-01-01"' }),
    size: comparisons.optional().meta({ description: 'File size comparisons: ">= 1K", "<= 2Mi"' }),
    exclude: stringList.optional().meta({ description: 'Folder name(s) to skip' }),
    path: stringList.optional().meta({ description: 'Only ids containing this fragment or matching a /regex/' }),
    contains: stringList.optional().meta({ description: 'Public fields or content include this text' }),
    not_contains: stringList.optional().meta({ description: 'Public fields and content do not include this text' }),
    sort_by: z
      .union([z.enum(['mtime', 'ctime', 'atime']), z.object({ key: z.enum(['mtime', 'ctime', 'atime']), direction: direction.optional() })])
      .optional(),
    direction: direction.optional(),
  })
  .meta({ id: 'FindOptions', description: 'Which files a collection visits.' });

export const FilterOptions = z
  .object({
    only: stringList.optional().meta({ description: 'Field names (dot paths) to keep; a list or a comma-separated string' }),
    except: stringList.optional().meta({ description: 'Field names (dot paths) to drop' }),
    where: z.array(WhereItem).optional().meta({ description: 'Every item must hold' }),
    group_by: z.string().optional().meta({ description: 'Answer an object of lists keyed by this field’s values' }),
    sort_by: SortBy.optional(),
    offset: intLike.optional(),
    limit: intLike.optional(),
    return: z
      .string()
      .regex(/^\s*(all|first|last|random|shuffle)(\s*[=:]\s*\d+)?\s*$/i)
      .optional()
      .meta({ description: 'all (default), first, last, random, random=N, shuffle' }),
    random: intLike.optional().meta({ description: 'Item count for return=random' }),
  })
  .meta({ id: 'FilterOptions', description: 'Applied in order: only, except, where, group_by, sort_by, offset, limit, return.' });

export const FetchOptions = z
  .object({
    collection: flag.optional().meta({ description: 'true, 1, "true", "on", "yes": answer the collection below id' }),
    find: FindOptions.optional(),
    filter: FilterOptions.optional(),
  })
  .meta({
    id: 'FetchOptions',
    description:
      'Nested options; in a query string with PHP brackets: options[collection]=true&options[filter][where][0][key]=year&options[filter][where][0][operator]=gte&options[filter][where][0][value]=2000',
  });

const timestamp = z.int().meta({ description: 'Unix time, seconds' });

export const Entry = z
  .looseObject({
    id: z.string().optional().meta({ description: 'Folder path below entries/' }),
    slug: z.string().optional(),
    uuid: z.string().optional(),
    published_at: timestamp.optional(),
    created_at: timestamp.optional(),
    modified_at: timestamp.optional(),
    published_by: z.string().optional(),
    created_by: z.string().optional(),
    routable: z.boolean().optional(),
    visibility: z.enum(['visible', 'draft', 'hidden']).optional(),
    content: z.unknown().optional().meta({ description: 'The body of a frontmatter file' }),
  })
  .meta({ id: 'Entry', description: 'A rendered entry, unwrapped: its fields are the top-level object; "_" fields are never answered.' });

export const EntryCollection = z
  .record(z.string(), Entry)
  .meta({ id: 'EntryCollection', description: 'Entries keyed by id, in result order.' });

export const EntryGroups = z
  .record(z.string(), z.array(Entry))
  .meta({ id: 'EntryGroups', description: 'With options[filter][group_by]: lists of entries keyed by the field’s value.' });

export const Fields = z
  .record(z.string(), z.unknown())
  .meta({ id: 'Fields', description: 'Field values to store (form-encoded values stay strings).' });

export const Scope = z.enum(SCOPES).meta({ id: 'Scope' });

export const TokenEntry = z
  .looseObject({
    id: z.string().optional().meta({ description: 'The token itself' }),
    state: z.enum(['enabled', 'disabled']).optional(),
    calls: z.int().optional(),
    limit_calls: z.int().optional().meta({ description: '0 = unlimited' }),
    scopes: z.array(Scope).optional().meta({ description: 'Absent: everything; [] nothing' }),
    expires_at: timestamp.optional(),
    uuid: z.string().optional(),
    created_at: timestamp.optional(),
    created_by: z.string().optional(),
    modified_at: timestamp.optional(),
  })
  .meta({ id: 'TokenEntry', description: 'A token entry; hashed_access_token is never answered.' });

export const TokenCollection = z.record(z.string(), TokenEntry).meta({ id: 'TokenCollection' });

export const NewToken = z
  .object({ token: z.string(), access_token: z.string().meta({ description: 'Shown once; only its hash is stored' }) })
  .meta({ id: 'NewToken' });
export const GeneratedToken = z.object({ token: z.string() }).meta({ id: 'GeneratedToken' });
export const HashedToken = z.object({ hashed_token: z.string() }).meta({ id: 'HashedToken' });
export const Verified = z.object({ verified: z.boolean() }).meta({ id: 'Verified' });
export const RegistryValue = z.object({ id: z.string(), value: z.unknown() }).meta({ id: 'RegistryValue' });

export type QueryMapShape = { [key: string]: string | QueryMapShape };
export const QueryMap: z.ZodType<QueryMapShape> = z
  .record(z.string(), z.union([z.string(), z.lazy(() => QueryMap)]))
  .meta({ id: 'QueryMap', description: 'Expressions to evaluate, nested; leaves are expression texts ({"sum": "1 + 1"}).' });
export const QueryResult = z
  .record(z.string(), z.unknown())
  .meta({ id: 'QueryResult', description: 'The values, typed JSON, same nesting; keys starting with "_" dropped.' });

/** Credentials in a body (the seed's way); headers are the alternative (security schemes). */
export const credentials = {
  token: z.string().optional().meta({ description: 'The public token (or Authorization: Bearer <token>)' }),
};
export const secretCredentials = {
  ...credentials,
  access_token: z.string().optional().meta({ description: 'The secret access token (or X-Access-Token header)' }),
};
