/**
 * The splitting planner against a real querier (in-process Silt over HTTP): every split,
 * sharded or cached answer equals the querier's unsplit answer, and log queries dispatch only
 * the pieces their limit needs. Data: 7 days of logs, half flushed to storage, half in memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcess, tempDir, type InProcess } from '../../../test/support/silt.js';
import { seededRandom } from '../../util/random.js';
import { HttpPieceRunner } from '../../../test/support/piece-runner.js';
import type { FrontendRequest, Piece } from '../plan.js';
import type { SplitLimits, SplitOptions } from './options.js';
import { SplitPlanner } from './planner.js';
import { logSpans } from './log-plan.js';
import { LruResultsStore } from '../results-cache.js';

const NS_PER_MS = 1_000_000n;
const H = 3_600_000;
const DAY = 24 * H;
const NOW_MS = Math.floor(Date.now() / H) * H;
const FROM_MS = NOW_MS - 7 * DAY;
let silt: InProcess;

beforeAll(async () => {
  // No query-frontend in this process: its HTTP query API is the querier's own, what pieces run against.
  silt = await startInProcess(tempDir(), ['-target=distributor,ingester,querier', '-storage.object-store=memory', '-querier.query-ingesters-within=0', '-ingester.chunk-target-size=64KiB']);
  const rnd = seededRandom(3);
  const apps = ['api', 'web', 'db', 'auth'];
  const levels = ['info', 'warn', 'error'];
  // ~20k lines over 7 days (one every ~30 s), a NEEDLE about once a day; pushed in two halves
  // with a flush between, so stored chunks and ingester memory both answer.
  for (let half = 0; half < 2; half++) {
    const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
    const from = FROM_MS + H + (half * (7 * DAY - 2 * H)) / 2;
    for (let t = from; t < from + (7 * DAY - 2 * H) / 2; t += 30_000) {
      const app = apps[Math.floor(rnd() * apps.length)]!;
      const level = levels[Math.floor(rnd() * levels.length)]!;
      let s = streams.get(app + level);
      if (!s) streams.set(app + level, (s = { stream: { app, level }, values: [] }));
      const n = Math.floor(rnd() * 1000);
      const needle = rnd() < 1 / 2880 ? ' NEEDLE' : '';
      s.values.push([(BigInt(t) * NS_PER_MS + BigInt(Math.floor(rnd() * 1e6))).toString(), `level=${level} n=${n} d=${(rnd() * 100).toFixed(3)} msg="req ${n % 7}"${needle}`]);
    }
    const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ streams: [...streams.values()] }) });
    expect(r.status, await r.text()).toBe(204);
    if (half === 0) await silt.app.ingester!.flushNow();
  }
}, 120_000);

afterAll(async () => {
  await silt?.stop();
});

function request(route: string, params: Record<string, string>, path = route): FrontendRequest {
  // Route variables as the HTTP layer fills them (`:name`).
  const vars: Record<string, string> = route.includes(':name') ? { name: decodeURIComponent(path.split('/')[route.split('/').indexOf(':name')]!) } : {};
  return { method: 'GET', path, route, vars, params: new URLSearchParams(params), tenant: 'fake', headers: {}, receivedNs: BigInt(NOW_MS) * NS_PER_MS };
}

/** The querier's own (unsplit) answer. */
async function direct(path: string, params: Record<string, string>): Promise<any> {
  const r = await fetch(`${silt.url}${path}?${new URLSearchParams(params)}`);
  const text = await r.text();
  expect(r.status, text).toBe(200);
  return JSON.parse(text);
}

function options(over: Partial<SplitLimits> = {}, cache: LruResultsStore | null = null): SplitOptions {
  const lim: SplitLimits = { split_queries_by_interval: H, split_metadata_queries_by_interval: DAY, max_cache_freshness_per_query: 10 * 60_000, max_query_series: 500, max_query_length: 0, tsdb_max_bytes_per_shard: 20_000, max_shards: 4, ...over };
  return { limits: () => lim, cache, nowMs: () => NOW_MS };
}

async function answer(o: SplitOptions, route: string, params: Record<string, string>, path = route): Promise<{ body: any; pieces: Piece[] }> {
  const runner = new HttpPieceRunner(() => silt.url);
  const res = await new SplitPlanner(o).answer(request(route, params, path), runner);
  expect(res).not.toBeNull();
  expect(res!.status).toBe(200);
  return { body: JSON.parse(res!.body.toString()), pieces: runner.pieces };
}

const RANGE = { start: String(BigInt(FROM_MS) * NS_PER_MS), end: String(BigInt(NOW_MS) * NS_PER_MS) };

