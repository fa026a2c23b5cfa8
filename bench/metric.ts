/**
 * LogQL evaluation speed over stored chunks (issue #3): metric and log queries with parsers
 * over N generator entries (default 5.3M), each run twice (the second with chunks cached).
 * Entries/s = entries the query looked at (after the stream selector and time range) / time;
 * cpu_s = process CPU seconds during the query (all threads), for loaded machines.
 * Usage: npx tsx bench/metric.ts [lines=5300000]
 * SILT_BENCH_RG=1 also writes the raw text and times `rg -c` for each `|~` regex on it (best of
 * 3, after the queries), the baseline of issue #20 goal 3.
 */
import { execFileSync, spawn } from 'node:child_process';
import { parseExpr, type SampleExpr } from '../src/logql/syntax/index.js';
import { requireTools } from './lib.js';
import { buildStore } from './store-fixture.js';

if (process.env['SILT_BENCH_RG']) requireTools('rg');

const lines = Number(process.argv[2] ?? 5_300_000);
const withRg = process.env['SILT_BENCH_RG'] === '1';
const fx = await buildStore(lines, { name: 'metric', raw: withRg });
const q = fx.app.querier!;
const startNs = fx.firstNs - 1_000_000_000n;
const endNs = fx.lastNs + 1n;
const QUERIES = [
  // JSON app streams carry a level label; the other kinds fail | json (an error, as in Loki).
  'sum by (level) (count_over_time({cluster=~".+", level=~".+"} | json [1m]))',
  'sum by (level) (count_over_time({cluster=~".+"} | json | __error__="" [1m]))',
  'sum by (app) (count_over_time({cluster=~".+"} | logfmt | duration > 100ms [1m]))',
  'sum by (app) (count_over_time({cluster=~".+"} |~ "status=5[0-9]{2}|\\" 5[0-9]{2} " [1m]))',
  '{cluster=~".+"} | logfmt | duration > 100ms',
  '{cluster=~".+"} |~ "(?i)timeout|deadlock"',
];
// SILT_BENCH_ONLY=<substring> runs only matching queries; SILT_BENCH_PROFILE=<file> profiles warm runs.
const only = process.env['SILT_BENCH_ONLY'];
const profileFile = process.env['SILT_BENCH_PROFILE'];
let session: import('node:inspector').Session | null = null;
if (profileFile) {
  session = new (await import('node:inspector')).Session();
  session.connect();
}
const post = (m: string, p?: object): Promise<any> => new Promise((res, rej) => session!.post(m, p ?? {}, (e, r) => (e ? rej(e) : res(r))));
const out: Record<string, unknown>[] = [];
for (const query of QUERIES.filter((x) => !only || x.includes(only))) {
  const expr = parseExpr(query);
  for (const run of ['cold', 'warm']) {
    if (session && run === (process.env['SILT_BENCH_PROFILE_RUN'] ?? 'warm')) await post('Profiler.enable').then(() => post('Profiler.start'));
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    let looked = 0;
    let result = 0;
    if (expr.kind === 'logSelector') {
      const r = await q.logQuery({ tenant: 'fake', query, startNs, endNs, limit: 1000, direction: 'backward' });
      looked = r.stats.linesProcessed;
      result = r.streams.reduce((a, s) => a + s.entries.length, 0);
    } else {
      const r = await q.metricQuery({ tenant: 'fake', expr: expr as SampleExpr, startNs, endNs, stepNs: 60_000_000_000n, instant: false });
      looked = r.stats.linesProcessed;
      result = r.data.type === 'matrix' ? r.data.series.length : 0;
    }
    const sec = (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSec = (cpu.user + cpu.system) / 1e6;
    if (session && run === (process.env['SILT_BENCH_PROFILE_RUN'] ?? 'warm')) {
      const { profile } = await post('Profiler.stop');
      (await import('node:fs')).writeFileSync(profileFile!.replace('.cpuprofile', `-${out.length}.cpuprofile`), JSON.stringify(profile));
    }
    out.push({ query, run, entries_looked_at: looked, seconds: Number(sec.toFixed(2)), entries_per_s: Math.round(looked / sec), cpu_s: Number(cpuSec.toFixed(2)), entries_per_cpu_s: Math.round(looked / cpuSec), result_size: result });
  }
}
// rg on the same text: the `|~` patterns (Go RE2 syntax, which rg's default engine also reads).
const rg: Record<string, unknown>[] = [];
if (withRg) {
  for (const query of QUERIES.filter((x) => (!only || x.includes(only)) && x.includes('|~'))) {
    const pattern = JSON.parse(query.slice(query.indexOf('|~') + 2).trim().replace(/ \[1m\]\)\)$/, '')) as string;
    let best = Infinity;
    let count = '';
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      try {
        count = execFileSync('rg', ['-c', pattern, fx.rawFile]).toString().trim();
      } catch {
        count = '0';
      }
      best = Math.min(best, (performance.now() - t) / 1000);
    }
    rg.push({ pattern, lines_matched: Number(count), seconds: Number(best.toFixed(3)) });
  }
}
console.log(JSON.stringify({ bench: 'logql', entries: fx.entries, ingest_s: Number(fx.ingestSeconds.toFixed(1)), chunk_bytes: fx.chunkBytes, results: out, rg }, null, 1));
await fx.app.stop();
spawn('rm', ['-rf', fx.dir]);
process.exit(0);
