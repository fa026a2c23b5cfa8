/**
 * Tenants end to end: with auth enabled, three tenants push different generator data and
 * every read endpoint answers each of them with exactly its own data (brute-force reference
 * per tenant), from memory and again from storage after a flush and restart. Multi-tenant
 * queries (`a|b`) merge tenants with a `__tenant_id__` label and narrow on it; push refuses
 * several tenants; header errors carry Loki's status and message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genEntries, labelKey, type GenEntry } from './support/genlogs.js';
import { flattenStreams } from './support/reference.js';
import { NO_INGEST_ENRICHMENT, startInProcess, tempDir, type InProcess, pushEntries } from './support/silt.js';

const TENANTS = {
  a: genEntries({ lines: 1200, streams: 20, seed: 11, rate: 100 }),
  b: genEntries({ lines: 900, streams: 15, seed: 12, rate: 100 }),
  c: genEntries({ lines: 600, streams: 10, seed: 13, rate: 100 }),
} as const satisfies Record<string, GenEntry[]>;
type Tenant = keyof typeof TENANTS;
const ALL = Object.values(TENANTS).flat();
const START = ALL.reduce((m, e) => (e.tsNs < m ? e.tsNs : m), ALL[0]!.tsNs);
const END = ALL.reduce((m, e) => (e.tsNs > m ? e.tsNs : m), 0n) + 1n;
const RANGE = `start=${START}&end=${END}`;
const SEL = '{cluster=~".+"}';
// The brute-force references model exactly the pushed labels: Loki's ingestion enrichment is off.
const FLAGS = [...NO_INGEST_ENRICHMENT, '-auth.enabled=true', '-querier.multi-tenant-queries-enabled=true'];

const dir = tempDir('silt-tenants-');
let silt: InProcess;

beforeAll(async () => {
  silt = await startInProcess(dir, FLAGS);
  for (const [t, entries] of Object.entries(TENANTS)) {
    const r = await pushEntries(silt.url, entries, { 'X-Scope-OrgID': t });
    expect(r.status, await r.text()).toBe(204);
  }
});
afterAll(async () => {
  await silt?.stop();
});

async function get(path: string, orgId: string | null): Promise<{ status: number; text: string }> {
  const r = await fetch(`${silt.url}${path}`, { headers: orgId === null ? {} : { 'X-Scope-OrgID': orgId } });
  return { status: r.status, text: await r.text() };
}

async function getJson(path: string, orgId: string): Promise<any> {
  const r = await get(path, orgId);
  if (r.status !== 200) throw new Error(`GET ${path} as ${orgId} → ${r.status}: ${r.text}`);
  return JSON.parse(r.text);
}

const q = (s: string): string => encodeURIComponent(s);
const sorted = <T>(xs: Iterable<T>): T[] => [...xs].sort();

/** The entries as a multi-tenant answer shows them: each labelled with its tenant. */
function tagged(tenants: readonly Tenant[]): GenEntry[] {
  return tenants.flatMap((t) => TENANTS[t].map((e) => ({ ...e, labels: { ...e.labels, __tenant_id__: t } })));
}

/** What every read endpoint must answer for `orgId`, computed from the pushed entries. */
function reference(entries: readonly GenEntry[]) {
  const byApp = new Map<string, number>();
  const names = new Set<string>();
  const apps = new Set<string>();
  for (const e of entries) {
    byApp.set(e.labels['app']!, (byApp.get(e.labels['app']!) ?? 0) + 1);
    for (const n of Object.keys(e.labels)) names.add(n);
    apps.add(e.labels['app']!);
  }
  return {
    rows: sorted(entries.map((e) => `${labelKey(e.labels)}|${e.tsNs}|${e.line}`)),
    errorLines: entries.filter((e) => e.line.includes('error')).length,
    byApp,
    names: sorted(names),
    apps: sorted(apps),
    series: sorted(new Set(entries.map((e) => labelKey(e.labels)))),
  };
}

