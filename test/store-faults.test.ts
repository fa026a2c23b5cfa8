/**
 * Object-store faults against real processes: Silt children (cmd/silt.ts) on s3rver, which is
 * frozen with SIGSTOP (the kernel still accepts connections, nothing answers) or sent wrong
 * credentials.
 *
 * - Queries that need the store end with Loki's 504 at `querier.query_timeout` while S3 is
 *   frozen, and their S3 requests are aborted (no request stays in flight), so once S3 answers
 *   again the next query is served at once, with every line.
 * - `/ready` answers 503 with a reason once writes have failed (wrong credentials) or hung
 *   (frozen S3) for `storage_config.write_failure_unready_period`, and 200 again after a write
 *   succeeds.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { QUERY_TIMEOUT_MESSAGE } from '../src/errors.js';
import { S3ObjectClient } from '../src/storage/index.js';
import { s3Flags, startS3rver, type S3rverServer } from './support/s3.js';
import { NO_INGEST_ENRICHMENT, startChild, tempDir, type ChildSilt } from './support/silt.js';

const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const HOUR_NS = 3_600_000_000_000n;
const LINES = 600;

/** Cleanups of the running test, run in reverse order after it, whether it passed or not. */
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      // keep cleaning up
    }
  }
});

async function s3rver(): Promise<S3rverServer> {
  const s = await startS3rver();
  cleanups.push(async () => {
    s.resume();
    await s.cleanup();
  });
  return s;
}

function dir(): string {
  const d = tempDir('silt-faults-');
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function kill(c: ChildSilt): Promise<unknown> {
  if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  return c.exited;
}

async function silt(flags: string[]): Promise<ChildSilt> {
  const d = dir();
  const c = await startChild(d, flags);
  // Registered after the directory, so the process is killed before its directory is removed.
  cleanups.push(async () => {
    await kill(c);
  });
  return c;
}

/** Flags for a Silt on `s`: quick S3 retries, no ingest enrichment. */
function on(s: S3rverServer, extra: string[] = []): string[] {
  return s3Flags(s, [...NO_INGEST_ENRICHMENT, '-s3.min-backoff=10ms', '-s3.max-backoff=50ms', '-ingester.flush-op-backoff-max-period=200ms', ...extra]);
}

/** `LINES` lines over 3 streams, one ms apart, ending a minute ago. */
function body(tag: string): string {
  const streams = ['a', 'b', 'c'].map((app) => ({ stream: { app, job: 'faults' }, values: [] as [string, string][] }));
  for (let i = 0; i < LINES; i++) {
    const ts = NOW_NS - 60_000_000_000n - BigInt(LINES - i) * 1_000_000n;
    streams[i % 3]!.values.push([ts.toString(), `${tag} line ${i}`]);
  }
  return JSON.stringify({ streams });
}

async function push(url: string, tag: string): Promise<void> {
  const r = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(tag) });
  expect(r.status, await r.text()).toBe(204);
}

interface Timed {
  status: number;
  body: string;
  ms: number;
}

async function get(url: string, path: string, params: Record<string, string> = {}): Promise<Timed> {
  const t0 = performance.now();
  const qs = new URLSearchParams(params).toString();
  try {
    // Bounded, so a hung answer fails the assertions instead of the whole test's timeout.
    const r = await fetch(`${url}${path}${qs === '' ? '' : '?' + qs}`, { signal: AbortSignal.timeout(15_000) });
    const text = await r.text();
    return { status: r.status, body: text, ms: Math.round(performance.now() - t0) };
  } catch (e) {
    return { status: 0, body: String(e), ms: Math.round(performance.now() - t0) };
  }
}

const RANGE = { start: String(NOW_NS - HOUR_NS), end: String(NOW_NS) };

/** Five different queries that need stored chunks: three log queries and two metric queries. */
const QUERIES: Record<string, string>[] = [
  { query: '{job="faults"}', limit: '5000', ...RANGE },
  { query: '{app="a"} |= "line"', limit: '5000', ...RANGE },
  { query: '{job="faults"} != "nothing"', limit: '100', direction: 'forward', ...RANGE },
  { query: 'sum(count_over_time({job="faults"}[1m]))', step: '60', ...RANGE },
  { query: 'count_over_time({app="b"}[5m])', step: '300', ...RANGE },
];

/** The line count of a log query answer. */
function lineCount(t: Timed): number {
  expect(t.status, t.body).toBe(200);
  let n = 0;
  for (const s of JSON.parse(t.body).data.result as { values: unknown[] }[]) n += s.values.length;
  return n;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      seen = true;
    }
  }
  if (!seen) throw new Error(`metric ${name} not exported`);
  return sum;
}

