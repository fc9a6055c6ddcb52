// Summarizes a .heapsnapshot: retained-by-nobody "self size" totals per node type and per
// (type, constructor/name), the largest first.   node bench/analysis/heap-summary.mjs FILE [top N]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
const snap = JSON.parse(readFileSync(file, 'utf8'));
const top = Number(topArg ?? 30);
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const width = fields.length;
const iType = fields.indexOf('type');
const iName = fields.indexOf('name');
const iSize = fields.indexOf('self_size');
const nodes = snap.nodes;
const byType = new Map();
const byName = new Map();
let total = 0;
for (let i = 0; i < nodes.length; i += width) {
  const type = types[nodes[i + iType]];
  const size = nodes[i + iSize];
  total += size;
  let name = snap.strings[nodes[i + iName]];
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number') name = '';
  else if (name.length > 60) name = name.slice(0, 60) + '…';
  const t = byType.get(type) ?? { size: 0, count: 0 };
  t.size += size;
  t.count++;
  byType.set(type, t);
  const key = `${type} ${name}`;
  const n = byName.get(key) ?? { size: 0, count: 0 };
  n.size += size;
  n.count++;
  byName.set(key, n);
}
const mib = (b) => (b / 1048576).toFixed(1).padStart(7);
console.log(`total self size ${mib(total)} MiB, ${nodes.length / width} nodes`);
console.log('\n-- by type');
for (const [k, v] of [...byType].sort((a, b) => b[1].size - a[1].size)) console.log(`${mib(v.size)} MiB ${String(v.count).padStart(9)}  ${k}`);
console.log('\n-- by type and name');
for (const [k, v] of [...byName].sort((a, b) => b[1].size - a[1].size).slice(0, top)) console.log(`${mib(v.size)} MiB ${String(v.count).padStart(9)}  avg ${(v.size / v.count).toFixed(0).padStart(6)} B  ${k}`);
