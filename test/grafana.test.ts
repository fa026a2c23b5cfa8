/**
 * Replays the requests Grafana's Loki data source and the Logs Drilldown app send (paths,
 * parameters, nanosecond times, `step` in ms, X-Query-Tags and X-Grafana-* headers) and
 * checks every answer has the shape those clients parse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genEntries } from './support/genlogs.js';
import { startInProcess, tempDir, type InProcess, pushEntries } from './support/silt.js';

let silt: InProcess;
const entries = genEntries({ lines: 2000, streams: 30, rate: 20 });
const START = entries[0]!.tsNs;
const END = entries.at(-1)!.tsNs + 1n;

/** Headers Grafana's backend adds to data source requests. */
const GRAFANA_HEADERS = {
  'User-Agent': 'Grafana/12.1.0',
  'X-Query-Tags': 'Source=grafana',
  'X-Grafana-Org-Id': '1',
  'X-Grafana-User': 'admin',
  'X-Datasource-Uid': 'P8E80F9AEF21F6940',
  'X-Dashboard-Uid': 'abc123',
  'X-Panel-Id': '2',
  'X-Grafana-From-Expr': 'false',
  'X-Loki-Response-Encoding-Flags': 'categorize-labels',
  'Accept-Encoding': 'gzip',
};

beforeAll(async () => {
  silt = await startInProcess(tempDir());
  const r = await pushEntries(silt.url, entries);
  expect(r.status).toBe(204);
});
afterAll(async () => {
  await silt?.stop();
});

async function grafana(path: string, params: Record<string, string>, extra: Record<string, string> = {}): Promise<any> {
  const r = await fetch(`${silt.url}${path}?${new URLSearchParams(params)}`, { headers: { ...GRAFANA_HEADERS, ...extra } });
  const body = await r.text();
  expect(r.status, `${path} ${body}`).toBe(200);
  expect(r.headers.get('content-type')).toContain('application/json');
  return JSON.parse(body);
}

const range = { start: START.toString(), end: END.toString() };
const isNsString = (s: unknown): boolean => typeof s === 'string' && /^\d{19}$/.test(s);
const isLabelObject = (o: unknown): boolean => typeof o === 'object' && o !== null && Object.values(o).every((v) => typeof v === 'string');
const isPromPoint = (p: unknown): boolean => Array.isArray(p) && p.length === 2 && typeof p[0] === 'number' && typeof p[1] === 'string' && !Number.isNaN(Number(p[1]));

function expectMatrix(data: any): void {
  expect(data.resultType).toBe('matrix');
  for (const s of data.result) {
    expect(isLabelObject(s.metric)).toBe(true);
    expect(s.values.length).toBeGreaterThan(0);
    for (const p of s.values) expect(isPromPoint(p)).toBe(true);
  }
}

describe("Grafana's Loki data source", () => {
  it('health check: instant vector(1)+vector(1)', async () => {
    const r = await grafana('/loki/api/v1/query', { query: 'vector(1)+vector(1)', time: END.toString(), limit: '0', direction: 'backward' });
    expect(r.status).toBe('success');
    expect(r.data.resultType).toBe('vector');
    expect(r.data.result).toHaveLength(1);
    expect(r.data.result[0].metric).toEqual({});
    expect(r.data.result[0].value[1]).toBe('2');
  });

  it('buildinfo (feature detection)', async () => {
    const r = await grafana('/loki/api/v1/status/buildinfo', {});
    expect(typeof r.version).toBe('string');
  });

  it('logs query with categorize-labels', async () => {
    const r = await grafana('/loki/api/v1/query_range', { direction: 'backward', limit: '1000', query: '{cluster="prod-eu-west-1"} |= ``', ...range, step: '2000ms' });
    expect(r.status).toBe('success');
    expect(r.data.resultType).toBe('streams');
    expect(r.data.encodingFlags).toEqual(['categorize-labels']);
    expect(r.data.result.length).toBeGreaterThan(0);
    for (const s of r.data.result) {
      expect(isLabelObject(s.stream)).toBe(true);
      for (const v of s.values) {
        expect(isNsString(v[0])).toBe(true);
        expect(typeof v[1]).toBe('string');
        expect(typeof v[2]).toBe('object');
      }
    }
    expect(typeof r.data.stats.summary.execTime).toBe('number');
  });

  it('logs volume: sum by (level) (count_over_time({…} | drop __error__[1m]))', async () => {
    const q = 'sum by (level) (count_over_time({cluster=~".+"} | drop __error__[1m]))';
    const r = await grafana('/loki/api/v1/query_range', { direction: 'backward', limit: '1000', query: q, ...range, step: '60000ms', supportingQueryType: 'logsVolume' }, { 'X-Query-Tags': 'Source=grafana,Feature=LogsVolume' });
    expectMatrix(r.data);
    const levels = new Set(entries.map((e) => e.labels['level']).filter((l) => l !== undefined));
    expect(new Set(r.data.result.map((s: any) => s.metric.level ?? ''))).toEqual(new Set([...levels, '']));
    // Each point counts the minute before it: the newest point of every level is its last minute.
    const lastMs = Math.max(...r.data.result.map((s: any) => s.values.at(-1)[0] * 1000));
    // Steps are start + k·60 s in ns; the answer shows them in ms.
    const lastNs = START + BigInt(Math.round((lastMs - Number(START / 1_000_000n)) / 60_000)) * 60_000_000_000n;
    const fromNs = lastNs - 60_000_000_000n;
    const want = new Map<string, number>();
    for (const e of entries) if (e.tsNs > fromNs && e.tsNs <= lastNs) want.set(e.labels['level'] ?? '', (want.get(e.labels['level'] ?? '') ?? 0) + 1);
    const got = new Map<string, number>();
    for (const s of r.data.result) if (s.values.at(-1)[0] * 1000 === lastMs) got.set(s.metric.level ?? '', Number(s.values.at(-1)[1]));
    expect(got).toEqual(want);
  });

  it('metric query (range and instant)', async () => {
    const q = 'sum by (cluster) (rate({cluster=~".+"}[1m]))';
    expectMatrix((await grafana('/loki/api/v1/query_range', { query: q, ...range, step: '30', direction: 'backward', limit: '1000' })).data);
    const inst = await grafana('/loki/api/v1/query', { query: q, time: END.toString(), direction: 'backward', limit: '1000' });
    expect(inst.data.resultType).toBe('vector');
    for (const s of inst.data.result) expect(isPromPoint(s.value)).toBe(true);
  });

  it('labels, label values and series for the query builder', async () => {
    const labels = await grafana('/loki/api/v1/labels', range);
    expect(labels.status).toBe('success');
    expect(labels.data).toEqual(expect.arrayContaining(['app', 'cluster', 'namespace']));
    const values = await grafana('/loki/api/v1/label/app/values', { ...range, query: '{cluster="prod-eu-west-1"}' });
    expect(values.data.every((v: unknown) => typeof v === 'string')).toBe(true);
    expect(values.data.length).toBeGreaterThan(0);
    const series = await grafana('/loki/api/v1/series', { 'match[]': '{cluster="prod-eu-west-1"}', ...range });
    expect(series.data.every(isLabelObject)).toBe(true);
  });

  it('index stats (query size hint)', async () => {
    const r = await grafana('/loki/api/v1/index/stats', { query: '{cluster="prod-eu-west-1"}', ...range });
    for (const k of ['streams', 'chunks', 'bytes', 'entries']) expect(typeof r[k]).toBe('number');
  });
});