describe('log queries', () => {
  it('spans grow 1, 2, 4, … windows from the reading end', () => {
    const h = BigInt(H) * NS_PER_MS;
    const spans = logSpans(0n, 168n * h, h, 'backward');
    expect(spans.map((s) => Number((s.endNs - s.startNs) / h))).toEqual([1, 2, 4, 8, 16, 32, 64, 41]);
    expect(spans[0]!.endNs).toBe(168n * h);
    expect(logSpans(0n, 168n * h, h, 'forward')[0]).toEqual({ startNs: 0n, endNs: h });
  });

  const cases: [string, string, string, number][] = [
    ['dense, backward', '{app=~".+"}', 'backward', 4],
    ['dense, forward', '{app=~".+"} |= "error"', 'forward', 5],
    ['needle, backward', '{app=~".+"} |= "NEEDLE"', 'backward', 8],
  ];
  it.each(cases)('%s: the unsplit answer, with only the spans the limit needs', async (_name, query, direction, wantSpans) => {
    const params = { query, limit: '1000', direction, ...RANGE };
    const want = await direct('/loki/api/v1/query_range', params);
    const got = await answer(options(), '/loki/api/v1/query_range', params);
    expect(got.body.data.result).toEqual(want.data.result);
    // limit=1000 over 7 days with 1h windows: 168 windows, at most 8 spans (each run as shards).
    const spans = new Set(got.pieces.filter((p) => p.path === '/loki/api/v1/query_range').map((p) => p.params.filter(([k]) => k === 'start' || k === 'end').join()));
    expect(spans.size).toBe(wantSpans);
    expect(got.body.data.stats.summary.splits).toBe(wantSpans);
    expect(got.body.data.stats.summary.subqueries).toBe(got.pieces.length);
  });
});

describe('metric queries, split and sharded', () => {
  const QUERIES = [
    'sum by (level) (count_over_time({app=~".+"} | logfmt [1h]))',
    'sum by (app) (rate({app=~".+"}[30m]))',
    'count_over_time({app="api"}[2h])',
    'max by (app) (bytes_over_time({app=~".+"}[1h]))',
    'topk(2, sum by (app) (count_over_time({app=~".+"} |= "req 3" [90m])))',
    'avg_over_time({level="warn"} | logfmt | unwrap d [1h]) by (app)',
    'max_over_time({app=~".+"} | logfmt | unwrap d [1h]) by (level)',
    'sum by (app) (sum_over_time({app=~"api|web"} | logfmt | unwrap d [1h]))',
    'quantile_over_time(0.9, {app="db"} | logfmt | unwrap n [3h]) by (level)',
    'sum(count_over_time({app=~".+"}[1h])) / sum(count_over_time({app=~".+"} |= "error" [1h]))',
    'count_over_time({app="api"}[1h] offset 17m)',
  ];
  it.each(QUERIES)('%s', async (query) => {
    const params = { query, step: '1800', ...RANGE };
    const want = await direct('/loki/api/v1/query_range', params);
    const got = await answer(options({ split_queries_by_interval: 6 * H }), '/loki/api/v1/query_range', params);
    expect(got.body.data.result).toEqual(want.data.result);
    const inst = { query, time: String(BigInt(NOW_MS - 5 * H) * NS_PER_MS) };
    const wantI = await direct('/loki/api/v1/query', inst);
    const gotI = await answer(options(), '/loki/api/v1/query', inst);
    expect(gotI.body.data.result).toEqual(wantI.data.result);
  });

  it('shards by index stats: more bytes, more shards', async () => {
    const params = { query: 'sum by (level) (count_over_time({app=~".+"}[1h]))', step: '3600', ...RANGE };
    const few = await answer(options({ split_queries_by_interval: DAY, tsdb_max_bytes_per_shard: 1e12 }), '/loki/api/v1/query_range', params);
    const many = await answer(options({ split_queries_by_interval: DAY, tsdb_max_bytes_per_shard: 1000, max_shards: 4 }), '/loki/api/v1/query_range', params);
    const shardsOf = (ps: Piece[]): Set<string> => new Set(ps.flatMap((p) => p.params.filter(([k]) => k === 'shards').map(([, v]) => v)));
    expect([...shardsOf(few.pieces)]).toEqual(['0_of_1']);
    expect([...shardsOf(many.pieces)].sort()).toEqual(['0_of_4', '1_of_4', '2_of_4', '3_of_4']);
    expect(many.body.data.result).toEqual(few.body.data.result);
    expect(many.body.data.stats.summary.shards).toBe(4);
  });

  it('a warm results cache answers from cache: same answer, fewer pieces', async () => {
    const cache = new LruResultsStore({ maxBytes: 64 << 20, tenantMaxBytes: () => 32 << 20 });
    const o = options({ split_queries_by_interval: 6 * H }, cache);
    const params = { query: 'sum by (app) (rate({app=~".+"}[30m]))', step: '1800', ...RANGE };
    const cold = await answer(o, '/loki/api/v1/query_range', params);
    await new Promise((r) => setTimeout(r, 10));
    const warm = await answer(o, '/loki/api/v1/query_range', params);
    expect(warm.body.data.result).toEqual(cold.body.data.result);
    expect(warm.pieces.length).toBeLessThan(cold.pieces.length / 4);
    const inst = { query: 'sum by (app) (count_over_time({app=~".+"}[2h]))', time: String(BigInt(NOW_MS - 5 * H) * NS_PER_MS) };
    const c1 = await answer(o, '/loki/api/v1/query', inst);
    await new Promise((r) => setTimeout(r, 10));
    const c2 = await answer(o, '/loki/api/v1/query', inst);
    expect(c2.body.data.result).toEqual(c1.body.data.result);
    expect(c2.pieces.length).toBe(0);
  });
});

