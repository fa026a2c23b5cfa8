/**
 * Ingester memory with many active streams: push generator data over N streams (default
 * 10k) and report the server's RSS and heap once every stream holds data.
 * Usage: npx tsx bench/rss.ts [streams=10000] [lines=1000000]
 */
import { post, protobufBatches, rssBytes, startChild, tempDir, UNLIMITED } from './lib.js';

const streams = Number(process.argv[2] ?? 10_000);
const lines = Number(process.argv[3] ?? 1_000_000);
const { bodies, lineBytes } = protobufBatches(lines, streams, 1000, Date.now() - 3_600_000, lines / 3000);
// SILT_BENCH_FLAGS adds server flags (e.g. -distributor.push-decoder=inline).
const extra = (process.env['SILT_BENCH_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
const silt = await startChild(tempDir('silt-bench-rss-'), [...UNLIMITED, ...extra]);
const pid = silt.proc.pid!;
const idle = rssBytes(pid);
let next = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    for (;;) {
      const i = next++;
      if (i >= bodies.length) return;
      const r = await post(`${silt.url}/loki/api/v1/push`, bodies[i]!, { 'Content-Type': 'application/x-protobuf' });
      if (r.status !== 204) throw new Error(r.body);
    }
  }),
);
await new Promise((r) => setTimeout(r, 2000));
const metrics = await (await fetch(`${silt.url}/metrics`)).text();
const active = metrics.split('\n').filter((l) => l.startsWith('loki_ingester_memory_streams{')).reduce((a, l) => a + Number(l.split(' ')[1]), 0);
const heap = Number(/^silt_nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)?.[1] ?? 0);
console.log(
  JSON.stringify({
    bench: 'ingester_rss',
    active_streams: active,
    entries: lines,
    line_mb: Number((lineBytes / 1e6).toFixed(1)),
    rss_idle_mb: Math.round(idle / 1e6),
    rss_mb: Math.round(rssBytes(pid) / 1e6),
    heap_used_mb: Math.round(heap / 1e6),
  }),
);
silt.proc.kill('SIGKILL');
await silt.exited;
process.exit(0);
