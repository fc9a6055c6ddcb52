/**
 * The one JSON path out: ordered collection bodies, ETag and 304, Cache-Control, compression, and
 * large collections streamed item by item.
 */
import { pipeline as pipe, Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../core/errors.js';
import type { FilterResult, Item } from '../core/query/filter.js';
import { hashEtag } from '../core/store/store.js';
import { byteCounter } from './pipeline/fastify.js';
import type { Pipeline } from './pipeline/index.js';
import { compress, compressor, withVary } from './pipeline/negotiation.js';

export const JSON_TYPE = 'application/json; charset=utf-8';

export interface ReplyOptions {
  /** Collection bodies longer than this (characters) are streamed instead of built in memory. */
  streamThreshold: number;
}

/** Pieces of a streamed answer handed to the socket at a time. */
const STREAM_CHUNK = 64 * 1024;

/** An object's JSON, one piece per item; keys are written in result order, even ids that look like integers. */
function* itemPieces(items: readonly Item[]): Generator<string> {
  yield '{';
  for (let i = 0; i < items.length; i++) yield (i > 0 ? ',' : '') + JSON.stringify(items[i]!.id) + ':' + JSON.stringify(items[i]!.data);
  yield '}';
}

/** A collection result's JSON text, a piece at a time (nothing is built beyond the current piece). */
function* collectionPieces(result: FilterResult): Generator<string> {
  switch (result.kind) {
    case 'items':
      yield* itemPieces(result.items);
      return;
    case 'groups':
      yield '{';
      // Each group is a list of its items, as the reference answers (not a map keyed by id).
      for (let i = 0; i < result.groups.length; i++) {
        const members = result.groups[i]!.items;
        yield (i > 0 ? ',' : '') + JSON.stringify(result.groups[i]!.key) + ':[';
        for (let j = 0; j < members.length; j++) yield (j > 0 ? ',' : '') + JSON.stringify(members[j]!.data);
        yield ']';
      }
      yield '}';
      return;
    case 'single':
      yield JSON.stringify(result.item.data);
      return;
    case 'none':
      throw notFound('nothing matched');
  }
}

/** Renders a collection result; `total` goes to X-Total-Count. */
export function renderCollection(result: FilterResult): { body: string; total?: number } {
  const total = result.kind === 'items' || result.kind === 'groups' ? result.total : undefined;
  return { body: [...collectionPieces(result)].join(''), total };
}

/** Joins pieces into chunks, yielding to other requests between chunks; pulled only as fast as the socket drains. */
async function* chunksOf(first: string, rest: Iterator<string>): AsyncGenerator<string> {
  yield first;
  let chunk = '';
  for (let next = rest.next(); !next.done; next = rest.next()) {
    chunk += next.value;
    if (chunk.length >= STREAM_CHUNK) {
      yield chunk;
      chunk = '';
      await nextTurn();
    }
  }
  if (chunk !== '') yield chunk;
}

/** Replies through the pipeline: its negotiation, compression and ETag rules. */
export function createReplier(pipeline: Pipeline, options: ReplyOptions) {
  /** Sends a GET answer: 304 when the client's copy is current, compressed when worth it. */
  async function sendRead(request: FastifyRequest, reply: FastifyReply, body: string, etag?: string): Promise<FastifyReply> {
    const tag = etag ?? hashEtag(body);
    reply.header('etag', tag).header('cache-control', pipeline.cacheControl);
    if (pipeline.notModified(request.headers['if-none-match'], tag)) return reply.code(304).send();
    return sendBody(request, reply, 200, body);
  }

  async function sendBody(request: FastifyRequest, reply: FastifyReply, status: number, body: string): Promise<FastifyReply> {
    reply.code(status).header('content-type', JSON_TYPE);
    const coding = pipeline.codingFor(request.headers['accept-encoding'], body.length);
    // Added to, not replacing, the Vary: Origin that CORS may have set.
    if (coding !== undefined || pipeline.mayCompress(body.length)) reply.header('vary', withVary(reply.getHeader('vary') as string | undefined, 'Accept-Encoding'));
    if (coding !== undefined) return reply.header('content-encoding', coding).send(await compress(body, coding));
    return reply.send(body);
  }

  /**
   * Sends a collection: like sendRead while the body stays under the stream threshold; a larger
   * one is streamed, each item serialized only when the socket has taken the previous chunk
   * (backpressure), so memory stays flat however large the answer. A streamed answer has no
   * ETag (and no 304): the tag would need the whole body before the first byte is sent.
   */
  async function sendCollection(request: FastifyRequest, reply: FastifyReply, result: FilterResult): Promise<FastifyReply> {
    const pieces = collectionPieces(result);
    let head = '';
    while (head.length < options.streamThreshold) {
      const next = pieces.next();
      if (next.done) return sendRead(request, reply, head);
      head += next.value;
    }
    reply.code(200).header('content-type', JSON_TYPE).header('cache-control', pipeline.cacheControl);
    reply.header('vary', withVary(reply.getHeader('vary') as string | undefined, 'Accept-Encoding'));
    const source = Readable.from(chunksOf(head, pieces), { objectMode: false });
    // A failure mid-stream can only cut the answer short (the status is sent): the client sees a truncated body.
    const done = () => undefined;
    const coding = pipeline.codingFor(request.headers['accept-encoding'], Infinity);
    if (coding !== undefined) {
      reply.header('content-encoding', coding);
      return reply.send(pipe(source, compressor(coding), byteCounter(request), done));
    }
    return reply.send(pipe(source, byteCounter(request), done));
  }

  return { sendRead, sendBody, sendCollection };
}

export type Replier = ReturnType<typeof createReplier>;