/** Checks every read endpoint for `orgId` against the entries it must see, exactly. */
async function checkReads(orgId: string, entries: readonly GenEntry[]): Promise<void> {
  const want = reference(entries);
  const logs = await getJson(`/loki/api/v1/query_range?query=${q(SEL)}&${RANGE}&limit=5000&direction=forward`, orgId);
  const flat = flattenStreams(logs, 'forward');
  expect(flat.ordered).toBe(true);
  expect(sorted(flat.rows), `query_range as ${orgId}`).toEqual(want.rows);

  const filtered = await getJson(`/loki/api/v1/query_range?query=${q(SEL + ' |= "error"')}&${RANGE}&limit=5000`, orgId);
  expect(flattenStreams(filtered, 'backward').rows.length, `filtered query_range as ${orgId}`).toBe(want.errorLines);

  const metric = `sum by (app) (count_over_time(${SEL}[1h]))`;
  const inst = await getJson(`/loki/api/v1/query?query=${q(metric)}&time=${END}`, orgId);
  const got = new Map<string, number>(inst.data.result.map((s: { metric: { app: string }; value: [number, string] }) => [s.metric.app, Number(s.value[1])]));
  expect(got, `instant query as ${orgId}`).toEqual(want.byApp);

  const total = await getJson(`/loki/api/v1/query_range?query=${q(`sum(count_over_time(${SEL}[1h]))`)}&start=${END}&end=${END}&step=1`, orgId);
  expect(total.data.resultType).toBe('matrix');
  expect(Number(total.data.result[0].values[0][1]), `range metric query as ${orgId}`).toBe(entries.length);

  expect((await getJson(`/loki/api/v1/labels?${RANGE}`, orgId)).data, `labels as ${orgId}`).toEqual(want.names);
  expect((await getJson(`/loki/api/v1/label/app/values?${RANGE}`, orgId)).data, `label values as ${orgId}`).toEqual(want.apps);

  const series = await getJson(`/loki/api/v1/series?${RANGE}&match[]=${q(SEL)}`, orgId);
  expect(sorted(series.data.map((s: Record<string, string>) => labelKey(s))), `series as ${orgId}`).toEqual(want.series);

  const stats = await getJson(`/loki/api/v1/index/stats?${RANGE}&query=${q(SEL)}`, orgId);
  expect({ streams: stats.streams, entries: stats.entries }, `index/stats as ${orgId}`).toEqual({ streams: want.series.length, entries: entries.length });
}

async function checkEverything(): Promise<void> {
  for (const t of Object.keys(TENANTS) as Tenant[]) await checkReads(t, TENANTS[t]);
  await checkReads('a|b', tagged(['a', 'b']));
  await checkReads('c|b|a', tagged(['a', 'b', 'c']));
  // Tenants that never pushed see nothing.
  const none = await getJson(`/loki/api/v1/query_range?query=${q(SEL)}&${RANGE}&limit=5000`, 'nobody');
  expect(none.data.result).toEqual([]);
  expect((await getJson(`/loki/api/v1/labels?${RANGE}`, 'nobody')).data).toEqual([]);
}

describe('tenant separation', () => {
  it('every read endpoint answers each tenant with exactly its data', async () => {
    await checkEverything();
  });

  it('keeps tenants apart after flush and restart (from storage only)', async () => {
    await silt.stop();
    // Without the WAL, everything the restarted process answers comes from flushed chunks.
    silt = await startInProcess(dir, [...FLAGS, '-ingester.wal-enabled=false']);
    await checkEverything();
  });
});

describe('multi-tenant queries', () => {
  it('merges log queries across tenants up to the limit, in time order', async () => {
    const want = tagged(['a', 'b'])
      .sort((x, y) => (x.tsNs < y.tsNs ? 1 : x.tsNs > y.tsNs ? -1 : 0))
      .slice(0, 100)
      .map((e) => `${labelKey(e.labels)}|${e.tsNs}|${e.line}`);
    const r = await getJson(`/loki/api/v1/query_range?query=${q(SEL)}&${RANGE}&limit=100`, 'a|b');
    expect(sorted(flattenStreams(r, 'backward').rows)).toEqual(sorted(want));
  });

  it('narrows tenants with __tenant_id__ matchers', async () => {
    const onlyB = await getJson(`/loki/api/v1/query_range?query=${q('{__tenant_id__="b", cluster=~".+"}')}&${RANGE}&limit=5000`, 'a|b');
    expect(sorted(flattenStreams(onlyB, 'backward').rows)).toEqual(reference(tagged(['b'])).rows);
    const metric = `sum by (__tenant_id__) (count_over_time({__tenant_id__=~"a|c", cluster=~".+"}[1h]))`;
    const inst = await getJson(`/loki/api/v1/query?query=${q(metric)}&time=${END}`, 'a|b|c');
    const got = Object.fromEntries(inst.data.result.map((s: { metric: { __tenant_id__: string }; value: [number, string] }) => [s.metric.__tenant_id__, Number(s.value[1])]));
    expect(got).toEqual({ a: TENANTS.a.length, c: TENANTS.c.length });
    const values = await getJson(`/loki/api/v1/label/__tenant_id__/values?${RANGE}`, 'b|a');
    expect(values.data).toEqual(['a', 'b']);
    const series = await getJson(`/loki/api/v1/series?${RANGE}&match[]=${q('{__tenant_id__!="a", cluster=~".+"}')}`, 'a|c');
    expect(sorted(series.data.map((s: Record<string, string>) => labelKey(s)))).toEqual(reference(tagged(['c'])).series);
  });

  it('a selector with nothing but tenant matchers is refused', async () => {
    const r = await get(`/loki/api/v1/query_range?query=${q('{__tenant_id__="a"}')}&${RANGE}`, 'a|b');
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/queries require at least one regexp or equality matcher/);
  });
});