describe('Logs Drilldown', () => {
  it('service selection: index/volume by series and by label', async () => {
    const r = await grafana('/loki/api/v1/index/volume', { query: '{app=~".+"}', ...range, limit: '5000' });
    expect(r.status).toBe('success');
    expect(r.data.resultType).toBe('vector');
    for (const s of r.data.result) {
      expect(Object.keys(s.metric)).toEqual(['app']);
      expect(isPromPoint(s.value)).toBe(true);
    }
    const byLabel = await grafana('/loki/api/v1/index/volume', { query: '{cluster=~".+"}', ...range, limit: '5000', aggregateBy: 'labels' });
    for (const s of byLabel.data.result) expect(Object.values(s.metric)).toEqual(['']);
  });

  it('volume_range for the service sparklines', async () => {
    const r = await grafana('/loki/api/v1/index/volume_range', { query: '{app=~".+"}', ...range, step: '10s', limit: '5000', targetLabels: 'app' });
    expectMatrix(r.data);
  });

  it('detected_labels', async () => {
    const r = await grafana('/loki/api/v1/detected_labels', { query: '{app="product-api"}', ...range });
    expect(Array.isArray(r.detectedLabels)).toBe(true);
    for (const l of r.detectedLabels) {
      expect(typeof l.label).toBe('string');
      expect(Number.isInteger(l.cardinality)).toBe(true);
    }
  });

  it('detected_fields with the pipeline Drilldown builds', async () => {
    const q = '{app="product-api"} | json | logfmt | drop __error__, __error_details__';
    const r = await grafana('/loki/api/v1/detected_fields', { query: q, ...range, limit: '1000', step: '10s' });
    expect(r.limit).toBe(1000);
    const types = new Set(['string', 'int', 'float', 'duration', 'bytes', 'boolean']);
    for (const f of r.fields) {
      expect(types.has(f.type)).toBe(true);
      expect(Number.isInteger(f.cardinality)).toBe(true);
      expect(f.parsers === null || f.parsers.every((p: string) => p === 'json' || p === 'logfmt')).toBe(true);
    }
    const v = await grafana('/loki/api/v1/detected_field/method/values', { query: q, ...range });
    expect(v.values.every((x: unknown) => typeof x === 'string')).toBe(true);
  });

  it('patterns', async () => {
    const r = await grafana('/loki/api/v1/patterns', { query: '{app="product-api"}', ...range, step: '10s' });
    expect(r.status).toBe('success');
    expect(r.data.length).toBeGreaterThan(0);
    for (const p of r.data) {
      expect(typeof p.pattern).toBe('string');
      expect(typeof p.level).toBe('string');
      for (const s of p.samples) expect(Number.isInteger(s[0]) && Number.isInteger(s[1])).toBe(true);
    }
  });

  it('logs panel query with a detected level filter', async () => {
    const r = await grafana('/loki/api/v1/query_range', { query: '{app="product-api"} | json | level="error"', ...range, limit: '100', direction: 'backward', step: '1000ms' });
    expect(r.data.resultType).toBe('streams');
  });
});
