/**
 * One query on several cores (issue #20 goals 2 and 3): the same stored data queried over HTTP
 * (through the query-frontend, as Grafana asks) by a `-target=all` server process with
 * `-querier.threads=0` and with `-querier.threads=N`, runs interleaved, next to `rg` on the raw
 * text in the same run.
 *
 * Usage: npx tsx bench/threads.ts [lines=5300000] [runs=3] [threads=1]
 * The store is built once (bench/store-fixture.ts: data ends 30 min ago, only stored chunks are
 * read). Per run and configuration a fresh server starts on it (block cache off, so warm means
 * cached chunk bytes decompressed again, as bench/scan.ts), answers each query once untimed
 * (warm-up: chunk cache and page cache), then timed; the scan's warm-up is timed as the cold
 * scan (page cache dropped first), beside `zstd -dc | rg -F` over the raw text as one .zst, also
 * from a dropped page cache (root only). Every answer is checked against the
 * brute-force count over the jsonl twin (log query) or the threads=0 answer (metric query).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { cpuSeconds, dropPageCache, startChild, STORED_QUERY_FLAGS } from './lib.js';
import { buildStore } from './store-fixture.js';

const lines = Number(process.argv[2] ?? 5_300_000);
const runs = Number(process.argv[3] ?? 3);
const threads = Number(process.argv[4] ?? 1);

const fx = await buildStore(lines, { raw: true, name: 'threads', blockCache: '0' });
await fx.app.stop();
const rawBytes = statSync(fx.rawFile).size;
const startNs = fx.firstNs - 1_000_000_000n;
const endNs = fx.lastNs + 60_000_000_000n;

const NEEDLE = 'zq#x';
const SCAN = `{cluster=~".+"} |= "${NEEDLE}"`;
const METRIC = 'sum by (level) (count_over_time({cluster=~".+"} | json | __error__="" [1m]))';

/** Brute force over the jsonl twin: lines holding the needle, and lines that parse as JSON objects (what `| json | __error__=""` keeps). */
async function reference(): Promise<{ scanHits: number; jsonEntries: number }> {
  let scanHits = 0;
  let jsonEntries = 0;
  const rl = createInterface({ input: createReadStream(path.join(fx.dir, 'logs.jsonl')), crlfDelay: Infinity });
  for await (const l of rl) {
    const o = JSON.parse(l) as { line: string };
    if (o.line.includes(NEEDLE)) scanHits++;
    if (o.line.startsWith('{')) {
      try {
        const v: unknown = JSON.parse(o.line);
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) jsonEntries++;
      } catch {
        /* not JSON: __error__ drops it */
      }
    }
  }
  return { scanHits, jsonEntries };
}
const ref = await reference();

// The cold baseline: the raw text as one .zst (zstd -3), decompressed and searched from a cold page cache.
const zstFile = `${fx.rawFile}.zst`;
execFileSync('zstd', ['-q', '-3', '-T1', fx.rawFile, '-o', zstFile]);
function zstdRgCold(): number {
  if (!dropPageCache()) throw new Error('cannot drop the page cache (run as root)');
  const t = performance.now();
  execFileSync('sh', ['-c', `zstd -dc '${zstFile}' | rg -F -c '${NEEDLE}' || true`]);
  return (performance.now() - t) / 1000;
}

function rg(): number {
  const t = performance.now();
  try {
    execFileSync('rg', ['-F', '-c', NEEDLE, fx.rawFile]);
  } catch {
    /* rg exits 1 when nothing matches */
  }
  return (performance.now() - t) / 1000;
}

const flags = [
  ...STORED_QUERY_FLAGS,
  // SILT_BENCH_FLAGS: more server flags, e.g. -querier.tsdb-max-bytes-per-shard=100MB.
  ...(process.env['SILT_BENCH_FLAGS'] ?? '').split(' ').filter((f) => f !== ''),
];

async function timed(url: string, pid: number, q: string, extra: Record<string, string>): Promise<{ sec: number; cpu: number; body: any }> {
  const params = new URLSearchParams({ query: q, start: String(startNs), end: String(endNs), ...extra });
  const c0 = cpuSeconds(pid);
  const t = performance.now();
  const r = await fetch(`${url}/loki/api/v1/query_range?${params}`);
  const text = await r.text();
  const sec = (performance.now() - t) / 1000;
  if (r.status !== 200) throw new Error(`${q}: ${r.status} ${text.slice(0, 300)}`);
  return { sec, cpu: cpuSeconds(pid) - c0, body: JSON.parse(text) };
}

