/**
 * The query-frontend's results cache for metric range queries (Loki's split-by-interval plus
 * `queryrangebase` results cache, simplified). A query's evaluation points are
 * `start + k*step`; the span is cut at multiples of `split_queries_by_interval` into windows,
 * and each window's points are evaluated as their own subquery with the same step, so every
 * point is computed exactly as the unsplit query computes it. Windows that lie wholly inside
 * the query and end before `now - max_cache_freshness_per_query` are cached under
 * (tenant, normalised query, step, start mod step, window); consecutive missing windows run as
 * one subquery. Results are merged back by series labels, in time order.
 *
 * Unlike Loki, start and end are not snapped to the step, so cached and uncached answers are
 * identical (Loki's `step_align` changes the evaluation points).
 */
import type { MatrixSeries, MetricResult } from '../logql/engine/index.js';
import { printExpr } from '../logql/syntax/index.js';
import { ScanStats, type MetricQueryRequest, type MetricQueryResult } from '../querier/index.js';
import { ByteLru } from '../storage/index.js';
import { joinWindows, mod, stepWindows } from './split/windows.js';
import type { ResultsStore } from './split/options.js';

/** What the results cache needs from the querier: metric query evaluation. */
export interface MetricQuerier {
  metricQuery(req: MetricQueryRequest): Promise<MetricQueryResult>;
  /** Throws what `metricQuery` would for the whole request's range, step and points. */
  checkMetricRequest(req: MetricQueryRequest): void;
}

/** Per-tenant settings the cache reads (a slice of limits_config). */
export interface ResultsCacheLimits {
  /** Window length, ms; 0 disables splitting and caching. */
  split_queries_by_interval: number;
  /** Windows ending less than this long ago are not cached, ms. */
  max_cache_freshness_per_query: number;
  /** max_query_series, re-checked on the merged result. */
  max_query_series: number;
}

export interface ResultsCacheOptions {
  /** Byte budget of cached windows. */
  maxBytes: number;
  limits: (tenant: string) => ResultsCacheLimits;
  nowMs?: () => number;
}

const NS_PER_MS = 1_000_000n;

/** One window's result: series by label key, points in time order. */
interface CachedWindow {
  series: MatrixSeries[];
}

/** A stretch of consecutive windows: the points `firstNs..lastNs` and whether it is cacheable. */
interface Span {
  firstNs: bigint;
  lastNs: bigint;
  /** Cache key when the window is complete and old enough; null otherwise. */
  key: string | null;
}

/**
 * Wraps a MetricQuerier with splitting and caching of range queries. Instant queries and
 * queries whose step is at least the split interval pass straight through.
 */
export class ResultsCache {
  /** Cached windows; `hits`/`misses` are public for metrics (one lookup per cacheable window). */
  readonly lru: ByteLru<string, CachedWindow>;
  readonly #inner: MetricQuerier;
  readonly #limits: (tenant: string) => ResultsCacheLimits;
  readonly #now: () => number;

  constructor(inner: MetricQuerier, opts: ResultsCacheOptions) {
    this.#inner = inner;
    this.lru = new ByteLru(opts.maxBytes);
    this.#limits = opts.limits;
    this.#now = opts.nowMs ?? Date.now;
  }

  async metricQuery(req: MetricQueryRequest): Promise<MetricQueryResult> {
    const lim = this.#limits(req.tenant);
    const intervalNs = BigInt(lim.split_queries_by_interval) * NS_PER_MS;
    if (req.instant || intervalNs <= 0n || req.stepNs <= 0n || req.stepNs >= intervalNs || req.endNs < req.startNs) return this.#inner.metricQuery(req);
    // Limits on the whole query's range and resolution: each window alone would pass them.
    this.#inner.checkMetricRequest(req);
    const t0 = performance.now();
    const spans = this.#spans(req, intervalNs, BigInt(this.#now() - lim.max_cache_freshness_per_query) * NS_PER_MS);
    const parts: MatrixSeries[][] = [];
    const stats: ScanStats[] = [];
    // Runs of uncached windows are evaluated as one subquery each, then cut back into windows.
    // One lookup per cacheable window, so hits and misses count windows.
    const cached = spans.map((s) => (s.key !== null ? this.lru.get(s.key) : undefined));
    let i = 0;
    while (i < spans.length) {
      const hit = cached[i];
      if (hit !== undefined) {
        parts.push(hit.series);
        i++;
        continue;
      }
      let j = i + 1;
      while (j < spans.length && cached[j] === undefined) j++;
      const run = spans.slice(i, j);
      const r = await this.#inner.metricQuery({ ...req, startNs: run[0]!.firstNs, endNs: run[run.length - 1]!.lastNs, ingesterEndNs: req.ingesterEndNs ?? req.endNs });
      stats.push(r.stats);
      if (r.data.type !== 'matrix') throw new Error(`range subquery returned ${r.data.type}`);
      parts.push(r.data.series);
      for (const w of run) if (w.key !== null) this.#store(w, r.data.series);
      i = j;
    }
    const data: MetricResult = { type: 'matrix', series: joinWindows(parts, lim.max_query_series) };
    return { data, stats: sumStats(stats), execMs: performance.now() - t0 };
  }

