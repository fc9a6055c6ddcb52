/**
 * `flextype-ts/client`: a typed, fetch-based client for the REST API (ESM, no dependencies, no
 * server code). `createClient({ baseUrl, token, accessToken })`, then `client.entries.get(id)` …
 */
export { createClient, etagOf, FlextypeClient, type ClientOptions, type Version, type WriteOptions } from './client.js';
export { FlextypeError } from './errors.js';
export { appendBrackets, orderedMembers, toQueryString } from './encode.js';
export type * from './types.js';
