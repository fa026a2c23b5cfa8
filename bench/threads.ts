/**
 * One query on several cores (issue #20 goals 2 and 3): the same stored data queried over HTTP
 * (through the query-frontend, as Grafana asks) by a `-target=all` server process with
 * `-querier.threads=0` and with `-querier.threads=N`, runs interleaved, next to `rg` on the raw
 * text in the same run.
 *
 * Usage: npx tsx bench/threads.ts [lines=5300000] [runs=3] [threads=1]
 * The store is built once (bench/store-fixture.ts: data ends 30 min ago, only stored chunks are
 * read). Per run and configuration a fresh server starts on it (block cache off, so warm means
 * cached chunk bytes decompressed again, as bench/scan.ts) and times the full scan cold (page
 * cache dropped first; beside `zstd -dc | rg -F` over the raw text as one .zst, also from a
 * dropped page cache, root only) and warm (the next query, and the fastest of the 3 after it:
 * "steady"); then a second fresh server times issue #20 goal 3's metric queries: the json count
 * cold, and the json, logfmt and `|~` counts warm (each once untimed, then timed; the json
 * count also steady), the regex beside `rg -c`. Every answer is checked against the
 * brute-force count over the jsonl twin (scan, json and regex counts) and against the first
 * run's answer (every metric query, either configuration).
 * The json count's baseline is DuckDB in memory (goal 3: ≥ 0.5x of it), the same count over the
 * jsonl twin loaded into a table: `@duckdb/node-api` is installed into a temp dir for the run
 * (not a Silt dependency; SILT_BENCH_DUCKDB=0 skips it). SILT_BENCH_CODEC=snappy (or zstd) builds the
 * store with that chunk codec instead of Silt's default (lz4).
 * SILT_BENCH_BASE=<another checkout> compares this checkout with that one (e.g. a `git worktree`
 * of the commit before a change, or a `bench/build.sh` build), both with `threads` querier
 * threads, instead of 0 threads with `threads`. The full scan is also timed cold on a running
 * server (its caches off, the page cache dropped before each query). SILT_BENCH_SCAN_ONLY=1 times the full scan alone
 * (no metric queries, no DuckDB). SILT_BENCH_TRACE_GC=1 runs the servers with `--trace-gc` and
 * reports the collections of each cold scan (`scan_cold_full_gcs`, `scan_cold_gc_ms`: pauses of
 * every isolate of the process, summed).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { cpuSeconds, dropPageCache, requireTools, startChild, STORED_QUERY_FLAGS, tempDir } from './lib.js';
import { buildStore } from './store-fixture.js';

requireTools('rg', 'zstd');
const lines = Number(process.argv[2] ?? 5_300_000);
const runs = Number(process.argv[3] ?? 3);
const threads = Number(process.argv[4] ?? 1);

// SILT_BENCH_CODEC: the chunk codec of the store (Silt's default, lz4, unless set).
const fx = await buildStore(lines, { raw: true, name: 'threads', blockCache: '0', codec: process.env['SILT_BENCH_CODEC'] });
await fx.app.stop();
const rawBytes = statSync(fx.rawFile).size;
const startNs = fx.firstNs - 1_000_000_000n;
const endNs = fx.lastNs + 60_000_000_000n;

const NEEDLE = 'zq#x';
const SCAN = `{cluster=~".+"} |= "${NEEDLE}"`;
/** Issue #20 goal 3's metric queries: the json count (also timed cold), logfmt, and a `|~` regex beside `rg -c` of the same pattern. */
const JSON_COUNT = 'sum by (level) (count_over_time({cluster=~".+"} | json | __error__="" [1m]))';
const LOGFMT = 'sum by (app) (count_over_time({cluster=~".+"} | logfmt | duration > 100ms [1m]))';
const REGEX_PATTERN = 'status=5[0-9]{2}|" 5[0-9]{2} ';
const REGEX = `sum by (app) (count_over_time({cluster=~".+"} |~ ${JSON.stringify(REGEX_PATTERN)} [1m]))`;

/**
 * Brute force over the jsonl twin: lines holding the needle, lines that parse as JSON objects
 * (what `| json | __error__=""` keeps) and lines the regex matches (the pattern means the same
 * in RE2 and JavaScript).
 */