describe('metadata queries, split by day', () => {
  const cases: [string, Record<string, string>][] = [
    ['/loki/api/v1/labels', {}],
    ['/loki/api/v1/label/:name/values', {}],
    ['/loki/api/v1/series', { 'match[]': '{app=~"a.*"}' }],
  ];
  it.each(cases)('%s', async (route, extra) => {
    const path = route.replace(':name', 'level');
    const params = { ...extra, ...RANGE };
    const want = await direct(path, params);
    const got = await answer(options(), route, params, path);
    expect(got.body.data).toEqual(want.data);
    expect(got.pieces.length).toBe(8);
  });

  it.each(cases)('%s, where only one window has data (the others answer empty)', async (route, extra) => {
    const path = route.replace(':name', 'level');
    // Two days before the data and its first hours: only the last window finds anything.
    const params = { ...extra, start: String(BigInt(FROM_MS - 2 * DAY) * NS_PER_MS), end: String(BigInt(FROM_MS + 6 * H) * NS_PER_MS) };
    const want = await direct(path, params);
    expect(want.data.length).toBeGreaterThan(0);
    const got = await answer(options(), route, params, path);
    expect(got.body.data).toEqual(want.data);
    expect(got.pieces.length).toBeGreaterThan(1);
    const empty = await answer(options(), route, { ...extra, start: String(BigInt(FROM_MS - 3 * DAY) * NS_PER_MS), end: String(BigInt(FROM_MS - DAY) * NS_PER_MS) }, path);
    expect(empty.body).toEqual({ status: 'success', data: [] });
  });

  it('volume: summed over days, top limit, cached', async () => {
    for (const extra of [{}, { aggregateBy: 'labels' }, { limit: '3' }, { targetLabels: 'level' }]) {
      const cache = new LruResultsStore({ maxBytes: 1 << 20, tenantMaxBytes: () => 1 << 20 });
      const params = { query: '{app=~".+"}', ...extra, ...RANGE };
      const want = await direct('/loki/api/v1/index/volume', params);
      const cold = await answer(options({}, cache), '/loki/api/v1/index/volume', params);
      expect(cold.body.data.result).toEqual(want.data.result);
      await new Promise((r) => setTimeout(r, 10));
      const warm = await answer(options({}, cache), '/loki/api/v1/index/volume', params);
      expect(warm.body.data.result).toEqual(want.data.result);
      expect(warm.pieces.length).toBeLessThan(cold.pieces.length);
    }
  });
});

