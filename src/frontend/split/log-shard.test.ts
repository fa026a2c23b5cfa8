/**
 * Sharded log queries equal the unsharded answer, exactly: random log queries (both
 * directions, limits that cut inside a span, line filters and pipelines, structured metadata,
 * both encodings) run through the planner with 1, 3 and 8 shards per span against a real
 * querier over HTTP, and the merged answer must equal the querier's own unsplit answer (streams,
 * their order, values and their order). The data is built to tie: timestamps on a 1 s grid
 * shared by many streams, several lines of one stream on one timestamp, pipelines that make
 * streams' labels or lines equal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_INGEST_ENRICHMENT, startInProcess, tempDir, type InProcess } from '../../../test/support/silt.js';
import { seededRandom } from '../../util/random.js';
import { HttpPieceRunner } from '../../../test/support/piece-runner.js';
import type { FrontendRequest, Piece } from '../plan.js';
import { logSpans } from './log-plan.js';
import { spreadShardCount } from './metric-plan.js';
import type { ResultsStore, SplitLimits, SplitOptions } from './options.js';
import { SplitPlanner } from './planner.js';

const NS_PER_MS = 1_000_000n;
const S = 1000;
const H = 3_600_000;
/** 10 hours of data, ending on an hour. */
const END_MS = Math.floor(Date.now() / H) * H - H;
const FROM_MS = END_MS - 10 * H;
const CATEGORIZE = { 'x-loki-response-encoding-flags': 'categorize-labels' };
let silt: InProcess;

beforeAll(async () => {
  silt = await startInProcess(tempDir(), ['-target=distributor,ingester,querier', '-storage.object-store=memory', '-querier.query-ingesters-within=0', '-ingester.chunk-target-size=64KiB', ...NO_INGEST_ENRICHMENT]);
  const rnd = seededRandom(21);
  const apps = ['a', 'b', 'c', 'd', 'e', 'f'];
  const envs = ['x', 'y'];
  const levels = ['info', 'warn', 'error'];
  // Every ~20 s a burst at one whole second: 1 to 6 streams, 1 to 3 lines each, some lines equal.
  for (let half = 0; half < 2; half++) {
    const streams = new Map<string, { stream: Record<string, string>; values: unknown[][] }>();
    const from = FROM_MS + half * 5 * H;
    for (let t = from; t < from + 5 * H; t += Math.floor(1 + rnd() * 40) * S) {
      const k = 1 + Math.floor(rnd() * 6);
      for (let j = 0; j < k; j++) {
        const app = apps[Math.floor(rnd() * apps.length)]!;
        const env = envs[Math.floor(rnd() * envs.length)]!;
        const md = rnd() < 0.3 ? { trace: `t${Math.floor(rnd() * 3)}` } : null;
        const key = app + env;
        let s = streams.get(key);
        if (!s) streams.set(key, (s = { stream: { app, env }, values: [] }));
        const lines = 1 + Math.floor(rnd() * 3);
        for (let m = 0; m < lines; m++) {
          const level = levels[Math.floor(rnd() * levels.length)]!;
          const line = rnd() < 0.3 ? `level=${level} msg="same"` : `level=${level} n=${Math.floor(rnd() * 50)} msg="req ${Math.floor(rnd() * 5)}"${rnd() < 0.05 ? ' NEEDLE' : ''}`;
          const v: unknown[] = [(BigInt(t) * NS_PER_MS).toString(), line];
          if (md) v.push(md);
          s.values.push(v);
        }
      }
    }
    const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ streams: [...streams.values()] }) });
    expect(r.status, await r.text()).toBe(204);
    if (half === 0) await silt.app.ingester!.flushNow();
  }
}, 120_000);

afterAll(async () => {
  await silt?.stop();
});

function options(shards: number, queriers = 1, cache: ResultsStore | null = null): SplitOptions {
  // 1 byte per shard: every span with data is cut into exactly `shards` pieces.
  const lim: SplitLimits = { split_queries_by_interval: H, split_metadata_queries_by_interval: 24 * H, max_cache_freshness_per_query: 0, max_query_series: 500, max_query_length: 0, tsdb_max_bytes_per_shard: 1, max_shards: shards };
  return { limits: () => lim, cache, nowMs: () => END_MS, queriers: () => queriers };
}

