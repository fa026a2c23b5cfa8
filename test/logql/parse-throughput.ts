/**
 * LogQL parse throughput on ten typical Grafana queries (Explore log queries, logs volume,
 * rate/topk/quantile_over_time with unwrap, binary operations), single-threaded.
 * Run: npx tsx test/logql/parse-throughput.ts   (parse-throughput.test.ts runs a shorter version)
 */
import { pathToFileURL } from 'node:url';
import { fastParse } from '../../src/logql/syntax/fast-parse.js';
import { PARSE_CACHE_SIZE, parseExpr, parseExprNearley, setParseCacheSize } from '../../src/logql/syntax/parse.js';
import { scanTokens } from '../../src/logql/syntax/scan.js';

export const TYPICAL_QUERIES: readonly string[] = [
  // Explore: log queries with line filters and json/logfmt
  '{app="checkout", env="prod"} |= "error" | json | level="error"',
  '{namespace="loki", container=~"ingester|querier"} |~ "(?i)timeout" | logfmt | duration > 10s',
  '{job="nginx"} != "healthcheck" | json | status >= 500 | line_format "{{.method}} {{.path}}"',
  // Logs volume (Grafana's supplementary query)
  'sum by (level) (count_over_time({app="checkout", env="prod"} | drop __error__ [1m]))',
  'sum by (level) (count_over_time({app="x", env=~"prod|dev"} |= "err" | json | level="error" [5m]))',
  // Metrics
  'sum by (status) (rate({job="nginx"} | json | __error__="" [5m]))',
  'topk(10, sum by (path) (rate({job="nginx"} | logfmt [5m])))',
  'quantile_over_time(0.99, {app="api"} | json | unwrap duration(latency) | __error__="" [5m]) by (route)',
  'sum(rate({app="api"} |= "error" [5m])) / sum(rate({app="api"}[5m])) * 100',
  'sum by (pod) (bytes_over_time({namespace="prod"}[5m])) / on (pod) group_left sum by (pod) (count_over_time({namespace="prod"}[5m]))',
];

export interface Throughput {
  name: string;
  /** Queries per second over the whole mix (best round). */
  qps: number;
}

function best(fn: (q: string) => unknown, queries: readonly string[], rounds: number, iterations: number): number {
  let top = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) for (const q of queries) fn(q);
    const s = (performance.now() - t0) / 1000;
    top = Math.max(top, (iterations * queries.length) / s);
  }
  return Math.round(top);
}

/** Measures the parse paths; restores the default cache size. */
export function measureThroughput(rounds = 7, iterations = 1000, queries = TYPICAL_QUERIES): Throughput[] {
  const out: Throughput[] = [];
  try {
    setParseCacheSize(0);
    best(parseExpr, queries, 2, Math.ceil(iterations / 5)); // warm-up
    out.push({ name: 'nearley path (parse + validate), before', qps: best(parseExprNearley, queries, rounds, Math.ceil(iterations / 3)) });
    out.push({ name: 'tokenize only (scan.ts)', qps: best(scanTokens, queries, rounds, iterations) });
    out.push({ name: 'fast parse, no validation', qps: best(fastParse, queries, rounds, iterations) });
    out.push({ name: 'parseExpr WITHOUT cache', qps: best(parseExpr, queries, rounds, iterations) });
    setParseCacheSize(PARSE_CACHE_SIZE);
    out.push({ name: 'parseExpr with cache (all hits)', qps: best(parseExpr, queries, rounds, iterations * 10) });
  } finally {
    setParseCacheSize(PARSE_CACHE_SIZE);
  }
  return out;
}

/** Per-query figures of parseExpr without the cache. */
export function measurePerQuery(rounds = 5, iterations = 2000, queries = TYPICAL_QUERIES): Throughput[] {
  try {
    setParseCacheSize(0);
    return queries.map((q) => ({ name: q, qps: best(parseExpr, [q], rounds, iterations) }));
  } finally {
    setParseCacheSize(PARSE_CACHE_SIZE);
  }
}

export function report(rows: Throughput[]): string {
  return rows.map((r) => `${String(r.qps).padStart(10)} q/s  ${r.name}`).join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log('LogQL parse throughput, 10 typical Grafana queries (mix):');
  console.log(report(measureThroughput()));
  console.log('\nparseExpr without cache, per query:');
  console.log(report(measurePerQuery()));
}
