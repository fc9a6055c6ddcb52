/**
 * `npm run bench:loop`: the longest event-loop hold of heavy collection queries (issue 12: no query
 * at any size holds the loop more than 50 ms at a time), and what a light request (GET one cached
 * entry, sent in a loop on its own connection meanwhile) waits while they run.
 *
 *   node --import tsx bench/loop.ts --project DIR [--rounds 4] [--only 0,3] [--max-seconds 600]
 *
 * DIR is a project, e.g. the 100k one of the scale benchmark (`node --import tsx bench/run.ts
 * --scale 100k --generate DIR/100000`, or the `--reuse DIR` folder after a scale run): one folder
 * `entries/items` of entries with title, tag, rating, published_at and a text body. The server runs
 * in this process (so the loop measured is the server's), entries preloaded before measuring.
 * Each query runs `--rounds` times: the first builds what it needs (indexes, listings, search
 * texts: reported apart), the others are the steady state.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/logging.js';
import { startServer, type RunningServer } from '../src/http/start.js';

const { values: flags } = parseArgs({
  options: {
    project: { type: 'string' },
    rounds: { type: 'string', default: '4' },
    only: { type: 'string' },
    'max-seconds': { type: 'string', default: '600' },
    folder: { type: 'string', default: 'items' },
  },
});

const F = 'options[filter]';
/** The heavy query shapes: each touches every entry of the folder in some step. */
const QUERIES: { name: string; params: string[] }[] = [
  { name: 'where tag = news, sort_by rating DESC, limit 10', params: [`${F}[where][0][key]=tag`, `${F}[where][0][value]=news`, `${F}[sort_by][key]=rating`, `${F}[sort_by][direction]=DESC`, `${F}[limit]=10`] },
  { name: 'X-Total-Count: where rating >= 0 (every entry), limit 1', params: [`${F}[where][0][key]=rating`, `${F}[where][0][operator]=gte`, `${F}[where][0][value]=0`, `${F}[limit]=1`] },
  { name: 'unindexed where: title contains "lorem", limit 10', params: [`${F}[where][0][key]=title`, `${F}[where][0][operator]=contains`, `${F}[where][0][value]=lorem`, `${F}[limit]=10`] },
  {
    name: 'unindexed where + sort: title contains "dolor", sort_by rating DESC, limit 10',
    params: [`${F}[where][0][key]=title`, `${F}[where][0][operator]=contains`, `${F}[where][0][value]=dolor`, `${F}[sort_by][key]=rating`, `${F}[sort_by][direction]=DESC`, `${F}[limit]=10`],
  },
  { name: 'sort over all: sort_by title DESC, offset 50000, limit 10', params: [`${F}[sort_by][key]=title`, `${F}[sort_by][direction]=DESC`, `${F}[offset]=50000`, `${F}[limit]=10`] },
  { name: 'group_by tag, limit 1 group (return: first)', params: [`${F}[group_by]=tag`, `${F}[return]=first`] },
  { name: 'only title+rating, where rating >= 5, sort_by rating, limit 10', params: [`${F}[only][0]=title`, `${F}[only][1]=rating`, `${F}[where][0][key]=rating`, `${F}[where][0][operator]=gte`, `${F}[where][0][value]=5`, `${F}[sort_by][key]=rating`, `${F}[limit]=10`] },
  { name: 'find contains "consectetur tempor" (search of the public text), limit 10', params: ['options[find][contains]=consectetur tempor', `${F}[limit]=10`] },
  { name: 'large answer: where tag = news, limit 5000 (streamed)', params: [`${F}[where][0][key]=tag`, `${F}[where][0][value]=news`, `${F}[limit]=5000`] },
  { name: 'find depth 1 (not trivial: loads and checks every entry), sort_by rating, limit 10', params: ['options[find][depth][0]=1', `${F}[sort_by][key]=rating`, `${F}[limit]=10`] },
];

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!);

