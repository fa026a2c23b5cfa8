/**
 * Queries over chunks in S3 (s3rver in a child process): N generator entries are ingested and
 * flushed to the bucket, then three queries run cold (empty chunk and index caches: every
 * chunk or chunk tail comes over HTTP from s3rver) and warm (chunk bytes from the chunk cache;
 * the decoded-block cache is off, so blocks are decompressed again):
 * an absent token (ruled out from chunk tails via ranged GETs), a rare needle, and a regex
 * metric query that must read every block. GB/s is log text covered per second.
 * Usage: npx tsx bench/scan-s3.ts [lines=1000000]
 */
import { spawn } from 'node:child_process';
import { parseExpr, type SampleExpr } from '../src/logql/syntax/index.js';
import { startS3rver, s3Flags } from '../test/support/s3.js';
import { buildStore } from './store-fixture.js';

const lines = Number(process.argv[2] ?? 1_000_000);
const s3 = await startS3rver({ bucket: 'silt-bench' });
const fx = await buildStore(lines, { name: 'scan-s3', blockCache: '0', extraFlags: s3Flags(s3) });
const { app } = fx;
const startNs = fx.firstNs - 1_000_000_000n;
const endNs = fx.lastNs + 1n;

interface Run {
  sec: number;
  bytes: number;
  chunks: number;
  compressed: number;
}

async function logQuery(query: string): Promise<Run> {
  const t = performance.now();
  const r = await app.querier!.logQuery({ tenant: 'fake', query, startNs, endNs, limit: 1_000_000, direction: 'backward' });
  return { sec: (performance.now() - t) / 1000, bytes: r.stats.bytesProcessed, chunks: r.stats.chunksFetched, compressed: r.stats.compressedBytesFetched };
}

async function metricQuery(query: string): Promise<Run> {
  const t = performance.now();
  const r = await app.querier!.metricQuery({ tenant: 'fake', expr: parseExpr(query) as SampleExpr, startNs, endNs, stepNs: 60_000_000_000n, instant: false });
  return { sec: (performance.now() - t) / 1000, bytes: r.stats.bytesProcessed, chunks: r.stats.chunksFetched, compressed: r.stats.compressedBytesFetched };
}

const cases: [string, (q: string) => Promise<Run>][] = [
  ['{cluster=~".+"} |= "no such token anywhere"', logQuery],
  ['{cluster=~".+"} |= "ERR_BITFLIP_99A6"', logQuery],
  ['sum(count_over_time({cluster=~".+"} |~ "timeout|deadlock" [1m]))', metricQuery],
];
const results: Record<string, unknown>[] = [];
for (const [q, run] of cases) {
  const cold = await run(q);
  const warm = await run(q);
  results.push({
    query: q,
    text_gb: Number((cold.bytes / 1e9).toFixed(3)),
    chunks_downloaded: cold.chunks,
    compressed_mb_downloaded: Number((cold.compressed / 1e6).toFixed(1)),
    cold_s: Number(cold.sec.toFixed(2)),
    cold_gb_per_s: Number((cold.bytes / 1e9 / cold.sec).toFixed(2)),
    warm_s: Number(warm.sec.toFixed(2)),
    warm_gb_per_s: Number((warm.bytes / 1e9 / warm.sec).toFixed(2)),
  });
}
const objects = app.objects as unknown as { stats?: { requests: number } };
console.log(
  JSON.stringify({
    bench: 'scan-s3',
    entries: fx.entries,
    ingest_s: Number(fx.ingestSeconds.toFixed(1)),
    chunk_bytes: fx.chunkBytes,
    index_bytes: fx.indexBytes,
    s3_requests: objects.stats?.requests ?? null,
    results,
  }),
);
await app.stop();
await s3.cleanup();
spawn('rm', ['-rf', fx.dir]);
process.exit(0);