/** A results store in a Map (the planner's contract; the LRU and Redis stores have their own tests). */
class MapStore implements ResultsStore {
  readonly m = new Map<string, Buffer>();
  get(tenant: string, key: string): Promise<Buffer | null> {
    return Promise.resolve(this.m.get(tenant + '\u0000' + key) ?? null);
  }
  set(tenant: string, key: string, value: Buffer): Promise<void> {
    this.m.set(tenant + '\u0000' + key, value);
    return Promise.resolve();
  }
}

async function direct(params: Record<string, string>, headers: Record<string, string>): Promise<any> {
  const r = await fetch(`${silt.url}/loki/api/v1/query_range?${new URLSearchParams(params)}`, { headers });
  const text = await r.text();
  expect(r.status, text).toBe(200);
  return JSON.parse(text);
}

async function planned(o: SplitOptions, params: Record<string, string>, headers: Record<string, string>): Promise<{ body: any; pieces: Piece[] }> {
  const runner = new HttpPieceRunner(() => silt.url, headers);
  const req: FrontendRequest = { method: 'GET', path: '/loki/api/v1/query_range', route: '/loki/api/v1/query_range', vars: {}, params: new URLSearchParams(params), tenant: 'fake', headers, receivedNs: BigInt(END_MS) * NS_PER_MS };
  const res = await new SplitPlanner(o).answer(req, runner);
  expect(res).not.toBeNull();
  return { body: JSON.parse(res!.body.toString()), pieces: runner.pieces };
}

const SELECTORS = ['{app=~".+"}', '{env="x"}', '{app=~"a|b|c"}', '{app="d"}'];
const PIPELINES = ['', ' |= "same"', ' != "same"', ' |= "NEEDLE"', ' | logfmt', ' | logfmt | level="error"', ' | drop app', ' | label_format app="one"', ' | line_format "{{.env}}"', ' | keep env | line_format "{{.env}} x"', ' | logfmt | drop n, msg', ' |~ "req [12]" | decolorize'];

