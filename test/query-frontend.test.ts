/**
 * The query-frontend as its own process (issue #21 part 1): etcd, one ingester, one
 * distributor, two queriers pulling work from one `-target=query-frontend` process, all started
 * by the launcher (`npm run cluster -- up --frontends 1`). Faults are real signals: SIGSTOP
 * freezes a querier with pieces in hand, SIGKILL kills it. Expected answers come from a
 * querier's own HTTP API (the single-process path), never from fixed figures.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readCluster, startCluster, stopCluster, waitForCluster, type ClusterInfo } from '../tools/cluster/cluster.js';
import { tempDir } from './support/silt.js';

const HAVE_ETCD = existsSync('/usr/bin/etcd');

/** Outstanding queries one tenant may have in the frontend (small, so the test can pass it). */
const MAX_OUTSTANDING = 64;
/** Pieces each querier runs at once (querier.max_concurrent with match_max_concurrent). */
const SLOTS_PER_QUERIER = 4;

const dir = tempDir('silt-frontend-');
let info: ClusterInfo;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const proc = (name: string) => readCluster(dir)!.processes.find((p) => p.name === name)!;
const frontendUrl = (): string => proc('query-frontend-0').http;

/** The end of the pushed data, ns; every query has explicit start/end around it. */
let endNs = 0n;
let startNs = 0n;

/** A GET against `base` as `tenant`: status, text, elapsed ms. */
async function get(base: string, path: string, params: Record<string, string>, tenant: string): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(`${base}${path}?${new URLSearchParams(params)}`, { headers: { 'X-Scope-OrgID': tenant } });
  const text = await r.text();
  return { status: r.status, text, ms: performance.now() - t0 };
}

/** The `data` of a JSON answer without its stats (which differ run to run). */
function dataOf(text: string): unknown {
  const body = JSON.parse(text) as { data: unknown };
  const d = body.data as Record<string, unknown> | unknown[];
  if (!Array.isArray(d) && typeof d === 'object' && d !== null && 'stats' in d) {
    const { stats: _stats, ...rest } = d;
    return rest;
  }
  return d;
}

