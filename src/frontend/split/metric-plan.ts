/**
 * Metric queries (query_range and query) split by `split_queries_by_interval` into step
 * windows and sharded by stream, merged exactly (shard-map.ts): for every window not in the
 * results cache, each leaf of the query runs as one piece per shard; the frontend merges the
 * shards' leaves and evaluates the rest of the query with the engine, window by window; the
 * windows are joined by series labels. Every evaluation point is computed as unsplit and
 * unsharded (windows keep the query's step phase), so the answer is the same, bit for bit.
 */
import { InvalidError } from '../../errors.js';
import { DEFAULT_MAX_POINTS, evaluateMetric, Grid, type EntrySource, type ExtractorFactory, type LeafProvider, type MatrixSeries, type MetricResult } from '../../logql/engine/index.js';
import { ERR_ZERO_OR_NEGATIVE_STEP, stepTooSmallMessage } from '../../logql/engine/errors.js';
import { printExpr, type LogSelectorExpr, type SampleExpr } from '../../logql/syntax/index.js';
import { formatShard } from '../../querier/index.js';
import { parseRange, parseStep, parseTimeNs } from '../../loghttp/params.js';
import { encodeMetricData } from '../../loghttp/encode-metric.js';
import type { FrontendRequest, FrontendResponse } from '../plan.js';
import { finishStats, JSON_CONTENT_TYPE, metricSeries, parseBody, sumStats } from './json.js';
import { LeafMerge, leafKey, leavesOf } from './shard-map.js';
import { checkQueryLength, type Runner, type SplitLimits, type SplitOptions } from './options.js';
import { joinWindows, mod, stepWindows, type StepWindow } from './windows.js';

export { joinWindows } from './windows.js';

const NS_PER_MS = 1_000_000n;

/** The engine never scans in the frontend: every leaf comes from pieces. */
const NO_SOURCE: EntrySource = {
  scan: () => Promise.reject(new Error('the query-frontend evaluates leaves from pieces only')),
};
const NO_EXTRACTORS: ExtractorFactory = () => {
  throw new Error('the query-frontend extracts no samples');
};

/** One window of the query: its points, and its answer once known. */
interface Window {
  readonly w: StepWindow;
  readonly grid: Grid;
  /** Results-cache key (null: not cacheable). */
  readonly cacheKey: string | null;
  /** The window's final answer when cached; else computed from `merges` in `result`. */
  cached: MatrixSeries[] | null;
  /** Per leaf key. */
  readonly merges: Map<string, LeafMerge>;
}

/** Evaluates `expr` over one window from merged leaves: the engine above the leaves. */
export function evaluateWithLeaves(expr: SampleExpr, grid: Grid, instant: boolean, merges: ReadonlyMap<string, LeafMerge>, maxSeries: number): Promise<MetricResult> {
  const leaves: LeafProvider = (e, pushed) => {
    const m = merges.get(leafKey(e, pushed));
    if (!m) throw new Error(`no merged leaf for ${printExpr(e)}`);
    return m.matrix();
  };
  return evaluateMetric(expr, { startNs: grid.startNs, endNs: grid.endNs, stepNs: grid.stepNs, instant, maxSeries }, NO_SOURCE, NO_EXTRACTORS, leaves);
}

/** Shards for `bytes` of a leaf's streams per window: `bytes / bytesPerShard`, at least 1, at most `max`. */
export function shardCount(bytesPerWindow: number, lim: SplitLimits): number {
  if (lim.tsdb_max_bytes_per_shard <= 0 || lim.max_shards <= 1) return 1;
  return Math.max(1, Math.min(lim.max_shards, Math.ceil(bytesPerWindow / lim.tsdb_max_bytes_per_shard)));
}

/**
 * Data of at least `tsdb_max_bytes_per_shard / SHARD_FLOOR_DIVISOR` bytes (37.5 MB at Loki's
 * 600 MB) is cut into at least as many shards as there are queriers (each shard at least that
 * big): one piece runs on one querier. Less stays one piece: a piece's fixed costs (queue,
 * index look-up) would dominate.
 */
export const SHARD_FLOOR_DIVISOR = 16;

