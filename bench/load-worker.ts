/**
 * Load generator for the benchmark, run as its own process so that the client never shares an
 * event loop with the server it measures. Takes one JSON argument (a LoadSpec), runs an optional
 * warm-up and then one measured autocannon run, and prints one JSON line (a LoadResult).
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  /** GET a fixed URL, POST unique new entries, or PATCH existing entries in turn. */
  kind: 'get' | 'create' | 'update';
  connections: number;
  durationSec: number;
  warmupSec: number;
  token?: string;
  accessToken?: string;
  /** create: new ids are `${idPrefix}-<warm|run>-<n>`; update: ids are `${idPrefix}-<1..idCount>` (6 digits). */
  idPrefix?: string;
  idCount?: number;
  /** The server's pid, to read the CPU time it spends during the measured run (Linux /proc). */
  serverPid?: number;
}

export interface LoadResult {
  requestsPerSec: number;
  total: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Server CPU time (user + system) per answered request, in microseconds; NaN when unknown. */
  cpuMicrosPerRequest: number;
}

/** CPU seconds (user + system) used so far by a process, from /proc; undefined elsewhere. */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100; // USER_HZ is 100 on Linux for every architecture Node supports
  } catch {
    return undefined;
  }
}

function requestsOf(spec: LoadSpec, phase: string): autocannon.Request[] | undefined {
  if (spec.kind === 'get') return undefined;
  let n = 0;
  const credentials = { token: spec.token, access_token: spec.accessToken };
  if (spec.kind === 'create') {
    return [
      {
        method: 'POST',
        setupRequest: (request) => {
          n++;
          const data = { title: `Bench ${phase} ${n}`, year: 2000 + (n % 25), rating: (n % 100) / 10, tag: 'bench', visibility: 'visible' };
          return { ...request, body: JSON.stringify({ id: `${spec.idPrefix}-${phase}-${n}`, data, ...credentials }) };
        },
      },
    ];
  }
  const count = spec.idCount ?? 1;
  return [
    {
      method: 'PATCH',
      setupRequest: (request) => {
        n++;
        const id = `${spec.idPrefix}-${String((n % count) + 1).padStart(6, '0')}`;
        return { ...request, body: JSON.stringify({ id, data: { rating: (n % 100) / 10, bench_phase: phase }, ...credentials }) };
      },
    },
  ];
}

/** One autocannon run; also collects every 2xx latency at full precision (autocannon's own histogram keeps whole milliseconds). */
function run(spec: LoadSpec, durationSec: number, phase: string): Promise<{ result: autocannon.Result; latencies: number[] }> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: durationSec,
        timeout: 10,
        headers: spec.kind === 'get' ? {} : { 'content-type': 'application/json' },
        requests: requestsOf(spec, phase),
      },
      (err: Error | null, result: autocannon.Result) => (err ? reject(err) : resolve({ result, latencies })),
    );
    // The event's real arguments are (client, status, bytes, ms); @types/autocannon omits the client.
    (instance as unknown as NodeJS.EventEmitter).on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg) throw new Error('usage: load-worker.ts <json LoadSpec>');
  const spec = JSON.parse(arg) as LoadSpec;
  if (spec.warmupSec > 0) await run(spec, spec.warmupSec, 'warm');
  const cpuBefore = cpuSecondsOf(spec.serverPid);
  const { result, latencies } = await run(spec, spec.durationSec, 'run');
  const cpuAfter = cpuSecondsOf(spec.serverPid);
  latencies.sort((a, b) => a - b);
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  const out: LoadResult = {
    requestsPerSec: result.requests.average,
    total: result.requests.total,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    cpuMicrosPerRequest:
      cpuBefore !== undefined && cpuAfter !== undefined && result.requests.total > 0 ? ((cpuAfter - cpuBefore) * 1e6) / result.requests.total : NaN,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`load worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