/** Pushes `streams` × `perStream` lines for `tenant`, ending now. */
async function pushData(tenant: string, streams: number, perStream: number): Promise<void> {
  const dist = readCluster(dir)!.processes.find((p) => p.role === 'distributor')!.http;
  const base = BigInt(Date.now()) * 1_000_000n - BigInt(perStream) * 1_000_000n;
  for (let s = 0; s < streams; s++) {
    const values: [string, string][] = [];
    for (let i = 0; i < perStream; i++) values.push([String(base + BigInt(i) * 1_000_000n), `level=${i % 3 === 0 ? 'error' : 'info'} tenant=${tenant} stream=${s} seq=${i} k${(i * 7919) % 1000} payload=${'x'.repeat(40)}`]);
    const r = await fetch(`${dist}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': tenant },
      body: JSON.stringify({ streams: [{ stream: { job: 'load', stream: String(s) }, values }] }),
    });
    expect(r.status, await r.text()).toBe(204);
  }
}

/** A metric query over all of a tenant's data: the heavy piece of the fairness test. */
const heavy = (i: number): Record<string, string> => ({
  query: `sum by (stream) (count_over_time({job="load"} |~ "k[0-9]*${i % 10}7" [1s]))`,
  start: String(startNs),
  end: String(endNs),
  step: '1s',
});

/** Sum of a counter or histogram series in the frontend's /metrics. */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${frontendUrl()}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

describe.skipIf(!HAVE_ETCD)('query-frontend process: 2 queriers pull work, etcd, 1 ingester', () => {
  beforeAll(async () => {
    info = await startCluster({
      dir,
      ingesters: 1,
      distributors: 1,
      queriers: 2,
      backends: 0,
      frontends: 1,
      etcdMembers: 1,
      replicationFactor: 1,
      restartDelayMs: 1000,
      stopGraceMs: 10_000,
      readyTimeoutMs: 150_000,
      settings: {
        auth_enabled: true,
        'limits_config.ingestion_rate_mb': 64,
        'limits_config.ingestion_burst_size_mb': 128,
        'querier.max_concurrent': SLOTS_PER_QUERIER,
        // One piece per query whatever the clock (a range across a split boundary makes two):
        // the tests count queries held by frozen queriers.
        'limits_config.split_queries_by_interval': 0,
      },
      roleSettings: { 'query-frontend': { 'frontend.max_outstanding_per_tenant': MAX_OUTSTANDING } },
    });
    const t0 = BigInt(Date.now()) * 1_000_000n;
    await Promise.all([pushData('flood', 10, 3000), pushData('quiet', 10, 3000), pushData('burst', 2, 100)]);
    endNs = BigInt(Date.now()) * 1_000_000n + 1_000_000_000n;
    startNs = t0 - 10_000_000_000n;
  }, 240_000);

  afterAll(async () => {
    await stopCluster(dir);
  }, 60_000);

  it('cluster.json has the query-frontend role; queriers are connected; every query endpoint answers as a querier does', async () => {
    expect(info.processes.map((p) => p.role).sort()).toEqual(['distributor', 'ingester', 'querier', 'querier', 'query-frontend']);
    // Each querier's streams connect on their own after it starts (one was seen still dialing on a loaded machine).
    await vi.waitFor(async () => expect(await metric('cortex_query_frontend_connected_clients')).toBe(2 * SLOTS_PER_QUERIER), { timeout: 15_000, interval: 100 });
    const range = { start: String(startNs), end: String(endNs) };
    const sel = '{job="load"}';
    const cases: [string, Record<string, string>][] = [
      ['/loki/api/v1/query_range', { query: `${sel} |= "k7"`, limit: '50', ...range }],
      ['/loki/api/v1/query_range', { query: `${sel} |= "k7"`, limit: '50', direction: 'forward', ...range }],
      ['/loki/api/v1/query_range', { query: `sum by (stream) (count_over_time(${sel} [5s]))`, step: '5s', ...range }],
      ['/loki/api/v1/query', { query: `sum(count_over_time(${sel} [1h]))`, time: String(endNs) }],
      ['/loki/api/v1/labels', range],
      ['/loki/api/v1/label/stream/values', range],
      ['/loki/api/v1/series', { 'match[]': sel, ...range }],
      ['/loki/api/v1/index/stats', { query: sel, ...range }],
      ['/loki/api/v1/index/volume', { query: sel, ...range }],
      ['/loki/api/v1/index/volume_range', { query: sel, step: '10s', ...range }],
      ['/loki/api/v1/detected_labels', { query: sel, ...range }],
      ['/loki/api/v1/detected_fields', { query: sel, ...range }],
    ];
    const querier = proc('querier-1').http;
    for (const [path, params] of cases) {
      const [viaFrontend, direct] = await Promise.all([get(frontendUrl(), path, params, 'quiet'), get(querier, path, params, 'quiet')]);
      expect(viaFrontend.status, `${path}: ${viaFrontend.text}`).toBe(200);
      expect(dataOf(viaFrontend.text), path).toEqual(dataOf(direct.text));
    }
    // Errors are the querier's, status and text.
    const bad = await get(frontendUrl(), '/loki/api/v1/query_range', { query: '{job=', ...range }, 'quiet');
    const badDirect = await get(querier, '/loki/api/v1/query_range', { query: '{job=', ...range }, 'quiet');
    expect([bad.status, bad.text]).toEqual([badDirect.status, badDirect.text]);
    // queueTime is in the summary, in seconds.
    const r = await get(frontendUrl(), '/loki/api/v1/query_range', { query: sel, limit: '10', ...range }, 'quiet');
    const summary = (JSON.parse(r.text) as { data: { stats: { summary: { queueTime: unknown } } } }).data.stats.summary;
    expect(typeof summary.queueTime).toBe('number');
    expect(summary.queueTime as number).toBeGreaterThan(0);
    expect(summary.queueTime as number).toBeLessThan(5);
  }, 60_000);

  it('a querier killed (SIGKILL) with pieces in hand: every query still answers, as the querier alone does', async () => {
    const queries = Array.from({ length: 3 * SLOTS_PER_QUERIER }, (_, i) => heavy(i));
    const direct = await Promise.all(queries.map((q) => get(proc('querier-1').http, '/loki/api/v1/query_range', q, 'quiet')));
    for (const d of direct) expect(d.status, d.text).toBe(200);
    const retriesBefore = await metric('cortex_query_frontend_retries_sum');
    const piecesBefore = await metric('loki_query_frontend_pieces_total');
    const victim = proc('querier-0');
    const survivor = proc('querier-1');
    // Both frozen while the frontend hands out pieces, each takes SLOTS_PER_QUERIER (the least
    // busy querier gets the next one) and the rest wait in the queue. With the survivor running,
    // how many reached the victim would depend on how fast the survivor answered.
    process.kill(victim.pid, 'SIGSTOP');
    process.kill(survivor.pid, 'SIGSTOP');
    const pending = new Set<number>();
    const answers = queries.map((q, i) => {
      pending.add(i);
      return get(frontendUrl(), '/loki/api/v1/query_range', q, 'quiet').finally(() => pending.delete(i));
    });
    try {
      const tDispatch = Date.now();
      while ((await metric('loki_query_frontend_pieces_total')) < piecesBefore + 2 * SLOTS_PER_QUERIER && Date.now() - tDispatch < 30_000) await sleep(50);
    } finally {
      // The victim keeps its pieces; the survivor answers its own and the queued ones.
      process.kill(survivor.pid, 'SIGCONT');
    }
    const t0 = Date.now();
    while (pending.size > SLOTS_PER_QUERIER && Date.now() - t0 < 30_000) await sleep(50);
    expect(pending.size, 'the frozen querier holds its pieces').toBe(SLOTS_PER_QUERIER);
    process.kill(victim.pid, 'SIGKILL');
    const got = await Promise.all(answers);
    for (let i = 0; i < got.length; i++) {
      expect(got[i]!.status, got[i]!.text).toBe(200);
      expect(dataOf(got[i]!.text)).toEqual(dataOf(direct[i]!.text));
    }
    expect(await metric('cortex_query_frontend_retries_sum')).toBe(retriesBefore + SLOTS_PER_QUERIER);
    // The supervisor starts it again; its worker connects again.
    await waitForCluster(dir, (c) => c.processes.some((p) => p.name === 'querier-0' && p.pid !== victim.pid && p.state === 'ready'), 90_000);
    const t1 = Date.now();
    while ((await metric('cortex_query_frontend_connected_clients')) !== 2 * SLOTS_PER_QUERIER && Date.now() - t1 < 30_000) await sleep(200);
    expect(await metric('cortex_query_frontend_connected_clients')).toBe(2 * SLOTS_PER_QUERIER);
  }, 150_000);

  it("429 'too many outstanding requests' past max_outstanding_per_tenant, for that tenant only", async () => {
    const queriers = readCluster(dir)!.processes.filter((p) => p.role === 'querier');
    for (const q of queriers) process.kill(q.pid, 'SIGSTOP');
    try {
      const extra = 5;
      const burst = Array.from({ length: MAX_OUTSTANDING + extra }, (_, i) => get(frontendUrl(), '/loki/api/v1/labels', { start: String(startNs), end: String(endNs + BigInt(i)) }, 'burst'));
      const refused: { status: number; text: string }[] = [];
      // The refusals come at once; the admitted wait for the frozen queriers.
      const settled = await Promise.race([Promise.all(burst.slice(MAX_OUTSTANDING)), sleep(10_000).then(() => null)]);
      expect(settled).not.toBeNull();
      for (const r of settled!) refused.push(r);
      expect(refused.map((r) => [r.status, r.text])).toEqual(Array.from({ length: extra }, () => [429, 'too many outstanding requests\n']));
      // Another tenant is admitted meanwhile.
      const other = get(frontendUrl(), '/loki/api/v1/labels', { start: String(startNs), end: String(endNs) }, 'quiet');
      for (const q of queriers) process.kill(q.pid, 'SIGCONT');
      const admitted = await Promise.all(burst.slice(0, MAX_OUTSTANDING));
      expect(admitted.every((r) => r.status === 200)).toBe(true);
      expect((await other).status).toBe(200);
    } finally {
      for (const q of queriers) {
        try {
          process.kill(q.pid, 'SIGCONT');
        } catch {
          // gone
        }
      }
    }
  }, 90_000);

  it("a tenant flooding the queue does not delay another tenant's query beyond one piece per slot", async () => {
    const alone = await get(frontendUrl(), '/loki/api/v1/query_range', heavy(3), 'quiet');
    expect(alone.status).toBe(200);
    const floodCount = MAX_OUTSTANDING - 4;
    const t0 = performance.now();
    const flood = Array.from({ length: floodCount }, (_, i) => get(frontendUrl(), '/loki/api/v1/query_range', heavy(i), 'flood'));
    await sleep(300);
    const quiet = await get(frontendUrl(), '/loki/api/v1/query_range', heavy(3), 'quiet');
    const floods = await Promise.all(flood);
    const floodMs = performance.now() - t0;
    expect(quiet.status).toBe(200);
    for (const f of floods) expect(f.status).toBe(200);
    const queueTime = (t: string): number => (JSON.parse(t) as { data: { stats: { summary: { queueTime: number } } } }).data.stats.summary.queueTime;
    const floodQueue = floods.map((f) => queueTime(f.text)).sort((a, b) => a - b);
    const slots = 2 * SLOTS_PER_QUERIER;
    // Mean time a flood piece holds a slot.
    const pieceMs = (floodMs * slots) / floodCount;
    const figures = { floodQueries: floodCount, floodMs: Math.round(floodMs), pieceMs: Math.round(pieceMs), quietAloneMs: Math.round(alone.ms), quietUnderFloodMs: Math.round(quiet.ms), quietQueueS: queueTime(quiet.text), floodMaxQueueS: floodQueue[floodQueue.length - 1] };
    console.log(`fairness: ${JSON.stringify(figures)}`);
    // FIFO would make the quiet query wait behind most of the flood; round robin lets it take the next free slot.
    expect(queueTime(quiet.text) * 1000).toBeLessThan(2 * pieceMs + 250);
    expect(quiet.ms).toBeLessThan(floodMs / 3);
    expect(floodQueue[floodQueue.length - 1]! * 1000).toBeGreaterThan(3 * queueTime(quiet.text) * 1000);
  }, 120_000);
});
