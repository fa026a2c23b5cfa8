/**
 * Grafana Explore / Logs Drilldown endpoints against brute-force references computed from
 * the generated entries: volume = line bytes per series, detected labels and fields = a
 * naive parse of every line, patterns = every line matched by one of its patterns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genEntries, labelKey, type GenEntry } from './support/genlogs.js';
import { getJson, NO_INGEST_ENRICHMENT, startInProcess, tempDir, type InProcess, pushEntries } from './support/silt.js';

let silt: InProcess;
const entries = genEntries({ lines: 4000, streams: 30, rate: 50 });
const START = entries[0]!.tsNs;
const END = entries.at(-1)!.tsNs;
const range = `start=${START}&end=${END}`;
const NS_PER_MS = 1_000_000n;

beforeAll(async () => {
  silt = await startInProcess(tempDir(), [...NO_INGEST_ENRICHMENT]);
  const r = await pushEntries(silt.url, entries);
  expect(r.status).toBe(204);
});
afterAll(async () => {
  await silt?.stop();
});

const api = (path: string, params: Record<string, string>): Promise<any> => getJson(`${silt.url}/loki/api/v1/${path}?${range}&${new URLSearchParams(params)}`);
const bytes = (e: GenEntry): number => Buffer.byteLength(e.line);
const inRange = (e: GenEntry): boolean => e.tsNs >= START && e.tsNs <= END;
const sumBy = (es: GenEntry[], key: (e: GenEntry) => string | null): Map<string, number> => {
  const m = new Map<string, number>();
  for (const e of es) {
    const k = key(e);
    if (k !== null) m.set(k, (m.get(k) ?? 0) + bytes(e));
  }
  return m;
};
const top = (m: Map<string, number>, n: number): [string, number][] => [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);

describe('index/volume', () => {
  it('sums line bytes per series reduced to the matcher labels, largest first, limited', async () => {
    const want = top(sumBy(entries.filter(inRange), (e) => JSON.stringify({ cluster: e.labels['cluster'] })), 2);
    const r = await api('index/volume', { query: '{cluster=~".+"}', limit: '2' });
    expect(r.status).toBe('success');
    expect(r.data.resultType).toBe('vector');
    expect(r.data.result.map((s: any) => [JSON.stringify(s.metric), Number(s.value[1])])).toEqual(want);
    for (const s of r.data.result) expect(s.value[0]).toBe(Number(END / NS_PER_MS) / 1000);
  });

  it('aggregates by target labels and by label names; {} matches every stream', async () => {
    const prod = entries.filter((e) => inRange(e) && e.labels['cluster'] === 'prod-eu-west-1');
    const byApp = top(sumBy(prod, (e) => JSON.stringify({ app: e.labels['app'] })), 100);
    const r1 = await api('index/volume', { query: '{cluster="prod-eu-west-1"}', targetLabels: 'app' });
    expect(r1.data.result.map((s: any) => [JSON.stringify(s.metric), Number(s.value[1])])).toEqual(byApp);

    const names = new Map<string, number>();
    for (const e of entries.filter(inRange)) for (const n of Object.keys(e.labels)) names.set(n, (names.get(n) ?? 0) + bytes(e));
    const r2 = await api('index/volume', { query: '{}', aggregateBy: 'labels' });
    expect(r2.data.result.map((s: any) => [Object.keys(s.metric)[0], Number(s.value[1])])).toEqual(top(names, 100));
    for (const s of r2.data.result) expect(Object.values(s.metric)).toEqual(['']);

    const all = await api('index/volume', { query: '{}', limit: '1000' });
    expect(all.data.result).toHaveLength(new Set(entries.map((e) => labelKey(e.labels))).size);
  });

  it('volume_range buckets by step (each bucket ends 1 ms before the next starts)', async () => {
    const step = 20_000_000_000n;
    const aligned = START - (START % step);
    const want = new Map<string, Map<number, number>>();
    for (const e of entries.filter(inRange)) {
      const k = JSON.stringify({ level: e.labels['level'] ?? '' });
      if (!e.labels['level']) continue;
      const b = (e.tsNs - aligned) / step;
      const endNs = aligned + (b + 1n) * step > END ? END : aligned + (b + 1n) * step - NS_PER_MS;
      const t = Number(endNs / NS_PER_MS) / 1000;
      let m = want.get(k);
      if (!m) want.set(k, (m = new Map()));
      m.set(t, (m.get(t) ?? 0) + bytes(e));
    }
    const r = await api('index/volume_range', { query: '{level=~".+"}', step: '20s', limit: '1000' });
    expect(r.data.resultType).toBe('matrix');
    const got = new Map<string, Map<number, number>>(r.data.result.map((s: any) => [JSON.stringify(s.metric), new Map(s.values.map((v: [number, string]) => [v[0], Number(v[1])]))]));
    expect(got).toEqual(want);
  });

  it.each([
    [{ query: '{app="x"}', aggregateBy: 'pods' }, /invalid aggregation option/],
    [{ query: '{app="x"}', limit: '-1' }, /limit must be a positive value/],
    [{ query: '{app="x"', limit: '5' }, /parse error/],
    [{ query: '{app="x"} |= "y"' }, /only label matchers/],
  ])('rejects %j with a 400', async (params, re) => {
    const r = await fetch(`${silt.url}/loki/api/v1/index/volume?${range}&${new URLSearchParams(params)}`);
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(re);
  });
});

describe('detected_labels', () => {
  it('lists labels with their cardinality, dropping id-only labels', async () => {
    const vals = new Map<string, Set<string>>();
    for (const e of entries.filter((x) => inRange(x) && x.labels['cluster']!.startsWith('prod-'))) {
      for (const [k, v] of Object.entries(e.labels)) {
        let s = vals.get(k);
        if (!s) vals.set(k, (s = new Set()));
        s.add(v);
      }
    }
    const want = [...vals].sort(([a], [b]) => (a < b ? -1 : 1)).map(([label, s]) => ({ label, cardinality: s.size }));
    const r = await api('detected_labels', { query: '{cluster=~"prod-.*"}' });
    expect(r).toEqual({ detectedLabels: want });
  });
});

/** Naive logfmt: key=value or key="quoted"; an unquoted value holding `=` is skipped (Loki's non-strict logfmt). */
function logfmt(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of line.matchAll(/(\w+)=("((?:[^"\\]|\\.)*)"|\S*)/g)) {
    if (m[3] === undefined && m[2]!.includes('=')) continue;
    if ((m[3] ?? m[2]) !== '') out.set(m[1]!, m[3] ?? m[2]!);
  }
  return out;
}