const scanCount = (b: any): number => (b.data.result as { values: unknown[] }[]).reduce((a, s) => a + s.values.length, 0);
const metricTotal = (b: any): number => (b.data.result as { values: [number, string][] }[]).reduce((a, s) => a + s.values.reduce((x, v) => x + Number(v[1]), 0), 0);
/** A 1m range over 1m steps counts each entry once (aligned steps, the data inside the range). */
const STEP = { step: '60' };

type Row = { threads: number; scan_cold_s: number; zstd_rg_cold_s: number; scan_s: number; scan_cpu_s: number; scan_gb_per_s: number; metric_s: number; metric_cpu_s: number; metric_m_entries_per_s: number; rg_s: number };
const rows: Row[] = [];
let metricRef: string | null = null;
const order = Array.from({ length: runs }, (_, i) => (i % 2 === 0 ? [0, threads] : [threads, 0])).flat();
for (const n of order) {
  const s = await startChild(fx.dir, [...flags, `-querier.threads=${n}`]);
  try {
    // Threads dial the frontend after /ready: wait until they pulled (the frontend counts queriers).
    await new Promise((r) => setTimeout(r, n > 0 ? 3000 : 500));
    // Cold: nothing in the page cache nor in the fresh server's caches.
    const zstdCold = zstdRgCold();
    if (!dropPageCache()) throw new Error('cannot drop the page cache (run as root)');
    const cold = await timed(s.url, s.proc.pid!, SCAN, { limit: '1000', direction: 'backward' });
    if (scanCount(cold.body) !== Math.min(1000, ref.scanHits)) throw new Error(`cold scan: ${scanCount(cold.body)} lines, brute force ${ref.scanHits}`);
    const scan = await timed(s.url, s.proc.pid!, SCAN, { limit: '1000', direction: 'backward' });
    if (scanCount(scan.body) !== Math.min(1000, ref.scanHits)) throw new Error(`scan: ${scanCount(scan.body)} lines, brute force ${ref.scanHits}`);
    await timed(s.url, s.proc.pid!, METRIC, STEP);
    const metric = await timed(s.url, s.proc.pid!, METRIC, STEP);
    const result = JSON.stringify(metric.body.data.result);
    if (metricRef === null) metricRef = result;
    else if (result !== metricRef) throw new Error(`metric answer with ${n} threads differs from the first run's`);
    const entries = metricTotal(metric.body);
    if (entries !== ref.jsonEntries) throw new Error(`metric: ${entries} entries counted, brute force ${ref.jsonEntries}`);
    const rgSec = rg();
    const row: Row = {
      threads: n,
      scan_cold_s: Number(cold.sec.toFixed(2)),
      zstd_rg_cold_s: Number(zstdCold.toFixed(2)),
      scan_s: Number(scan.sec.toFixed(2)),
      scan_cpu_s: Number(scan.cpu.toFixed(2)),
      scan_gb_per_s: Number((rawBytes / 1e9 / scan.sec).toFixed(2)),
      metric_s: Number(metric.sec.toFixed(2)),
      metric_cpu_s: Number(metric.cpu.toFixed(2)),
      // Entries read per second (every entry of the store is read and parsed or rejected), as issue #20 counts them.
      metric_m_entries_per_s: Number((fx.entries / 1e6 / metric.sec).toFixed(2)),
      rg_s: Number(rgSec.toFixed(2)),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  } finally {
    s.proc.kill('SIGTERM');
    await s.exited;
  }
}
/** min / median of a time column, and the rate `per` unit of work at those two times. */
const summary = (n: number, k: 'scan_s' | 'scan_cold_s' | 'zstd_rg_cold_s' | 'metric_s', per: number): string => {
  const v = rows.filter((r) => r.threads === n).map((r) => r[k]).sort((a, b) => a - b);
  const lo = v[0]!;
  const med = v[Math.floor((v.length - 1) / 2)]!;
  return `${lo} / ${med} s (${(per / lo).toFixed(2)} / ${(per / med).toFixed(2)} per s)`;
};
console.log(JSON.stringify({ bench: 'threads', entries: fx.entries, raw_bytes: rawBytes, chunk_bytes: fx.chunkBytes, scan_hits: ref.scanHits, json_entries: ref.jsonEntries }));
for (const n of [0, threads]) {
  const rgs = rows.filter((r) => r.threads === n).map((r) => r.rg_s).sort((a, b) => a - b);
  console.log(`threads=${n} [min / median]: cold scan ${summary(n, 'scan_cold_s', rawBytes / 1e9)} GB, zstd -dc | rg cold ${summary(n, 'zstd_rg_cold_s', rawBytes / 1e9)} GB; warm scan ${summary(n, 'scan_s', rawBytes / 1e9)} GB; metric ${summary(n, 'metric_s', fx.entries / 1e6)} M entries; rg ${rgs[0]} / ${rgs[Math.floor((rgs.length - 1) / 2)]} s`);
}
