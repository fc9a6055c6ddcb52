// Summarizes a V8 .cpuprofile (node --cpu-prof): self time by function and by package/file, and
// inclusive time of chosen frames.   node bench/analysis/cpuprofile-summary.mjs FILE [top N] [from s] [to s]
import { readFileSync } from 'node:fs';

const [file, topArg, fromArg, toArg] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const top = Number(topArg ?? 30);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
// Sample time: timeDeltas[i] is the time before sample i.
const self = new Map();
let t = profile.startTime;
const from = fromArg ? profile.startTime + Number(fromArg) * 1e6 : -Infinity;
const to = toArg ? profile.startTime + Number(toArg) * 1e6 : Infinity;
let total = 0;
const inclusive = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i];
  if (t < from || t > to) continue;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + dt);
  total += dt;
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const key = label(byId.get(at));
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
  }
}
function where(n) {
  const url = n.callFrame.url || '';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.includes('/dist/')) return url.slice(url.indexOf('/dist/') + 1);
  if (url.startsWith('node:')) return url;
  return url || '(native)';
}
function label(n) {
  return `${n.callFrame.functionName || '(anonymous)'} ${where(n)}:${n.callFrame.lineNumber + 1}`;
}
const sum = (map, key) => {
  const out = new Map();
  for (const [id, us] of map) {
    const k = key(byId.get(id));
    out.set(k, (out.get(k) ?? 0) + us);
  }
  return [...out].sort((a, b) => b[1] - a[1]);
};
const ms = (us) => (us / 1000).toFixed(0).padStart(7);
const pct = (us) => ((100 * us) / total).toFixed(1).padStart(5);
console.log(`total sampled ${ms(total)} ms`);
console.log('\n-- self time by package / file');
for (const [k, us] of sum(self, where).slice(0, top)) console.log(`${ms(us)} ms ${pct(us)}%  ${k}`);
console.log('\n-- self time by function');
for (const [k, us] of sum(self, label).slice(0, top)) console.log(`${ms(us)} ms ${pct(us)}%  ${k}`);
console.log('\n-- inclusive time by function');
for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ms ${pct(us)}%  ${k}`);
