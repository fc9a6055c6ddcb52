/**
 * The one JSON path out: ordered collection bodies, ETag and 304, Cache-Control, compression.
 */
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../core/errors.js';
import type { FilterResult, Item } from '../core/query/filter.js';
import { etagListIncludes, hashEtag } from '../core/store.js';
import { chooseEncoding, withVary } from './negotiation.js';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

export const JSON_TYPE = 'application/json; charset=utf-8';

export interface ReplyOptions {
  cacheControl: string;
  compressThreshold: number;
}

/** Object keys are written in result order, even ids that look like integers. */
function objectOf(pairs: [string, string][]): string {
  let out = '{';
  for (let i = 0; i < pairs.length; i++) {
    if (i > 0) out += ',';
    out += JSON.stringify(pairs[i]![0]) + ':' + pairs[i]![1];
  }
  return out + '}';
}

function itemsBody(items: Item[]): string {
  return objectOf(items.map((item) => [item.id, JSON.stringify(item.data)]));
}

/** Renders a collection result; `total` goes to X-Total-Count. */
export function renderCollection(result: FilterResult): { body: string; total?: number } {
  switch (result.kind) {
    case 'items':
      return { body: itemsBody(result.items), total: result.total };
    case 'groups':
      return { body: objectOf(result.groups.map((g) => [g.key, itemsBody(g.items)])), total: result.total };
    case 'single':
      return { body: JSON.stringify(result.item.data) };
    case 'none':
      throw notFound('nothing matched');
  }
}

export function createReplier(options: ReplyOptions) {
  /** Sends a GET answer: 304 when the client's copy is current, compressed when worth it. */
  async function sendRead(request: FastifyRequest, reply: FastifyReply, body: string, etag?: string): Promise<FastifyReply> {
    const tag = etag ?? hashEtag(body);
    reply.header('etag', tag).header('cache-control', options.cacheControl);
    if (etagListIncludes(request.headers['if-none-match'], tag)) return reply.code(304).send();
    return sendBody(request, reply, 200, body);
  }

  async function sendBody(request: FastifyRequest, reply: FastifyReply, status: number, body: string): Promise<FastifyReply> {
    reply.code(status).header('content-type', JSON_TYPE);
    if (body.length >= options.compressThreshold) {
      // Added to, not replacing, the Vary: Origin that CORS may have set.
      reply.header('vary', withVary(reply.getHeader('vary') as string | undefined, 'Accept-Encoding'));
      const coding = chooseEncoding(request.headers['accept-encoding']);
      if (coding === 'br') {
        const compressed = await brotliAsync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } });
        return reply.header('content-encoding', 'br').send(compressed);
      }
      if (coding === 'gzip') {
        return reply.header('content-encoding', 'gzip').send(await gzipAsync(body, { level: 6 }));
      }
    }
    return reply.send(body);
  }

  return { sendRead, sendBody };
}

export type Replier = ReturnType<typeof createReplier>;
