/**
 * A standalone query-frontend (`-target=query-frontend`, started by the launcher with
 * `frontends: 1`) in front of one querier with one slot: live tail through the frontend's HTTP
 * address is proxied to the querier (Loki's frontend.tail_proxy_url; here the address the
 * querier advertised over gRPC), and a query whose client goes away is cancelled on the
 * querier, which takes the next piece at once instead of finishing the abandoned one.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readCluster, startCluster, stopCluster } from '../tools/cluster/cluster.js';
import { tempDir } from './support/silt.js';

const HAVE_ETCD = existsSync('/usr/bin/etcd');

const dir = tempDir('silt-frontend-tail-');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const proc = (role: string) => readCluster(dir)!.processes.find((p) => p.role === role)!;

/** Lines of the cancel test's data: enough that one full scan keeps the querier busy for seconds. */
const BIG_STREAMS = 24;
const BIG_LINES_PER_STREAM = 12_500;

async function push(tenant: string, streams: { stream: Record<string, string>; values: [string, string][] }[]): Promise<void> {
  const r = await fetch(`${proc('distributor').http}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': tenant },
    body: JSON.stringify({ streams }),
  });
  expect(r.status, await r.text()).toBe(204);
}

/** Sum of a counter in a process's /metrics. */
async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe.skipIf(!HAVE_ETCD)('standalone query-frontend: tail proxy, cancelled pieces', () => {
  let bigStartNs = 0n;
  let bigEndNs = 0n;

  beforeAll(async () => {
    await startCluster({
      dir,
      ingesters: 1,
      distributors: 1,
      queriers: 1,
      backends: 0,
      frontends: 1,
      etcdMembers: 1,
      replicationFactor: 1,
      // Long enough to see the frontend without a querier after the querier is killed.
      restartDelayMs: 15_000,
      stopGraceMs: 10_000,
      readyTimeoutMs: 150_000,
      settings: {
        auth_enabled: true,
        'limits_config.ingestion_rate_mb': 256,
        'limits_config.ingestion_burst_size_mb': 512,
        'limits_config.per_stream_rate_limit': '64MB',
        'limits_config.per_stream_rate_limit_burst': '128MB',
        // One slot: a piece left running would hold up the next query.
        'querier.max_concurrent': 1,
        // Queries read the flushed chunks only (each chunk fetched is a point where a cancel is seen).
        'querier.query_ingesters_within': '1s',
      },
      roleSettings: { ingester: { 'ingester.chunk_target_size': 65536 } },
    });
  }, 200_000);

  afterAll(async () => {
    await stopCluster(dir);
  }, 60_000);

  it("a tail WebSocket on the frontend's HTTP address is proxied to the querier: pushed lines arrive; errors are the querier's", async () => {
    const frontend = proc('query-frontend').http;
    const querier = proc('querier').http;
    const startNs = BigInt(Date.now()) * 1_000_000n;
    const ws = new WebSocket(`${frontend.replace('http', 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query: '{job="tail"} |= "hello"', start: String(startNs) })}`, { headers: { 'X-Scope-OrgID': 'tailer' } });
    const lines: string[] = [];
    const closed: { code: number; reason: string }[] = [];
    ws.on('message', (m: Buffer) => {
      const f = JSON.parse(m.toString('utf8')) as { streams: { stream: Record<string, string>; values: [string, string][] }[] };
      for (const s of f.streams) for (const [, line] of s.values) lines.push(line);
    });
    ws.on('close', (code, reason) => closed.push({ code, reason: reason.toString() }));
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const t0 = BigInt(Date.now()) * 1_000_000n;
      const values: [string, string][] = Array.from({ length: 5 }, (_, i) => [String(t0 + BigInt(i)), `hello ${i}`]);
      await push('tailer', [{ stream: { job: 'tail' }, values: [...values, [String(t0 + 10n), 'not matching']] }]);
      await waitFor('the tailed lines', async () => lines.length >= 5, 20_000);
      expect(lines.sort()).toEqual(['hello 0', 'hello 1', 'hello 2', 'hello 3', 'hello 4']);
      expect(closed).toEqual([]);
    } finally {
      ws.close();
    }
    // Without an upgrade, and with a bad parameter: the querier's status and text, through the proxy.
    for (const params of [{ query: '{job="tail"}' }, { query: '{job=' }, { query: '{job="tail"}', delay_for: '9' }]) {
      const url = `/loki/api/v1/tail?${new URLSearchParams(params)}`;
      const [via, direct] = await Promise.all([fetch(frontend + url, { headers: { 'X-Scope-OrgID': 'tailer' } }), fetch(querier + url, { headers: { 'X-Scope-OrgID': 'tailer' } })]);
      expect([via.status, await via.text()]).toEqual([direct.status, await direct.text()]);
    }
    // The tenant is checked by the frontend itself, as Loki's auth middleware in front of its proxy.
    const noOrg = await fetch(`${frontend}/loki/api/v1/tail?query=${encodeURIComponent('{job="tail"}')}`);
    expect([noOrg.status, await noOrg.text()]).toEqual([401, 'no org id\n']);
  }, 60_000);

  it('a query whose client went away is cancelled on the querier, which answers the next query at once', async () => {
    const frontend = proc('query-frontend').http;
    const querier = proc('querier').http;
    const base = BigInt(Date.now()) * 1_000_000n - BigInt(BIG_LINES_PER_STREAM) * 1_000_000n;
    bigStartNs = base - 1_000_000_000n;
    for (let s = 0; s < BIG_STREAMS; s++) {
      const values: [string, string][] = [];
      for (let i = 0; i < BIG_LINES_PER_STREAM; i++) values.push([String(base + BigInt(i) * 1_000_000n), `level=info stream=${s} seq=${i} user=u${(i * 7919) % 1000} payload=${'x'.repeat(32)}${i % 97}`]);
      await push('big', [{ stream: { job: 'big', stream: String(s) }, values }]);
    }
    bigEndNs = base + BigInt(BIG_LINES_PER_STREAM) * 1_000_000n + 1_000_000_000n;
    const flushed = await fetch(`${proc('ingester').http}/flush`, { method: 'POST' });
    expect(flushed.status, await flushed.text()).toBe(204);
    await sleep(1500);

    // A log query no line matches: every chunk is read and every line parsed, no early stop.
    const slow = (tag: string): string =>
      `${frontend}/loki/api/v1/query_range?${new URLSearchParams({ query: `{job="big"} | logfmt | regexp "payload=(?P<p>x+)(?P<n>[0-9]+)" | label_format tag="{{.user}}-{{.n}}" | line_format "{{.seq}} {{.p}} {{.tag}} {{.stream}}" |= "never-${tag}"`, start: String(bigStartNs), end: String(bigEndNs), limit: '10' })}`;
    const quick = `${frontend}/loki/api/v1/labels?${new URLSearchParams({ start: String(bigStartNs), end: String(bigEndNs) })}`;
    const headers = { 'X-Scope-OrgID': 'big' };

    // How long the querier needs for the whole query (the block cache is warm after the first run).
    const first = await fetch(slow('warm'), { headers });
    expect(first.status, await first.text()).toBe(200);
    const t0 = performance.now();
    const full = await fetch(slow('full'), { headers });
    expect(full.status, await full.text()).toBe(200);
    const fullMs = performance.now() - t0;
    expect(fullMs, 'the query must take long enough for the test to mean something').toBeGreaterThan(800);

    const cancelledBefore = await metric(querier, 'loki_querier_worker_pieces_cancelled_total');
    const ac = new AbortController();
    const abandoned = fetch(slow('abandoned'), { headers, signal: ac.signal }).catch((e: unknown) => e);
    await sleep(Math.max(200, fullMs / 5));
    ac.abort();
    expect(await abandoned).toBeInstanceOf(Error);
    const t1 = performance.now();
    const next = await fetch(quick, { headers });
    const nextMs = performance.now() - t1;
    expect(next.status, await next.text()).toBe(200);
    console.log(`cancel: ${JSON.stringify({ fullMs: Math.round(fullMs), nextMs: Math.round(nextMs) })}`);
    // Without the cancel the one slot would finish the abandoned query first (about 4/5 of fullMs).
    expect(nextMs).toBeLessThan(fullMs / 2);
    expect(await metric(querier, 'loki_querier_worker_pieces_cancelled_total')).toBeGreaterThan(cancelledBefore);
    expect(await metric(frontend, 'loki_query_frontend_pieces_cancelled_total')).toBeGreaterThan(0);
  }, 180_000);

  it("with no querier connected, tail requests on the frontend answer 503 with Loki's text", async () => {
    const frontend = proc('query-frontend').http;
    // Killed, it is started again only after restartDelayMs: meanwhile the frontend has no querier.
    process.kill(proc('querier').pid, 'SIGKILL');
    await waitFor('the querier streams to end', async () => (await metric(frontend, 'cortex_query_frontend_connected_clients')) === 0, 10_000);
    const url = `/loki/api/v1/tail?${new URLSearchParams({ query: '{job="tail"}' })}`;
    const plain = await fetch(frontend + url, { headers: { 'X-Scope-OrgID': 'tailer' } });
    expect([plain.status, await plain.text()]).toEqual([503, 'not ready: number of queriers connected to query-frontend is 0\n']);
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(frontend.replace('http', 'ws') + url, { headers: { 'X-Scope-OrgID': 'tailer' } });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.once('open', () => reject(new Error('the upgrade succeeded without a querier')));
      ws.once('error', () => undefined);
    });
    expect(refused).toEqual({ status: 503, body: 'not ready: number of queriers connected to query-frontend is 0\n' });
  }, 60_000);
});
