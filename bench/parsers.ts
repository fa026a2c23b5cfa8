/**
 * Per-core parser speed without storage (issue #20 goal 3): N generator entries held in memory
 * as Buffers, each run through the compiled sample extractor (metric queries, with the parent
 * sum's grouping pushed down as the engine does) or log pipeline. Entries/s = entries / time,
 * best of `reps` passes after one warm-up pass (wall time, and process CPU time for loaded machines).
 * Usage: npx tsx bench/parsers.ts [lines=300000] [reps=5]; SILT_BENCH_ONLY=<substring>.
 */
import { compilePipeline, compileSampleExtractor } from '../src/logql/log/index.js';
import { labelsFromObject } from '../src/model/index.js';
import { parseExpr } from '../src/logql/syntax/index.js';
import { genEntries } from '../test/support/genlogs.js';

const lines = Number(process.argv[2] ?? 300_000);
const reps = Number(process.argv[3] ?? 5);
const entries = genEntries({ lines, streams: 1000 });
const labelCache = new Map<string, ReturnType<typeof labelsFromObject>>();
const data = entries.map((e) => {
  const k = JSON.stringify(e.labels);
  let l = labelCache.get(k);
  if (l === undefined) labelCache.set(k, (l = labelsFromObject(e.labels)));
  return { labels: l, ts: e.tsNs, line: Buffer.from(e.line) };
});
const QUERIES = [
  'sum by (level) (count_over_time({cluster=~".+"} | json | __error__="" [1m]))',
  'sum by (level) (count_over_time({cluster=~".+", level=~".+"} | json [1m]))',
  'sum by (app) (count_over_time({cluster=~".+"} | logfmt | duration > 100ms [1m]))',
  'sum by (app) (count_over_time({cluster=~".+"} |~ "status=5[0-9]{2}|\\" 5[0-9]{2} " [1m]))',
  '{cluster=~".+"} | logfmt | duration > 100ms',
  '{cluster=~".+"} |~ "(?i)timeout|deadlock"',
];
const only = process.env['SILT_BENCH_ONLY'];
const out: Record<string, unknown>[] = [];
for (const query of QUERIES.filter((x) => !only || x.includes(only))) {
  const expr = parseExpr(query) as any;
  let run: () => number;
  if (expr.kind === 'logSelector') {
    const p = compilePipeline(expr);
    const sps = data.map((d) => p.forStream(d.labels));
    run = () => {
      let kept = 0;
      for (let i = 0; i < data.length; i++) if (sps[i]!.process(data[i]!.ts, data[i]!.line, []) !== null) kept++;
      return kept;
    };
  } else {
    const range = expr.expr;
    const ex = compileSampleExtractor(range.range, range.op, { grouping: expr.grouping });
    const ses = data.map((d) => ex.forStream(d.labels));
    run = () => {
      let kept = 0;
      for (let i = 0; i < data.length; i++) {
        const s = ses[i]!.process(data[i]!.ts, data[i]!.line, []);
        if (s !== null) {
          s.labels.labels();
          kept++;
        }
      }
      return kept;
    };
  }
  // The stream matcher is not applied: every entry is looked at. forStream is resolved once per
  // entry outside the timing (the store scan resolves it once per stream and chunk).
  const kept = run();
  let best = Infinity;
  let bestCpu = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    run();
    const cu = process.cpuUsage(c);
    best = Math.min(best, performance.now() - t);
    bestCpu = Math.min(bestCpu, (cu.user + cu.system) / 1000);
  }
  out.push({ query, kept, best_ms: Math.round(best), entries_per_s: Math.round(lines / (best / 1000)), best_cpu_ms: Math.round(bestCpu), entries_per_cpu_s: Math.round(lines / (bestCpu / 1000)) });
}
console.log(JSON.stringify({ bench: 'parsers', entries: lines, results: out }, null, 1));