  /** The query's points cut at window boundaries (split/windows.ts), with their cache keys. */
  #spans(req: MetricQueryRequest, intervalNs: bigint, freshNs: bigint): Span[] {
    const base = `${req.tenant}\u0000${printExpr(req.expr)}\u0000${req.stepNs}\u0000${mod(req.startNs, req.stepNs)}\u0000${intervalNs}\u0000`;
    return stepWindows(req.startNs, req.endNs, req.stepNs, intervalNs).map((w) => ({ firstNs: w.firstNs, lastNs: w.lastNs, key: w.complete && w.endNs <= freshNs ? base + w.startNs.toString() : null }));
  }

  /** Caches window `w`'s slice of a subquery result. */
  #store(w: Span, series: readonly MatrixSeries[]): void {
    const fromMs = Number(w.firstNs / NS_PER_MS);
    const toMs = Number(w.lastNs / NS_PER_MS);
    const slice: MatrixSeries[] = [];
    let bytes = 64;
    for (const s of series) {
      const pts = s.points.filter((p) => p.tsMs >= fromMs && p.tsMs <= toMs);
      if (pts.length === 0) continue;
      slice.push({ labels: s.labels, points: pts });
      bytes += 64 + pts.length * 48;
      for (const l of s.labels) bytes += 2 * (l.name.length + l.value.length) + 32;
    }
    this.lru.set(w.key!, { series: slice }, bytes);
  }
}

function sumStats(all: readonly ScanStats[]): ScanStats {
  const out = new ScanStats();
  const o = out as unknown as Record<string, number>;
  for (const s of all) for (const [k, v] of Object.entries(s)) if (typeof v === 'number') o[k] = (o[k] ?? 0) + v;
  return out;
}

export interface LruResultsStoreOptions {
  /** Budget of the whole cache, bytes (`embedded_cache.max_size_mb`). */
  maxBytes: number;
  /** Budget of one tenant, bytes: a tenant past it evicts its own oldest entries first. */
  tenantMaxBytes: (tenant: string) => number;
}

/**
 * The splitting planner's in-process results cache (the default backend; Redis is the other,
 * redis-cache.ts): an LRU over every tenant's entries, bounded in bytes, where each tenant also
 * has its own byte bound, so one tenant's wide dashboards cannot evict everyone else's windows.
 */
export class LruResultsStore implements ResultsStore {
  /** Global LRU; `hits`/`misses` for metrics. */
  readonly lru: ByteLru<string, Buffer>;
  readonly #tenantMax: (tenant: string) => number;
  /** Per tenant: its keys in its own recency order (oldest first) with their sizes. */
  readonly #tenants = new Map<string, { bytes: number; keys: Map<string, number> }>();
  /** Tenant of every key held, for the eviction callback. */
  readonly #owner = new Map<string, string>();

  constructor(o: LruResultsStoreOptions) {
    this.lru = new ByteLru(o.maxBytes, { onRemove: (key) => this.#forget(key) });
    this.#tenantMax = o.tenantMaxBytes;
  }

  /** Bytes held for `tenant`. */
  tenantBytes(tenant: string): number {
    return this.#tenants.get(tenant)?.bytes ?? 0;
  }

  get(tenant: string, key: string): Promise<Buffer | null> {
    const k = tenant + '\u0000' + key;
    const v = this.lru.get(k);
    if (v === undefined) return Promise.resolve(null);
    const t = this.#tenants.get(tenant);
    const size = t?.keys.get(k);
    if (t && size !== undefined) {
      t.keys.delete(k);
      t.keys.set(k, size);
    }
    return Promise.resolve(v);
  }

  set(tenant: string, key: string, value: Buffer): Promise<void> {
    const k = tenant + '\u0000' + key;
    const size = value.length + 2 * k.length + 64;
    const max = this.#tenantMax(tenant);
    if (size > max) return Promise.resolve();
    this.lru.delete(k);
    let t = this.#tenants.get(tenant);
    if (!t) this.#tenants.set(tenant, (t = { bytes: 0, keys: new Map() }));
    // Make room within the tenant's own budget, its least recently used entries first.
    for (const old of t.keys.keys()) {
      if (t.bytes + size <= max) break;
      this.lru.delete(old);
    }
    if (this.lru.set(k, value, size)) {
      t.bytes += size;
      t.keys.set(k, size);
      this.#owner.set(k, tenant);
    }
    return Promise.resolve();
  }

  /** An entry left the LRU (evicted, replaced or deleted): its tenant no longer holds it. */
  #forget(k: string): void {
    const tenant = this.#owner.get(k);
    if (tenant === undefined) return;
    this.#owner.delete(k);
    const t = this.#tenants.get(tenant)!;
    const size = t.keys.get(k);
    if (size !== undefined) {
      t.bytes -= size;
      t.keys.delete(k);
    }
    if (t.keys.size === 0) this.#tenants.delete(tenant);
  }
}
