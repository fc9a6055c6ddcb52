/** Subtree copies for the file engine: built under a hidden name, then renamed into place. */
import { promises as fs } from 'node:fs';
import { StorageError, type CopyTransform, type EntryFormat } from '../engine.js';
import type { Fields } from '../serializers/index.js';
import { copyPlain, readFileIn, writeNew } from './files.js';
import { decodeText, errnoOf, type HeldDir } from './safe-fs.js';

export interface CopyContext {
  fileNameOf(id: string): string;
  formatOf(id: string): EntryFormat;
  decode(id: string, text: string): Fields;
  durable: boolean;
}

/** An empty folder at the target is taken over; anything else there refuses. */
export async function assertTargetFree(parent: HeldDir, name: string): Promise<void> {
  let target: HeldDir;
  try {
    target = (await parent.child(name)).dir;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    if (errnoOf(err) === 'ENOTDIR') throw new StorageError('the target already exists', 'exists');
    throw err;
  }
  try {
    if ((await target.readdir()).length > 0) throw new StorageError('the target folder already exists', 'exists');
  } finally {
    await target.close();
  }
  await fs.rmdir(parent.at(name));
}

/** Copies the folder `source` (entry `fromId`) as `targetName` in `targetParent` (entry `toId`), entry files through `transform`. */
export async function copyTree(
  source: HeldDir,
  targetParent: HeldDir,
  targetName: string,
  fromId: string,
  toId: string,
  transform: CopyTransform,
  ctx: CopyContext,
): Promise<void> {
  const target = (await targetParent.child(targetName, true)).dir;
  try {
    const sourceFile = ctx.fileNameOf(fromId);
    const targetFormat = ctx.formatOf(toId);
    for (const dirent of await source.readdir()) {
      if (dirent.name.startsWith('.') || dirent.isSymbolicLink()) continue;
      if (dirent.isDirectory()) {
        const sub = await source.child(dirent.name).catch(() => undefined);
        if (!sub) continue;
        try {
          await copyTree(sub.dir, target, dirent.name, `${fromId}/${dirent.name}`, `${toId}/${dirent.name}`, transform, ctx);
        } finally {
          await sub.dir.close();
        }
      } else if (dirent.isFile() && dirent.name === sourceFile) {
        const file = await readFileIn(source, dirent.name);
        if (!file) continue;
        const decoded = decodeText(file.bytes);
        if (!decoded.valid) throw new StorageError(`entry "${fromId}" is not valid UTF-8; it cannot be copied (it would be rewritten)`, 'not_utf8');
        const fields = transform(toId, ctx.decode(fromId, decoded.text));
        await writeNew(target, ctx.fileNameOf(toId), targetFormat.serializer.encode(fields, decoded.text), false, ctx.durable);
      } else if (dirent.isFile()) {
        await copyPlain(source, dirent.name, target, ctx.durable);
      }
    }
    // The copy becomes visible by one rename; every folder in it must be on disk before that.
    if (ctx.durable) await target.sync();
  } finally {
    await target.close();
  }
}
