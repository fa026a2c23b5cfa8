/**
 * Metadata endpoints at scale (issue #20 goal 5): `labels`, `label/<n>/values` and `series`
 * over N series (default 100k), p50/p99 per endpoint and matcher shape, with `/ready` in the
 * same run as the baseline. Three cases per run (two under META_CHURN):
 *   memory: the series were just pushed (HTTP, protobuf) and live in the ingester only;
 *   stored: after POST /flush twice with chunks-retain-period=0 the ingester holds nothing and
 *           every answer comes from the stored per-day index (measured right away, so the
 *           collection of the N streams that just left memory falls into it);
 *   restarted: the same store answered by a new process (SIGTERM, start again on the same
 *           directory): a querier over the store in its steady state. Its answers must have
 *           the stored case's sizes.
 * Each run is a fresh `silt` process; results are min/median over the runs.
 * Usage: npx tsx bench/metadata.ts [series=100000] [runs=3] [samples=40]
 * (META_SHAPE_BUDGET_MS, default 15000: a shape stops sampling after that long; META_TARGET: -target;
 * META_SHAPES: a regex, only the shapes whose name it finds, e.g. to profile one with SILT_NODE_ARGS=--cpu-prof;
 * META_CHURN=1 (no restarted case): before each timed request one new series is pushed, untimed, so no answer can be
 * the one before it: the case that cannot reuse an unchanged label list or its answer.)
 * After the runs, the floor: a plain node:http process answering every request with a buffer of
 * the same size as each answer of ≥ 64 KiB, measured by the same client (what moving the bytes
 * alone costs on this machine).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { percentile, post, pushSeries, rssBytes, seriesLabels, startChild, tempDir, UNLIMITED } from './lib.js';
import { encodePush } from '../test/support/protobuf.js';

const SERIES = Number(process.argv[2] ?? 100_000);
const RUNS = Number(process.argv[3] ?? 3);
const SAMPLES = Number(process.argv[4] ?? 40);
const CHURN = process.env['META_CHURN'] === '1';
/** Number of the next series META_CHURN pushes (after the loaded ones). */
let churned = 0;
/** A shape stops sampling after this long (slow baselines), reporting how many samples it took. */
const SHAPE_BUDGET_MS = Number(process.env['META_SHAPE_BUDGET_MS'] ?? 15_000);


const ALL_SHAPES: { name: string; path: string; params?: Record<string, string> }[] = [
  { name: 'ready', path: '/ready' },
  { name: 'labels', path: '/loki/api/v1/labels' },
  { name: 'labels {app="app-7"}', path: '/loki/api/v1/labels', params: { query: '{app="app-7"}' } },
  { name: 'labels {pod=~"app-1.*"}', path: '/loki/api/v1/labels', params: { query: '{pod=~"app-1.*"}' } },
  { name: 'values app', path: '/loki/api/v1/label/app/values' },
  { name: 'values pod', path: '/loki/api/v1/label/pod/values' },
  { name: 'values pod {app="app-7"}', path: '/loki/api/v1/label/pod/values', params: { query: '{app="app-7"}' } },
  { name: 'values app {env!="prod", pod=~"app-2.*"}', path: '/loki/api/v1/label/app/values', params: { query: '{env!="prod", pod=~"app-2.*"}' } },
  { name: 'series {app="app-7"}', path: '/loki/api/v1/series', params: { 'match[]': '{app="app-7"}' } },
  { name: 'series {namespace="ns-3"}', path: '/loki/api/v1/series', params: { 'match[]': '{namespace="ns-3"}' } },
  { name: 'series {pod=~"app-1.*"}', path: '/loki/api/v1/series', params: { 'match[]': '{pod=~"app-1.*"}' } },
  { name: 'series {namespace=~".+"} (all)', path: '/loki/api/v1/series', params: { 'match[]': '{namespace=~".+"}' } },
];

const SHAPES = process.env['META_SHAPES'] ? ALL_SHAPES.filter((s) => new RegExp(process.env['META_SHAPES']!).test(s.name)) : ALL_SHAPES;

type Figures = Record<string, { p50: number; p99: number; n: number; bytes: number }>;

