/**
 * LogQL evaluation speed over stored chunks (issue #3): metric and log queries with parsers
 * over N generator entries (default 5.3M), each run twice (the second with chunks cached).
 * Entries/s = entries the query looked at (after the stream selector and time range) / time.
 * Usage: npx tsx bench/metric.ts [lines=5300000]
 */
import { spawn } from 'node:child_process';
import { parseExpr, type SampleExpr } from '../src/logql/syntax/index.js';
import { buildStore } from './store-fixture.js';

const lines = Number(process.argv[2] ?? 5_300_000);
const fx = await buildStore(lines, { name: 'metric' });
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
    if (session && run === (process.env['SILT_BENCH_PROFILE_RUN'] ?? 'warm')) {
      const { profile } = await post('Profiler.stop');
      (await import('node:fs')).writeFileSync(profileFile!.replace('.cpuprofile', `-${out.length}.cpuprofile`), JSON.stringify(profile));
    }
    out.push({ query, run, entries_looked_at: looked, seconds: Number(sec.toFixed(2)), entries_per_s: Math.round(looked / sec), result_size: result });
  }
}
console.log(JSON.stringify({ bench: 'logql', entries: fx.entries, ingest_s: Number(fx.ingestSeconds.toFixed(1)), chunk_bytes: fx.chunkBytes, results: out }, null, 1));
await fx.app.stop();
spawn('rm', ['-rf', fx.dir]);
process.exit(0);