function flatJson(line: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (o: any, p: string): void => {
    for (const [k, v] of Object.entries(o)) {
      if (v !== null && typeof v === 'object') {
        if (!Array.isArray(v)) walk(v, p + k + '_');
      } else out.set(p + k, v === null ? '' : String(v));
    }
  };
  walk(JSON.parse(line), '');
  return out;
}

describe('detected_fields', () => {
  it.each([
    ['oauth-proxy', 'logfmt', logfmt],
    ['product-api', 'json', flatJson],
  ] as const)('%s: every %s field with its cardinality (brute-force parse)', async (app, parser, parse) => {
    const lines = entries.filter((e) => inRange(e) && e.labels['app'] === app && e.tsNs < END);
    expect(lines.length).toBeGreaterThan(20);
    const want = new Map<string, Set<string>>();
    for (const e of lines) {
      for (const [k0, v] of parse(e.line)) {
        const k = k0 in e.labels ? k0 + '_extracted' : k0;
        let s = want.get(k);
        if (!s) want.set(k, (s = new Set()));
        s.add(v);
      }
    }
    const r = await api('detected_fields', { query: `{app="${app}"}`, line_limit: '5000' });
    expect(r.limit).toBe(1000);
    const got = new Map<string, number>(r.fields.map((f: any) => [f.label, f.cardinality]));
    expect(got).toEqual(new Map([...want].map(([k, s]) => [k, s.size])));
    for (const f of r.fields) {
      expect(f.parsers).toEqual([parser]);
      const values = [...want.get(f.label)!];
      if (values.every((v) => /^-?\d+$/.test(v))) expect(f.type).toBe('int');
      if (values.every((v) => /^\d+(\.\d+)?(ms|s)$/.test(v))) expect(f.type).toBe('duration');
      if (parser === 'json') expect(f.jsonPath).toEqual([f.label.replace(/_extracted$/, '')]);
    }
  });

  it('line_limit reads only the newest lines; limit caps the fields', async () => {
    const newest = entries.filter((e) => inRange(e) && e.labels['app'] === 'oauth-proxy' && e.tsNs < END).slice(-10);
    const traces = new Set(newest.map((e) => logfmt(e.line).get('trace_id')));
    const r = await api('detected_fields', { query: '{app="oauth-proxy"}', line_limit: '10' });
    expect(r.fields.find((f: any) => f.label === 'trace_id').cardinality).toBe(traces.size);
    const r2 = await api('detected_fields', { query: '{app="oauth-proxy"}', field_limit: '3' });
    expect(r2.fields).toHaveLength(3);
    expect(r2.limit).toBe(3);
  });

  it('values of one field', async () => {
    const lines = entries.filter((e) => inRange(e) && e.labels['app'] === 'oauth-proxy' && e.tsNs < END);
    const want = [...new Set(lines.map((e) => logfmt(e.line).get('status')).filter((v) => v !== undefined))].sort();
    const r = await api('detected_field/status/values', { query: '{app="oauth-proxy"}', line_limit: '5000' });
    expect(r).toEqual({ values: want, limit: 1000 });
  });

  it.each([
    [{ query: '{app="x"}', line_limit: '0' }, /limit must be a positive value/],
    [{ query: '{app="x"}', limit: 'abc' }, /strconv.ParseInt: parsing "abc": invalid syntax/],
    [{ query: 'sum(rate({app="x"}[1m]))' }, /only log queries/],
    [{ query: '{app="x"}', line_limit: '100000' }, /max entries limit per query exceeded/],
  ])('rejects %j with a 400', async (params, re) => {
    const r = await fetch(`${silt.url}/loki/api/v1/detected_fields?${range}&${new URLSearchParams(params)}`);
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(re);
  });
});

