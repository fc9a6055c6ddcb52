// What reading one entry costs, by way of reading: the driver's safe path (per-component opens),
// plain fs.promises.readFile, readFileSync, and the front matter decode alone. Reports wall and
// CPU (user+system of this process, all threads) per entry, at the width the store reads with (64).
//   node bench/analysis/read-cost.mjs <project dir> [count]
import path from 'node:path';
import { closeSync, constants as C, fstatSync, lstatSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Cms } from '../../dist/core/cms.js';
import { frontmatterSerializer } from '../../dist/storage/serializers/frontmatter.js';

const [projectDir, countArg] = process.argv.slice(2);
const cms = new Cms({ projectDir, settings: { cache: { watch: false, preload: false } } });
const ids = (await cms.store.driver.scan()).filter((id) => id.startsWith('items/')).slice(0, Number(countArg ?? 20000));
const root = path.join(projectDir, 'entries');
const files = ids.map((id) => path.join(root, id, 'entry.md'));
const texts = files.map((f) => readFileSync(f, 'utf8'));
async function wide(n, op, width = 64) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => { while (next < n) await op(next++); }));
}
const cases = [
  ['driver.read (safe path, decode included), width 64', () => wide(ids.length, (i) => cms.store.driver.read(ids[i]))],
  ['driver.stat (safe path), width 64', () => wide(ids.length, (i) => cms.store.driver.stat(ids[i]))],
  ['fs.promises.readFile(path), width 64', () => wide(ids.length, (i) => readFile(files[i]))],
  ['readFileSync(path), one thread', async () => { for (const f of files) readFileSync(f); }],
  ['lstatSync(path), one thread', async () => { for (const f of files) lstatSync(f); }],
  [
    'sync safe read: held parent fd, open child O_DIRECTORY|O_NOFOLLOW, open file O_NOFOLLOW, fstat, read, 2 closes',
    async () => {
      const parent = openSync(path.join(root, 'items'), C.O_RDONLY | C.O_DIRECTORY);
      for (const id of ids) {
        const dir = openSync(`/proc/self/fd/${parent}/${id.slice(6)}`, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
        const fd = openSync(`/proc/self/fd/${dir}/entry.md`, C.O_RDONLY | C.O_NOFOLLOW);
        fstatSync(fd);
        readFileSync(fd);
        closeSync(fd);
        closeSync(dir);
      }
      closeSync(parent);
    },
  ],
  ['front matter decode only (js-yaml)', async () => { for (const t of texts) frontmatterSerializer.decode(t); }],
];
console.log(`${ids.length} entries; load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
console.log('| way | wall µs/entry | CPU µs/entry |\n|---|---:|---:|');
for (const [name, run] of cases) {
  await run(); // warm-up (JIT, page cache)
  const c = process.cpuUsage();
  const t = performance.now();
  await run();
  const wall = performance.now() - t;
  const cpu = process.cpuUsage(c);
  console.log(`| ${name} | ${((wall * 1000) / ids.length).toFixed(1)} | ${((cpu.user + cpu.system) / ids.length).toFixed(1)} |`);
}
