/**
 * What the in-process query-frontend costs in `-target=all` (ADR 0026): the same data and
 * queries against a process with the frontend (`-target=all`: HTTP → queue → in-process slot →
 * querier routes) and one without (`-target=distributor,querier`: HTTP → querier routes),
 * sequential requests, median and p99 per kind.
 *
 * First, the frontend alone (no HTTP, a slot answering at once): its CPU cost per request.
 *
 *   npx tsx bench/frontend-overhead.ts [requests per kind, default 300]
 *   TARGETS='distributor,querier;all' npx tsx bench/frontend-overhead.ts   (the processes compared)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { App } from '../src/app/app.js';
import { loadConfig } from '../src/config/config.js';
import { Frontend, InProcessSlot, SinglePiecePlanner } from '../src/frontend/frontend.js';
import type { FrontendRequest } from '../src/frontend/plan.js';
import { Registry } from 'prom-client';

const N = Number(process.argv[2] ?? 300);

async function start(dir: string, target: string): Promise<{ app: App; url: string }> {
  const cfg = loadConfig(['-server.http-listen-address=127.0.0.1', '-server.http-listen-port=0', '-server.grpc-listen-address=127.0.0.1', '-server.grpc-listen-port=0', `-common.path-prefix=${dir}`, '-log.level=warn', `-target=${target}`, '-distributor.ingestion-rate-limit-mb=100', '-distributor.ingestion-burst-size-mb=200']);
  const app = new App(cfg, pino({ level: 'warn' }));
  await app.start();
  return { app, url: `http://127.0.0.1:${app.httpPort}` };
}

async function push(url: string, endMs: number): Promise<void> {
  for (let s = 0; s < 10; s++) {
    const values: [string, string][] = [];
    for (let i = 0; i < 2000; i++) values.push([String(BigInt(endMs - 2000 + i) * 1_000_000n), `level=info stream=${s} seq=${i} k${(i * 7919) % 1000} payload=${'x'.repeat(40)}`]);
    const r = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ streams: [{ stream: { job: 'bench', stream: String(s) }, values }] }) });
    if (r.status !== 204) throw new Error(`push: ${r.status} ${await r.text()}`);
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** µs per request through Frontend.handle with 8 in-process slots that answer at once. */
async function frontendAlone(): Promise<string> {
  const f = new Frontend({ planner: new SinglePiecePlanner(), limits: () => ({ max_query_parallelism: 32 }), maxOutstandingPerTenant: 1e9, maxRetries: 5, timeoutMs: 60_000, logger: pino({ level: 'silent' }), registry: new Registry() });
  const body = Buffer.from('{"status":"success","data":{"resultType":"streams","result":[],"stats":{"summary":{"execTime":0.1,"queueTime":0}}}}');
  for (let i = 0; i < 8; i++) f.connect(new InProcessSlot(f, async () => ({ status: 200, contentType: 'application/json; charset=utf-8', body })));
  const req = (): FrontendRequest => ({ method: 'GET', path: '/loki/api/v1/query_range', route: '/loki/api/v1/query_range', vars: {}, params: new URLSearchParams({ query: '{a="b"}', limit: '100' }), tenant: 'fake', headers: {}, receivedNs: 0n });
  const n = 50_000;
  for (let i = 0; i < 5000; i++) await f.handle(req());
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f.handle(req());
  const seq = ((performance.now() - t0) * 1000) / n;
  const t1 = performance.now();
  for (let k = 0; k < n / 2000; k++) await Promise.all(Array.from({ length: 2000 }, () => f.handle(req())));
  const par = ((performance.now() - t1) * 1000) / n;
  return `frontend alone: ${seq.toFixed(1)} µs/request sequential, ${par.toFixed(1)} µs/request 2000 at a time (${n} requests)`;
}
console.log(await frontendAlone());

const endMs = Date.now();
const range = { start: String(BigInt(endMs - 60_000) * 1_000_000n), end: String(BigInt(endMs + 1000) * 1_000_000n) };
const kinds: Record<string, Record<string, string>> = {
  labels: { ...range },
  'log limit=100': { query: '{job="bench"} |= "k7"', limit: '100', ...range },
  'metric 20k lines': { query: 'sum by (stream) (count_over_time({job="bench"}[1s]))', step: '1s', ...range },
};
const paths: Record<string, string> = { labels: '/loki/api/v1/labels', 'log limit=100': '/loki/api/v1/query_range', 'metric 20k lines': '/loki/api/v1/query_range' };

const rows: string[] = [];
for (const target of (process.env['TARGETS'] ?? 'distributor,querier;all').split(';')) {
  const dir = mkdtempSync(path.join(tmpdir(), 'silt-fe-bench-'));
  const { app, url } = await start(dir, target);
  try {
    await push(url, endMs);
    for (const [kind, params] of Object.entries(kinds)) {
      const q = `${url}${paths[kind]}?${new URLSearchParams(params)}`;
      for (let i = 0; i < 20; i++) await (await fetch(q)).text();
      const ms: number[] = [];
      for (let i = 0; i < N; i++) {
        const t0 = performance.now();
        const r = await fetch(q);
        await r.text();
        if (r.status !== 200) throw new Error(`${kind}: ${r.status}`);
        ms.push(performance.now() - t0);
      }
      rows.push(`| -target=${target} | ${kind} | ${pct(ms, 50).toFixed(2)} | ${pct(ms, 99).toFixed(2)} |`);
    }
  } finally {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`${N} sequential requests per kind\n| process | request | p50 ms | p99 ms |\n|---|---|---|---|\n${rows.join('\n')}`);
