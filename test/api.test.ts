/**
 * The rest of the HTTP API: parameter parsing, errors in Loki's plain-text form, metadata
 * endpoints against a reference computed from what was pushed, and operational endpoints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genEntries, labelKey } from './support/genlogs.js';
import { getJson, startInProcess, tempDir, type InProcess, NO_INGEST_ENRICHMENT, pushEntries } from './support/silt.js';

let silt: InProcess;
const entries = genEntries({ lines: 3000, streams: 30, rate: 100 });
const START = entries[0]!.tsNs;
const END = entries.at(-1)!.tsNs + 1n;
const range = `start=${START}&end=${END}`;

beforeAll(async () => {
  silt = await startInProcess(tempDir(), [...NO_INGEST_ENRICHMENT]);
  const r = await pushEntries(silt.url, entries);
  expect(r.status).toBe(204);
});
afterAll(async () => {
  await silt?.stop();
});

async function get(path: string, init?: RequestInit): Promise<{ status: number; text: string; type: string | null }> {
  const r = await fetch(`${silt.url}${path}`, init);
  return { status: r.status, text: await r.text(), type: r.headers.get('content-type') };
}

describe('query API errors', () => {
  it.each([
    ['/loki/api/v1/query_range?query=' + encodeURIComponent('{app="x"'), 400, /^parse error at line 1, col \d+: /],
    ['/loki/api/v1/query_range?query=' + encodeURIComponent('{app=~".*"}'), 400, /queries require at least one regexp or equality matcher/],
    ['/loki/api/v1/query_range?query=' + encodeURIComponent('{app="x"}') + '&limit=-1', 400, /limit must be a positive value/],
    ['/loki/api/v1/query_range?query=' + encodeURIComponent('{app="x"}') + '&direction=sideways', 400, /invalid direction/],
    ['/loki/api/v1/query_range?query=' + encodeURIComponent('{app="x"}') + '&start=yesterday', 400, /cannot parse "yesterday" to a valid timestamp/],
    ['/loki/api/v1/query_range?query=' + encodeURIComponent('{app="x"}') + '&start=200&end=100', 400, /end timestamp must not be before or equal to start time/],
    ['/loki/api/v1/query_range?query=' + encodeURIComponent('{app="x"}') + '&limit=10000', 400, /max entries limit per query exceeded/],
    ['/loki/api/v1/query?query=' + encodeURIComponent('{app="x"}'), 400, /log queries are not supported as an instant query type/],
    ['/loki/api/v1/query_range?query=' + encodeURIComponent('sum(rate({app="x"}[1m]))') + '&step=0', 400, /zero or negative query resolution step widths are not accepted/],
    ['/loki/api/v1/nope', 404, /404 page not found/],
  ])('%s → %i', async (path, status, re) => {
    const r = await get(path);
    expect(r.status, r.text).toBe(status);
    expect(r.text).toMatch(re);
    expect(r.type).toContain('text/plain');
  });

  it('never answers 500 to random queries', async () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const alphabet = '{}[]()"=~!|,.*+?\\ `abcxyz019_ #\n\t-<>&';
    for (let i = 0; i < 200; i++) {
      const q = Array.from({ length: 1 + rnd(40) }, () => alphabet[rnd(alphabet.length)]).join('');
      const r = await get('/loki/api/v1/query_range?query=' + encodeURIComponent(q));
      expect([200, 400], `${JSON.stringify(q)} → ${r.status} ${r.text}`).toContain(r.status);
    }
  });
});

describe('metric queries', () => {
  it("answers Grafana's health check: instant vector(1)+vector(1) is one sample of 2", async () => {
    const r = await getJson(`${silt.url}/loki/api/v1/query?query=${encodeURIComponent('vector(1)+vector(1)')}&time=${END}`);
    expect(r.status).toBe('success');
    expect(r.data.resultType).toBe('vector');
    expect(r.data.result).toHaveLength(1);
    expect(r.data.result[0].value[1]).toBe('2');
  });

  it('counts lines per level like the logs volume query (brute-force reference)', async () => {
    const q = 'sum by (level) (count_over_time({cluster=~".+", level=~".+"}[1h]))';
    const r = await getJson(`${silt.url}/loki/api/v1/query?query=${encodeURIComponent(q)}&time=${END}`);
    const want = new Map<string, number>();
    const from = END - 3600n * 1_000_000_000n;
    for (const e of entries) if (e.labels['level'] && e.tsNs > from && e.tsNs <= END) want.set(e.labels['level'], (want.get(e.labels['level']) ?? 0) + 1);
    const got = new Map<string, number>(r.data.result.map((s: { metric: { level: string }; value: [number, string] }) => [s.metric.level, Number(s.value[1])]));
    expect(got).toEqual(want);
  });

  it('runs a json pipeline in a log query', async () => {
    const q = '{level="error"} | json | level="error"';
    const r = await getJson(`${silt.url}/loki/api/v1/query_range?query=${encodeURIComponent(q)}&${range}&limit=5000`);
    const n = r.data.result.reduce((a: number, s: { values: unknown[] }) => a + s.values.length, 0);
    expect(n).toBe(entries.filter((e) => e.labels['level'] === 'error').length);
    for (const s of r.data.result) expect(s.stream.logger).toBeDefined();
  });
});

describe('time parameters', () => {
  it('accepts ns, float seconds, seconds and RFC3339 for the same instant', async () => {
    const q = encodeURIComponent('{cluster=~".+"}');
    const sec = START / 1_000_000_000n;
    const iso = new Date(Number(sec) * 1000).toISOString();
    const forms = [`${sec * 1_000_000_000n}`, `${sec}.0`, `${sec}`, iso];
    const answers = await Promise.all(forms.map((s) => getJson(`/loki/api/v1/query_range?query=${q}&start=${encodeURIComponent(s)}&end=${END}&limit=5&direction=forward`.replace(/^/, silt.url))));
    for (const a of answers) expect(a.data.result).toEqual(answers[0].data.result);
  });

  it('honours since', async () => {
    const r = await getJson(`${silt.url}/loki/api/v1/query_range?query=${encodeURIComponent('{cluster=~".+"}')}&since=1ms&limit=5`);
    expect(r.data.result).toEqual([]);
  });
});

describe('metadata endpoints', () => {
  it('label values with a query filter', async () => {
    const cluster = 'prod-eu-west-1';
    const want = [...new Set(entries.filter((e) => e.labels['cluster'] === cluster).map((e) => e.labels['app']!))].sort();
    const r = await getJson(`${silt.url}/loki/api/v1/label/app/values?${range}&query=${encodeURIComponent(`{cluster="${cluster}"}`)}`);
    expect(r).toEqual({ status: 'success', data: want });
  });

  it('index stats match the pushed data', async () => {
    const want = entries.filter((e) => e.labels['cluster'] === 'staging-eu-central-1');
    const r = await getJson(`${silt.url}/loki/api/v1/index/stats?${range}&query=${encodeURIComponent('{cluster="staging-eu-central-1"}')}`);
    expect(r.streams).toBe(new Set(want.map((e) => labelKey(e.labels))).size);
    expect(r.entries).toBe(want.length);
    expect(r.bytes).toBeGreaterThanOrEqual(want.reduce((a, e) => a + Buffer.byteLength(e.line), 0));
    expect(r.chunks).toBeGreaterThan(0);
  });

  it('series accepts several match[] (union)', async () => {
    const r = await getJson(`${silt.url}/loki/api/v1/series?${range}&match[]=${encodeURIComponent('{cluster="prod-eu-west-1"}')}&match[]=${encodeURIComponent('{cluster="prod-us-east-1"}')}`);
    const want = new Set(entries.filter((e) => e.labels['cluster']!.startsWith('prod-')).map((e) => labelKey(e.labels)));
    expect(new Set(r.data.map((s: Record<string, string>) => labelKey(s)))).toEqual(want);
  });

  it('POST form bodies work like query strings', async () => {
    const body = new URLSearchParams({ query: '{cluster=~".+"} |= "ERR_RATE_LIMITED_7F1A"', start: START.toString(), end: END.toString(), limit: '1000' });
    const r = await fetch(`${silt.url}/loki/api/v1/query_range`, { method: 'POST', body });
    const j = (await r.json()) as { data: { result: { values: unknown[] }[] } };
    const n = j.data.result.reduce((a, s) => a + s.values.length, 0);
    expect(n).toBe(entries.filter((e) => e.line.includes('ERR_RATE_LIMITED_7F1A')).length);
  });
});

describe('operational endpoints', () => {
  it('ready, metrics, config, buildinfo, format_query', async () => {
    expect((await get('/ready')).text).toBe('ready\n');
    const m = await get('/metrics');
    expect(m.text).toContain('loki_distributor_lines_received_total');
    expect(m.text).toContain('loki_ingester_memory_streams');
    // Every pushed line went through the WAL: its byte counter covers at least the line bytes.
    const metric = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(m.text)?.[1] ?? NaN);
    const lineBytes = entries.reduce((a, e) => a + Buffer.byteLength(e.line), 0);
    expect(metric('loki_ingester_wal_logged_bytes_total')).toBeGreaterThanOrEqual(lineBytes);
    expect(metric('loki_ingester_wal_records_logged_total')).toBeGreaterThan(0);
    expect(metric('silt_ingester_wal_fsyncs_total')).toBeGreaterThan(0);
    expect(metric('silt_ingester_wal_write_seconds_total')).toBeGreaterThan(0);
    expect(metric('silt_ingester_wal_disk_bytes')).toBeGreaterThanOrEqual(lineBytes);
    const c = await get('/config');
    expect(c.text).toContain('http_listen_port: 0');
    expect(c.text).toContain('max_chunk_age: 2h0m0s');
    const b = await getJson(`${silt.url}/loki/api/v1/status/buildinfo`);
    expect(b.version).toMatch(/^\d+\.\d+\.\d+/);
    const f = await getJson(`${silt.url}/loki/api/v1/format_query?query=${encodeURIComponent('{ app = "x" }|="y"')}`);
    expect(f).toEqual({ status: 'success', data: '{app="x"} |= "y"' });
  });
});

describe('POST /flush', () => {
  it("flushes every in-memory chunk to storage, as Loki's ingester endpoint does", async () => {
    const r = await get('/flush', { method: 'POST' });
    expect(r.status, r.text).toBe(204);
    const { objects } = await silt.app.objects.list('fake/chunks/');
    const stored = new Set(objects.map((o) => o.key.split('/')[2]));
    // Every stream has a chunk in storage now.
    expect(stored.size).toBe(new Set(entries.map((e) => labelKey(e.labels))).size);
    const m = (await get('/metrics')).text;
    expect(Number(/^loki_ingester_flush_queue_length (\S+)$/m.exec(m)?.[1])).toBe(0);
    // Flushed chunks, still in memory and now also stored, are counted once.
    const st = await getJson(`${silt.url}/loki/api/v1/index/stats?${range}&query=${encodeURIComponent('{cluster=~".+"}')}`);
    expect(st.entries).toBe(entries.length);
  });
});
