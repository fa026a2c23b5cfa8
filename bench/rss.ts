/**
 * Ingester memory with many active streams: push generator data over N streams (default
 * 10k) and report the server's RSS and heap once every stream holds data, plus the highest RSS
 * seen while pushing (sampled every 100 ms). `rss_mb` is read 2 s after the last push, when the
 * heaps still hold the push's garbage; `rss_settled_mb` is the lowest RSS over the next
 * RSS_SETTLE_S seconds (default 90) of idle, and `settled_s` when it was seen: V8's memory
 * reducer collects and shrinks the heaps of an idle process by itself, but on Node 20 it did
 * so within 40 s in only some runs (RESULTS, "where the rest of the RSS is"). `rss_every_10s_mb`
 * traces the wait: the idle release (10 s), the workers' idle stop (30 s) and quiet heads laid
 * out at their size (the first flush check after 30 s without appends, 30–60 s after the push,
 * then a collection and a malloc trim within 10 s) show there. Before 2026-12-06 (eighth
 * session) the wait was 40 s.
 * Usage: npx tsx bench/rss.ts [streams=10000] [lines=1000000]
 * SILT_BENCH_FLAGS adds server flags (e.g. `-ingester.memory-limit=256MiB`); a push answered
 * 429 (the memory limit) is retried after 50 ms until taken, and the 429s are counted.
 * RSS_SMAPS=1 also prints the server's resident memory by mapping at the end, and at the highest
 * RSS seen while pushing with the main thread's heap gauges then.
 */
import { readFileSync } from 'node:fs';
import { oneChunkWindowStartMs, post, protobufBatches, rssBytes, startChild, tempDir, UNLIMITED } from './lib.js';

