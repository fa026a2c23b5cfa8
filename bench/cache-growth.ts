/**
 * Warm query time against data size with Silt's default caches (issue #20 goal 2: "grows
 * linearly with data size up to the cache size and degrades gracefully past it").
 *
 * Usage: npx tsx bench/cache-growth.ts [sizes=1325000,2650000,5300000] [rounds=3]
 * Per size a store of that many generator entries is built (bench/store-fixture.ts, Silt's
 * default codec); per round a fresh `-target=all` server with the benchmarks' query flags but
 * Silt's default chunk and decoded-block caches runs the full scan `|= "qzxq"` (absent: nothing
 * can be skipped) 5 times; "steady" is the fastest of the last 3 (the first is cache-cold with a
 * warm page cache). Every answer is checked against a brute-force count over the jsonl twin.
 * The baseline is linear growth from the smallest size, in the same run.
 * SILT_BENCH_BASE=<another checkout> also runs each round on a server started from that
 * checkout (e.g. a `git worktree` of the commit before a change), interleaved with this one.
 */
import { createReadStream, rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { cpuSeconds, minMedian, startChild, STORED_QUERY_FLAGS } from './lib.js';
import { buildStore } from './store-fixture.js';

const sizes = (process.argv[2] ?? '1325000,2650000,5300000').split(',').map(Number);
const rounds = Number(process.argv[3] ?? 3);
const base = process.env['SILT_BENCH_BASE'];
const variants: { name: string; root: string | undefined }[] = [{ name: 'this', root: undefined }, ...(base ? [{ name: 'base', root: path.resolve(base) }] : [])];

const NEEDLE = 'qzxq';
const SCAN = `{cluster=~".+"} |= "${NEEDLE}"`;
const QUERIES = 5;
const STEADY = 3;
// The stored-query flags without their cache sizes: Silt's defaults (ADR 0024, read-path.ts).
const flags = STORED_QUERY_FLAGS.filter((f) => !f.startsWith('-store.chunks-cache-size=') && !f.startsWith('-querier.block-cache-size='));

type Row = { entries: number; variant: string; round: number; first_s: number; steady_s: number; steady_cpu_s: number };
const rows: Row[] = [];
const stores: { entries: number; rawBytes: number; chunkBytes: number }[] = [];

for (const entries of sizes) {
  const fx = await buildStore(entries, { name: 'growth' });
  await fx.app.stop();
  try {
    let hits = 0;
    let rawBytes = 0;
    for await (const l of createInterface({ input: createReadStream(path.join(fx.dir, 'logs.jsonl')), crlfDelay: Infinity })) {
      const line = (JSON.parse(l) as { line: string }).line;
      rawBytes += Buffer.byteLength(line) + 1;
      if (line.includes(NEEDLE)) hits++;
    }
    stores.push({ entries: fx.entries, rawBytes, chunkBytes: fx.chunkBytes });
    const params = new URLSearchParams({ query: SCAN, start: String(fx.firstNs - 1_000_000_000n), end: String(fx.lastNs + 60_000_000_000n), limit: '1000', direction: 'backward' });
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const s = await startChild(fx.dir, flags, 60_000, v.root);
        try {
          // The querier threads dial the frontend after /ready.
          await new Promise((r) => setTimeout(r, 3000));
          const runs: { sec: number; cpu: number }[] = [];
          for (let i = 0; i < QUERIES; i++) {
            const c0 = cpuSeconds(s.proc.pid!);
            const t = performance.now();
            const r = await fetch(`${s.url}/loki/api/v1/query_range?${params}`);
            const body = (await r.json()) as { data: { result: { values: unknown[] }[] } };
            const sec = (performance.now() - t) / 1000;
            if (r.status !== 200) throw new Error(`${v.name}: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
            const n = body.data.result.reduce((a, x) => a + x.values.length, 0);
            if (n !== Math.min(1000, hits)) throw new Error(`${v.name}: ${n} lines, brute force ${hits}`);
            runs.push({ sec, cpu: cpuSeconds(s.proc.pid!) - c0 });
          }
          const steady = runs.slice(QUERIES - STEADY).reduce((a, b) => (b.sec < a.sec ? b : a));
          const row = { entries: fx.entries, variant: v.name, round, first_s: round3(runs[0]!.sec), steady_s: round3(steady.sec), steady_cpu_s: round3(steady.cpu) };
          rows.push(row);
          console.log(JSON.stringify({ ...row, all_s: runs.map((x) => round3(x.sec)) }));
        } finally {
          s.proc.kill('SIGTERM');
          await s.exited;
        }
      }
    }
  } finally {
    rmSync(fx.dir, { recursive: true, force: true });
  }
}

function round3(x: number): number {
  return Number(x.toFixed(3));
}

console.log(JSON.stringify({ bench: 'cache-growth', stores }));
for (const v of variants) {
  const at = (entries: number): [number, number] => minMedian(rows.filter((r) => r.variant === v.name && r.entries === entries).map((r) => r.steady_s));
  const [lo0, med0] = at(stores[0]!.entries);
  console.log(`${v.name}${v.root ? ` (${v.root})` : ''}: steady full scan, min / median s; growth vs the smallest (linear in brackets)`);
  for (const st of stores) {
    const [lo, med] = at(st.entries);
    console.log(`  ${st.entries} entries, ${(st.rawBytes / 1e9).toFixed(2)} GB text, ${(st.chunkBytes / 1e6).toFixed(0)} MB chunks: ${lo} / ${med} s, x${(lo / lo0).toFixed(2)} / x${(med / med0).toFixed(2)} (linear x${(st.rawBytes / stores[0]!.rawBytes).toFixed(2)})`);
  }
}
