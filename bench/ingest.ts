/**
 * Push ingest throughput: protobuf+snappy bodies of 1000 entries over `streams` generator
 * streams (default 1000), WAL on (fsync always), sent by concurrent keep-alive connections to a
 * real Silt process.
 * Usage: npx tsx bench/ingest.ts [lines=500000] [concurrency=8] [streams=1000]
 */
import { cpuSeconds, machineIdleSeconds, machineStealSeconds, threadCores, threadCpuSeconds, mainThreadCpuSeconds, post, protobufBatches, rssBytes, startChild, tempDir, UNLIMITED } from './lib.js';

const lines = Number(process.argv[2] ?? 500_000);
const conc = Number(process.argv[3] ?? 8);
const streamCount = Number(process.argv[4] ?? 1000);
const rate = 2000;
const { bodies, lineBytes, entries } = protobufBatches(lines, streamCount, 1000, Date.now() - Math.ceil(lines / rate) * 1000 - 60_000, rate);
const bodyBytes = bodies.reduce((a, b) => a + b.length, 0);
console.log(`data: ${entries} entries over ${streamCount} streams, ${(lineBytes / 1e6).toFixed(1)} MB of line text, ${bodies.length} bodies, ${(bodyBytes / 1e6).toFixed(1)} MB compressed`);

const dir = tempDir('silt-bench-ingest-');
// SILT_BENCH_FLAGS adds server flags (e.g. to compare with ingestion enrichment off).
const extra = (process.env['SILT_BENCH_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
const silt = await startChild(dir, [...UNLIMITED, ...extra]);
const pid = silt.proc.pid!;
// Warm up with the first 5% of bodies (JIT, stream creation), not counted.
const warm = Math.max(1, Math.floor(bodies.length / 20));
let next = 0;
async function run(until: number): Promise<void> {
  const workers = Array.from({ length: conc }, async () => {
    for (;;) {
      // Checked before taking a number: taking it first lost one body per connection at the
      // end of the warm-up (never pushed, yet counted as measured).
      if (next >= until) return;
      const i = next++;
      const r = await post(`${silt.url}/loki/api/v1/push`, bodies[i]!, { 'Content-Type': 'application/x-protobuf' });
      if (r.status !== 204) throw new Error(`push ${i}: ${r.status} ${r.body}`);
    }
  });
  await Promise.all(workers);
}
await run(warm);
const measured = bodies.length - warm;
let measuredBytes = 0;
const per = lineBytes / bodies.length;
measuredBytes = per * measured;
/** Sum of one metric's samples on the server's /metrics. */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${silt.url}/metrics`)).text();
  let v = 0;
  for (const line of text.split('\n')) if (line.startsWith(name + ' ') || line.startsWith(name + '{')) v += Number(line.slice(line.lastIndexOf(' ') + 1));
  return v;
}
const walMetrics = ['silt_ingester_wal_write_seconds_total', 'silt_ingester_wal_fsync_seconds_total', 'loki_ingester_wal_logged_bytes_total'] as const;
const wal0 = await Promise.all(walMetrics.map(metric));
const cpu0 = cpuSeconds(pid);
const main0 = mainThreadCpuSeconds(pid);
const threads0 = threadCpuSeconds(pid);
const client0 = process.cpuUsage();
const idle0 = machineIdleSeconds();
const steal0 = machineStealSeconds();
const t0 = performance.now();
await run(bodies.length);
const sec = (performance.now() - t0) / 1000;
const cpu = cpuSeconds(pid) - cpu0;
const mainCpu = mainThreadCpuSeconds(pid) - main0;
const threads = threadCores(threads0, threadCpuSeconds(pid), sec);
const clientCpu = process.cpuUsage(client0);
const idle = machineIdleSeconds() - idle0;
const steal = machineStealSeconds() - steal0;
const measuredEntries = (entries / bodies.length) * measured;
const wal1 = await Promise.all(walMetrics.map(metric));
const [walWrite, walFsync, walBytes] = wal1.map((v, i) => v - wal0[i]!) as [number, number, number];
console.log(
  JSON.stringify({
    bench: 'ingest',
    entries: Math.round(measuredEntries),
    seconds: Number(sec.toFixed(2)),
    lines_per_s: Math.round(measuredEntries / sec),
    mb_per_s: Number((measuredBytes / 1e6 / sec).toFixed(1)),
    server_cpu_cores: Number((cpu / sec).toFixed(2)),
    server_mb_per_cpu_s: Number((measuredBytes / 1e6 / cpu).toFixed(1)),
    // The event loop is the bottleneck: MB per second of main-thread CPU is the ceiling.
    server_main_thread_busy: Number((mainCpu / sec).toFixed(2)),
    server_mb_per_main_cpu_s: Number((measuredBytes / 1e6 / mainCpu).toFixed(1)),
    server_rss_mb: Math.round(rssBytes(pid) / 1e6),
    // The load generator shares the machine: its CPU is not available to the server.
    client_cpu_cores: Number(((clientCpu.user + clientCpu.system) / 1e6 / sec).toFixed(2)),
    machine_idle_cores: Number((idle / sec).toFixed(2)),
    // Taken by the hypervisor: on a shared host the two cores are not always ours.
    machine_steal_cores: Number((steal / sec).toFixed(2)),
    server_threads_cores: threads,
    // The WAL has one writer: the share of the run it spent writing and in fdatasync (under fsync always
    // the sync is inside the O_DSYNC write), and WAL bytes per byte of line text.
    wal_write_busy: Number((walWrite / sec).toFixed(2)),
    wal_fsync_busy: Number((walFsync / sec).toFixed(2)),
    wal_bytes_per_text_byte: Number((walBytes / measuredBytes).toFixed(2)),
    concurrency: conc,
    streams: streamCount,
  }),
);
// SIGTERM (not SIGKILL) so a --cpu-prof child can write its profile.
silt.proc.kill(process.env['SILT_NODE_ARGS'] ? 'SIGINT' : 'SIGKILL');
await silt.exited;
process.exit(0);