/** Pushes series `i` with one line at `tsNs` (inside the measured range). */
async function pushOne(url: string, i: number, tsNs: bigint): Promise<void> {
  const r = await post(`${url}/loki/api/v1/push`, encodePush([{ labels: seriesLabels(i), entries: [{ tsNs, line: `line ${i} of the metadata benchmark` }] }]), { 'Content-Type': 'application/x-protobuf' });
  if (r.status !== 204) throw new Error(`push: ${r.status} ${r.body}`);
}

/** Latencies of SAMPLES requests for `target` (or until SHAPE_BUDGET_MS), each read to the end. */
async function sample(target: string, before: () => Promise<void>): Promise<number[]> {
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < SAMPLES && performance.now() - t0 < SHAPE_BUDGET_MS; i++) {
    await before();
    const s = performance.now();
    const r = await fetch(target);
    // Read to the end and drop each piece as it comes (as curl -o /dev/null): one 2.6 MB
    // buffer per answer made this client's own old-space collections part of every latency.
    if (r.body !== null) for await (const piece of r.body) void piece;
    lat.push(performance.now() - s);
  }
  return lat.sort((a, b) => a - b);
}

/** A node:http process that answers `/?n=N` with N bytes (made once per size). */
const FLOOR_SERVER = `
const bufs = new Map();
require('node:http').createServer((q, s) => {
  const n = Number(new URL(q.url, 'http://x').searchParams.get('n'));
  let b = bufs.get(n);
  if (b === undefined) bufs.set(n, (b = Buffer.alloc(n, 0x61)));
  s.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': n });
  s.end(b);
}).listen(0, '127.0.0.1', function () { process.stdout.write(this.address().port + '\\n'); });`;

