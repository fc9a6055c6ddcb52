/**
 * Bytes per cached entry of the content store, measured in-process after a preload, after every
 * entry was answered once (JSON texts), and after a where + sort query built its listing indexes.
 *   node --expose-gc --import tsx bench/analysis/store-memory.ts [entries]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cms } from '../../src/core/cms.js';

const count = Number(process.argv[2] ?? 20000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const dir = mkdtempSync(path.join(os.tmpdir(), 'flextype-mem-'));
const TAGS = ['drama', 'comedy', 'news', 'tech', 'sport'];
mkdirSync(path.join(dir, 'entries', 'posts'), { recursive: true });
writeFileSync(path.join(dir, 'entries', 'posts', 'entry.md'), '---\ntitle: Posts\n---\n');
for (let i = 0; i < count; i++) {
  const folder = path.join(dir, 'entries', 'posts', `p${i}`);
  mkdirSync(folder);
  writeFileSync(
    path.join(folder, 'entry.md'),
    `---\ntitle: Post number ${i}\ntag: ${TAGS[i % TAGS.length]}\nrating: ${(i * 7919) % 1000}\nyear: ${2000 + (i % 25)}\nviews: ${(i * 104729) % 100000}\n---\n${'Lorem ipsum dolor sit amet. '.repeat(30)}\n`,
  );
}
try {
  const cms = new Cms({ projectDir: dir, settings: { storage: { durable: false }, cache: { preload: false, watch: false, poll_interval: 3_600_000 } } });
  await cms.start();
  const h0 = heap();
  await cms.store.preload();
  const h1 = heap();
  for (let i = 0; i < count; i++) {
    const entry = await cms.store.get(`posts/p${i}`);
    if (entry) cms.store.jsonOf(entry);
  }
  const h2 = heap();
  const filter = { where: [{ key: 'tag', value: 'drama' }], sort_by: { key: 'rating', direction: 'DESC' }, limit: 10 };
  for (let i = 0; i < 3; i++) await cms.entries.fetch('posts', { collection: true, filter });
  const h3 = heap();
  const per = (b: number) => (b / count).toFixed(0);
  process.stdout.write(
    `${count} entries: cached ${per(h1 - h0)} B/entry; + JSON texts (held: ${cms.store.jsonCount}) ${per(h2 - h1)} B/entry; + listing indexes (tag, rating) ${per(h3 - h2)} B/entry; total ${per(h3 - h0)} B/entry\n`,
  );
  await cms.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
