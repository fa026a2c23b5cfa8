/**
 * Push ingest into S3 (s3rver in a child process): protobuf+snappy bodies paced at a target
 * rate of log text, WAL on, small chunks so that flushing to S3 runs all along. Samples
 * `loki_ingester_flush_queue_length` every second to show whether the flush queue keeps up,
 * then reports how long the queue takes to drain once pushing stops.
 * Usage: npx tsx bench/ingest-s3.ts [lines=2000000] [targetMBps=50] [streams=100] [concurrency=8]
 *   [chunkTarget=256KiB] [blockSize=64KiB]
 * The small default chunks make flushes run all along even in a short run; pass 1.5MiB 256KiB
 * (the server's defaults, as Loki's) with more lines to measure production-sized chunks.
 */
import { startS3rver, s3Flags } from '../test/support/s3.js';
import { cpuSeconds, post, protobufBatches, rssBytes, startChild, tempDir, UNLIMITED, threadCpuSeconds, threadCores, machineIdleSeconds } from './lib.js';

const lines = Number(process.argv[2] ?? 2_000_000);
const targetMBps = Number(process.argv[3] ?? 50);
const streams = Number(process.argv[4] ?? 100);
const conc = Number(process.argv[5] ?? 8);
const chunkTarget = process.argv[6] ?? '256KiB';
const blockSize = process.argv[7] ?? '64KiB';
const rate = 20_000;
const { bodies, lineBytes, entries } = protobufBatches(lines, streams, 1000, Date.now() - Math.ceil(lines / rate) * 1000 - 60_000, rate);
const bodyBytes = bodies.reduce((a, b) => a + b.length, 0);
console.log(`data: ${entries} entries, ${(lineBytes / 1e6).toFixed(1)} MB of line text, ${bodies.length} bodies, ${(bodyBytes / 1e6).toFixed(1)} MB compressed, ${streams} streams`);

const s3 = await startS3rver({ bucket: 'silt-bench' });
const silt = await startChild(tempDir('silt-bench-ingest-s3-'), [
  ...UNLIMITED,
  ...s3Flags(s3),
  `-ingester.chunk-target-size=${chunkTarget}`,
  `-ingester.chunks-block-size=${blockSize}`,
  '-ingester.flush-check-period=1s',
  '-ingester.concurrent-flushes=16',
]);
const pid = silt.proc.pid!;

async function unflushed(): Promise<{ chunks: number; flushed: number; failures: number; s3Requests: number }> {
  const text = await (await fetch(`${silt.url}/metrics`)).text();
  const sum = (name: string): number => {
    let v = 0;
    for (const l of text.split('\n')) if (l.startsWith(name + ' ') || l.startsWith(name + '{')) v += Number(l.slice(l.lastIndexOf(' ') + 1));
    return v;
  };
  return { chunks: sum('loki_ingester_flush_queue_length'), flushed: sum('loki_ingester_chunks_flushed_total'), failures: sum('loki_ingester_chunks_flush_failures_total'), s3Requests: sum('silt_s3_requests_total') };
}

const per = lineBytes / bodies.length;
const samples: number[] = [];
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    samples.push((await unflushed()).chunks);
    await new Promise((r) => setTimeout(r, 1000));
  }
})();

let next = 0;
const cpu0 = cpuSeconds(pid);
// s3rver runs on the same two cores: what it uses is not available to the server.
const s3cpu0 = cpuSeconds(s3.pid);
const threads0 = threadCpuSeconds(pid);
const idle0 = machineIdleSeconds();
const t0 = performance.now();
let late = 0;
await Promise.all(
  Array.from({ length: conc }, async () => {
    for (;;) {
      const i = next++;
      if (i >= bodies.length) return;
      // Body i is due when the target rate has covered the text before it.
      const due = t0 + ((i * per) / (targetMBps * 1e6)) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -1000) late++;
      const r = await post(`${silt.url}/loki/api/v1/push`, bodies[i]!, { 'Content-Type': 'application/x-protobuf' });
      if (r.status !== 204) throw new Error(`push ${i}: ${r.status} ${r.body}`);
    }
  }),
);
const pushSec = (performance.now() - t0) / 1000;
const cpu = cpuSeconds(pid) - cpu0;
const s3cpu = cpuSeconds(s3.pid) - s3cpu0;
const threads = threadCores(threads0, threadCpuSeconds(pid), pushSec);
const idle = machineIdleSeconds() - idle0;
const atEnd = await unflushed();
// Drain: closed chunks still queued when pushing stopped.
const tDrain = performance.now();
let left = atEnd.chunks;
while (left > 0 && performance.now() - tDrain < 120_000) {
  await new Promise((r) => setTimeout(r, 250));
  left = (await unflushed()).chunks;
}
const drainSec = (performance.now() - tDrain) / 1000;
sampling = false;
await sampler;
const final = await unflushed();
console.log(
  JSON.stringify({
    bench: 'ingest-s3',
    entries,
    line_mb: Number((lineBytes / 1e6).toFixed(1)),
    target_mb_per_s: targetMBps,
    chunk_target: chunkTarget,
    block_size: blockSize,
    push_s: Number(pushSec.toFixed(2)),
    achieved_mb_per_s: Number((lineBytes / 1e6 / pushSec).toFixed(1)),
    bodies_late_over_1s: late,
    unflushed_chunks_samples: samples,
    unflushed_max: Math.max(0, ...samples),
    unflushed_at_push_end: atEnd.chunks,
    drain_s: Number(drainSec.toFixed(2)),
    unflushed_after_drain: left,
    chunks_flushed: final.flushed,
    flush_failures: final.failures,
    s3_requests: final.s3Requests,
    server_cpu_cores: Number((cpu / pushSec).toFixed(2)),
    s3rver_cpu_cores: Number((s3cpu / pushSec).toFixed(2)),
    server_threads_cores: threads,
    machine_idle_cores: Number((idle / pushSec).toFixed(2)),
    server_rss_mb: Math.round(rssBytes(pid) / 1e6),
  }),
);
// SIGINT (not SIGKILL) under SILT_NODE_ARGS, so a --cpu-prof child can write its profile.
silt.proc.kill(process.env['SILT_NODE_ARGS'] ? 'SIGINT' : 'SIGKILL');
await silt.exited;
await s3.cleanup();
process.exit(0);