describe('patterns', () => {
  const toRegex = (p: string): RegExp => new RegExp('^' + p.split('<_>').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*?') + '$', 's');

  it.each(['oauth-proxy', 'kafka-connect', 'ingress-nginx'])('%s: every line is counted once and matches a pattern', async (app) => {
    const lines = entries.filter((e) => inRange(e) && e.labels['app'] === app);
    const r = await api('patterns', { query: `{app="${app}"}`, step: '1m' });
    expect(r.status).toBe('success');
    const regexes = r.data.map((p: any) => toRegex(p.pattern));
    let total = 0;
    for (const p of r.data) {
      expect(typeof p.level).toBe('string');
      for (const [t, n] of p.samples) {
        expect(Number.isInteger(t) && t % 60 === 0).toBe(true);
        total += n;
      }
    }
    expect(total).toBe(lines.length);
    for (const e of lines) expect(regexes.some((re: RegExp) => re.test(e.line)), e.line).toBe(true);
    // Per-step counts: the lines of each minute.
    const perMinute = new Map<number, number>();
    for (const e of lines) {
      const t = Number(e.tsNs / 60_000_000_000n) * 60;
      perMinute.set(t, (perMinute.get(t) ?? 0) + 1);
    }
    const got = new Map<number, number>();
    for (const p of r.data) for (const [t, n] of p.samples) got.set(t, (got.get(t) ?? 0) + n);
    expect(got).toEqual(perMinute);
  });

  it('a line filter narrows the lines', async () => {
    const lines = entries.filter((e) => inRange(e) && e.labels['app'] === 'oauth-proxy' && e.line.includes('level=error'));
    const r = await api('patterns', { query: '{app="oauth-proxy"} |= "level=error"', step: '1m' });
    let total = 0;
    for (const p of r.data) for (const [, n] of p.samples) total += n;
    expect(total).toBe(lines.length);
    for (const p of r.data) expect(p.level).toBe('error');
  });

  it('rejects a too small step', async () => {
    const r = await fetch(`${silt.url}/loki/api/v1/patterns?start=0&end=${END}&query=${encodeURIComponent('{app="x"}')}&step=1s`);
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/exceeded maximum resolution of 11,000 points/);
  });
});

describe('bad input never gives a 500', () => {
  it('random queries and parameters on every endpoint answer 200 or 400', async () => {
    let seed = 11;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const alphabet = '{}[]()"=~!|,.*+?\\ `abcxyz019_ #-<>&';
    const paths = ['index/volume', 'index/volume_range', 'detected_labels', 'detected_fields', 'detected_field/x/values', 'patterns'];
    const junk = ['', '0', '-5', 'abc', '1e400', ',,', 'app,,cluster', '99999999999999999999', '1ms', '-1h'];
    for (let i = 0; i < 120; i++) {
      const q = i % 3 === 0 ? '{app="oauth-proxy"}' : Array.from({ length: 1 + rnd(30) }, () => alphabet[rnd(alphabet.length)]).join('');
      const params = new URLSearchParams({ query: q, start: START.toString(), end: END.toString() });
      for (const k of ['limit', 'step', 'targetLabels', 'aggregateBy', 'line_limit', 'field_limit']) if (rnd(3) === 0) params.set(k, junk[rnd(junk.length)]!);
      const path = paths[i % paths.length]!;
      const r = await fetch(`${silt.url}/loki/api/v1/${path}?${params}`);
      expect([200, 400], `${path}?${params} → ${r.status} ${await r.clone().text()}`).toContain(r.status);
      await r.text();
    }
  });
});

describe('aggregated metric streams', () => {
  it('are left out of volumes unless a matcher names __aggregated_metric__', async () => {
    const ts = (END - 1000n).toString();
    const r = await fetch(`${silt.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ streams: [{ stream: { __aggregated_metric__: 'svc', app: 'agg-only' }, values: [[ts, 'count=5 bytes=10']] }] }),
    });
    expect(r.status).toBe(204);
    const plain = await api('index/volume', { query: '{app=~".+"}', limit: '1000' });
    expect(plain.data.result.some((s: any) => s.metric.app === 'agg-only')).toBe(false);
    const asked = await api('index/volume', { query: '{__aggregated_metric__=~".+"}', limit: '1000' });
    expect(asked.data.result.map((s: any) => [s.metric, Number(s.value[1])])).toEqual([[{ __aggregated_metric__: 'svc' }, 'count=5 bytes=10'.length]]);
    const labels = await api('detected_labels', { query: '{app=~".+"}' });
    expect(labels.detectedLabels.some((l: any) => l.label.startsWith('__'))).toBe(false);
  });
});
