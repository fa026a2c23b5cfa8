/**
 * The results cache must not change answers: random metric range queries over pushed data
 * (part flushed to storage, part only in ingester memory) are evaluated by the querier alone
 * and through the cache (cold, then warm), and must be identical point for point.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcess, tempDir, type InProcess } from '../../test/support/silt.js';
import { parseExpr, type SampleExpr } from '../logql/syntax/index.js';
import type { MetricQueryRequest, MetricQueryResult, Querier } from '../querier/index.js';
import { seededRandom } from '../util/random.js';
import { ResultsCache, type ResultsCacheLimits } from './results-cache.js';

const NS_PER_MS = 1_000_000n;
const MIN = 60_000;
const NOW_MS = Math.floor(Date.now() / MIN) * MIN;
const SPAN_MS = 4 * 3_600_000;
let silt: InProcess;
let querier: Querier;

beforeAll(async () => {
  silt = await startInProcess(tempDir(), ['-storage.object-store=memory', '-ingester.chunk-target-size=16KiB', '-ingester.chunks-block-size=4KiB', '-querier.query-ingesters-within=0']);
  querier = silt.app.querier!;
  const rnd = seededRandom(7);
  const apps = ['api', 'web', 'db'];
  const levels = ['info', 'warn', 'error'];
  // 4 h of entries, one every ~2 s per stream, pushed in time order in two halves with a
  // flush between, so both stored chunks and ingester memory answer.
  for (let half = 0; half < 2; half++) {
    const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
    const from = NOW_MS - SPAN_MS + (half * SPAN_MS) / 2;
    for (let t = from; t < from + SPAN_MS / 2; t += 500) {
      const app = apps[Math.floor(rnd() * apps.length)]!;
      const level = levels[Math.floor(rnd() * levels.length)]!;
      const k = app + level;
      let s = streams.get(k);
      if (!s) streams.set(k, (s = { stream: { app, level }, values: [] }));
      const n = Math.floor(rnd() * 1000);
      s.values.push([(BigInt(t) * NS_PER_MS + BigInt(Math.floor(rnd() * 1e6))).toString(), `level=${level} n=${n} msg="req ${n % 7}"`]);
    }
    const body = JSON.stringify({ streams: [...streams.values()] });
    const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(r.status, await r.text()).toBe(204);
    if (half === 0) await silt.app.ingester!.flushNow();
  }
});

afterAll(async () => {
  await silt?.stop();
});

const QUERIES = [
  'count_over_time({app="api"}[5m])',
  'sum by (level) (rate({app=~".+"}[2m]))',
  'sum(bytes_over_time({level="error"}[10m]))',
  'sum by (app) (sum_over_time({app=~"api|web"} | logfmt | unwrap n [3m]))',
  'max_over_time({app="db"} | logfmt | unwrap n [1m])',
  'avg_over_time({level="warn"} | logfmt | unwrap n [7m])',
  'topk(2, sum by (app) (count_over_time({app=~".+"} |= "req 3" [5m])))',
  'sum(count_over_time({app=~".+"}[1m])) / 4',
  'count_over_time({app="api"}[5m] offset 17m)',
  'vector(1)',
  'sum by (app) (count_over_time({app="nope"}[5m]))',
];

/** Every other query once, so each keeps being checked. */
async function checkOthers(cache: ResultsCache, rnd: () => number): Promise<void> {
  for (const query of QUERIES.slice(4)) {
    const expr = parseExpr(query) as SampleExpr;
    const startNs = BigInt(NOW_MS - SPAN_MS + Math.floor(rnd() * SPAN_MS * 0.5)) * NS_PER_MS;
    const req: MetricQueryRequest = { tenant: 'fake', expr, startNs, endNs: startNs + 7_200_000n * NS_PER_MS, stepNs: 120_000n * NS_PER_MS, instant: false };
    expect(data(await cache.metricQuery(req)), query).toEqual(data(await querier.metricQuery(req)));
  }
}

function data(r: MetricQueryResult): unknown {
  return r.data;
}