describe('drilldown endpoints, split', () => {
  const DAY_RANGE = { start: String(BigInt(FROM_MS + 3 * H + 17 * 60_000) * NS_PER_MS), end: String(BigInt(NOW_MS - 2 * H - 1234) * NS_PER_MS) };

  it('volume_range: windows of whole steps, top limit per bucket', async () => {
    const cases: Record<string, string>[] = [
      { query: '{app=~".+"}', step: '3600' },
      { query: '{app=~".+"}', step: '21600', limit: '3' },
      { query: '{app=~".+"}', step: '7200', aggregateBy: 'labels' },
      { query: '{app=~"a.*"}', step: '1800', targetLabels: 'level' },
      { query: '{level="error"}', step: '86400' },
      { query: '{app="db"}', step: '5000', limit: '2' },
      { query: '{app=~".+"}' },
    ];
    for (const extra of cases) {
      for (const range of [RANGE, DAY_RANGE]) {
        const params = { ...extra, ...range };
        const want = await direct('/loki/api/v1/index/volume_range', params);
        const got = await answer(options(), '/loki/api/v1/index/volume_range', params);
        expect(got.body.data.resultType, JSON.stringify(params)).toBe(want.data.resultType);
        expect(got.body.data.result, JSON.stringify(params)).toEqual(want.data.result);
        expect(got.pieces.length).toBeGreaterThan(1);
      }
    }
  });

  it('volume_range: bad parameters are one piece (the querier answers the error)', async () => {
    const runner = new HttpPieceRunner(() => silt.url);
    for (const bad of [{ limit: '-1' }, { step: '0' }, { aggregateBy: 'x' }, { query: '{app=' }, { step: '1' }]) {
      const res = await new SplitPlanner(options()).answer(request('/loki/api/v1/index/volume_range', { query: '{app=~".+"}', ...RANGE, ...bad }), runner);
      expect(res, JSON.stringify(bad)).toBeNull();
    }
  });

  it('detected_labels: label values by day, exact cardinalities', async () => {
    for (const extra of [{}, { query: '{app=~"a.*"}' }, { query: '{level="warn"}' }]) {
      for (const range of [RANGE, DAY_RANGE]) {
        const params = { ...extra, ...range };
        const want = await direct('/loki/api/v1/detected_labels', params);
        const got = await answer(options(), '/loki/api/v1/detected_labels', params);
        expect(got.body).toEqual(want);
        expect(got.body.detectedLabels.length).toBeGreaterThan(0);
      }
    }
  });

  it('detected_fields and detected_field values: the newest line_limit lines, split and sharded', async () => {
    const cases: [string, Record<string, string>][] = [
      ['/loki/api/v1/detected_fields', { query: '{app=~".+"}' }],
      ['/loki/api/v1/detected_fields', { query: '{app=~".+"} |= "NEEDLE"', line_limit: '1000' }],
      ['/loki/api/v1/detected_fields', { query: '{app="web"} | logfmt', line_limit: '2000', limit: '3' }],
      ['/loki/api/v1/detected_fields', { query: '{level="error"} | logfmt | n > 500', line_limit: '700' }],
      ['/loki/api/v1/detected_field/:name/values', { query: '{app=~".+"}', line_limit: '500' }],
      ['/loki/api/v1/detected_field/:name/values', { query: '{app="db"} | logfmt', line_limit: '3000', limit: '20' }],
    ];
    for (const [route, extra] of cases) {
      for (const range of [RANGE, DAY_RANGE]) {
        const path = route.replace(':name', 'msg');
        const params = { ...extra, ...range };
        const want = await direct(path, params);
        const got = await answer(options({ tsdb_max_bytes_per_shard: 5_000, max_shards: 3 }), route, params, path);
        expect(got.body, `${path} ${JSON.stringify(params)}`).toEqual(want);
        expect(Object.keys(want).length).toBeGreaterThan(0);
        expect(got.pieces.some((p) => p.params.some(([k]) => k === 'shards'))).toBe(true);
      }
    }
  });
});

describe('requests answered as one piece', () => {
  /** Plans `req` (one piece), gives it `body` as its piece's answer, and returns the plan's answer with `queueSeconds`. */
  async function onePiece(req: FrontendRequest, body: Buffer, queueSeconds: number): Promise<Buffer> {
    const plan = await new SplitPlanner(options()).plan(req, { run: () => Promise.reject(new Error('no look-ups expected')), signal: new AbortController().signal });
    const piece = plan.next()!;
    expect(piece.path).toBe(req.path);
    plan.accept(piece, { status: 200, contentType: 'application/json; charset=utf-8', body, queueSeconds: 0 });
    expect(plan.done()).toBe(true);
    return Buffer.from((await plan.result({ queueSeconds, pieces: 1 })).body);
  }
  const fetched = async (path: string, params: Record<string, string>): Promise<Buffer> => Buffer.from(await (await fetch(`${silt.url}${path}?${new URLSearchParams(params)}`)).arrayBuffer());

  it('a query answer gets the queue time in its stats; a series answer comes back byte for byte', async () => {
    // A multi-tenant request is never split: one piece, whatever the route.
    const multi = (route: string, params: Record<string, string>): FrontendRequest => ({ ...request(route, params), tenant: 'fake|other' });
    const qParams = { query: 'count_over_time({app="api"}[1h])', ...RANGE, step: '3600' };
    const q = await onePiece(multi('/loki/api/v1/query_range', qParams), await fetched('/loki/api/v1/query_range', qParams), 1.25);
    expect((JSON.parse(q.toString()) as { data: { stats: { summary: { queueTime: number } } } }).data.stats.summary.queueTime).toBe(1.25);
    const sParams = { 'match[]': '{app=~".+"}', ...RANGE };
    const series = await fetched('/loki/api/v1/series', sParams);
    expect((await onePiece(multi('/loki/api/v1/series', sParams), series, 1.25)).equals(series)).toBe(true);
  });
});