/**
 * Shards of one log span or metric window holding `bytes` (index stats): `shardCount`, raised
 * to the number of queriers for data of at least the floor (never below the floor per shard),
 * and up to a multiple of the queriers where the floor and `max_shards` allow: the frontend
 * gives shard `i` to querier `i mod queriers` (its shard affinity), so with a multiple every
 * query sends the same streams to the same querier, whose caches hold them.
 */
export function spreadShardCount(bytes: number, lim: SplitLimits, queriers: number): number {
  let n = shardCount(bytes, lim);
  if (lim.tsdb_max_bytes_per_shard <= 0 || lim.max_shards <= 1 || queriers <= 1) return n;
  const floorBytes = lim.tsdb_max_bytes_per_shard / SHARD_FLOOR_DIVISOR;
  if (bytes >= floorBytes) n = Math.max(n, Math.min(queriers, Math.floor(bytes / floorBytes)));
  const up = Math.ceil(n / queriers) * queriers;
  if (n > 1 && up <= lim.max_shards && bytes / up >= floorBytes) n = up;
  return Math.min(lim.max_shards, n);
}

/**
 * Answers a metric query: cached windows from the results cache, the others from pieces run
 * through `run` (all at once; the frontend's queue bounds the parallelism), merged and
 * evaluated here. Caches the windows it computed (without waiting for the store).
 */
