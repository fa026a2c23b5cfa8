/**
 * The ingester's flush cycle when nothing is due: every `flush_check_period` (30 s by default)
 * it visits every stream synchronously, so at 100k streams the event loop is its for that long
 * and the garbage it leaves is collected during the requests that follow. Pushes N series of one
 * entry each (an in-process App, as bench/metadata.ts's load), then runs the cycle repeatedly
 * with nothing to flush and reports its synchronous time (min / median / max over the cycles
 * after 2 warm-up ones) and the young-generation collections (scavenges) during them, against a
 * baseline: the bare walk any per-stream pass costs (a Map of N objects, each with an array of one
 * chunk-like object whose count and two bigint bounds are read), timed the same way.
 * Usage: npx tsx bench/flush-cycle.ts [series=100000] [cycles=12]   (node --expose-gc via tsx: NODE_OPTIONS=--expose-gc)
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { exposedGc, startWithSeries } from './lib.js';

const SERIES = Number(process.argv[2] ?? 100_000);
const CYCLES = Number(process.argv[3] ?? 12);
const WARMUP = 2;
const gc = exposedGc();


// The cycle runs only when this bench calls it.
const silt = await startWithSeries('silt-bench-flush-cycle-', SERIES);
try {
  const ingester = silt.app.ingester!;
  const before = ingester.unflushedChunks();

  let scavengeMs = 0;
  let scavenges = 0;
  let counting = false;
  // kind 1: a minor (young-generation) collection.
  const obs = new PerformanceObserver((list) => {
    if (!counting) return;
    for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      if (e.detail?.kind === 1) {
        scavengeMs += e.duration;
        scavenges++;
      }
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const settle = (): Promise<void> => new Promise((res) => setTimeout(res, 20));

  // The baseline's streams, made before the cycles so that they are old like the ingester's.
  const tsNs = BigInt(Date.now() - 60_000) * 1_000_000n;
  const bare = new Map<string, { chunks: { entries: number; fromNs: bigint; throughNs: bigint }[] }>();
  for (let i = 0; i < SERIES; i++) bare.set(`fp-${i}`, { chunks: [{ entries: 1, fromNs: tsNs + BigInt(i), throughNs: tsNs + BigInt(i) }] });
  let sink = 0n;
  const walk = (): void => {
    let lo = 0n;
    let hi = -1n;
    for (const s of bare.values())
      for (const c of s.chunks)
        if (c.entries > 0) {
          if (hi < lo || c.fromNs < lo) lo = c.fromNs;
          if (c.throughNs > hi) hi = c.throughNs;
        }
    sink += hi - lo;
  };

  const cycle: number[] = [];
  const walks: number[] = [];
  for (let k = 0; k < CYCLES + WARMUP; k++) {
    gc();
    await settle();
    counting = k >= WARMUP;
    const t0 = performance.now();
    // flushNow runs the cycle's synchronous part before it returns its promise.
    const done = ingester.flushNow(false);
    const t1 = performance.now();
    await done;
    const t2 = performance.now();
    walk();
    const t3 = performance.now();
    // Collections the cycle's garbage causes come after it: let them happen inside the count.
    await settle();
    counting = false;
    if (k >= WARMUP) {
      cycle.push(t1 - t0);
      walks.push(t3 - t2);
    }
  }
  obs.disconnect();
  if (sink < 0n) throw new Error('unreachable: keeps the walk from being optimised away');
  const after = ingester.unflushedChunks();
  if (after !== before) throw new Error(`the cycle flushed something (${before} → ${after} unflushed chunks): not an idle cycle`);
  const stat = (a: number[]): string => {
    const s = [...a].sort((x, y) => x - y);
    return `${s[0]!.toFixed(1)} / ${s[Math.floor(s.length / 2)]!.toFixed(1)} / ${s[s.length - 1]!.toFixed(1)}`;
  };
  console.log(`series=${SERIES} cycles=${CYCLES}: idle flush cycle, synchronous ms min / median / max ${stat(cycle)}; bare walk of ${SERIES} objects ${stat(walks)}; scavenges during and after the cycles: ${scavenges} (${scavengeMs.toFixed(1)} ms, ${(scavengeMs / CYCLES).toFixed(1)} ms per cycle)`);
  console.log(JSON.stringify({ bench: 'flush-cycle', series: SERIES, cycles: CYCLES, cycle_ms: cycle.map((x) => +x.toFixed(2)), scavenges, scavenge_ms: +scavengeMs.toFixed(1) }));
} finally {
  await silt.stop();
}
process.exit(0);