/** Polls `f` every 100 ms until it returns a value `ok` accepts or `ms` pass; returns the last value. */
async function until<T>(ms: number, f: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Objects in the bucket, read with the right credentials. */
async function bucketKeys(s: S3rverServer): Promise<string[]> {
  const c = new S3ObjectClient({ bucket: s.bucket, endpoint: s.endpoint, accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, forcePathStyle: true });
  try {
    return (await c.list('')).objects.map((o) => o.key);
  } finally {
    await c.close();
  }
}

const QUERY_TIMEOUT_MS = 2000;
/** The brief: a query past its deadline answers within ~1 s of the timeout. */
const SLACK_MS = 1500;

describe('frozen S3 (SIGSTOP)', () => {
  it('ends storage queries at the query timeout with 504, aborts their S3 requests, and serves the next query once S3 answers', async () => {
    const s3 = await s3rver();
    // The writer pushes and flushes, then goes away: the lines are only in the bucket.
    const writer = await silt(on(s3));
    await push(writer.url, 'stored');
    const f = await fetch(`${writer.url}/flush`, { method: 'POST' });
    expect(f.status, await f.text()).toBe(204);
    await kill(writer);

    // A fresh querier: empty caches. S3 requests would wait 5 s per attempt (2 retries), far
    // longer than the 2 s query budget; 4 S3 requests at once at most. Chunk caches are off so
    // the second round must GET chunks; index listings are kept for a minute.
    const reader = await silt(
      on(s3, [
        '-target=querier',
        `-querier.query-timeout=${QUERY_TIMEOUT_MS}ms`,
        '-s3.http.response-header-timeout=5s',
        '-s3.max-retries=2',
        '-s3.http.max-connections-per-host=4',
        '-store.chunks-cache.embedded-cache.enabled=false',
        '-querier.block-cache-size=0',
        '-store.index-list-ttl=1m',
      ]),
    );

    const round = async (what: string): Promise<void> => {
      s3.pause();
      try {
        // Staggered starts: each query's deadline passes while the others still wait on the
        // same in-flight S3 reads, which must not fail them early.
        const answers = await Promise.all(
          QUERIES.map(async (q, i) => {
            await new Promise((r) => setTimeout(r, i * 150));
            return get(reader.url, '/loki/api/v1/query_range', q);
          }),
        );
        console.log(`${what}: ${answers.map((a) => a.status).join(', ')} after ${answers.map((a) => a.ms).join(', ')} ms (timeout ${QUERY_TIMEOUT_MS} ms)`);
        for (const [i, a] of answers.entries()) {
          expect([a.status, a.body.trim()], `${what} query ${i}`).toEqual([504, QUERY_TIMEOUT_MESSAGE]);
          expect(a.ms, `${what} query ${i}`).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 50);
          expect(a.ms, `${what} query ${i}`).toBeLessThan(QUERY_TIMEOUT_MS + SLACK_MS);
        }
        // Their S3 requests were aborted, not left to run into the 5 s request timeout.
        const inFlight = await until(1000, () => metric(reader.url, 'silt_s3_requests_in_flight'), (n) => n === 0);
        expect(inFlight, `${what}: S3 requests still in flight while S3 is frozen`).toBe(0);
      } finally {
        s3.resume();
      }
      const t0 = performance.now();
      const after = await get(reader.url, '/loki/api/v1/query_range', QUERIES[0]!);
      console.log(`${what}: query after SIGCONT answered ${after.status} in ${after.ms} ms`);
      expect(lineCount(after)).toBe(LINES);
      expect(performance.now() - t0).toBeLessThan(1500);
    };
    // Round 1, cold: the queries wait on index listings and segment GETs.
    await round('cold');
    // Round 2, index cached: the queries wait on chunk GETs, shared between them.
    await round('warm index');
    expect(await metric(reader.url, 'loki_s3_request_duration_seconds_count{operation="S3.GetObject",status_code="canceled"}')).toBeGreaterThan(0);

    // Label, series, index-stats, volume and pattern queries end at the timeout too. Their
    // range (days ago) has index tables whose listings are not cached, so each must ask S3.
    s3.pause();
    try {
      const range = { start: String(NOW_NS - 72n * HOUR_NS), end: String(NOW_NS - 48n * HOUR_NS) };
      const meta = await Promise.all([
        get(reader.url, '/loki/api/v1/labels', { ...range, query: '{job="faults"}' }),
        get(reader.url, '/loki/api/v1/label/app/values', range),
        get(reader.url, '/loki/api/v1/series', { ...range, 'match[]': '{job="faults"}' }),
        get(reader.url, '/loki/api/v1/index/stats', { ...range, query: '{job="faults"}' }),
        get(reader.url, '/loki/api/v1/index/volume', { ...range, query: '{job="faults"}' }),
        get(reader.url, '/loki/api/v1/patterns', { ...range, query: '{job="faults"}', step: '60' }),
      ]);
      console.log(`labels, values, series, stats, volume, patterns: ${meta.map((a) => `${a.status} after ${a.ms} ms`).join(', ')}`);
      for (const a of meta) {
        expect([a.status, a.body.trim()]).toEqual([504, QUERY_TIMEOUT_MESSAGE]);
        expect(a.ms).toBeLessThan(QUERY_TIMEOUT_MS + SLACK_MS);
      }
      expect(await until(1000, () => metric(reader.url, 'silt_s3_requests_in_flight'), (n) => n === 0)).toBe(0);
    } finally {
      s3.resume();
    }
  });
});

