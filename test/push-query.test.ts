/**
 * End to end through HTTP: push generator data (JSON and protobuf+snappy), query it back
 * with selectors, line filters, limits and both directions, and compare with a brute-force
 * reference — before and after the chunks are flushed to storage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genEntries, labelKey, toStreams, type GenEntry } from './support/genlogs.js';
import { encodePush, labelString } from './support/protobuf.js';
import { flattenStreams, referenceQuery, type RefQuery } from './support/reference.js';
import { getJson, queryRange, startInProcess, tempDir, type InProcess, NO_INGEST_ENRICHMENT } from './support/silt.js';

let silt: InProcess;
// Generated at collection time so the cases below can name real label values.
const entries: GenEntry[] = genEntries({ lines: 6000, streams: 40, rate: 200 });
const APP = entries[10]!.labels['app']!;
const NS = entries[20]!.labels['namespace']!;

beforeAll(async () => {
  silt = await startInProcess(tempDir(), [...NO_INGEST_ENRICHMENT, '-ingester.chunk-target-size=64KiB', '-ingester.chunks-block-size=16KiB']);
  const half = entries.length / 2;
  // First half as JSON in batches of 500.
  for (let i = 0; i < half; i += 500) {
    const body = JSON.stringify({ streams: toStreams(entries.slice(i, Math.min(i + 500, half))) });
    const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    expect(r.status, await r.text()).toBe(204);
  }
  // Second half as protobuf + snappy.
  for (let i = half; i < entries.length; i += 500) {
    const streams = toStreams(entries.slice(i, i + 500)).map((s) => ({
      labels: labelString(s.stream),
      entries: s.values.map(([ts, line]) => ({ tsNs: BigInt(ts), line })),
    }));
    const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: encodePush(streams) });
    expect(r.status, await r.text()).toBe(204);
  }
});

afterAll(async () => {
  await silt?.stop();
});

interface Case {
  name: string;
  query: string;
  ref: Omit<RefQuery, 'startNs' | 'endNs' | 'limit' | 'direction'>;
}

const eq = (v: string) => (x: string) => x === v;
const CASES: Case[] = [
  { name: 'one app', query: `{app="${APP}"}`, ref: { labels: { app: eq(APP) }, line: [] } },
  { name: 'cluster regex', query: '{cluster=~"prod-.*"}', ref: { labels: { cluster: (v) => /^(?:prod-.*)$/.test(v) }, line: [] } },
  { name: 'needle', query: '{cluster=~".+"} |= "ERR_RATE_LIMITED_7F1A"', ref: { labels: { cluster: (v) => v !== '' }, line: [(l) => l.includes('ERR_RATE_LIMITED_7F1A')] } },
  {
    name: 'negative filter and regex',
    query: `{cluster=~".+", namespace!="${NS}"} != "GET" |~ "(?i)error"`,
    ref: { labels: { namespace: (v) => v !== NS }, line: [(l) => !l.includes('GET'), (l) => /error/i.test(l)] },
  },
  { name: 'absent', query: '{cluster=~".+"} |= "no such token anywhere"', ref: { labels: { cluster: (v) => v !== '' }, line: [() => false] } },
];

async function check(c: Case, limit: number, direction: 'forward' | 'backward', sub: 'all' | 'window'): Promise<void> {
  const first = entries[0]!.tsNs;
  const last = entries[entries.length - 1]!.tsNs;
  const startNs = sub === 'all' ? first : first + (last - first) / 3n;
  const endNs = sub === 'all' ? last + 1n : first + ((last - first) * 2n) / 3n;
  const want = referenceQuery(entries, { ...c.ref, startNs, endNs, limit, direction });
  const resp = await queryRange(silt.url, { query: c.query, start: startNs.toString(), end: endNs.toString(), limit: String(limit), direction });
  const got = flattenStreams(resp, direction);
  expect(got.ordered).toBe(true);
  expect([...got.rows].sort()).toEqual([...want].sort());
}

describe('push → query_range round trip', () => {
  for (const phase of ['memory', 'flushed'] as const) {
    describe(phase, () => {
      beforeAll(async () => {
        if (phase === 'flushed') await silt.app.ingester!.flushNow(true);
      });
      for (const c of CASES) {
        for (const [limit, direction, sub] of [
          [100, 'backward', 'all'],
          [37, 'forward', 'window'],
          [5000, 'forward', 'all'],
        ] as const) {
          it(`${c.name} limit=${limit} ${direction} ${sub}`, async () => check(c, limit, direction, sub));
        }
      }
    });
  }

  it('answers Loki-shaped JSON with stats', async () => {
    const resp = await queryRange(silt.url, { query: '{cluster=~".+"}', start: entries[0]!.tsNs.toString(), end: (entries.at(-1)!.tsNs + 1n).toString(), limit: '3' });
    expect(resp.status).toBe('success');
    expect(resp.data.resultType).toBe('streams');
    expect(resp.data.stats.summary).toHaveProperty('totalLinesProcessed');
    expect(resp.data.stats.summary.totalEntriesReturned).toBe(3);
    for (const s of resp.data.result) for (const [ts] of s.values) expect(ts).toMatch(/^\d{19}$/);
  });

  it('labels, values and series match the data', async () => {
    const start = entries[0]!.tsNs.toString();
    const end = (entries.at(-1)!.tsNs + 1n).toString();
    const names = new Set<string>();
    const apps = new Set<string>();
    const series = new Set<string>();
    for (const e of entries) {
      for (const k of Object.keys(e.labels)) names.add(k);
      apps.add(e.labels['app']!);
      if (e.labels['cluster'] === 'prod-eu-west-1') series.add(labelKey(e.labels));
    }
    expect((await getJson(`${silt.url}/loki/api/v1/labels?start=${start}&end=${end}`)).data).toEqual([...names].sort());
    expect((await getJson(`${silt.url}/loki/api/v1/label/app/values?start=${start}&end=${end}`)).data).toEqual([...apps].sort());
    const s = await getJson(`${silt.url}/loki/api/v1/series?start=${start}&end=${end}&${new URLSearchParams({ 'match[]': '{cluster="prod-eu-west-1"}' })}`);
    expect(new Set(s.data.map((x: Record<string, string>) => labelKey(x)))).toEqual(series);
  });
});