/** p50 / p99 of the floor server for each size. */
async function floor(sizes: number[]): Promise<Map<number, { p50: number; p99: number; n: number }>> {
  const proc = spawn(process.execPath, ['-e', FLOOR_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((res, rej) => {
      proc.once('exit', (c) => rej(new Error(`floor server exited: ${c}`)));
      proc.stdout.once('data', (d: Buffer) => res(Number(d.toString().trim())));
    });
    const out = new Map<number, { p50: number; p99: number; n: number }>();
    for (const n of sizes) {
      const target = `http://127.0.0.1:${port}/?n=${n}`;
      await (await fetch(target)).arrayBuffer();
      const lat = await sample(target, () => Promise.resolve());
      out.set(n, { p50: percentile(lat, 50), p99: percentile(lat, 99), n: lat.length });
    }
    return out;
  } finally {
    proc.kill('SIGKILL');
  }
}

async function measure(url: string, startNs: bigint, endNs: bigint): Promise<Figures> {
  const out: Figures = {};
  for (const shape of SHAPES) {
    const qs = new URLSearchParams({ ...(shape.params ?? {}), ...(shape.path === '/ready' ? {} : { start: String(startNs), end: String(endNs) }) });
    const target = `${url}${shape.path}?${qs}`;
    // Warm-up request (not counted): first-use compilation and segment loads.
    const warm = await fetch(target);
    const body = await warm.text();
    if (warm.status !== 200) throw new Error(`${shape.name}: ${warm.status} ${body}`);
    const lat = await sample(target, async () => {
      if (CHURN) await pushOne(url, SERIES + churned++, startNs + 60_000_000_000n);
    });
    out[shape.name] = { p50: percentile(lat, 50), p99: percentile(lat, 99), n: lat.length, bytes: body.length };
  }
  return out;
}

async function oneRun(run: number): Promise<{ memory: Figures; stored: Figures; restarted: Figures; rssMb: number; loadS: number }> {
  // META_TARGET: e.g. the roles of an older `all` (before the query-frontend joined it), to compare like for like.
  const target = process.env['META_TARGET'] ? [`-target=${process.env['META_TARGET']}`] : [];
  const dir = tempDir('silt-bench-meta-');
  const flags = [...UNLIMITED, '-ingester.chunks-retain-period=0', ...target];
  let silt = await startChild(dir, flags);
  try {
    const nowMs = Date.now();
    const tsNs = BigInt(nowMs - 60_000) * 1_000_000n;
    const t0 = performance.now();
    await pushSeries(silt.url, SERIES, (i) => ({ tsNs: tsNs + BigInt(i), line: `line ${i} of the metadata benchmark` }));
    const loadS = (performance.now() - t0) / 1000;
    const rssMb = rssBytes(silt.proc.pid!) / 1048576;
    const startNs = BigInt(nowMs - 3_600_000) * 1_000_000n;
    const endNs = BigInt(nowMs + 60_000) * 1_000_000n;
    const memory = await measure(silt.url, startNs, endNs);
    for (let k = 0; k < 2; k++) {
      const r = await post(`${silt.url}/flush`, Buffer.alloc(0), {});
      if (r.status !== 204) throw new Error(`flush: ${r.status} ${r.body}`);
    }
    const stored = await measure(silt.url, startNs, endNs);
    // Not under META_CHURN: the series it pushed are in memory, not in the store.
    let restarted = stored;
    if (!CHURN) {
      silt.proc.kill('SIGTERM');
      const stopped = await silt.exited;
      if (stopped.code !== 0) throw new Error(`silt did not stop cleanly: ${JSON.stringify(stopped)}`);
      silt = await startChild(dir, flags);
      restarted = await measure(silt.url, startNs, endNs);
      for (const shape of SHAPES) {
        if (restarted[shape.name]!.bytes !== stored[shape.name]!.bytes) throw new Error(`${shape.name}: ${restarted[shape.name]!.bytes} bytes after the restart, ${stored[shape.name]!.bytes} before`);
      }
    }
    console.error(`run ${run + 1}: loaded ${SERIES} series in ${loadS.toFixed(1)} s, RSS ${rssMb.toFixed(0)} MB`);
    // Each run's figures as they come, so an interrupted benchmark still leaves numbers.
    console.error(JSON.stringify({ run: run + 1, memory, stored, restarted }));
    return { memory, stored, restarted, rssMb, loadS };
  } finally {
    // A profiled server must exit cleanly to write its profile.
    silt.proc.kill((process.env['SILT_NODE_ARGS'] ?? '').includes('--cpu-prof') ? 'SIGTERM' : 'SIGKILL');
    await silt.exited;
    // 100k chunk files per run: removed now, not all at exit while the next run is measured.
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = [];
for (let r = 0; r < RUNS; r++) runs.push(await oneRun(r));
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const fmt = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(0));
console.log(`series=${SERIES} runs=${RUNS} samples<=${SAMPLES} (ms; min / median over runs)`);
console.log('| case | endpoint | p50 min / med | p99 min / med | samples | response bytes |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const c of CHURN ? (['memory', 'stored'] as const) : (['memory', 'stored', 'restarted'] as const)) {
  for (const shape of SHAPES) {
    const fs = runs.map((r) => r[c][shape.name]!);
    const p50 = fs.map((f) => f.p50);
    const p99 = fs.map((f) => f.p99);
    console.log(`| ${c} | ${shape.name} | ${fmt(Math.min(...p50))} / ${fmt(med(p50))} | ${fmt(Math.min(...p99))} / ${fmt(med(p99))} | ${Math.min(...fs.map((f) => f.n))} | ${fs[0]!.bytes} |`);
  }
}
console.log(`load: ${runs.map((r) => r.loadS.toFixed(1)).join(', ')} s; RSS after load: ${runs.map((r) => r.rssMb.toFixed(0)).join(', ')} MB`);
const sizes = [...new Set(runs.flatMap((r) => Object.values(r.memory).map((f) => f.bytes)))].filter((b) => b >= 65536).sort((a, b) => a - b);
if (sizes.length > 0) {
  console.log('floor: a plain node:http process sending the same number of bytes (ms)');
  console.log('| response bytes | p50 | p99 | samples |');
  console.log('| --- | --- | --- | --- |');
  for (const [n, f] of await floor(sizes)) console.log(`| ${n} | ${fmt(f.p50)} | ${fmt(f.p99)} | ${f.n} |`);
}
process.exit(0);
