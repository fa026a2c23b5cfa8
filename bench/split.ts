/**
 * Query-frontend figures (issue #21 §3): a 7-day metric query and a 7-day needle log query over
 * a store of ≥ 5 GB of text, answered by a real cluster (tools/cluster: etcd, one ingester, one
 * distributor, one query-frontend, 1 or 2 queriers, every role its own process), in three
 * configurations:
 *   - unsplit:    the frontend with `split_queries_by_interval: 0` and `max_query_shards: 1`
 *                 (every query is one piece on one querier: the query path before the frontend),
 *   - split, 1q:  the defaults (1h windows, shards sized from index stats), one querier,
 *   - split, 2q:  the same with two queriers.
 * Per run and configuration: a fresh cluster on the store (empty chunk and results caches),
 * the page cache dropped (root), then
 *   needle cold → metric cold → metric again (warm results cache) → needle again (warm chunk cache),
 * and, once per configuration, the pieces dispatched for `limit=1000` log queries over 7 days
 * (`stats.summary.subqueries`). Runs interleave the configurations; min/median over runs.
 * Every answer is checked: the needle's hits equal the brute-force count in the store's meta
 * file, and every configuration's metric answer equals the unsplit one, value for value.
 *
 *   npx tsx bench/needle.ts build <dir> 26500000 snappy 44   # 5.4 GB of text over 7 days (once)
 *   npx tsx bench/split.ts <dir> [runs=3] [configs=unsplit,split1,split2]
 *
 * The clusters live in a temp dir and are stopped at the end, also on errors.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startCluster, stopCluster, type ClusterInfo } from '../tools/cluster/cluster.js';
import { dropPageCache, tempDir } from './lib.js';

const dir = path.resolve(process.argv[2] ?? '');
const runs = Number(process.argv[3] ?? 3);
const configs = (process.argv[4] ?? 'unsplit,split1,split2').split(',');

interface Meta {
  entries: number;
  firstNs: string;
  lastNs: string;
  rawBytes: number;
  chunkBytes: number;
  needles: { name: string; needle: string; count: number }[];
}
const meta = JSON.parse(readFileSync(path.join(dir, 'meta-snappy.json'), 'utf8')) as Meta;
const store = path.join(dir, 'store-snappy', 'chunks');
const needle = meta.needles.find((n) => n.name.startsWith('trace id'))!;
const startNs = (BigInt(meta.firstNs) - 1_000_000_000n).toString();
const endNs = (BigInt(meta.lastNs) + 1n).toString();

const METRIC = 'sum by (level) (count_over_time({level=~".+"} | json [5m]))';
const NEEDLE = `{cluster=~".+"} |= ${JSON.stringify(needle.needle)}`;
const DENSE = '{cluster=~".+"}';

const COMMON: Record<string, unknown> = {
  'storage_config.filesystem.directory': store,
  'query_range.cache_results': true,
  // Sized for the store (2.7 GB of chunks): the chunk tails (metas and needle filters, ~12 % of
  // it) then stay cached in every querier (a quarter of this), as a deployment of this size would set.
  'storage_config.chunk_cache_size': '2GiB',
  'querier.query_timeout': '30m',
  'server.http_server_read_timeout': '30m',
  'limits_config.max_query_series': 100000,
  'limits_config.max_entries_limit_per_query': 100000,
  'limits_config.max_query_length': '0s',
};
const CONFIGS: Record<string, { queriers: number; settings: Record<string, unknown> }> = {
  unsplit: { queriers: 1, settings: { 'limits_config.split_queries_by_interval': '0s', 'limits_config.max_query_shards': 1 } },
  split1: { queriers: 1, settings: {} },
  split2: { queriers: 2, settings: {} },
};

interface Answer {
  sec: number;
  body: { status: string; data: { result: unknown[]; stats?: { summary?: Record<string, number> } } };
}

async function query(base: string, p: Record<string, string>): Promise<Answer> {
  const t = performance.now();
  const r = await fetch(`${base}/loki/api/v1/query_range?${new URLSearchParams(p)}`, { signal: AbortSignal.timeout(30 * 60_000) });
  const text = await r.text();
  const sec = (performance.now() - t) / 1000;
  if (r.status !== 200) throw new Error(`${p['query']}: ${r.status} ${text.slice(0, 500)}`);
  return { sec, body: JSON.parse(text) as Answer['body'] };
}

const metricParams = { query: METRIC, start: startNs, end: endNs, step: '300' };
const needleParams = { query: NEEDLE, start: startNs, end: endNs, limit: '1000', direction: 'backward' };

function hits(a: Answer): number {
  return (a.body.data.result as { values: unknown[] }[]).reduce((n, s) => n + s.values.length, 0);
}


const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]): string => `${Math.min(...xs).toFixed(2)} / ${median(xs).toFixed(2)}`;

const work = tempDir('silt-bench-split-');
const times: Record<string, Record<string, number[]>> = {};
const pieces: Record<string, Record<string, number>> = {};
let reference: string | null = null;
let dropped = true;
let runner = '';
try {
  for (let r = 0; r < runs; r++) {
    for (const name of configs) {
      const c = CONFIGS[name];
      if (!c) throw new Error(`unknown configuration ${name}: want ${Object.keys(CONFIGS).join(', ')}`);
      const cdir = path.join(work, `${name}-${r}`);
      let info: ClusterInfo | null = null;
      try {
        info = await startCluster({ dir: cdir, ingesters: 1, distributors: 1, queriers: c.queriers, backends: 0, frontends: 1, replicationFactor: 1, runner: 'auto', settings: { ...COMMON, ...c.settings } });
        runner = info.runner;
        const fe = info.processes.find((p) => p.role === 'query-frontend')!.http;
        dropped = dropPageCache() && dropped;
        const t = (times[name] ??= {});
        const add = (k: string, a: Answer): void => void (t[k] ??= []).push(a.sec);
        const n1 = await query(fe, needleParams);
        const m1 = await query(fe, metricParams);
        const m2 = await query(fe, metricParams);
        const n2 = await query(fe, needleParams);
        for (const a of [n1, n2]) if (hits(a) !== needle.count) throw new Error(`${name}: needle hits ${hits(a)}, brute force ${needle.count}`);
        for (const a of [m1, m2]) {
          const got = JSON.stringify(a.body.data.result);
          if (reference === null) reference = got;
          else if (got !== reference) throw new Error(`${name}: the metric answer differs from the first configuration's`);
        }
        add('needle_cold', n1);
        add('metric_cold', m1);
        add('metric_warm_results_cache', m2);
        add('needle_warm', n2);
        if (r === 0) {
          const dense = await query(fe, { query: DENSE, start: startNs, end: endNs, limit: '1000', direction: 'backward' });
          pieces[name] = {
            needle_limit_1000: n1.body.data.stats?.summary?.['subqueries'] ?? 1,
            dense_limit_1000: dense.body.data.stats?.summary?.['subqueries'] ?? 1,
            metric: m1.body.data.stats?.summary?.['subqueries'] ?? 1,
            metric_shards: m1.body.data.stats?.summary?.['shards'] ?? 0,
          };
        }
        console.error(`run ${r} ${name}: needle ${n1.sec.toFixed(2)}s/${n2.sec.toFixed(2)}s, metric ${m1.sec.toFixed(2)}s/${m2.sec.toFixed(2)}s`);
      } finally {
        await stopCluster(cdir);
        rmSync(cdir, { recursive: true, force: true });
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const rows = Object.entries(times).map(([name, t]) => ({ name, ...Object.fromEntries(Object.entries(t).map(([k, xs]) => [k, fmt(xs)])) }));
console.log(JSON.stringify({ date: new Date().toISOString(), runner, pageCacheDropped: dropped, textBytes: meta.rawBytes, chunkBytes: meta.chunkBytes, entries: meta.entries, days: Number(BigInt(meta.lastNs) - BigInt(meta.firstNs)) / 86400e9, needle: needle.needle, needleCount: needle.count, metric: METRIC, runs, rows, pieces, raw: times }, null, 1));
