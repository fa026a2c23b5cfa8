/**
 * A server's start and idle memory on its defaults (filesystem storage, no ring, results cached
 * in memory): per round a fresh `-target=all` process, the time from spawn to `/ready` answering
 * 200, its RSS then, and its RSS after IDLE_S seconds without requests (V8 and the worker threads
 * settle), and the CPU it used until ready and in those idle seconds. The baseline is the same
 * measurement of a bare `node` process that imports nothing (its RSS once started), in the same
 * run.
 *
 * Usage: npx tsx bench/idle.ts [rounds=3]
 * SILT_BENCH_BASE=<another checkout or bench/build.sh build> interleaves a server started from
 * that tree with this one.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { cpuSeconds, minMedian, rssBytes, startChild, tempDir } from './lib.js';

const rounds = Number(process.argv[2] ?? 3);
const IDLE_S = Number(process.env['IDLE_S'] ?? 15);
const base = process.env['SILT_BENCH_BASE'];
const variants: { name: string; root: string | undefined }[] = [{ name: 'this', root: undefined }, ...(base ? [{ name: 'base', root: path.resolve(base) }] : [])];

/** RSS of a bare node process (MB), read from inside it. */
function bareNodeMb(): number {
  const r = spawnSync(process.execPath, ['-e', 'setTimeout(() => console.log(process.memoryUsage().rss), 200)'], { encoding: 'utf8' });
  return Number(r.stdout.trim()) / 1e6;
}

const mb = (b: number): number => Math.round(b / 1e5) / 10;
const rows: { variant: string; ready_ms: number; rss_ready_mb: number; rss_idle_mb: number; cpu_ready_s: number; cpu_idle_s: number }[] = [];
const bare: number[] = [];
for (let r = 0; r < rounds; r++) {
  bare.push(Math.round(bareNodeMb() * 10) / 10);
  for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
    const t0 = performance.now();
    const s = await startChild(tempDir('silt-bench-idle-'), [], 60_000, v.root);
    try {
      const readyMs = Math.round(performance.now() - t0);
      const atReady = rssBytes(s.proc.pid!);
      const cpuReady = cpuSeconds(s.proc.pid!);
      await new Promise((res) => setTimeout(res, IDLE_S * 1000));
      const cpu = (x: number): number => Math.round(x * 100) / 100;
      const row = { variant: v.name, ready_ms: readyMs, rss_ready_mb: mb(atReady), rss_idle_mb: mb(rssBytes(s.proc.pid!)), cpu_ready_s: cpu(cpuReady), cpu_idle_s: cpu(cpuSeconds(s.proc.pid!) - cpuReady) };
      rows.push(row);
      console.log(JSON.stringify(row));
    } finally {
      s.proc.kill('SIGTERM');
      await s.exited;
    }
  }
}
const show = (xs: number[]): string => minMedian(xs).join(' / ');
console.log(`bare node RSS ${show(bare)} MB (min / median of ${rounds})`);
for (const v of variants) {
  const mine = rows.filter((x) => x.variant === v.name);
  console.log(
    `${v.name}: ready ${show(mine.map((x) => x.ready_ms))} ms; RSS at ready ${show(mine.map((x) => x.rss_ready_mb))} MB, after ${IDLE_S} s idle ${show(mine.map((x) => x.rss_idle_mb))} MB; CPU-s until ready ${show(mine.map((x) => x.cpu_ready_s))}, in the idle seconds ${show(mine.map((x) => x.cpu_idle_s))}`,
  );
}
