/**
 * Queries that read every head block of an ingester holding many small streams: the data of
 * bench/rss.ts (N streams, one chunk window), then two instant metric queries over all of it,
 * 7 times each; prints min / median ms and the server's full collections (mark-compacts) during
 * the queries. Queries view head columns without copying them; a head layout that makes them
 * copy (ADR 0024, "Alternatives considered": shared slabs) shows here.
 * Usage: npx tsx bench/head-query.ts [streams=55000] [lines=600000]
 */
import { oneChunkWindowStartMs, post, protobufBatches, startChild, tempDir, UNLIMITED } from './lib.js';

const streams = Number(process.argv[2] ?? 55_000);
const lines = Number(process.argv[3] ?? 600_000);
const startMs = oneChunkWindowStartMs(3_000_000);
const { bodies } = protobufBatches(lines, streams, 1000, startMs, lines / 3000);
// --trace-gc: the server prints each collection; the benchmark counts the mark-compacts.
process.env['SILT_NODE_ARGS'] = `${process.env['SILT_NODE_ARGS'] ?? ''} --trace-gc`;
// The window is 3-5 h back: ask the ingester whatever the time.
const silt = await startChild(tempDir('silt-bench-head-query-'), [...UNLIMITED, '-querier.query-ingesters-within=0']);
try {
  for (const b of bodies) {
    const r = await post(`${silt.url}/loki/api/v1/push`, b, { 'Content-Type': 'application/x-protobuf' });
    if (r.status !== 204) throw new Error(r.body);
  }
  const markCompacts = (): number => (silt.stdout().match(/Mark-Compact/g) ?? []).length;
  const mc0 = markCompacts();
  const timeNs = (BigInt(startMs + 3_001_000) * 1_000_000n).toString();
  for (const q of ['sum(count_over_time({cluster=~".+"} |= "zqzq" [1h]))', 'sum(count_over_time({cluster=~".+"}[1h]))']) {
    const ms: number[] = [];
    let count = '';
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      const r = await fetch(`${silt.url}/loki/api/v1/query?query=${encodeURIComponent(q)}&time=${timeNs}`);
      const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
      ms.push(performance.now() - t0);
      count = body.data.result[0]?.value[1] ?? '0';
    }
    ms.sort((a, b) => a - b);
    console.log(JSON.stringify({ bench: 'head_query', query: q, streams, entries: lines, count, ms_min: Math.round(ms[0]!), ms_median: Math.round(ms[3]!) }));
  }
  console.log(JSON.stringify({ bench: 'head_query', mark_compacts_during_queries: markCompacts() - mc0 }));
} finally {
  silt.proc.kill('SIGKILL');
  await silt.exited;
}