async function reference(): Promise<{ scanHits: number; jsonEntries: number; regexEntries: number }> {
  let scanHits = 0;
  let jsonEntries = 0;
  let regexEntries = 0;
  const re = new RegExp(REGEX_PATTERN);
  const rl = createInterface({ input: createReadStream(path.join(fx.dir, 'logs.jsonl')), crlfDelay: Infinity });
  for await (const l of rl) {
    const o = JSON.parse(l) as { line: string };
    if (o.line.includes(NEEDLE)) scanHits++;
    if (re.test(o.line)) regexEntries++;
    if (o.line.startsWith('{')) {
      try {
        const v: unknown = JSON.parse(o.line);
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) jsonEntries++;
      } catch {
        /* not JSON: __error__ drops it */
      }
    }
  }
  return { scanHits, jsonEntries, regexEntries };
}
const ref = await reference();

/** The DuckDB release of the baseline. */
const DUCKDB_VERSION = '1.5.6-r.1';
/**
 * DuckDB's time for the json count (3 runs, each a fresh query over a table it holds in memory:
 * the jsonl twin's timestamp and line), or null when it cannot be installed. Its answer must
 * equal the brute force.
 */
async function duckdb(): Promise<number[] | null> {
  if (process.env['SILT_BENCH_DUCKDB'] === '0') return null;
  const dir = tempDir('silt-bench-duckdb-');
  try {
    execFileSync('npm', ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', `@duckdb/node-api@${DUCKDB_VERSION}`], { stdio: 'ignore' });
  } catch (e) {
    console.log(`duckdb baseline skipped: npm install failed (${(e as Error).message.split('\n')[0]})`);
    return null;
  }
  const entry = createRequire(path.join(dir, 'package.json')).resolve('@duckdb/node-api');
  const { DuckDBInstance } = (await import(pathToFileURL(entry).href)) as { DuckDBInstance: any };
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const jsonl = path.join(fx.dir, 'logs.jsonl').replaceAll("'", "''");
    await c.run(`CREATE TABLE logs AS SELECT CAST(ts_ns AS BIGINT) AS ts, line FROM read_json('${jsonl}', columns = {ts_ns: 'VARCHAR', line: 'VARCHAR'}, format = 'newline_delimited')`);
    // Per minute and level, the lines that are JSON objects (what `| json | __error__=""` keeps), summed per level.
    const sql = `SELECT level, sum(n) AS n FROM (SELECT ts // 60000000000 AS m, line->>'$.level' AS level, count(*) AS n FROM logs WHERE json_valid(line) AND json_type(line) = 'OBJECT' GROUP BY ALL) GROUP BY level`;
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const rows = (await c.runAndReadAll(sql)).getRows() as [string | null, unknown][];
      times.push((performance.now() - t) / 1000);
      const total = rows.reduce((a, r) => a + Number(r[1]), 0);
      if (total !== ref.jsonEntries) throw new Error(`duckdb: ${total} JSON objects, brute force ${ref.jsonEntries}`);
    }
    return times;
  } finally {
    c.closeSync();
    db.closeSync();
  }
}
const scanOnly = process.env['SILT_BENCH_SCAN_ONLY'] === '1';
const traceGc = process.env['SILT_BENCH_TRACE_GC'] === '1';
// startChild adds SILT_NODE_ARGS to the server's node flags.
if (traceGc) process.env['SILT_NODE_ARGS'] = `${process.env['SILT_NODE_ARGS'] ?? ''} --trace-gc`;
/** Full collections and pause ms in `--trace-gc` lines (`Mark-Compact … MB, 12.3 / 0.0 ms`, `Scavenge …`). */
function gcPauses(trace: string): { full: number; ms: number } {
  let full = 0;
  let ms = 0;
  for (const m of trace.matchAll(/(Mark-Compact|Scavenge|Minor Mark-Compact)[^\n]*?MB, ([\d.]+) \//g)) {
    if (m[1] === 'Mark-Compact') full++;
    ms += Number(m[2]);
  }
  return { full, ms: Math.round(ms) };
}
const duck = scanOnly ? null : await duckdb();

// The cold baseline: the raw text as one .zst (zstd -3), decompressed and searched from a cold page cache.
const zstFile = `${fx.rawFile}.zst`;
execFileSync('zstd', ['-q', '-3', '-T1', fx.rawFile, '-o', zstFile]);
function zstdRgCold(): number {
  if (!dropPageCache()) throw new Error('cannot drop the page cache (run as root)');
  const t = performance.now();
  execFileSync('sh', ['-c', `zstd -dc '${zstFile}' | rg -F -c '${NEEDLE}' || true`]);
  return (performance.now() - t) / 1000;
}

/**
 * Seconds `rg` takes over the raw text with the page cache warm: the second of two runs (the
 * cold runs drop the page cache, so the first may read the file from disk). rg exits 1 when
 * nothing matches.
 */
function rg(args: string[]): number {
  let sec = 0;
  for (let i = 0; i < 2; i++) {
    const t = performance.now();
    try {
      execFileSync('rg', [...args, fx.rawFile]);
    } catch (e) {
      if ((e as { status?: number }).status !== 1) throw e;
    }
    sec = (performance.now() - t) / 1000;
  }
  return sec;
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

/** The first run's answer of each metric query: every later run (either configuration) must give the same. */
const answers = new Map<string, string>();
function checkMetric(name: string, body: any, expectTotal: number | null): void {
  const result = JSON.stringify(body.data.result);
  const first = answers.get(name);
  if (first === undefined) answers.set(name, result);
  else if (result !== first) throw new Error(`${name}: answer differs from the first run's`);
  if (expectTotal !== null && metricTotal(body) !== expectTotal) throw new Error(`${name}: ${metricTotal(body)} entries counted, brute force ${expectTotal}`);
}

type Row = {
  config: string;
  threads: number;
  scan_cold_s: number;
  scan_cold_vs_zstd: number;
  scan_cold_full_gcs: number;
  scan_cold_gc_ms: number;
  scan_cold_running_s: number;
  scan_cold_running_cpu_s: number;
  zstd_rg_cold_s: number;
  scan_s: number;
  scan_cpu_s: number;
  scan_steady_s: number;
  scan_steady_cpu_s: number;
  rg_s: number;
  json_cold_s: number;
  json_s: number;
  json_cpu_s: number;
  json_steady_s: number;
  json_steady_cpu_s: number;
  logfmt_s: number;
  logfmt_cpu_s: number;
  regex_s: number;
  regex_cpu_s: number;
  rg_regex_s: number;
};
const rows: Row[] = [];
/**
 * Queries timed after the first warm one, of which the fastest is the server's steady state:
 * a fresh process needs a few queries before the JIT and its allocator settle, and a server in
 * use has run many (the `_steady` columns; the plain warm columns keep the first warm query).
 */
const STEADY = 3;
const fastest = <T extends { sec: number }>(a: readonly T[]): T => a.reduce((x, y) => (y.sec < x.sec ? y : x));
const round = (x: number): number => Number(x.toFixed(2));

/** A fresh server of config `c` (with `more` flags), once it has its threads pulling. */
async function server(c: (typeof configs)[number], more: string[] = []): Promise<Awaited<ReturnType<typeof startChild>>> {
  const s = await startChild(fx.dir, [...flags, `-querier.threads=${c.n}`, ...more], 60_000, c.root);
  // Threads dial the frontend after /ready: wait until they pulled (the frontend counts queriers).
  await new Promise((r) => setTimeout(r, c.n > 0 ? 3000 : 500));
  return s;
}
async function stop(s: Awaited<ReturnType<typeof startChild>>): Promise<void> {
  s.proc.kill('SIGTERM');
  await s.exited;
}

const base = process.env['SILT_BENCH_BASE'];
/** What the runs compare, interleaved. */
const configs: { name: string; n: number; root: string | undefined }[] = base
  ? [
      { name: `this, threads=${threads}`, n: threads, root: undefined },
      { name: `base ${base}, threads=${threads}`, n: threads, root: path.resolve(base) },
    ]
  : [
      { name: 'threads=0', n: 0, root: undefined },
      { name: `threads=${threads}`, n: threads, root: undefined },
    ];
const order = Array.from({ length: runs }, (_, i) => (i % 2 === 0 ? configs : [...configs].reverse())).flat();
for (const c of order) {
  const row = { config: c.name, threads: c.n } as Row;
  // The scan: cold (nothing in the page cache nor in the fresh server's caches), then warm.
  let s = await server(c);
  try {
    row.zstd_rg_cold_s = round(zstdRgCold());
    if (!dropPageCache()) throw new Error('cannot drop the page cache (run as root)');
    const traceFrom = s.stdout().length;
    const cold = await timed(s.url, s.proc.pid!, SCAN, { limit: '1000', direction: 'backward' });
    if (traceGc) {
      const g = gcPauses(s.stdout().slice(traceFrom));
      Object.assign(row, { scan_cold_full_gcs: g.full, scan_cold_gc_ms: g.ms });
    }
    if (scanCount(cold.body) !== Math.min(1000, ref.scanHits)) throw new Error(`cold scan: ${scanCount(cold.body)} lines, brute force ${ref.scanHits}`);
    const scans: { sec: number; cpu: number }[] = [];
    for (let i = 0; i < 1 + STEADY; i++) {
      const scan = await timed(s.url, s.proc.pid!, SCAN, { limit: '1000', direction: 'backward' });
      if (scanCount(scan.body) !== Math.min(1000, ref.scanHits)) throw new Error(`scan: ${scanCount(scan.body)} lines, brute force ${ref.scanHits}`);
      scans.push(scan);
    }
    const steady = fastest(scans.slice(1));
    Object.assign(row, {
      scan_cold_s: round(cold.sec),
      scan_cold_vs_zstd: round(row.zstd_rg_cold_s / cold.sec),
      scan_s: round(scans[0]!.sec),
      scan_cpu_s: round(scans[0]!.cpu),
      scan_steady_s: round(steady.sec),
      scan_steady_cpu_s: round(steady.cpu),
      rg_s: round(rg(['-F', '-c', NEEDLE])),
    });
  } finally {
    await stop(s);
  }
  // Cold data on a running server: Silt's chunk and block caches off, the JIT warmed by two
  // scans, then the page cache dropped before each of 3 scans (the fastest kept): what a query
  // over data nobody read lately costs on a server that has been up, without the fresh
  // process's start-up (its first query above).
  s = await server(c, ['-store.chunks-cache-size=0', '-querier.block-cache-size=0']);
  try {
    for (let i = 0; i < 2; i++) await timed(s.url, s.proc.pid!, SCAN, { limit: '1000', direction: 'backward' });
    const colds: { sec: number; cpu: number }[] = [];
    for (let i = 0; i < STEADY; i++) {
      if (!dropPageCache()) throw new Error('cannot drop the page cache (run as root)');
      const t = await timed(s.url, s.proc.pid!, SCAN, { limit: '1000', direction: 'backward' });
      if (scanCount(t.body) !== Math.min(1000, ref.scanHits)) throw new Error(`cold scan: ${scanCount(t.body)} lines, brute force ${ref.scanHits}`);
      colds.push(t);
    }
    const best = fastest(colds);
    Object.assign(row, { scan_cold_running_s: round(best.sec), scan_cold_running_cpu_s: round(best.cpu) });
  } finally {
    await stop(s);
  }
  if (scanOnly) {
    rows.push(row);
    console.log(JSON.stringify(row));
    continue;
  }
  // The metric queries on another fresh server: the json count cold, then each query warm (once untimed, then timed).
  s = await server(c);
  try {
    if (!dropPageCache()) throw new Error('cannot drop the page cache (run as root)');
    const cold = await timed(s.url, s.proc.pid!, JSON_COUNT, STEP);
    checkMetric('json', cold.body, ref.jsonEntries);
    const warm = async (name: string, q: string, expectTotal: number | null): Promise<{ sec: number; cpu: number }> => {
      await timed(s.url, s.proc.pid!, q, STEP);
      const t = await timed(s.url, s.proc.pid!, q, STEP);
      checkMetric(name, t.body, expectTotal);
      return t;
    };
    const json = await warm('json', JSON_COUNT, ref.jsonEntries);
    const jsonRuns: { sec: number; cpu: number }[] = [];
    for (let i = 0; i < STEADY; i++) {
      const t = await timed(s.url, s.proc.pid!, JSON_COUNT, STEP);
      checkMetric('json', t.body, ref.jsonEntries);
      jsonRuns.push(t);
    }
    const jsonSteady = fastest(jsonRuns);
    const logfmt = await warm('logfmt', LOGFMT, null);
    const regex = await warm('regex', REGEX, ref.regexEntries);
    Object.assign(row, {
      json_cold_s: round(cold.sec),
      json_s: round(json.sec),
      json_cpu_s: round(json.cpu),
      json_steady_s: round(jsonSteady.sec),
      json_steady_cpu_s: round(jsonSteady.cpu),
      logfmt_s: round(logfmt.sec),
      logfmt_cpu_s: round(logfmt.cpu),
      regex_s: round(regex.sec),
      regex_cpu_s: round(regex.cpu),
      rg_regex_s: round(rg(['-c', REGEX_PATTERN])),
    });
  } finally {
    await stop(s);
  }
  rows.push(row);
  console.log(JSON.stringify(row));
}

/** min / median of a column over the runs of config `n`. */
function minMedian(n: string, k: Exclude<keyof Row, 'config'>): [number, number] {
  const v = rows.filter((r) => r.config === n).map((r) => r[k]).sort((a, b) => a - b);
  return [v[0]!, v[Math.floor((v.length - 1) / 2)]!];
}
/** "min / median s (rate at min / rate at median)" of a time column, `per` units of work per query. */
function summary(n: string, k: Exclude<keyof Row, 'config'>, per: number, unit: string): string {
  const [lo, med] = minMedian(n, k);
  return `${lo} / ${med} s (${(per / lo).toFixed(2)} / ${(per / med).toFixed(2)} ${unit}/s)`;
}
const gb = rawBytes / 1e9;
const m = fx.entries / 1e6;
console.log(JSON.stringify({ bench: 'threads', entries: fx.entries, raw_bytes: rawBytes, chunk_bytes: fx.chunkBytes, scan_hits: ref.scanHits, json_entries: ref.jsonEntries, regex_entries: ref.regexEntries }));
for (const { name: n } of configs) {
  console.log(`${n} [min / median]:`);
  console.log(`  scan cold ${summary(n, 'scan_cold_s', gb, 'GB')}; zstd -dc | rg -F cold ${summary(n, 'zstd_rg_cold_s', gb, 'GB')}`);
  console.log(`  scan cold against zstd -dc | rg -F in the same run (x, higher is faster): ${minMedian(n, 'scan_cold_vs_zstd').join(' / ')}`);
  if (traceGc) console.log(`  cold scan's collections: full ${minMedian(n, 'scan_cold_full_gcs').join(' / ')}, pauses ms ${minMedian(n, 'scan_cold_gc_ms').join(' / ')}`);
  console.log(`  scan cold on a running server (fastest of ${STEADY}, no Silt caches) ${summary(n, 'scan_cold_running_s', gb, 'GB')}, CPU-s ${minMedian(n, 'scan_cold_running_cpu_s').join(' / ')}`);
  console.log(`  scan warm ${summary(n, 'scan_s', gb, 'GB')}; rg -F ${summary(n, 'rg_s', gb, 'GB')}`);
  console.log(`  scan warm, steady (fastest of the next ${STEADY}) ${summary(n, 'scan_steady_s', gb, 'GB')}`);
  const [cpuLo, cpuMed] = minMedian(n, 'scan_cpu_s');
  const [sCpuLo, sCpuMed] = minMedian(n, 'scan_steady_cpu_s');
  console.log(`  scan CPU-s, warm ${cpuLo} / ${cpuMed} (${(gb / cpuLo).toFixed(2)} / ${(gb / cpuMed).toFixed(2)} GB per CPU-s), steady ${sCpuLo} / ${sCpuMed} (${(gb / sCpuLo).toFixed(2)} / ${(gb / sCpuMed).toFixed(2)})`);
  if (scanOnly) continue;
  // Entries read per second (every entry of the store is read and parsed or rejected), as issue #20 counts them.
  console.log(`  json count cold ${summary(n, 'json_cold_s', m, 'M entries')}, warm ${summary(n, 'json_s', m, 'M entries')}, steady ${summary(n, 'json_steady_s', m, 'M entries')}`);
  console.log(`  logfmt count warm ${summary(n, 'logfmt_s', m, 'M entries')}`);
  if (duck !== null) {
    const d = [...duck].sort((a, b) => a - b);
    const [jLo, jMed] = minMedian(n, 'json_s');
    const [sLo, sMed] = minMedian(n, 'json_steady_s');
    console.log(`  duckdb json count in memory ${d[0]!.toFixed(2)} / ${d[1]!.toFixed(2)} s (${(m / d[0]!).toFixed(2)} / ${(m / d[1]!).toFixed(2)} M entries/s): Silt warm at ${(d[0]! / jLo).toFixed(2)} / ${(d[1]! / jMed).toFixed(2)}x, steady ${(d[0]! / sLo).toFixed(2)} / ${(d[1]! / sMed).toFixed(2)}x`);
  }
  const [rgLo, rgMed] = minMedian(n, 'rg_regex_s');
  const [reLo, reMed] = minMedian(n, 'regex_s');
  console.log(`  regex count warm ${summary(n, 'regex_s', m, 'M entries')}; rg -c ${rgLo} / ${rgMed} s: Silt at ${(rgLo / reLo).toFixed(2)} / ${(rgMed / reMed).toFixed(2)}x rg`);
}