describe('X-Scope-OrgID errors', () => {
  it.each([
    ['/loki/api/v1/query_range?query=' + q(SEL), null, 401, 'no org id'],
    ['/loki/api/v1/labels', '', 401, 'no org id'],
    ['/loki/api/v1/series?match[]=' + q(SEL), 'a/b', 400, "tenant ID 'a/b' contains unsupported character '/'"],
    ['/loki/api/v1/label/app/values', 'x'.repeat(151), 400, 'tenant ID is too long: max 150 characters'],
    ['/loki/api/v1/delete', 'x'.repeat(151), 400, 'tenant ID is too long: max 150 characters'],
    ['/loki/api/v1/rules/ns', 'x'.repeat(151), 400, 'tenant ID is too long: max 150 characters'],
    ['/loki/api/v1/index/stats?query=' + q(SEL), '..', 400, "tenant ID is '.' or '..'"],
  ])('%s as %j → %i %s', async (path, orgId, status, message) => {
    const r = await get(path, orgId);
    expect(r.status).toBe(status);
    expect(r.text).toBe(message + '\n');
  });

  it('push refuses several tenants and a missing one, storing nothing', async () => {
    const body = JSON.stringify({ streams: [{ stream: { job: 'multi' }, values: [[String(Date.now() * 1e6), 'x']] }] });
    const push = (h: Record<string, string>) => fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...h }, body });
    const many = await push({ 'X-Scope-OrgID': 'a|b' });
    expect([many.status, await many.text()]).toEqual([400, 'multiple org IDs present\n']);
    const none = await push({});
    expect([none.status, await none.text()]).toEqual([401, 'no org id\n']);
    for (const t of ['a', 'b', 'a|b']) {
      const r = await getJson(`/loki/api/v1/query_range?query=${q('{job="multi"}')}&since=1h`, t);
      expect(r.data.result).toEqual([]);
    }
    // The same tenant twice is one tenant.
    const twice = await push({ 'X-Scope-OrgID': 'a|a' });
    expect(twice.status).toBe(204);
  });
});

describe('other modes', () => {
  it('without multi_tenant_queries_enabled, a|b is refused as Loki does', async () => {
    const other = await startInProcess(tempDir(), ['-auth.enabled=true']);
    try {
      const r = await fetch(`${other.url}/loki/api/v1/query_range?query=${q(SEL)}`, { headers: { 'X-Scope-OrgID': 'a|b' } });
      expect([r.status, await r.text()]).toEqual([400, 'multiple org IDs present\n']);
    } finally {
      await other.stop();
    }
  });

  it('with auth disabled every request is tenant "fake", whatever the header says', async () => {
    const other = await startInProcess(tempDir());
    try {
      const body = JSON.stringify({ streams: [{ stream: { job: 'noauth' }, values: [[String(Date.now() * 1e6), 'hello']] }] });
      const p = await fetch(`${other.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': 'someone' }, body });
      expect(p.status).toBe(204);
      for (const h of [{}, { 'X-Scope-OrgID': 'other' }, { 'X-Scope-OrgID': 'a|b' }]) {
        const r = await fetch(`${other.url}/loki/api/v1/query_range?query=${q('{job="noauth"}')}&since=1h`, { headers: h });
        const j = (await r.json()) as { data: { result: { values: unknown[] }[] } };
        expect(j.data.result.flatMap((s) => s.values)).toHaveLength(1);
      }
    } finally {
      await other.stop();
    }
  });
});
