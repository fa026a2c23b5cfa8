/**
 * Querier threads and data still in the ingester (ADR 0029): pushes N generator entries over
 * HTTP to a fresh `-target=all` server process (WAL off, nothing flushed: every query reads the
 * ingester's memory), then times a full scan and the json count over HTTP, with
 * `-querier.threads=0` and `=1`, runs interleaved. Pieces over the ingester's range run on the
 * process's own querier first (Frontend `inProcessFirst`): this shows that threads cost recent
 * data nothing. Every answer's line count is the entries pushed.
 *
 * Usage: npx tsx bench/threads-memory.ts [lines=1000000] [runs=3]
 */
import { cpuSeconds, post, protobufBatches, startChild, tempDir, UNLIMITED } from './lib.js';

const lines = Number(process.argv[2] ?? 1_000_000);
const runs = Number(process.argv[3] ?? 3);
const rate = 1000;
const startMs = Date.now() - Math.ceil(lines / rate) * 1000 - 5000;
const { bodies, lineBytes, entries } = protobufBatches(lines, 1000, 1000, startMs, rate);
const startNs = BigInt(startMs - 60_000) * 1_000_000n;
const QUERIES = ['{cluster=~".+"} |= "zq#x"', 'sum by (level) (count_over_time({cluster=~".+"} | json | __error__="" [1m]))'];

const rows: { threads: number; query: string; sec: number; cpu: number }[] = [];
const order = Array.from({ length: runs }, (_, i) => (i % 2 === 0 ? [0, 1] : [1, 0])).flat();
for (const n of order) {
  const s = await startChild(tempDir('silt-bench-threads-mem-'), [
    '-ingester.wal-enabled=false',
    ...UNLIMITED,
    `-querier.threads=${n}`,
  ]);
  try {
    for (const b of bodies) {
      const r = await post(`${s.url}/loki/api/v1/push`, b, { 'content-type': 'application/x-protobuf' });
      if (r.status !== 204) throw new Error(`push: ${r.status} ${r.body}`);
    }
    // The thread dials the frontend after /ready.
    await new Promise((r) => setTimeout(r, 3000));
    const endNs = BigInt(Date.now() + 60_000) * 1_000_000n;
    for (const q of QUERIES) {
      for (let k = 0; k < 2; k++) {
        const p = new URLSearchParams({ query: q, start: String(startNs), end: String(endNs), limit: '1000', step: '60' });
        const c0 = cpuSeconds(s.proc.pid!);
        const t = performance.now();
        const r = await fetch(`${s.url}/loki/api/v1/query_range?${p}`);
        const body = (await r.json()) as { data: { stats: { summary: { totalLinesProcessed: number } } } };
        const sec = (performance.now() - t) / 1000;
        if (r.status !== 200) throw new Error(`${q}: ${r.status} ${JSON.stringify(body)}`);
        if (body.data.stats.summary.totalLinesProcessed !== entries) throw new Error(`${q}: ${body.data.stats.summary.totalLinesProcessed} lines processed, ${entries} pushed`);
        // The first answer warms up; the second is timed.
        if (k === 1) rows.push({ threads: n, query: q, sec, cpu: cpuSeconds(s.proc.pid!) - c0 });
      }
    }
  } finally {
    s.proc.kill('SIGTERM');
    await s.exited;
  }
}
console.log(JSON.stringify({ bench: 'threads-memory', entries, line_bytes: lineBytes }));
for (const q of QUERIES) {
  for (const n of [0, 1]) {
    const v = rows.filter((r) => r.threads === n && r.query === q).sort((a, b) => a.sec - b.sec);
    const med = v[Math.floor((v.length - 1) / 2)]!;
    console.log(`threads=${n} ${q}: ${v[0]!.sec.toFixed(2)} / ${med.sec.toFixed(2)} s (CPU ${v.map((r) => r.cpu.toFixed(2)).join(', ')} s)  [min / median]`);
  }
}