describe('sharded log queries equal the unsharded answer', () => {
  const rnd = seededRandom(7);
  const cases: { name: string; params: Record<string, string>; categorize: boolean }[] = [];
  for (let i = 0; i < 72; i++) {
    const query = SELECTORS[Math.floor(rnd() * SELECTORS.length)]! + PIPELINES[Math.floor(rnd() * PIPELINES.length)]!;
    const direction = rnd() < 0.5 ? 'backward' : 'forward';
    // Ranges from a few minutes to all 10 hours, some starting or ending on a whole second (on data).
    const len = Math.floor((0.05 + rnd() * 0.95) * 10 * H);
    const startMs = FROM_MS - 30 * 60 * S + Math.floor(rnd() * (10 * H + 60 * 60 * S - len));
    const onSecond = rnd() < 0.5;
    const start = onSecond ? BigInt(Math.floor(startMs / S) * S) * NS_PER_MS : BigInt(startMs) * NS_PER_MS + 123_456n;
    const end = onSecond ? BigInt(Math.floor((startMs + len) / S) * S) * NS_PER_MS : BigInt(startMs + len) * NS_PER_MS + 654_321n;
    const limit = [1, 2, 7, 30, 100, 333, 1000, 5000][Math.floor(rnd() * 8)]!;
    const categorize = rnd() < 0.3;
    cases.push({ name: `${i}: ${query} ${direction} limit=${limit}${categorize ? ' categorized' : ''}`, params: { query, direction, limit: String(limit), start: start.toString(), end: end.toString() }, categorize });
  }

  it.each(cases)('$name', async ({ params, categorize }) => {
    const headers = categorize ? CATEGORIZE : {};
    const want = await direct(params, headers);
    for (const shards of [1, 3, 8]) {
      const got = await planned(options(shards), params, headers);
      expect(got.body.data.result, `${shards} shards`).toEqual(want.data.result);
      expect(got.body.data.encodingFlags).toEqual(want.data.encodingFlags);
      expect(got.body.data.stats.summary.totalEntriesReturned).toBe(want.data.stats.summary.totalEntriesReturned);
      const data = got.pieces.filter((p) => p.path === '/loki/api/v1/query_range');
      const shardParams = new Set(data.map((p) => p.params.find(([k]) => k === 'shards')?.[1] ?? '0_of_1'));
      if (shards > 1 && data.length > 0) expect([...shardParams].some((s) => s.endsWith(`_of_${shards}`))).toBe(true);
      // Splits and shards as stats report them; every piece counted.
      expect(got.body.data.stats.summary.subqueries).toBe(got.pieces.length);
      expect(got.body.data.stats.summary.shards).toBe(data.length === 0 ? 0 : Math.max(...data.map((p) => Number((p.params.find(([k]) => k === 'shards')?.[1] ?? '0_of_1').split('_of_')[1]))));
    }
  });

  it.each(cases.filter((_, i) => i % 3 === 0))('with the negative results cache, twice: $name', async ({ params, categorize }) => {
    const headers = categorize ? CATEGORIZE : {};
    const want = await direct(params, headers);
    const store = new MapStore();
    const first = await planned(options(3, 1, store), params, headers);
    const second = await planned(options(3, 1, store), params, headers);
    expect(first.body.data.result).toEqual(want.data.result);
    expect(second.body.data.result).toEqual(want.data.result);
    expect(second.pieces.length).toBeLessThanOrEqual(first.pieces.length);
  });

  it('a needle query again reads only the windows that hold its lines', async () => {
    // The first stream whose needle lines fall in some of the 11 windows but not all.
    let params: Record<string, string> = {};
    let want: any = null;
    const hitWindows = new Set<bigint>();
    const candidates = ['a', 'b', 'c'].flatMap((app) => ['1', '2', '3', '4'].map((n) => `{app="${app}"} |= "NEEDLE" |= "n=${n}"`));
    for (const query of candidates) {
      params = { query, direction: 'backward', limit: '1000', start: String(BigInt(FROM_MS - H) * NS_PER_MS), end: String(BigInt(END_MS) * NS_PER_MS) };
      want = await direct(params, {});
      hitWindows.clear();
      for (const st of want.data.result) for (const [ts] of st.values) hitWindows.add(BigInt(ts) / (BigInt(H) * NS_PER_MS));
      if (hitWindows.size >= 2 && hitWindows.size <= 8) break;
    }
    expect(hitWindows.size).toBeGreaterThanOrEqual(2);
    expect(hitWindows.size).toBeLessThanOrEqual(8);
    const store = new MapStore();
    const first = await planned(options(1, 1, store), params, {});
    expect(first.body.data.result).toEqual(want.data.result);
    expect(store.m.size).toBe(11 - hitWindows.size);
    const second = await planned(options(1, 1, store), params, {});
    expect(second.body.data.result).toEqual(want.data.result);
    // Each piece of the second run covers only windows with hits.
    const data = second.pieces.filter((p) => p.path === '/loki/api/v1/query_range');
    let covered = 0n;
    for (const p of data) {
      const get = (k: string): bigint => BigInt(p.params.find(([n]) => n === k)![1]);
      covered += (get('end') - get('start')) / (BigInt(H) * NS_PER_MS);
    }
    expect(covered).toBe(BigInt(hitWindows.size));
    // A window with new data is read again: data after the cache was filled is not hidden while the freshness rule holds.
    const fresh = await planned({ ...options(1, 1, store), nowMs: () => FROM_MS }, params, {});
    expect(fresh.body.data.result).toEqual(want.data.result);
    expect(fresh.pieces.filter((p) => p.path === '/loki/api/v1/query_range').length).toBeGreaterThanOrEqual(data.length);
  });

  it('ties at the limit: equal timestamps across streams are cut as the querier cuts them', async () => {
    // A whole second holding several streams' lines, and a limit inside it.
    const all = await direct({ query: '{app=~".+"}', direction: 'forward', limit: '5000', start: String(BigInt(FROM_MS) * NS_PER_MS), end: String(BigInt(FROM_MS + H) * NS_PER_MS) }, {});
    const byTs = new Map<string, number>();
    for (const s of all.data.result) for (const [ts] of s.values) byTs.set(ts, (byTs.get(ts) ?? 0) + 1);
    const crowded = [...byTs].filter(([, n]) => n >= 4).map(([ts]) => BigInt(ts));
    expect(crowded.length).toBeGreaterThan(5);
    for (const ts of crowded.slice(0, 6)) {
      for (const direction of ['forward', 'backward']) {
        // The range starts (forward) or ends (backward) at the crowded second: the limit cuts inside it.
        const params = direction === 'forward' ? { start: ts.toString(), end: String(ts + 3_600_000_000_000n) } : { start: String(ts - 3_600_000_000_000n), end: String(ts + 1n) };
        for (const limit of ['1', '2', '3']) {
          const p = { query: '{app=~".+"}', direction, limit, ...params };
          const want = await direct(p, {});
          for (const shards of [3, 8]) expect((await planned(options(shards), p, {})).body.data.result).toEqual(want.data.result);
        }
      }
    }
  });
});

