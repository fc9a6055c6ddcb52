// Per-entry memory of the in-memory store (main's src/core/store.ts), measured in-process.
//   node --expose-gc bench/analysis/memory.mjs <project dir> [max entries]
// Loads the project the way the server does (Cms.start + preload), reports heap per cached entry,
// then rebuilds each part of a CachedEntry separately for the same entries (raw text, parsed
// fields, presented view, JSON text, etag, cache wrapper + Map slot) and reports the heap each costs.
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { Cms } from '../../dist/core/cms.js';
import { etagOf } from '../../dist/core/store.js';

const [projectDir, maxArg] = process.argv.slice(2);
if (!projectDir || typeof gc !== 'function') {
  console.error('usage: node --expose-gc bench/analysis/memory.mjs <project dir> [max entries]');
  process.exit(2);
}
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const mib = (b) => (b / 1048576).toFixed(1);
const per = (b, n) => (b / n).toFixed(0);

const h0 = heap();
const cms = new Cms({ projectDir, settings: { cache: { watch: false, preload: false } } });
const hCms = heap();
let t = performance.now();
await cms.start();
const treeMs = performance.now() - t;
const hTree = heap();
t = performance.now();
const loaded = await cms.store.preload();
const preloadMs = performance.now() - t;
const hLoaded = heap();
const n = loaded;
console.log(`entries ${n}; tree (scan) ${treeMs.toFixed(0)} ms, ${mib(hTree - hCms)} MiB = ${per(hTree - hCms, n)} B/entry`);
console.log(`preload ${preloadMs.toFixed(0)} ms (${((preloadMs * 1000) / n).toFixed(0)} µs/entry), cache ${mib(hLoaded - hTree)} MiB = ${per(hLoaded - hTree, n)} B/entry`);
// JSON text is built lazily on the first answer; measure what it adds once every entry was answered.
const cache = cms.store.cache; // private on main; read here for measurement only
for (const entry of cache.values()) cms.store.jsonOf(entry);
const hJson = heap();
console.log(`+ json text of every view (built on first answer): ${mib(hJson - hLoaded)} MiB = ${per(hJson - hLoaded, n)} B/entry`);
console.log(`rss ${mib(process.memoryUsage().rss)} MiB, heapUsed ${mib(process.memoryUsage().heapUsed)} MiB`);

// The parts, rebuilt separately for the same ids (at most maxArg of them).
const ids = [...cache.keys()].filter((id) => id.startsWith('items/')).slice(0, Number(maxArg ?? 1e9));
const m = ids.length;
const root = path.join(projectDir, 'entries');
const driver = cms.store.driver;
const present = cms.store.present;
cms.clearCaches();
heap();
const parts = {};
const keepAlive = [];
const measure = async (name, build) => {
  const before = heap();
  t = performance.now();
  const out = new Array(m);
  for (let i = 0; i < m; i++) out[i] = await build(i);
  const ms = performance.now() - t;
  keepAlive.push(out);
  parts[name] = { bytes: heap() - before, ms, out };
};
await measure('raw file text (string)', (i) => readFile(path.join(root, ids[i], 'entry.md'), 'utf8'));
await measure('StoredEntry: fields + stat (driver.read: open, read, decode)', (i) => driver.read(ids[i]));
const stored = parts['StoredEntry: fields + stat (driver.read: open, read, decode)'].out;
await measure('view (presenter: copy + dates + system fields)', (i) => present(ids[i], stored[i].fields, stored[i].stat));
const views = parts['view (presenter: copy + dates + system fields)'].out;
await measure('json text of the view', (i) => JSON.stringify(views[i]));
await measure('etag string', (i) => etagOf(stored[i].stat));
await measure('id string (copy)', (i) => (' ' + ids[i]).slice(1));
const map = new Map();
await measure('CachedEntry wrapper + Map slot', (i) => {
  const e = { id: ids[i], fields: stored[i].fields, stat: stored[i].stat, view: views[i], etag: '', checkedAt: 0, lruAt: i };
  map.set(ids[i], e);
  return e;
});
// Decode cost alone (no I/O): the YAML front matter parser on the raw text.
const texts = parts['raw file text (string)'].out;
const serializer = (await import('../../dist/storage/serializers/frontmatter.js'));
const decode = serializer.frontmatterSerializer?.decode ?? serializer.default?.decode;
if (decode) {
  t = performance.now();
  for (let i = 0; i < m; i++) decode(texts[i]);
  parts['(cpu only) front matter decode of the raw text'] = { bytes: NaN, ms: performance.now() - t };
}
t = performance.now();
for (let i = 0; i < m; i++) etagOf(stored[i].stat);
console.log(`\nparts, ${m} entries:`);
console.log('| part | MiB | bytes/entry | ms total | µs/entry |\n|---|---:|---:|---:|---:|');
for (const [name, p] of Object.entries(parts)) console.log(`| ${name} | ${Number.isNaN(p.bytes) ? '—' : mib(p.bytes)} | ${Number.isNaN(p.bytes) ? '—' : per(p.bytes, m)} | ${p.ms.toFixed(0)} | ${((p.ms * 1000) / m).toFixed(1)} |`);
console.log(`\nbaseline heap ${mib(h0)} MiB; Cms ${mib(hCms - h0)} MiB`);
const sample = JSON.stringify(views[0]);
console.log(`one view's JSON: ${sample.length} chars; raw file ${texts[0].length} chars; fields ${Object.keys(stored[0].fields).join(',')}; view ${Object.keys(views[0]).join(',')}`);
