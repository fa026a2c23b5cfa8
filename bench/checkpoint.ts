/**
 * A WAL checkpoint of a big tenant: pushes N series with E entries each (~113 B lines) into an
 * in-process App (WAL on, nothing flushed), then takes checkpoints and reports, per checkpoint,
 * its time, the longest the event loop went without running a 1 ms timer (a push or a query
 * waits that long), and the heap's growth over the checkpoint (sampled every 5 ms). Baseline, in
 * the same run: writing the same number of bytes to a file in 4 MiB writes and fdatasync-ing it,
 * measured the same way (the floor of any checkpoint of this size).
 * Usage: npx tsx bench/checkpoint.ts [series=100000] [entriesPerSeries=10] [checkpoints=3]
 */
import fs from 'node:fs';
import path from 'node:path';
import { startInProcess } from '../test/support/silt.js';
import { pushSeries, tempDir, UNLIMITED } from './lib.js';

const SERIES = Number(process.argv[2] ?? 100_000);
const PER = Number(process.argv[3] ?? 10);
const RUNS = Number(process.argv[4] ?? 3);


interface Measured {
  ms: number;
  maxGapMs: number;
  heapGrowthMb: number;
}

/** Runs `f` with a 1 ms timer and a 5 ms heap sampler beside it. */
async function measure(f: () => Promise<void>): Promise<Measured> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  let peak = heap0;
  let last = performance.now();
  let maxGap = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    if (now - last > maxGap) maxGap = now - last;
    last = now;
  }, 1);
  const sample = setInterval(() => {
    const h = process.memoryUsage().heapUsed;
    if (h > peak) peak = h;
  }, 5);
  const t0 = performance.now();
  await f();
  const ms = performance.now() - t0;
  // The gap that ends with f, if it was the longest.
  const end = performance.now();
  if (end - last > maxGap) maxGap = end - last;
  clearInterval(tick);
  clearInterval(sample);
  return { ms, maxGapMs: maxGap, heapGrowthMb: (peak - heap0) / 1e6 };
}

const dir = tempDir('silt-bench-checkpoint-');
const silt = await startInProcess(dir, [...UNLIMITED, '-ingester.flush-check-period=1h', '-ingester.checkpoint-duration=1h']);
try {
  const tsNs = BigInt(Date.now() - 600_000) * 1_000_000n;
  let textBytes = 0;
  for (let r = 0; r < PER; r++) {
    await pushSeries(silt.url, SERIES, (i) => {
      const line = `level=info ts=${r} msg="request handled" path=/api/v1/items/${i} status=200 duration=${(i % 97) + r}ms trace_id=${(i * 7919 + r).toString(16).padStart(16, '0')}`;
      textBytes += line.length;
      return { tsNs: tsNs + BigInt(r * 1000 + i), line };
    });
  }
  const ingester = silt.app.ingester!;
  const walDir = path.join(dir, 'wal');
  const checkpointBytes = (): number => {
    const f = fs.readdirSync(walDir).filter((n) => /^checkpoint\.\d+$/.test(n));
    return f.length === 0 ? 0 : fs.statSync(path.join(walDir, f[f.length - 1]!)).size;
  };
  const block = Buffer.alloc(4 * 1024 * 1024, 0x61);
  for (let k = 0; k < RUNS; k++) {
    const ck = await measure(() => ingester.checkpoint());
    const bytes = checkpointBytes();
    if (bytes === 0) throw new Error('no checkpoint written');
    const file = path.join(dir, `baseline-${k}`);
    const base = await measure(async () => {
      const fh = await fs.promises.open(file, 'w');
      for (let off = 0; off < bytes; off += block.length) await fh.write(block, 0, Math.min(block.length, bytes - off), off);
      await fh.datasync();
      await fh.close();
    });
    fs.rmSync(file);
    console.log(
      JSON.stringify({
        bench: 'checkpoint',
        series: SERIES,
        entries: SERIES * PER,
        text_mb: +(textBytes / 1e6).toFixed(1),
        checkpoint_mb: +(bytes / 1e6).toFixed(1),
        checkpoint: { ms: Math.round(ck.ms), max_gap_ms: +ck.maxGapMs.toFixed(1), heap_growth_mb: Math.round(ck.heapGrowthMb) },
        baseline_write: { ms: Math.round(base.ms), max_gap_ms: +base.maxGapMs.toFixed(1), heap_growth_mb: Math.round(base.heapGrowthMb) },
      }),
    );
  }
} finally {
  await silt.stop();
}
process.exit(0);
