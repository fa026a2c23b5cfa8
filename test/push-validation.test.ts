/**
 * Every push validation path through real HTTP: Loki's status codes and message texts,
 * the discard counters, and partial success (good entries stored beside bad ones).
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePush } from './support/protobuf.js';
import { queryRange, startInProcess, tempDir, type InProcess } from './support/silt.js';

let silt: InProcess;
let limited: InProcess;
const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

beforeAll(async () => {
  silt = await startInProcess(tempDir(), ['-distributor.max-recv-msg-size=1MiB', '-distributor.max-line-size=1KB']);
  limited = await startInProcess(tempDir(), [
    '-distributor.ingestion-rate-limit-mb=0.01',
    '-distributor.ingestion-burst-size-mb=0.02',
    '-ingester.per-stream-rate-limit=5KB',
    '-ingester.per-stream-rate-limit-burst=5KB',
    '-auth.enabled=true',
  ]);
});
afterAll(async () => {
  await silt?.stop();
  await limited?.stop();
});

function jsonPush(streams: unknown[]): { body: string; headers: Record<string, string> } {
  return { body: JSON.stringify({ streams }), headers: { 'Content-Type': 'application/json' } };
}

async function push(base: string, p: { body: string | Buffer; headers: Record<string, string> }): Promise<{ status: number; text: string }> {
  const r = await fetch(`${base}/loki/api/v1/push`, { method: 'POST', headers: p.headers, body: p.body });
  return { status: r.status, text: await r.text() };
}

async function discarded(base: string, reason: string): Promise<number> {
  const m = await (await fetch(`${base}/metrics`)).text();
  let n = 0;
  for (const l of m.split('\n')) if (l.startsWith('loki_discarded_samples_total{') && l.includes(`reason="${reason}"`)) n += Number(l.split(' ').at(-1));
  return n;
}

const line = (s: string, ts = nowNs()) => [ts.toString(), s];

interface Case {
  name: string;
  streams: unknown[];
  status: number;
  contains: string;
  reason?: string;
}

const CASES: Case[] = [
  { name: 'invalid label name', streams: [{ stream: { '0bad': 'x' }, values: [line('a')] }], status: 400, contains: "error parsing labels '{0bad=\"x\"}' with error", reason: 'invalid_labels' },
  { name: 'missing labels', streams: [{ stream: {}, values: [line('a')] }], status: 400, contains: 'error at least one label pair is required per stream', reason: 'missing_labels' },
  {
    name: 'too many labels',
    streams: [{ stream: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`l${i}`, 'v'])), values: [line('a')] }],
    status: 400,
    contains: '{l0="v", l1="v", l10="v", l11="v", l12="v", l13="v", l14="v", l15="v", l2="v", l3="v", l4="v", l5="v", l6="v", l7="v", l8="v", l9="v", service_name="unknown_service"}\' has 16 label names; limit 15',
    reason: 'max_label_names_per_series',
  },
  { name: 'label name too long', streams: [{ stream: { ['n'.repeat(1025)]: 'v' }, values: [line('a')] }], status: 400, contains: 'has label name too long', reason: 'label_name_too_long' },
  { name: 'label value too long', streams: [{ stream: { app: 'v'.repeat(2049) }, values: [line('a')] }], status: 400, contains: 'has label value too long', reason: 'label_value_too_long' },
  // Messages show the stream with the service_name discovery adds, as Loki's do (it adds it
  // while parsing the push body, before validation); the label count above leaves it out.
  { name: 'line too long', streams: [{ stream: { app: 'x' }, values: [line('y'.repeat(1001))] }], status: 400, contains: "max entry size '1000' bytes exceeded for stream '{app=\"x\", service_name=\"x\"}' while adding an entry with length '1001' bytes", reason: 'line_too_long' },
  { name: 'too old', streams: [{ stream: { app: 'x' }, values: [line('old', nowNs() - 8n * 86_400n * 10n ** 9n)] }], status: 400, contains: "entry for stream '{app=\"x\", service_name=\"x\"}' has timestamp too old", reason: 'greater_than_max_sample_age' },
  { name: 'too new', streams: [{ stream: { zone: 'z', service_name: 'svc' }, values: [line('new', nowNs() + 3600n * 10n ** 9n)] }], status: 400, contains: "entry for stream '{service_name=\"svc\", zone=\"z\"}' has timestamp too new", reason: 'too_far_in_future' },
  { name: 'too new, no label to name the service', streams: [{ stream: { zone: 'z' }, values: [line('new', nowNs() + 3600n * 10n ** 9n)] }], status: 400, contains: "entry for stream '{service_name=\"unknown_service\", zone=\"z\"}' has timestamp too new", reason: 'too_far_in_future' },
  { name: 'no streams', streams: [], status: 422, contains: 'error at least one valid stream is required for ingestion' },
];

describe('push validation', () => {
  it.each(CASES)('$name → $status', async (c) => {
    const before = c.reason ? await discarded(silt.url, c.reason) : 0;
    const r = await push(silt.url, jsonPush(c.streams));
    expect(r.status, r.text).toBe(c.status);
    expect(r.text).toContain(c.contains);
    if (c.reason) expect(await discarded(silt.url, c.reason)).toBeGreaterThan(before);
  });

  it('stores the good entries of a partly bad request and reports the bad ones', async () => {
    const t = nowNs();
    const r = await push(
      silt.url,
      jsonPush([
        { stream: { app: 'partial' }, values: [line('good one', t), line('z'.repeat(2000), t + 1n), line('good two', t + 2n)] },
        { stream: { app: 'partial', '1x': 'bad' }, values: [line('bad stream', t + 3n)] },
      ]),
    );
    expect(r.status).toBe(400);
    expect(r.text).toContain('max entry size');
    const q = await queryRange(silt.url, { query: '{app="partial"}', start: (t - 1n).toString(), end: (t + 10n).toString() });
    const lines = q.data.result.flatMap((s: { values: [string, string][] }) => s.values.map((v) => v[1])).sort();
    expect(lines).toEqual(['good one', 'good two']);
  });

  it('rejects entries too far behind the stream with Loki text, keeping the rest', async () => {
    const t = nowNs();
    expect((await push(silt.url, jsonPush([{ stream: { app: 'ooo' }, values: [line('newest', t)] }]))).status).toBe(204);
    const old = t - 2n * 3600n * 10n ** 9n; // 2h behind, window is max_chunk_age/2 = 1h
    const within = t - 30n * 60n * 10n ** 9n;
    const r = await push(silt.url, jsonPush([{ stream: { app: 'ooo' }, values: [line('too late', old), line('late but fine', within)] }]));
    expect(r.status).toBe(400);
    expect(r.text).toContain("ignored, reason: 'entry too far behind, entry timestamp is: ");
    // The stream as the ingester knows it: with the service_name Loki discovers from `app`.
    expect(r.text).toContain(`user 'fake', total ignored: 1 out of 2 for stream: {app="ooo", service_name="ooo"}`);
    const q = await queryRange(silt.url, { query: '{app="ooo"}', start: (old - 1n).toString(), end: (t + 1n).toString() });
    expect(q.data.result[0].values.map((v: string[]) => v[1]).sort()).toEqual(['late but fine', 'newest']);
  });

  it('drops exact duplicates', async () => {
    const t = nowNs();
    for (let i = 0; i < 3; i++) expect((await push(silt.url, jsonPush([{ stream: { app: 'dup' }, values: [line('same', t), line('same', t)] }]))).status).toBe(204);
    expect((await push(silt.url, jsonPush([{ stream: { app: 'dup' }, values: [line('other', t)] }]))).status).toBe(204);
    const q = await queryRange(silt.url, { query: '{app="dup"}', start: (t - 1n).toString(), end: (t + 1n).toString() });
    expect(q.data.result[0].values.map((v: string[]) => v[1]).sort()).toEqual(['other', 'same']);
  });

  it('answers 413 for a body over the limit', async () => {
    const r = await push(silt.url, { body: Buffer.alloc(2 * 1024 * 1024, 1), headers: { 'Content-Type': 'application/x-protobuf' } });
    expect(r.status).toBe(413);
  });

  it('answers 400 for malformed protobuf, snappy, JSON, gzip and media types', async () => {
    const bad: [string, { body: string | Buffer; headers: Record<string, string> }][] = [
      ['garbage snappy', { body: Buffer.from('not snappy at all'), headers: { 'Content-Type': 'application/x-protobuf' } }],
      ['json syntax', { body: '{"streams":[', headers: { 'Content-Type': 'application/json' } }],
      ['json types', { body: '{"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]}', headers: { 'Content-Type': 'application/json' } }],
      ['bad gzip', { body: Buffer.from('nope'), headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' } }],
      ['unknown encoding', { body: '{}', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'br' } }],
      ['no content type', { body: Buffer.from('x'), headers: {} }],
    ];
    for (const [name, p] of bad) {
      const r = await push(silt.url, p);
      expect(r.status, `${name}: ${r.text}`).toBe(400);
      expect(r.text.length, name).toBeGreaterThan(3);
    }
  });

  it('accepts gzip and deflate JSON bodies and protobuf with structured metadata', async () => {
    const t = nowNs();
    const gz = await push(silt.url, { body: gzipSync(JSON.stringify({ streams: [{ stream: { app: 'enc' }, values: [line('gz', t)] }] })), headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' } });
    expect(gz.status, gz.text).toBe(204);
    const pb = await push(silt.url, { body: encodePush([{ labels: '{app="enc"}', entries: [{ tsNs: t + 1n, line: 'pb', metadata: { trace_id: 'abc' } }] }]), headers: { 'Content-Type': 'application/x-protobuf' } });
    expect(pb.status, pb.text).toBe(204);
    const q = await queryRange(silt.url, { query: '{app="enc"}', start: (t - 1n).toString(), end: (t + 2n).toString() }, { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' });
    expect(q.data.encodingFlags).toEqual(['categorize-labels']);
    const values = q.data.result.flatMap((s: { values: unknown[] }) => s.values);
    // Loki adds detected_level to every entry (no level word in these lines: "unknown").
    expect(values).toContainEqual([(t + 1n).toString(), 'pb', { structuredMetadata: { trace_id: 'abc', detected_level: 'unknown' } }]);
    expect(values).toContainEqual([t.toString(), 'gz', { structuredMetadata: { detected_level: 'unknown' } }]);
    const plain = await queryRange(silt.url, { query: '{app="enc"}', start: (t - 1n).toString(), end: (t + 2n).toString() });
    expect(plain.data.result.map((s: { stream: Record<string, string> }) => s.stream)).toContainEqual({ app: 'enc', service_name: 'enc', trace_id: 'abc', detected_level: 'unknown' });
  });

  it('requires X-Scope-OrgID when auth is enabled and keeps tenants apart', async () => {
    const body = jsonPush([{ stream: { app: 'tenant' }, values: [line('hello')] }]);
    const r = await push(limited.url, body);
    expect(r.status).toBe(401);
    expect(r.text.trim()).toBe('no org id');
    expect((await push(limited.url, { ...body, headers: { ...body.headers, 'X-Scope-OrgID': 'team-a' } })).status).toBe(204);
    const other = await fetch(`${limited.url}/loki/api/v1/query_range?${new URLSearchParams({ query: '{app="tenant"}' })}`, { headers: { 'X-Scope-OrgID': 'team-b' } });
    expect(((await other.json()) as { data: { result: unknown[] } }).data.result).toEqual([]);
  });

  it('answers 429 with Loki text for the tenant and per-stream rate limits', async () => {
    const h = { 'Content-Type': 'application/json', 'X-Scope-OrgID': 'rate' };
    const big = (app: string, n: number) => JSON.stringify({ streams: [{ stream: { app }, values: Array.from({ length: n }, (_, i) => line(`${i} ${'r'.repeat(90)}`, nowNs() + BigInt(i))) }] });
    const streamLimited = await push(limited.url, { body: big('one', 80), headers: h }); // 8 KB > 5 KB per-stream burst
    expect(streamLimited.status).toBe(429);
    expect(streamLimited.text).toContain('Per stream rate limit exceeded');
    let tenantLimited = { status: 0, text: '' };
    for (let i = 0; i < 10 && tenantLimited.status !== 429; i++) tenantLimited = await push(limited.url, { body: big(`s${i}`, 40), headers: h });
    expect(tenantLimited.status).toBe(429);
    expect(tenantLimited.text).toContain('ingestion rate limit exceeded for user rate');
  });
});
