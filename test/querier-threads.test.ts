/**
 * Querier threads (`-querier.threads`): a `-target=all` process whose query-frontend hands the
 * windows and shards of one query to its own querier and to a querier thread (a real worker
 * thread reading the store itself and the ingester over local gRPC). Half the data is flushed
 * to the store, half stays in the ingester, so a thread reads both. Answers are compared with
 * a brute-force reference over the generated entries, and the thread must have run pieces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genEntries, labelKey, toStreams, type GenEntry } from './support/genlogs.js';
import { flattenStreams, referenceQuery, type RefQuery } from './support/reference.js';
import { queryRange, startInProcess, tempDir, type InProcess, NO_INGEST_ENRICHMENT } from './support/silt.js';
import { pieceReadsIngester } from '../src/app/querier-threads.js';

let silt: InProcess;
const entries: GenEntry[] = genEntries({ lines: 8000, streams: 40, rate: 200 });
const FIRST = entries[0]!.tsNs;
const LAST = entries.at(-1)!.tsNs;
const STEP_MS = 5000;

/** A counter's value summed over its series in the process's /metrics (threads summed in). */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${silt.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

beforeAll(async () => {
  silt = await startInProcess(tempDir(), [
    ...NO_INGEST_ENRICHMENT,
    '-querier.threads=1',
    '-validation.max-entries-limit=100000',
    // Small windows and shards, so that 8000 entries make many pieces for two queriers.
    '-querier.split-queries-by-interval=10s',
    '-querier.tsdb-max-bytes-per-shard=32KiB',
    '-ingester.chunk-target-size=64KiB',
    '-ingester.chunks-block-size=16KiB',
    // The delete API (last test): its requests must reach the thread's querier at once.
    '-compactor.retention-enabled=true',
  ]);
  const push = async (part: readonly GenEntry[]): Promise<void> => {
    for (let i = 0; i < part.length; i += 500) {
      const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ streams: toStreams(part.slice(i, i + 500)) }) });
      expect(r.status, await r.text()).toBe(204);
    }
  };
  await push(entries.slice(0, entries.length / 2));
  await silt.app.ingester!.flushNow(true);
  await push(entries.slice(entries.length / 2));
  // The thread dials the frontend once it has loaded: wait until both queriers are connected.
  for (let i = 0; i < 200 && (silt.app.frontend?.queriers ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 50));
}, 60_000);

afterAll(async () => {
  await silt?.stop();
});

const LOG_CASES: { query: string; ref: Omit<RefQuery, 'startNs' | 'endNs' | 'limit' | 'direction'> }[] = [
  { query: '{cluster=~".+"}', ref: { labels: { cluster: (v) => v !== '' }, line: [] } },
  { query: '{cluster=~".+"} |= "GET"', ref: { labels: { cluster: (v) => v !== '' }, line: [(l) => l.includes('GET')] } },
  { query: '{cluster=~"prod-.*"} |~ "(?i)error" != "GET"', ref: { labels: { cluster: (v) => v.startsWith('prod-') }, line: [(l) => /error/i.test(l), (l) => !l.includes('GET')] } },
];

/** `sum by (app) (count_over_time({cluster=~".+"} |= "<needle>" [5s]))` at 5s steps, by brute force: app → "t:count" points. */
function referenceCounts(needle: string, startMs: number, endMs: number): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let t = startMs; t <= endMs; t += STEP_MS) {
    const hi = BigInt(t) * 1_000_000n;
    const lo = hi - BigInt(STEP_MS) * 1_000_000n;
    const byApp = new Map<string, number>();
    for (const e of entries) if (e.tsNs > lo && e.tsNs <= hi && e.line.includes(needle)) byApp.set(e.labels['app']!, (byApp.get(e.labels['app']!) ?? 0) + 1);
    for (const [app, n] of byApp) (out[app] ??= []).push(`${t}:${n}`);
  }
  return out;
}

