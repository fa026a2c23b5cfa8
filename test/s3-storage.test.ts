/**
 * Silt on a real S3 server (s3rver in a child process): push, flush, query back; then an
 * outage during ingest: pushes are still acknowledged (WAL), flushes fail and are retried with
 * backoff, queries that need storage fail fast with 503, and once S3 is back every entry
 * reaches the bucket, as a second Silt that sees only the bucket confirms. A frozen (SIGSTOP)
 * server shows the same for an S3 that accepts connections but never answers, and a query
 * against it ends at `querier.query_timeout` with Loki's 504.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUERY_TIMEOUT_MESSAGE } from '../src/errors.js';
import { S3ObjectClient } from '../src/storage/index.js';
import { s3Flags, startS3rver, type S3rverServer } from './support/s3.js';
import { NO_INGEST_ENRICHMENT, startChild, startInProcess, tempDir, type InProcess } from './support/silt.js';

let s3: S3rverServer;
let silt: InProcess;
const NOW_NS = BigInt(Date.now()) * 1_000_000n;

function flags(): string[] {
  return s3Flags(s3, [...NO_INGEST_ENRICHMENT, '-s3.max-retries=1', '-s3.min-backoff=10ms', '-s3.max-backoff=50ms', '-s3.http.response-header-timeout=1s', '-ingester.flush-op-backoff-max-period=200ms', '-querier.cache-results=true', '-log.level=error']);
}

/** `n` entries over 3 streams, one ms apart, ending a minute ago; lines carry `tag`. */
function batch(tag: string, n: number, offsetMs: number): { streams: { stream: Record<string, string>; values: [string, string][] }[] } {
  const streams = ['a', 'b', 'c'].map((app) => ({ stream: { app, job: 's3test' }, values: [] as [string, string][] }));
  for (let i = 0; i < n; i++) {
    const ts = NOW_NS - 60_000_000_000n - BigInt(offsetMs) * 1_000_000n + BigInt(i) * 1_000_000n;
    streams[i % 3]!.values.push([ts.toString(), `${tag} line ${i}`]);
  }
  return { streams };
}

async function push(url: string, body: unknown): Promise<void> {
  const r = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(r.status, await r.text()).toBe(204);
}

