/**
 * Server RSS while querying ~1 GB of stored text (issue #20 goal 4): builds a store of N generator
 * entries (default 5.3M, 1.08 GB of text) in this process, then starts Silt as a real process on
 * that store for each flag set and runs queries that read every block, sampling the server's RSS
 * every 100 ms.
 * Usage: npx tsx bench/rss-query.ts [lines=5300000] [runs=3]
 * Flag sets: Silt's defaults, then `-ingester.memory-limit=512MiB` (caches capped from it);
 * RSSQ_SETS='{"name": {"flags": [...], "env": {...}}}' runs these instead (env: the server's
 * environment on top of this one's, e.g. MALLOC_ARENA_MAX).
 * Besides RSS, the server's own /metrics (V8 heap used and total, external memory) are sampled
 * and reported at their maxima, to tell the JS heap, Buffers and the allocator apart.
 */
import { rssBytes, startChild } from './lib.js';
import { buildStore } from './store-fixture.js';

const lines = Number(process.argv[2] ?? 5_300_000);
const runs = Number(process.argv[3] ?? 3);
const fx = await buildStore(lines, { name: 'rss-query' });
const startNs = fx.firstNs;
const endNs = fx.lastNs + 1n;
await fx.app.stop();

// Every block is read: one-byte needles skip nothing, and the count is over all streams.
const queries = ['sum(count_over_time({cluster=~".+"} |= "a" [5m]))', '{cluster=~".+"} |= "zq"'];
type FlagSet = { flags: string[]; env?: Record<string, string> };
const flagSets: Record<string, FlagSet> = process.env['RSSQ_SETS']
  ? (JSON.parse(process.env['RSSQ_SETS']) as Record<string, FlagSet>)
  : { defaults: { flags: [] }, 'memory-limit=512MiB': { flags: ['-ingester.memory-limit=512MiB'] } };
const GAUGES = ['silt_nodejs_heap_size_used_bytes', 'silt_nodejs_heap_size_total_bytes', 'silt_nodejs_external_memory_bytes'] as const;
/** The server's heap and external-memory gauges (bytes), from its /metrics. */
async function gauges(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const g of GAUGES) {
    const m = new RegExp(`^${g} (\\S+)$`, 'm').exec(text);
    out[g] = m ? Number(m[1]) : NaN;
  }
  return out;
}
const base = ['-ingester.wal-enabled=false', '-querier.query-ingesters-within=1s', '-validation.max-entries-limit=1000000', '-querier.max-query-series=100000', '-querier.query-timeout=10m'];
for (const [name, set] of Object.entries(flagSets)) {
  const saved = { ...process.env };
  Object.assign(process.env, set.env ?? {});
  const silt = await startChild(fx.dir, [...base, ...set.flags]);
  process.env = saved;
  const pid = silt.proc.pid!;
  const idle = rssBytes(pid);
  for (let run = 1; run <= runs; run++) {
    let max = 0;
    const gmax: Record<string, number> = {};
    let polling = false;
    const sampler = setInterval(() => {
      max = Math.max(max, rssBytes(pid));
      if (polling) return;
      polling = true;
      void gauges(silt.url)
        .then((g) => {
          for (const [k, v] of Object.entries(g)) gmax[k] = Math.max(gmax[k] ?? 0, v);
        })
        .catch(() => {})
        .finally(() => (polling = false));
    }, 100);
    const t0 = performance.now();
    for (const q of queries) {
      const isMetric = q.startsWith('sum');
      const params = new URLSearchParams({ query: q, start: startNs.toString(), end: endNs.toString(), limit: '1000', ...(isMetric ? { step: '300' } : {}) });
      const r = await fetch(`${silt.url}/loki/api/v1/query_range?${params}`);
      const body = await r.text();
      if (r.status !== 200) throw new Error(`${q}: ${r.status} ${body.slice(0, 300)}`);
    }
    clearInterval(sampler);
    max = Math.max(max, rssBytes(pid));
    console.log(JSON.stringify({ bench: 'query_rss', flags: name, run, entries: fx.entries, chunk_mb: Math.round(fx.chunkBytes / 1e6), seconds: Number(((performance.now() - t0) / 1000).toFixed(1)), rss_idle_mb: Math.round(idle / 1e6), rss_max_mb: Math.round(max / 1e6), rss_end_mb: Math.round(rssBytes(pid) / 1e6), heap_used_max_mb: Math.round((gmax[GAUGES[0]] ?? 0) / 1e6), heap_total_max_mb: Math.round((gmax[GAUGES[1]] ?? 0) / 1e6), external_max_mb: Math.round((gmax[GAUGES[2]] ?? 0) / 1e6) }));
  }
  silt.proc.kill('SIGKILL');
  await silt.exited;
}
process.exit(0);