describe('shard counts of a log span or metric window', () => {
  it('bytes per shard, a floor of one shard per querier for big spans, tiny spans one piece', () => {
    const lim = (over: Partial<SplitLimits> = {}): SplitLimits => ({ split_queries_by_interval: H, split_metadata_queries_by_interval: 24 * H, max_cache_freshness_per_query: 0, max_query_series: 500, max_query_length: 0, tsdb_max_bytes_per_shard: 600e6, max_shards: 32, ...over });
    expect(spreadShardCount(0, lim(), 8)).toBe(1);
    expect(spreadShardCount(30e6, lim(), 8)).toBe(1); // under 600 MB / 16: one piece
    expect(spreadShardCount(80e6, lim(), 8)).toBe(2); // two shards of at least 37.5 MB
    expect(spreadShardCount(400e6, lim(), 8)).toBe(8); // queriers
    expect(spreadShardCount(400e6, lim(), 1)).toBe(1);
    expect(spreadShardCount(2000e6, lim(), 2)).toBe(4); // bytes per shard beats the floor
    expect(spreadShardCount(2000e6, lim({ max_shards: 3 }), 8)).toBe(3);
    expect(spreadShardCount(2000e6, lim({ max_shards: 1 }), 8)).toBe(1);
    // Up to a multiple of the queriers (shard i goes to querier i mod queriers)…
    expect(spreadShardCount(1500e6, lim(), 2)).toBe(4); // 3 by bytes
    expect(spreadShardCount(1500e6, lim(), 4)).toBe(4);
    expect(spreadShardCount(3100e6, lim(), 3)).toBe(6); // 6 by bytes already
    // …unless that puts a shard under the floor or past max_shards.
    expect(spreadShardCount(80e6, lim(), 3)).toBe(2);
    expect(spreadShardCount(1500e6, lim({ max_shards: 3 }), 2)).toBe(3);
  });

  it('a needle over the whole range: spans 1, 2, 4, … and every span sharded', async () => {
    const params = { query: '{app=~".+"} |= "NEEDLE"', direction: 'backward', limit: '1000', start: String(BigInt(FROM_MS) * NS_PER_MS), end: String(BigInt(END_MS) * NS_PER_MS) };
    const want = await direct(params, {});
    const got = await planned(options(4), params, {});
    expect(got.body.data.result).toEqual(want.data.result);
    const spans = logSpans(BigInt(FROM_MS) * NS_PER_MS, BigInt(END_MS) * NS_PER_MS, BigInt(H) * NS_PER_MS, 'backward');
    const data = got.pieces.filter((p) => p.path === '/loki/api/v1/query_range');
    expect(data.length).toBe(spans.length * 4);
    expect(got.body.data.stats.summary.splits).toBe(spans.length);
    expect(got.body.data.stats.summary.shards).toBe(4);
    // One index-stats look-up per span.
    expect(got.pieces.length - data.length).toBe(spans.length);
  });
});