async function lines(url: string): Promise<{ status: number; lines: string[]; body: string }> {
  const p = new URLSearchParams({ query: '{job="s3test"}', start: String(NOW_NS - 3_600_000_000_000n), end: String(NOW_NS), limit: '5000' });
  const r = await fetch(`${url}/loki/api/v1/query_range?${p}`);
  const body = await r.text();
  if (r.status !== 200) return { status: r.status, lines: [], body };
  const out: string[] = [];
  for (const s of JSON.parse(body).data.result) for (const [, l] of s.values) out.push(l);
  return { status: 200, lines: out.sort(), body };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

const expected = (tag: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${tag} line ${i}`);

beforeAll(async () => {
  s3 = await startS3rver();
  silt = await startInProcess(tempDir(), flags());
});

afterAll(async () => {
  await silt?.stop().catch(() => undefined);
  await s3?.cleanup();
});

describe('Silt on S3 (s3rver)', () => {
  it('flushes chunks and index to the bucket and queries them back', async () => {
    await push(silt.url, batch('first', 300, 10_000));
    await silt.app.ingester!.flushNow();
    const direct = new S3ObjectClient({ bucket: s3.bucket, endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true });
    const keys = (await direct.list('')).objects.map((o) => o.key);
    await direct.close();
    expect(keys.some((k) => k.startsWith('index/'))).toBe(true);
    expect(keys.filter((k) => !k.startsWith('index/')).length).toBeGreaterThanOrEqual(3); // one chunk per stream at least
    expect((await lines(silt.url)).lines).toEqual(expected('first', 300).sort());
    expect(await metric(silt.url, 'loki_s3_request_duration_seconds_count{operation="S3.PutObject",status_code="200"}')).toBeGreaterThanOrEqual(4);
  });

  it('survives an S3 outage during ingest without losing data, and says so', async () => {
    const failuresBefore = await metric(silt.url, 'loki_ingester_chunks_flush_failures_total');
    await s3.stop();
    // Pushes are acknowledged: the WAL holds them.
    await push(silt.url, batch('second', 300, 5_000));
    await silt.app.ingester!.flushNow();
    expect(await metric(silt.url, 'loki_ingester_chunks_flush_failures_total')).toBeGreaterThan(failuresBefore);
    expect(await metric(silt.url, 'silt_s3_request_failures_total')).toBeGreaterThan(0);
    // Like Loki, the ingester stays ready while flushes fail (it still accepts and serves data).
    expect((await fetch(`${silt.url}/ready`)).status).toBe(200);
    // A query that needs the store fails fast with 503 and says why.
    const t0 = Date.now();
    const down = await lines(silt.url);
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(down.status).toBe(503);
    expect(down.body).toMatch(/object store: .* failed/);

    await s3.restart();
    await silt.app.ingester!.flushNow();
    const all = [...expected('first', 300), ...expected('second', 300)].sort();
    expect((await lines(silt.url)).lines).toEqual(all);
    // A second Silt with an empty WAL sees the bucket only: everything got there.
    const reader = await startInProcess(tempDir(), [...flags(), '-target=querier']);
    try {
      expect((await lines(reader.url)).lines).toEqual(all);
    } finally {
      await reader.stop();
    }
  });

  it('times out against a hung S3 instead of hanging, and catches up when it answers again', async () => {
    s3.pause();
    try {
      await push(silt.url, batch('third', 90, 2_000));
      // Flush attempts time out (1 s per attempt, one retry) and are counted.
      const t0 = Date.now();
      await silt.app.ingester!.flushNow();
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(await metric(silt.url, 'loki_s3_request_duration_seconds_count{operation="S3.PutObject",status_code="timeout"}')).toBeGreaterThan(0);
      const t1 = Date.now();
      const down = await lines(silt.url);
      expect(Date.now() - t1).toBeLessThan(10_000);
      expect(down.status).toBe(503);
      expect(down.body).toMatch(/timed out/);
    } finally {
      s3.resume();
    }
    await silt.app.ingester!.flushNow();
    const all = [...expected('first', 300), ...expected('second', 300), ...expected('third', 90)].sort();
    expect((await lines(silt.url)).lines).toEqual(all);
  });

  it('cuts queries off at querier.query_timeout with Loki\'s 504 while S3 hangs', async () => {
    // S3 requests would wait 20 s for an answer; the query budget is 300 ms.
    const q = await startInProcess(tempDir(), [...flags(), '-target=querier', '-s3.http.response-header-timeout=20s', '-querier.query-timeout=300ms']);
    s3.pause();
    try {
      const t0 = Date.now();
      const log = await lines(q.url);
      expect(log.status).toBe(504);
      expect(log.body.trim()).toBe(QUERY_TIMEOUT_MESSAGE);
      const p = new URLSearchParams({ query: 'sum(count_over_time({job="s3test"}[1m]))', start: String(NOW_NS - 3_600_000_000_000n), end: String(NOW_NS), step: '60' });
      const metricQuery = await fetch(`${q.url}/loki/api/v1/query_range?${p}`);
      const metricBody = await metricQuery.text();
      expect(metricQuery.status, metricBody).toBe(504);
      expect(metricBody.trim()).toBe(QUERY_TIMEOUT_MESSAGE);
      const range = `start=${NOW_NS - 3_600_000_000_000n}&end=${NOW_NS}`;
      for (const path of ['/loki/api/v1/labels', '/loki/api/v1/label/app/values', `/loki/api/v1/series?match[]=${encodeURIComponent('{job="s3test"}')}`]) {
        const r = await fetch(`${q.url}${path}${path.includes('?') ? '&' : '?'}${range}`);
        expect([r.status, (await r.text()).trim()], path).toEqual([504, QUERY_TIMEOUT_MESSAGE]);
      }
      expect(Date.now() - t0).toBeLessThan(8_000);
    } finally {
      s3.resume();
    }
    // Once S3 answers, the same querier serves everything within its budget. Right after SIGCONT
    // s3rver first works off what queued up while it was frozen, and a loaded machine may need a
    // few tries to fit the 300 ms budget: up to 10 s of them.
    try {
      const all = [...expected('first', 300), ...expected('second', 300), ...expected('third', 90)].sort();
      let after = await lines(q.url);
      for (const until = Date.now() + 10_000; after.status !== 200 && Date.now() < until; after = await lines(q.url)) {
        expect(after.status).toBe(504);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(after.lines).toEqual(all);
      const values = (await (await fetch(`${q.url}/loki/api/v1/label/app/values?start=${NOW_NS - 3_600_000_000_000n}&end=${NOW_NS}`)).json()) as { data: string[] };
      expect(values.data).toEqual(['a', 'b', 'c']);
    } finally {
      await q.stop();
    }
  });

  it('keeps what it acknowledged across a crash while S3 is down (the WAL replays it)', async () => {
    const dir = tempDir();
    // startChild finds the port in the info-level startup log.
    const quickFlush = ['-ingester.flush-check-period=250ms', '-ingester.chunks-idle-period=500ms', '-log.level=info'];
    await s3.stop();
    const first = await startChild(dir, [...flags(), ...quickFlush]);
    try {
      await push(first.url, batch('fourth', 120, 1_000));
    } finally {
      first.proc.kill('SIGKILL');
      await first.exited;
    }
    await s3.restart();
    const second = await startChild(dir, [...flags(), ...quickFlush]);
    const reader = await startInProcess(tempDir(), [...flags(), '-target=querier']);
    try {
      const want = expected('fourth', 120).sort();
      let got: string[] = [];
      for (let i = 0; i < 80 && got.length < want.length; i++) {
        got = (await lines(reader.url)).lines.filter((l) => l.startsWith('fourth '));
        if (got.length < want.length) await new Promise((r) => setTimeout(r, 250));
      }
      expect(got).toEqual(want);
    } finally {
      await reader.stop();
      second.proc.kill('SIGKILL');
      await second.exited;
    }
  });

  it('serves metric queries through the results cache and counts its hits', async () => {
    // 3.5 hours: at least two whole windows of split_queries_by_interval (1h), which the cache keeps.
    const p = new URLSearchParams({ query: 'sum(count_over_time({job="s3test"}[1m]))', start: String(NOW_NS - 14_400_000_000_000n), end: String(NOW_NS - 1_800_000_000_000n), step: '60' });
    const first = (await (await fetch(`${silt.url}/loki/api/v1/query_range?${p}`)).json()) as { data: { result: unknown } };
    const hitsBefore = await metric(silt.url, 'silt_cache_hits_total{cache="results"}');
    const second = (await (await fetch(`${silt.url}/loki/api/v1/query_range?${p}`)).json()) as { data: { result: unknown } };
    expect(second.data.result).toEqual(first.data.result);
    const text = await (await fetch(`${silt.url}/metrics`)).text();
    const hits = Number(/silt_cache_hits_total\{cache="results"\} (\d+)/.exec(text)?.[1]);
    expect(hits).toBeGreaterThan(hitsBefore);
    expect(text).toMatch(/silt_cache_misses_total\{cache="chunks"\} \d+/);
    expect(text).toMatch(/silt_cache_size_bytes\{cache="index"\} \d+/);
  });
});