describe('ResultsCache', () => {
  it('answers random range queries exactly as the querier does, cold and warm', async () => {
    const rnd = seededRandom(11);
    const limits: ResultsCacheLimits = { split_queries_by_interval: 30 * MIN, max_cache_freshness_per_query: 10 * MIN, max_query_series: 500 };
    const cache = new ResultsCache(querier, { maxBytes: 64 * 1024 * 1024, limits: () => limits, nowMs: () => NOW_MS });
    const steps = [15_000, 60_000, 7 * 60_000 + 3, 20 * 60_000, 45 * 60_000];
    let compared = 0;
    for (let i = 0; i < 80; i++) {
      const query = QUERIES[Math.floor(rnd() * 4)]!; // few queries: more reuse
      if (i % 10 === 9) await checkOthers(cache, rnd);
      const expr = parseExpr(query) as SampleExpr;
      // A random span inside the data. Starts sit on a few grid phases (one sub-millisecond),
      // so later queries reuse windows cached by earlier ones with other spans.
      const stepNs = BigInt(steps[Math.floor(rnd() * steps.length)]!) * NS_PER_MS;
      const phase = [0n, 1_234_567n, 29_000_000_000n][Math.floor(rnd() * 3)]! % stepNs;
      const rawStart = BigInt(NOW_MS - SPAN_MS + Math.floor(rnd() * SPAN_MS * 0.8)) * NS_PER_MS;
      const startNs = rawStart - (rawStart % stepNs) + phase;
      const endNs = startNs + BigInt(Math.floor(rnd() * (SPAN_MS / 2))) * NS_PER_MS;
      const req: MetricQueryRequest = { tenant: 'fake', expr, startNs, endNs, stepNs, instant: false };
      const want = data(await querier.metricQuery(req));
      expect(data(await cache.metricQuery(req)), `${query} cold`).toEqual(want);
      expect(data(await cache.metricQuery(req)), `${query} warm`).toEqual(want);
      compared++;
    }
    expect(compared).toBe(80);
    expect(cache.lru.hits).toBeGreaterThan(20);
    expect(cache.lru.count).toBeGreaterThan(0);
  });

  it('reuses windows across overlapping queries and computes only the missing ones', async () => {
    const calls: [bigint, bigint][] = [];
    const spy = { metricQuery: (r: MetricQueryRequest) => (calls.push([r.startNs, r.endNs]), querier.metricQuery(r)), checkMetricRequest: (r: MetricQueryRequest) => querier.checkMetricRequest(r) };
    const limits: ResultsCacheLimits = { split_queries_by_interval: 30 * MIN, max_cache_freshness_per_query: 10 * MIN, max_query_series: 500 };
    const cache = new ResultsCache(spy, { maxBytes: 1 << 24, limits: () => limits, nowMs: () => NOW_MS });
    const expr = parseExpr('sum by (level) (count_over_time({app=~".+"}[1m]))') as SampleExpr;
    const h0 = BigInt(NOW_MS - 3 * 3_600_000) * NS_PER_MS; // a window boundary (NOW is minute-aligned, 3 h back)
    const aligned = h0 - (h0 % (30n * 60_000n * NS_PER_MS));
    const step = 60_000n * NS_PER_MS;
    const req = (s: bigint, e: bigint): MetricQueryRequest => ({ tenant: 'fake', expr, startNs: s, endNs: e, stepNs: step, instant: false });
    const H = 3_600_000n * NS_PER_MS;
    await cache.metricQuery(req(aligned, aligned + H - step)); // two complete windows
    expect(calls).toEqual([[aligned, aligned + H - step]]);
    calls.length = 0;
    const r = await cache.metricQuery(req(aligned, aligned + 2n * H - step)); // two cached + two new
    expect(calls).toEqual([[aligned + H, aligned + 2n * H - step]]);
    expect([cache.lru.hits, cache.lru.misses]).toEqual([2, 4]); // per window
    expect(r.data).toEqual((await querier.metricQuery(req(aligned, aligned + 2n * H - step))).data);
    // Recent windows (newer than the freshness limit) are never cached.
    calls.length = 0;
    const recent = BigInt(NOW_MS - 5 * MIN) * NS_PER_MS;
    await cache.metricQuery(req(recent - H, recent));
    await cache.metricQuery(req(recent - H, recent));
    expect(calls.filter(([, e]) => e === recent)).toHaveLength(2);
  });

  it('passes instant queries and steps longer than the interval straight through', async () => {
    const calls: MetricQueryRequest[] = [];
    const spy = { metricQuery: (r: MetricQueryRequest) => (calls.push(r), querier.metricQuery(r)), checkMetricRequest: (r: MetricQueryRequest) => querier.checkMetricRequest(r) };
    const cache = new ResultsCache(spy, { maxBytes: 1 << 20, limits: () => ({ split_queries_by_interval: 30 * MIN, max_cache_freshness_per_query: 0, max_query_series: 500 }) });
    const expr = parseExpr('count_over_time({app="api"}[5m])') as SampleExpr;
    const at = BigInt(NOW_MS - 2 * 3_600_000) * NS_PER_MS;
    await cache.metricQuery({ tenant: 'fake', expr, startNs: at, endNs: at, stepNs: 0n, instant: true });
    await cache.metricQuery({ tenant: 'fake', expr, startNs: at, endNs: at + 3_600_000n * NS_PER_MS, stepNs: 3_600_000n * NS_PER_MS, instant: false });
    expect(calls).toHaveLength(2);
    expect(cache.lru.count).toBe(0);
  });

  it('keeps the range and resolution limits of the whole query', async () => {
    const cache = new ResultsCache(querier, { maxBytes: 1 << 20, limits: () => ({ split_queries_by_interval: 30 * MIN, max_cache_freshness_per_query: 0, max_query_series: 500 }) });
    const expr = parseExpr('count_over_time({app="api"}[1m])') as SampleExpr;
    const s = BigInt(NOW_MS - 3 * 3_600_000) * NS_PER_MS;
    // 3 h at a 1 s step is 10,801 points: fine. At 0.9 s it is over 11,000, whatever the windows.
    const tooFine: MetricQueryRequest = { tenant: 'fake', expr, startNs: s, endNs: s + 3n * 3_600_000n * NS_PER_MS, stepNs: 900_000_000n, instant: false };
    const err = await querier.metricQuery(tooFine).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    // Cache the middle hour first, so the whole query would run as two shorter subqueries.
    const H = 3_600_000n * NS_PER_MS;
    await cache.metricQuery({ ...tooFine, startNs: s + H, endNs: s + 2n * H });
    expect(cache.lru.count).toBeGreaterThan(0);
    await expect(cache.metricQuery(tooFine)).rejects.toThrow((err as Error).message);
    const tooLong: MetricQueryRequest = { tenant: 'fake', expr, startNs: s - 800n * 3_600_000n * NS_PER_MS, endNs: s, stepNs: 600_000n * NS_PER_MS, instant: false };
    await cache.metricQuery({ ...tooLong, startNs: s - 10n * H, endNs: s - 5n * H });
    await expect(cache.metricQuery(tooLong)).rejects.toThrow(/the query time range exceeds the limit/);
  });

  it('keeps the series limit of the whole query', async () => {
    const cache = new ResultsCache(querier, { maxBytes: 1 << 20, limits: () => ({ split_queries_by_interval: 30 * MIN, max_cache_freshness_per_query: 0, max_query_series: 500 }) });
    const lowLimit = new ResultsCache(querier, { maxBytes: 1 << 20, limits: () => ({ split_queries_by_interval: 30 * MIN, max_cache_freshness_per_query: 0, max_query_series: 2 }) });
    const expr = parseExpr('sum by (app) (count_over_time({app=~".+"}[1m]))') as SampleExpr;
    const s = BigInt(NOW_MS - 3 * 3_600_000) * NS_PER_MS;
    const req: MetricQueryRequest = { tenant: 'fake', expr, startNs: s, endNs: s + 7_200_000n * NS_PER_MS, stepNs: 60_000n * NS_PER_MS, instant: false };
    expect((await cache.metricQuery(req)).data).toMatchObject({ type: 'matrix', series: { length: 3 } });
    await expect(lowLimit.metricQuery(req)).rejects.toThrow(/maximum number of series \(2\)/);
  });
});