const streams = Number(process.argv[2] ?? 10_000);
const lines = Number(process.argv[3] ?? 1_000_000);
// 3000 s of entries, inside one chunk window.
const { bodies, lineBytes } = protobufBatches(lines, streams, 1000, oneChunkWindowStartMs(3_000_000), lines / 3000);
const gaugeOf = (text: string, name: string): number => text.split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' ')).reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
const mb = (b: number): number => Math.round(b / 1e6);
const extra = (process.env['SILT_BENCH_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
const silt = await startChild(tempDir('silt-bench-rss-'), [...UNLIMITED, ...extra]);
const pid = silt.proc.pid!;
const idle = rssBytes(pid);
let maxRss = idle;
// When the highest RSS was seen, seconds after the first push (the memory marks are crossed a few seconds in).
let maxRssAtS = 0;
// With RSS_SMAPS, the mapping breakdown and the main thread's heap gauges at the highest RSS seen
// while pushing (read at most every 500 ms, so the reads do not load the server).
let peak: { rss: number; smaps: [string, number][]; gauges?: Record<string, number> } | undefined;
let lastPeakRead = 0;
const sampler = setInterval(() => {
  const r = rssBytes(pid);
  if (r > maxRss) {
    maxRss = r;
    maxRssAtS = (performance.now() - t0) / 1000;
    if (process.env['RSS_SMAPS'] && performance.now() - lastPeakRead > 500) {
      lastPeakRead = performance.now();
      const here = { rss: r, smaps: smapsByName() } as NonNullable<typeof peak>;
      peak = here;
      void fetch(`${silt.url}/metrics`).then(async (res) => {
        const text = await res.text();
        const names = ['silt_nodejs_heap_size_total_bytes', 'silt_nodejs_heap_size_used_bytes', 'silt_nodejs_external_memory_bytes', 'silt_ingester_memory_used_bytes'];
        here.gauges = Object.fromEntries(names.map((n) => [n.replace(/^silt_(nodejs_)?|_bytes$/g, ''), mb(gaugeOf(text, n))]));
        // Committed size of each V8 heap space (new space is the young generation).
        for (const m of text.matchAll(/^silt_nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)$/gm)) here.gauges[m[1]!] = mb(Number(m[2]));
      }, () => {});
    }
  }
}, 100);
let next = 0;
let refused = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: 4 }, async () => {
    for (;;) {
      const i = next++;
      if (i >= bodies.length) return;
      for (;;) {
        const r = await post(`${silt.url}/loki/api/v1/push`, bodies[i]!, { 'Content-Type': 'application/x-protobuf' });
        if (r.status === 204) break;
        if (r.status !== 429) throw new Error(r.body);
        refused++;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  }),
);
const pushSeconds = (performance.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 2000));
clearInterval(sampler);
const metrics = await (await fetch(`${silt.url}/metrics`)).text();
const gauge = (name: string): number => gaugeOf(metrics, name);
const rssAfterPush = rssBytes(pid);
// Idle from here: no request but the RSS reads (and one scrape at the end).
const settleSeconds = Number(process.env['RSS_SETTLE_S'] ?? 90);
let settled = rssAfterPush;
let settledAt = 0;
// RSS every 10 s of the idle wait (the idle release, the workers' stop and quiet heads show here).
const trace: number[] = [];
for (let s = 1; s <= settleSeconds; s++) {
  await new Promise((r) => setTimeout(r, 1000));
  const r = rssBytes(pid);
  if (s % 10 === 0) trace.push(mb(r));
  if (r < settled) {
    settled = r;
    settledAt = s;
  }
}
const later = await (await fetch(`${silt.url}/metrics`)).text();
console.log(
  JSON.stringify({
    bench: 'ingester_rss',
    active_streams: gauge('loki_ingester_memory_streams'),
    entries: lines,
    line_mb: Number((lineBytes / 1e6).toFixed(1)),
    push_s: Number(pushSeconds.toFixed(1)),
    refused_429: refused,
    rss_idle_mb: mb(idle),
    rss_mb: mb(rssAfterPush),
    rss_max_mb: mb(Math.max(maxRss, rssAfterPush)),
    rss_max_at_s: Number(maxRssAtS.toFixed(1)),
    rss_settled_mb: mb(settled),
    settled_s: settledAt,
    rss_every_10s_mb: trace,
    heap_used_mb: mb(gauge('silt_nodejs_heap_size_used_bytes')),
    heap_total_mb: mb(gauge('silt_nodejs_heap_size_total_bytes')),
    external_mb: mb(gauge('silt_nodejs_external_memory_bytes')),
    settled_heap_total_mb: mb(gaugeOf(later, 'silt_nodejs_heap_size_total_bytes')),
    settled_external_mb: mb(gaugeOf(later, 'silt_nodejs_external_memory_bytes')),
    ingester_memory_mb: mb(gauge('silt_ingester_memory_used_bytes')),
    early_flushes: gauge('silt_ingester_memory_early_flushes_total'),
  }),
);
if (process.env['RSS_SMAPS']) {
  // Where the resident memory is, by mapping (anonymous heap, thread arenas, code), largest first.
  const show = (rows: [string, number][]): void => {
    for (const [name, kb] of rows.slice(0, 8)) console.log(`${Math.round(kb / 1024)} MB ${name}`);
  };
  if (peak) {
    console.log(`at the highest RSS while pushing, ${mb(peak.rss)} MB; main thread ${JSON.stringify(peak.gauges ?? {})}:`);
    show(peak.smaps);
  }
  console.log('at the end:');
  const rows = smapsRows();
  show(smapsByName(rows));
  const big = rows.map((r) => Number(/^Rss:\s+(\d+) kB/m.exec(r)?.[1] ?? 0)).filter((kb) => kb > 32 * 1024).sort((a, b) => b - a);
  console.log('anonymous mappings over 32 MB (MB):', big.map((kb) => Math.round(kb / 1024)).join(' '));
}
silt.proc.kill('SIGKILL');
await silt.exited;
process.exit(0);

function smapsRows(): string[] {
  return readFileSync(`/proc/${pid}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
}

/** Resident kB per mapping name ("[anon]" for anonymous mappings), largest first. */
function smapsByName(rows = smapsRows()): [string, number][] {
  const byName = new Map<string, number>();
  for (const r of rows) {
    const head = r.split('\n', 1)[0]!.trim().split(/\s+/);
    const name = head.length > 5 ? head.slice(5).join(' ') : '[anon]';
    const rss = Number(/^Rss:\s+(\d+) kB/m.exec(r)?.[1] ?? 0);
    byName.set(name, (byName.get(name) ?? 0) + rss);
  }
  return [...byName].sort((a, b) => b[1] - a[1]);
}
