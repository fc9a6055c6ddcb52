/**
 * CPU cost per entry of the file engine's read paths (issue 12): `read` one at a time (64 in
 * flight, as getMany did) against `readMany` (the worker's synchronous bulk path), and the walk.
 * Usage: node --import tsx bench/analysis/bulk-read.ts <entries folder> [count]
 * Read-only: it never writes into the folder.
 */
import { createCollectionResolver } from '../../src/core/collections.js';
import { loadSettings } from '../../src/core/settings.js';
import { FsEngine } from '../../src/storage/fs/engine.js';

const root = process.argv[2];
const count = Number(process.argv[3] ?? 20000);
if (!root) throw new Error('usage: bulk-read.ts <entries folder> [count]');
const settings = loadSettings(process.cwd(), {});
const engine = new FsEngine({ root, resolveFormat: createCollectionResolver(settings.entries.collections), durable: false });

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
let ids: string[] = [];
let t = cpu();
let w = performance.now();
for await (const batch of engine.list('items')) {
  ids.push(...batch);
  if (ids.length >= count) break;
}
ids = ids.slice(0, count);
console.log(`walk (first ${ids.length}, worker): ${((cpu() - t) / ids.length).toFixed(1)} CPU-µs/entry, ${((performance.now() - w) * 1000 / ids.length).toFixed(1)} wall-µs/entry`);

t = cpu();
w = performance.now();
for (let i = 0; i < ids.length; i += 64) await Promise.all(ids.slice(i, i + 64).map((id) => engine.read(id)));
console.log(`read (async, 64 in flight): ${((cpu() - t) / ids.length).toFixed(1)} CPU-µs/entry, ${((performance.now() - w) * 1000 / ids.length).toFixed(1)} wall-µs/entry`);

t = cpu();
w = performance.now();
const revisions: string[] = [];
for (let i = 0; i < ids.length; i += 512) {
  for (const r of await engine.readMany(ids.slice(i, i + 512))) if (r.kind === 'entry') revisions.push(r.entry.meta.revision);
}
console.log(`readMany (worker, parse included): ${((cpu() - t) / ids.length).toFixed(1)} CPU-µs/entry, ${((performance.now() - w) * 1000 / ids.length).toFixed(1)} wall-µs/entry`);

t = cpu();
w = performance.now();
let same = 0;
for (let i = 0; i < ids.length; i += 512) {
  for (const r of await engine.readMany(ids.slice(i, i + 512), revisions.slice(i, i + 512))) if (r.kind === 'same') same++;
}
console.log(`readMany with known revisions (stat only, ${same} unchanged): ${((cpu() - t) / ids.length).toFixed(1)} CPU-µs/entry, ${((performance.now() - w) * 1000 / ids.length).toFixed(1)} wall-µs/entry`);
await engine.close();