describe('pieceReadsIngester', () => {
  const now = 1_800_000_000_000;
  const ns = (ms: number): string => String(BigInt(ms) * 1_000_000n);
  it.each([
    [[['start', ns(now - 10 * 3600_000)], ['end', ns(now - 4 * 3600_000)]], 3 * 3600_000, false],
    [[['start', ns(now - 10 * 3600_000)], ['end', ns(now - 2 * 3600_000)]], 3 * 3600_000, true],
    [[['time', ns(now - 3600_000)]], 3 * 3600_000, true],
    [[['time', ns(now - 5 * 3600_000)]], 3 * 3600_000, false],
    [[['end', ns(now - 5 * 3600_000)]], 0, true], // 0: the querier always asks the ingester
    [[['end', '2026-12-05T00:00:00Z']], 3 * 3600_000, true], // not nanoseconds: unknown
    [[['query', '{a="b"}']], 3 * 3600_000, true],
  ] as [[string, string][], number, boolean][])('%j within %i ms → %s', (params, within, want) => {
    expect(pieceReadsIngester(params, within, now)).toBe(want);
  });
});

describe('querier threads', () => {
  it('the frontend has two queriers: its own and the thread', () => {
    expect(silt.app.frontend!.queriers).toBe(2);
  });

  for (const c of LOG_CASES) {
    for (const [limit, direction] of [
      [100_000, 'backward'],
      [250, 'forward'],
      [250, 'backward'],
    ] as const) {
      it(`${c.query} limit=${limit} ${direction}`, async () => {
        const want = referenceQuery(entries, { ...c.ref, startNs: FIRST, endNs: LAST + 1n, limit, direction });
        const resp = await queryRange(silt.url, { query: c.query, start: FIRST.toString(), end: (LAST + 1n).toString(), limit: String(limit), direction });
        const got = flattenStreams(resp, direction);
        expect(got.ordered).toBe(true);
        expect(got.rows.length).toBe(want.length);
        expect([...got.rows].sort()).toEqual([...want].sort());
      });
    }
  }

  for (const needle of ['GET', 'error']) {
    it(`sum by (app) (count_over_time(... |= "${needle}" [5s])) equals the brute-force counts`, async () => {
      const startMs = Math.floor(Number(FIRST / 1_000_000n) / STEP_MS) * STEP_MS;
      const endMs = Number(LAST / 1_000_000n) + STEP_MS;
      const resp = await queryRange(silt.url, { query: `sum by (app) (count_over_time({cluster=~".+"} |= "${needle}" [5s]))`, start: String(startMs / 1000), end: String(endMs / 1000), step: '5' });
      const got: Record<string, string[]> = {};
      for (const s of resp.data.result as { metric: Record<string, string>; values: [number, string][] }[]) got[s.metric['app']!] = s.values.map(([t, v]) => `${Math.round(t * 1000)}:${v}`);
      expect(Object.keys(got).length).toBeGreaterThan(1);
      expect(got).toEqual(referenceCounts(needle, startMs, endMs));
    });
  }

  it('pieces ran on the thread, and its metrics are in /metrics', async () => {
    expect(await metric('silt_querier_thread_pieces_total')).toBeGreaterThan(0);
    // The thread's index reads are summed into the process's histogram.
    expect(await metric('loki_index_request_duration_seconds_count')).toBeGreaterThan(0);
    // Label keys of streams are the generator's: a sanity check of the reference's inputs.
    expect(new Set(entries.map((e) => labelKey(e.labels))).size).toBe(40);
  });

  it('a thread that dies is started again; its pieces and the queries meanwhile are answered by the other querier', async () => {
    const q = { query: '{cluster=~".+"} |= "GET"', start: FIRST.toString(), end: (LAST + 1n).toString(), limit: '100000' };
    const want = referenceQuery(entries, { labels: { cluster: (v) => v !== '' }, line: [(l) => l.includes('GET')], startNs: FIRST, endNs: LAST + 1n, limit: 100_000, direction: 'backward' });
    const restarts = await metric('silt_querier_thread_restarts_total');
    const during = queryRange(silt.url, q);
    await silt.app.querierThreads!.terminate(0);
    expect([...flattenStreams(await during, 'backward').rows].sort()).toEqual([...want].sort());
    expect([...flattenStreams(await queryRange(silt.url, q), 'backward').rows].sort()).toEqual([...want].sort());
    const t0 = Date.now();
    while (((await metric('silt_querier_thread_restarts_total')) === restarts || silt.app.frontend!.queriers < 2) && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 100));
    expect(await metric('silt_querier_thread_restarts_total')).toBe(restarts + 1);
    expect(silt.app.frontend!.queriers).toBe(2);
    const pieces = await metric('silt_querier_thread_pieces_total');
    expect([...flattenStreams(await queryRange(silt.url, q), 'backward').rows].sort()).toEqual([...want].sort());
    // The new thread runs pieces again (the odd shards of the sharded query).
    expect(await metric('silt_querier_thread_pieces_total')).toBeGreaterThan(pieces);
  });

  it('shed for memory pressure: the thread ends, queries are answered by the process querier, counters do not go back; unshed, it runs pieces again', async () => {
    const threads = silt.app.querierThreads!;
    const q = { query: '{cluster=~".+"} |= "GET"', start: FIRST.toString(), end: (LAST + 1n).toString(), limit: '100000' };
    const want = [...referenceQuery(entries, { labels: { cluster: (v) => v !== '' }, line: [(l) => l.includes('GET')], startNs: FIRST, endNs: LAST + 1n, limit: 100_000, direction: 'backward' })].sort();
    expect([...flattenStreams(await queryRange(silt.url, q), 'backward').rows].sort()).toEqual(want);
    const pieces = await metric('silt_querier_thread_pieces_total');
    const restarts = await metric('silt_querier_thread_restarts_total');
    expect(pieces).toBeGreaterThan(0);
    threads.shed(true);
    expect(threads.shedding).toBe(true);
    for (let i = 0; i < 200 && silt.app.frontend!.queriers > 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect(silt.app.frontend!.queriers).toBe(1);
    // The ended thread's counters stay in the sums, while it ends and while it is gone.
    for (let i = 0; i < 40; i++) {
      expect(await metric('silt_querier_thread_pieces_total')).toBe(pieces);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect([...flattenStreams(await queryRange(silt.url, q), 'backward').rows].sort()).toEqual(want);
    expect(await metric('silt_querier_thread_pieces_total')).toBe(pieces);
    // Not a death: nothing restarts it while shed.
    await new Promise((r) => setTimeout(r, 1500));
    expect(silt.app.frontend!.queriers).toBe(1);
    threads.shed(false);
    for (let i = 0; i < 200 && silt.app.frontend!.queriers < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(silt.app.frontend!.queriers).toBe(2);
    expect([...flattenStreams(await queryRange(silt.url, q), 'backward').rows].sort()).toEqual(want);
    expect(await metric('silt_querier_thread_pieces_total')).toBeGreaterThan(pieces);
    expect(await metric('silt_querier_thread_restarts_total')).toBe(restarts);
  });

  // Last: it changes what every query answers.
  it('a delete request hides its lines at once on every querier, the thread included', async () => {
    const startS = Number(FIRST / 1_000_000_000n);
    const endS = Number(LAST / 1_000_000_000n) + 1;
    // Sharded queries (2 shards and up) give odd shards to the thread: warm its delete-request cache first.
    const before = await queryRange(silt.url, { query: '{cluster=~".+"} |= "GET"', start: FIRST.toString(), end: (LAST + 1n).toString(), limit: '100000' });
    expect(flattenStreams(before, 'backward').rows.length).toBeGreaterThan(0);
    const thread0 = await metric('silt_querier_thread_pieces_total');
    const post = await fetch(`${silt.url}/loki/api/v1/delete?${new URLSearchParams({ query: '{cluster=~".+"} |= "GET"', start: String(startS), end: String(endS) })}`, { method: 'POST' });
    expect(post.status, await post.text()).toBe(204);
    const want = referenceQuery(entries, { labels: { cluster: (v) => v !== '' }, line: [(l) => !l.includes('GET')], startNs: FIRST, endNs: LAST + 1n, limit: 100_000, direction: 'backward' });
    const after = await queryRange(silt.url, { query: '{cluster=~".+"}', start: FIRST.toString(), end: (LAST + 1n).toString(), limit: '100000' });
    expect([...flattenStreams(after, 'backward').rows].sort()).toEqual([...want].sort());
    expect(await metric('silt_querier_thread_pieces_total')).toBeGreaterThan(thread0);
  });
});