export async function runMetric(req: FrontendRequest, expr: SampleExpr, run: Runner, o: SplitOptions): Promise<FrontendResponse> {
  const t0 = performance.now();
  const instant = req.path.endsWith('/query');
  const lim = o.limits(req.tenant);
  const queriers = o.queriers?.() ?? 1;
  let startNs: bigint;
  let endNs: bigint;
  let stepNs: bigint;
  if (instant) {
    const t = req.params.get('time');
    startNs = endNs = t ? parseTimeNs(t) : req.receivedNs;
    stepNs = 0n;
  } else {
    ({ startNs, endNs } = parseRange(req.params, req.receivedNs));
    checkQueryLength(lim, startNs, endNs);
    stepNs = parseStep(req.params, startNs, endNs);
    if (stepNs <= 0n) throw new InvalidError(ERR_ZERO_OR_NEGATIVE_STEP);
    if ((endNs - startNs) / stepNs > BigInt(DEFAULT_MAX_POINTS)) throw new InvalidError(stepTooSmallMessage(DEFAULT_MAX_POINTS));
  }
  const intervalNs = BigInt(lim.split_queries_by_interval) * NS_PER_MS;
  const freshNs = BigInt(o.nowMs() - lim.max_cache_freshness_per_query) * NS_PER_MS;
  const query = printExpr(expr);
  const ws: StepWindow[] = instant ? [{ firstNs: startNs, lastNs: startNs, startNs, endNs: startNs + 1n, complete: true }] : stepWindows(startNs, endNs, stepNs, intervalNs);
  const base = instant ? `i\u0000${req.tenant}\u0000${query}\u0000` : `r\u0000${req.tenant}\u0000${query}\u0000${stepNs}\u0000${mod(startNs, stepNs)}\u0000${intervalNs}\u0000`;
  const cache = o.cache;
  const windows: Window[] = ws.map((w) => ({
    w,
    grid: new Grid(w.firstNs, instant ? w.firstNs : w.lastNs, stepNs, instant),
    cacheKey: cache !== null && w.complete && (instant ? w.firstNs : w.endNs) <= freshNs ? base + (instant ? w.firstNs : w.startNs).toString() : null,
    cached: null,
    merges: new Map(),
  }));
  if (cache !== null) {
    const got = await Promise.all(windows.map((w) => (w.cacheKey === null ? null : cache.get(req.tenant, w.cacheKey))));
    got.forEach((b, i) => {
      if (b !== null) windows[i]!.cached = metricSeries(JSON.parse(b.toString('utf8'))).map((s) => ({ labels: s.labels, points: [...s.points] }));
    });
  }
  const missing = windows.filter((w) => w.cached === null);
  const leaves = leavesOf(expr);
  // Shards per leaf, from the index stats of its streams over the query's range.
  const shards = new Map<string, number>();
  let pieces = 0;
  let queueSeconds = 0;
  const stats: unknown[] = [];
  await Promise.all(
    leaves.map(async (leaf) => {
      let n = 1;
      if (leaf.shardable && missing.length > 0 && lim.max_shards > 1) {
        const r = leaf.expr.range;
        const sel: LogSelectorExpr = { kind: 'logSelector', matchers: r.selector.matchers, stages: [] };
        const from = startNs - r.rangeNs - r.offsetNs;
        const st = await run.run({ path: '/loki/api/v1/index/stats', params: [['query', printExpr(sel)], ['start', from.toString()], ['end', (endNs - r.offsetNs).toString()]] });
        pieces++;
        queueSeconds += st.queueSeconds;
        const b = parseBody(st);
        n = spreadShardCount(Number(b.bytes ?? 0) / Math.max(1, windows.length), lim, queriers);
      }
      shards.set(leaf.key, n);
    }),
  );
  const work: Promise<void>[] = [];
  for (const window of missing) {
    for (const leaf of leaves) {
      const merge = new LeafMerge(leaf, window.grid);
      window.merges.set(leaf.key, merge);
      const n = shards.get(leaf.key)!;
      for (let s = 0; s < n; s++) {
        const params: [string, string][] = [['query', leaf.downstream]];
        if (instant) params.push(['time', window.w.firstNs.toString()]);
        else params.push(['start', window.w.firstNs.toString()], ['end', window.w.lastNs.toString()], ['step', stepSeconds(stepNs)]);
        // Always present, also `0_of_1`: it marks the piece as a leaf for the querier (LEAF_SERIES_FACTOR).
        params.push(['shards', formatShard({ index: s, of: n })]);
        pieces++;
        work.push(
          run.run({ path: req.path, params }).then((r) => {
            queueSeconds += r.queueSeconds;
            const body = parseBody(r);
            merge.add(metricSeries(body.data));
            if (body.data?.stats) stats.push(body.data.stats);
          }),
        );
      }
    }
  }
  await Promise.all(work);

  const parts: MatrixSeries[][] = [];
  let data: MetricResult | null = null;
  for (const w of windows) {
    if (w.cached !== null) {
      parts.push(w.cached);
      continue;
    }
    const r = await evaluateWithLeaves(expr, w.grid, instant, w.merges, lim.max_query_series);
    if (instant) data = r;
    const series = r.type === 'matrix' ? r.series : r.type === 'vector' ? r.samples.map((x) => ({ labels: x.labels, points: [{ tsMs: x.tsMs, value: x.value }] })) : null;
    // Scalars (literal queries) and sorted instant vectors are not cached: order or shape would be lost.
    const cacheable = series !== null && !(instant && hasSort(expr));
    if (w.cacheKey !== null && cache !== null && cacheable) void cache.set(req.tenant, w.cacheKey, Buffer.from(encodeMetricData({ type: 'matrix', series }))).catch(() => undefined);
    if (series !== null) parts.push(series);
  }
  if (instant && data === null) data = { type: 'vector', samples: (parts[0] ?? []).map((s) => ({ labels: s.labels, tsMs: s.points[0]!.tsMs, value: s.points[0]!.value })) };
  if (!instant) data = { type: 'matrix', series: joinWindows(parts, lim.max_query_series) };
  const st = finishStats(sumStats(stats), {
    splits: windows.length,
    shards: [...shards.values()].reduce((a, b) => a + b, 0),
    subqueries: pieces,
    execSeconds: (performance.now() - t0) / 1000,
    queueSeconds,
  });
  const body = '{"status":"success","data":' + encodeMetricData(data!).slice(0, -1) + ',"stats":' + JSON.stringify(st) + '}}';
  return { status: 200, contentType: JSON_CONTENT_TYPE, body };
}

function hasSort(e: SampleExpr): boolean {
  switch (e.kind) {
    case 'vectorAggregation':
      return e.op === 'sort' || e.op === 'sort_desc' || hasSort(e.expr);
    case 'binOp':
      return hasSort(e.lhs) || hasSort(e.rhs);
    case 'labelReplace':
      return hasSort(e.expr);
    default:
      return false;
  }
}

/** A step in seconds as the querier parses it (float seconds, exact to the ns). */
export function stepSeconds(stepNs: bigint): string {
  const s = stepNs / 1_000_000_000n;
  const frac = stepNs % 1_000_000_000n;
  return frac === 0n ? s.toString() : `${s}.${frac.toString().padStart(9, '0')}`;
}