/** GET /ready. */
function ready(url: string): Promise<Timed> {
  return get(url, '/ready');
}

const UNREADY_PERIOD_MS = 2000;

describe('/ready and object-store writes', () => {
  it('turns 503 with the reason when S3 refuses writes (wrong credentials), after the configured period; nothing reaches the bucket', async () => {
    const s3 = await s3rver();
    // s3rver checks the access key id (it does not verify SigV4 signatures): an unknown key
    // is refused with 403 InvalidAccessKeyId, as AWS does.
    const c = await silt(on({ ...s3, accessKeyId: 'NOT-A-KEY', secretAccessKey: 'not-the-secret' }, [`-store.write-failure-unready-period=${UNREADY_PERIOD_MS}ms`, '-s3.max-retries=1']));
    // The WAL has the lines: the push is acknowledged.
    await push(c.url, 'refused');
    expect((await ready(c.url)).status).toBe(200);
    const t0 = Date.now();
    const f = await fetch(`${c.url}/flush`, { method: 'POST' });
    // Not 204 while nothing could be stored: 503 with how many chunks were not.
    expect(f.status).toBe(503);
    expect(await f.text()).toMatch(/^flush incomplete: [1-9]\d* chunk\(s\) could not be stored/);
    // The first failure is younger than the period: still ready.
    expect((await ready(c.url)).status).toBe(200);
    expect(await metric(c.url, 'silt_object_store_write_failing')).toBe(1);
    const r = await until(UNREADY_PERIOD_MS + 3000, () => ready(c.url), (x) => x.status === 503);
    const after = Date.now() - t0;
    console.log(`wrong credentials: /ready 503 ${after} ms after the flush began (period ${UNREADY_PERIOD_MS} ms): ${r.body.trim()}`);
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/^object store writes failing for \d+s: .*InvalidAccessKeyId/);
    expect(after).toBeGreaterThanOrEqual(UNREADY_PERIOD_MS - 100);
    expect(after).toBeLessThan(UNREADY_PERIOD_MS + 4000);
    expect(await bucketKeys(s3)).toEqual([]);
    // It stays unready while writes keep failing.
    await new Promise((res) => setTimeout(res, 500));
    expect((await ready(c.url)).status).toBe(503);
  });

  it('turns 503 while S3 is frozen (writes hang past the request timeout) and 200 again after a write succeeds', async () => {
    const s3 = await s3rver();
    // 1 s per attempt and 5 retries: one put stays pending for 6 s or more while S3 is frozen.
    const c = await silt(on(s3, [`-store.write-failure-unready-period=${UNREADY_PERIOD_MS}ms`, '-s3.http.response-header-timeout=1s', '-s3.max-retries=5']));
    await push(c.url, 'frozen');
    s3.pause();
    let flushDone = false;
    let flushing: Promise<number> | undefined;
    try {
      const t0 = Date.now();
      flushing = fetch(`${c.url}/flush`, { method: 'POST' }).then(async (f) => {
        await f.text();
        flushDone = true;
        return f.status;
      });
      const r = await until(UNREADY_PERIOD_MS + 5000, () => ready(c.url), (x) => x.status === 503);
      const after = Date.now() - t0;
      console.log(`frozen: /ready 503 ${after} ms after the flush began (flush still pending: ${!flushDone}): ${r.body.trim()}`);
      expect(r.status).toBe(503);
      expect(r.body).toMatch(/^object store writes failing for \d+s: /);
      // Stuck writes count from the request timeout (1 s), before the put itself fails.
      expect(flushDone).toBe(false);
      expect(after).toBeGreaterThanOrEqual(1000 + UNREADY_PERIOD_MS - 100);
      expect(await metric(c.url, 'silt_object_store_write_failing')).toBe(1);
    } finally {
      s3.resume();
    }
    expect([204, 503]).toContain(await flushing);
    // The next flush stores everything, and the successful writes make Silt ready again.
    const t1 = Date.now();
    const f = await fetch(`${c.url}/flush`, { method: 'POST' });
    expect(f.status, await f.text()).toBe(204);
    const r = await until(3000, () => ready(c.url), (x) => x.status === 200);
    console.log(`frozen: after SIGCONT, POST /flush answered 204 and /ready 200 within ${Date.now() - t1} ms`);
    expect(r.status).toBe(200);
    expect(await metric(c.url, 'silt_object_store_write_failing')).toBe(0);
    expect((await bucketKeys(s3)).length).toBeGreaterThan(0);
    expect(lineCount(await get(c.url, '/loki/api/v1/query_range', QUERIES[0]!))).toBe(LINES);
  });
});
