/**
 * The persisted index (`var/index/entries.idx`): the decoded fields of every entry with the
 * revision (inode, mtime, ctime, size) they were read at, so a restart re-checks file stats
 * instead of re-parsing unchanged files. It is only a cache: rebuildable, safe to delete, and
 * never trusted unless whole. Layout:
 *
 *   "FTIDX\n" · u32 header length · header JSON { format, stamp }
 *   chunks: u32 length · v8-serialized [ids, revisions, fields] (a length of 0 ends them)
 *   u32 entry count · 32 bytes: SHA-256 of everything before
 *
 * `stamp` names what the stored fields depend on: this format, the V8 serialization version, the
 * entries folder (device and inode) and a hash of the settings that change decoding. Any
 * difference, a bad checksum, a short file or an unreadable chunk discards the whole file.
 * Written to a temporary file and renamed into place, so a reader sees the old or the new one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import type { Fields } from '../../storage/serializers/index.js';

export const INDEX_FORMAT = 1;
const MAGIC = Buffer.from('FTIDX\n');
const CHUNK = 2048;

export interface IndexRecord {
  revision: string;
  fields: Fields;
}

export interface IndexLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

class Refused extends Error {}

/** What the stored fields depend on besides the files themselves. */
export function indexStamp(parts: { identity: string; settings: unknown }): string {
  const settings = createHash('sha256').update(JSON.stringify(parts.settings)).digest('hex').slice(0, 16);
  return `${INDEX_FORMAT}/${process.versions.v8}/${parts.identity}/${settings}`;
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n);
  return b;
}

export class PersistedIndex {
  constructor(
    readonly file: string,
    private readonly log?: IndexLog,
  ) {}

  /** The records of a whole, current index, or undefined (none, or discarded with a log line). */
  async load(stamp: string): Promise<Map<string, IndexRecord> | undefined> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log?.warn({ file: this.file, err: (err as Error).message }, 'persisted index discarded: cannot be opened');
      return undefined;
    }
    try {
      const size = (await handle.stat()).size;
      let position = 0;
      const hash = createHash('sha256');
      const take = async (length: number): Promise<Buffer> => {
        if (position + length > size - 32) throw new Refused('truncated');
        const buffer = Buffer.allocUnsafe(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await handle.read(buffer, got, length - got, position + got);
          if (bytesRead === 0) throw new Refused('truncated');
          got += bytesRead;
        }
        position += length;
        hash.update(buffer);
        return buffer;
      };
      if (!(await take(MAGIC.length)).equals(MAGIC)) throw new Refused('not an index file');
      const header = JSON.parse((await take((await take(4)).readUInt32LE())).toString('utf8')) as { format?: unknown; stamp?: unknown };
      if (header.format !== INDEX_FORMAT) throw new Refused(`format ${String(header.format)}, expected ${INDEX_FORMAT}`);
      if (header.stamp !== stamp) throw new Refused('made for other settings, another entries folder or another Node version');
      const records = new Map<string, IndexRecord>();
      for (;;) {
        const length = (await take(4)).readUInt32LE();
        if (length === 0) break;
        const [ids, revisions, fields] = v8.deserialize(await take(length)) as [string[], string[], Fields[]];
        if (!Array.isArray(ids) || !Array.isArray(revisions) || !Array.isArray(fields) || ids.length !== revisions.length || ids.length !== fields.length) {
          throw new Refused('malformed chunk');
        }
        for (let i = 0; i < ids.length; i++) records.set(ids[i]!, { revision: revisions[i]!, fields: fields[i]! });
        // Decoding is CPU work: let requests in between chunks.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const count = (await take(4)).readUInt32LE();
      if (position !== size - 32) throw new Refused('trailing bytes');
      const trailer = Buffer.allocUnsafe(32);
      await handle.read(trailer, 0, 32, position);
      if (!hash.digest().equals(trailer)) throw new Refused('checksum mismatch');
      if (count !== records.size) throw new Refused('entry count mismatch');
      return records;
    } catch (err) {
      this.log?.warn({ file: this.file, reason: (err as Error).message }, 'persisted index discarded (rebuilt from the files)');
      return undefined;
    } finally {
      await handle.close();
    }
  }

  /** Writes the records atomically (temporary file, then rename); returns how many were written. */
  async save(stamp: string, records: Iterable<[string, IndexRecord]>): Promise<number> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await fs.open(temp, 'wx', 0o600);
    const hash = createHash('sha256');
    let count = 0;
    try {
      const write = async (buffer: Buffer) => {
        hash.update(buffer);
        await handle.write(buffer);
      };
      const header = Buffer.from(JSON.stringify({ format: INDEX_FORMAT, stamp }));
      await write(MAGIC);
      await write(u32(header.length));
      await write(header);
      let ids: string[] = [];
      let revisions: string[] = [];
      let fields: Fields[] = [];
      const cut = async () => {
        if (ids.length === 0) return;
        const chunk = v8.serialize([ids, revisions, fields]);
        count += ids.length;
        ids = [];
        revisions = [];
        fields = [];
        await write(u32(chunk.length));
        await write(chunk);
      };
      for (const [id, record] of records) {
        ids.push(id);
        revisions.push(record.revision);
        fields.push(record.fields);
        if (ids.length >= CHUNK) await cut();
      }
      await cut();
      await write(u32(0));
      await write(u32(count));
      await handle.write(hash.digest());
      await handle.sync();
    } catch (err) {
      await handle.close();
      await fs.unlink(temp).catch(() => undefined);
      throw err;
    }
    await handle.close();
    await fs.rename(temp, this.file);
    return count;
  }
}