function get(agent: http.Agent, url: string): Promise<{ status: number; bytes: number; total: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, total: res.headers['x-total-count'] as string | undefined }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function main(): Promise<void> {
  if (!flags.project) throw new Error('--project DIR is required (see the header of bench/loop.ts)');
  const rounds = Math.max(2, Number(flags.rounds));
  const giveUp = setTimeout(() => {
    process.stderr.write(`bench:loop: over ${flags['max-seconds']} s, giving up\n`);
    process.exit(1);
  }, Number(flags['max-seconds']) * 1000);
  giveUp.unref();
  const queries = flags.only ? QUERIES.filter((_, i) => flags.only!.split(',').map(Number).includes(i)) : QUERIES;
  const loadBefore = os.loadavg()[0]!;
  let server: RunningServer | undefined;
  const heavyAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const lightAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    let t = performance.now();
    server = await startServer({
      projectDir: flags.project,
      host: '127.0.0.1',
      port: 0,
      settings: { tokens: { hash_rounds: 4 }, storage: { durable: false }, cache: { preload: false }, log: { access: false } },
      logger: createLogger('silent'),
    });
    const loaded = await server.cms.store.preload();
    process.stderr.write(`preloaded ${loaded} entries in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    const { token } = await server.cms.tokens.create({ title: 'bench-loop' });
    const api = `${server.url}/api/v1/entries`;
    const folder = flags.folder;
    const lightUrl = `${api}?id=${encodeURIComponent(`${folder}/item-0000001`)}&token=${token}`;
    const light = await get(lightAgent, lightUrl);
    if (light.status !== 200) throw new Error(`light request: status ${light.status} (is ${folder}/item-0000001 there?)`);

    const lines = [
      `### Longest event-loop hold of heavy collection queries (${loaded.toLocaleString('en')} entries, server in-process)`,
      '',
      `${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'} · load average ${loadBefore.toFixed(1)} at the start · ` +
        `${rounds} runs per query, one at a time, while a light GET of one cached entry loops on its own connection; hold = the longest gap between ticks of a 1 ms timer, less 1 ms.`,
      '',
      '| query | matches | bytes | first run ms | first run: longest hold ms (most CPU ms in one hold) | later runs p50 ms | later runs: longest hold ms (most CPU ms in one hold; longest GC pause) | light GET during them: max ms (count) |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
    ];
    let worstSteady = 0;
    let worstFirst = 0;
    let worstCpuSteady = 0;
    let worstCpuFirst = 0;
    // The longest gap between ticks of a 1 ms interval. (perf_hooks' monitorEventLoopDelay counts
    // only from its timer's first tick after enable() or reset(): a hold starting at once is missed.)
    let lastTick = performance.now();
    let longestGap = 0;
    // LOOP_GAPS=FILE: the gaps over 30 ms as [start, end] µs of the monotonic clock (to find them in a --cpu-prof profile).
    const gaps: [number, number][] = [];
    // Also the CPU time the process spent within each gap: on a loaded machine a hold is stretched
    // by the time the thread waits for a core; its CPU time is what it would be on an idle one.
    const cpuNow = () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1000;
    };
    let lastCpu = cpuNow();
    let mostCpu = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      const cpu = cpuNow();
      if (process.env['LOOP_GAPS'] && now - lastTick > 30) gaps.push([Math.round((performance.timeOrigin + lastTick) * 1000), Math.round((performance.timeOrigin + now) * 1000)]);
      longestGap = Math.max(longestGap, now - lastTick);
      mostCpu = Math.max(mostCpu, cpu - lastCpu);
      lastTick = now;
      lastCpu = cpu;
    }, 1);
    const hold = {
      reset: () => {
        longestGap = 0;
        mostCpu = 0;
      },
      get maxMs() {
        return Math.max(longestGap, performance.now() - lastTick) - 1;
      },
      get maxCpuMs() {
        return mostCpu;
      },
    };
    // Garbage-collector pauses hold the loop too; reported apart (allocation, not slicing, cuts them).
    let longestGc = 0;
    /** GC pauses over 20 ms, by kind. */
    const gcKinds = new Map<number, number>();
    const gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        longestGc = Math.max(longestGc, entry.duration);
        // perf_hooks' gc kinds: 1 minor (scavenge), 2 major (mark-compact), 4 incremental, 8 weak callbacks.
        const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
        if (entry.duration > 20) gcKinds.set(kind, (gcKinds.get(kind) ?? 0) + 1);
      }
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    for (const q of queries) {
      const url = `${api}?id=${folder}&options[collection]=true&${q.params.join('&')}&token=${token}`;
      const times: number[] = [];
      let firstMs = 0;
      let firstHold = 0;
      let steadyHold = 0;
      let bytes = 0;
      let total = '';
      let gcSteady = 0;
      let cpuSteady = 0;
      let cpuFirst = 0;
      const lightTimes: number[] = [];
      for (let round = 0; round < rounds; round++) {
        let running = true;
        // The light loop starts first, so it has a request in flight when the heavy one arrives.
        const lightLoop = (async () => {
          while (running) {
            const s = performance.now();
            await get(lightAgent, lightUrl);
            if (round > 0) lightTimes.push(performance.now() - s);
          }
        })();
        await new Promise((resolve) => setTimeout(resolve, 5));
        hold.reset();
        longestGc = 0;
        const s = performance.now();
        const answer = await get(heavyAgent, url);
        const ms = performance.now() - s;
        // One more tick, so a hold at the very end is counted.
        await new Promise((resolve) => setTimeout(resolve, 2));
        const held = Math.max(0, hold.maxMs);
        const heldCpu = hold.maxCpuMs;
        running = false;
        await lightLoop;
        if (answer.status !== 200) throw new Error(`${q.name}: status ${answer.status}`);
        bytes = answer.bytes;
        total = answer.total ?? '—';
        if (round === 0) {
          firstMs = ms;
          firstHold = held;
          cpuFirst = heldCpu;
        } else {
          times.push(ms);
          steadyHold = Math.max(steadyHold, held);
          gcSteady = Math.max(gcSteady, longestGc);
          cpuSteady = Math.max(cpuSteady, heldCpu);
        }
      }
      times.sort((a, b) => a - b);
      lightTimes.sort((a, b) => a - b);
      worstSteady = Math.max(worstSteady, steadyHold);
      worstFirst = Math.max(worstFirst, firstHold);
      worstCpuSteady = Math.max(worstCpuSteady, cpuSteady);
      worstCpuFirst = Math.max(worstCpuFirst, cpuFirst);
      const line =
        `| ${q.name} | ${total} | ${bytes.toLocaleString('en')} | ${firstMs.toFixed(1)} | ${firstHold.toFixed(0)} (${cpuFirst.toFixed(0)}) | ${percentile(times, 0.5).toFixed(1)} | ` +
        `${steadyHold.toFixed(0)} (${cpuSteady.toFixed(0)}; ${gcSteady.toFixed(0)}) | ${(lightTimes[lightTimes.length - 1] ?? NaN).toFixed(1)} (${lightTimes.length}) |`;
      lines.push(line);
      process.stderr.write(line + '\n');
    }
    lines.push(
      '',
      `Store change feed: ${server.cms.store.changeFeedMode ?? 'none (revisions re-checked)'}. ` +
      `Longest hold over these queries: ${worstSteady.toFixed(0)} ms once built (at most ${worstCpuSteady.toFixed(0)} CPU ms in one hold), ` +
        `${worstFirst.toFixed(0)} ms on first use, index and listing builds included (at most ${worstCpuFirst.toFixed(0)} CPU ms in one hold); ` +
        'CPU ms are the whole process\'s (garbage-collector and worker threads included); ' +
        `GC pauses over 20 ms: ${[...gcKinds].map(([kind, n]) => `${n} × ${({ 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weak callbacks' } as Record<number, string>)[kind] ?? `kind ${kind}`}`).join(', ') || 'none'}; ` +
        `load average ${os.loadavg()[0]!.toFixed(1)} at the end.`,
      '',
    );
    process.stdout.write(lines.join('\n'));
    clearInterval(ticker);
    if (process.env['LOOP_GAPS']) writeFileSync(process.env['LOOP_GAPS'], JSON.stringify({ hr: Number(process.hrtime.bigint() / 1000n), wall: Math.round((performance.timeOrigin + performance.now()) * 1000), gaps }));
    gcObserver.disconnect();
  } finally {
    heavyAgent.destroy();
    lightAgent.destroy();
    await server?.close();
    clearTimeout(giveUp);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:loop failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
