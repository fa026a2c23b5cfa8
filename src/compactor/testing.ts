/**
 * Test helpers for the compactor: write small chunks and index segments the way ingester
 * flushes do, and read back what a querier would see (every entry of every referenced chunk,
 * duplicates across chunks included, so doubled data shows).
 */
import { crc32 } from '../util/crc32.js';
import { decodeChunk, MemChunk, type ChunkOptions } from '../chunk/index.js';
import { fingerprint, sortLabels, type Labels } from '../model/index.js';
import { ChunkStore, IndexReader, IndexWriter, type ChunkRef, type ObjectClient } from '../storage/index.js';
import { testMatcher } from '../storage/testing.js';

/** One entry of a test stream. */
export interface TEntry {
  tsNs: bigint;
  line: string;
}

/** Small chunks, so that a few hundred entries make many of them. */
export const TEST_CHUNK_OPTIONS: ChunkOptions = { codec: 'snappy', blockSizeBytes: 2048, targetSizeBytes: 8192 };

/** Labels of test stream `i` (all have `job="test"`). */
export function testLabels(i: number, extra: Record<string, string> = {}): Labels {
  return sortLabels([{ name: 'job', value: 'test' }, { name: 'stream', value: `s${i}` }, ...Object.entries(extra).map(([name, value]) => ({ name, value }))]);
}

/** Encodes entries (any order) into one chunk and returns its ref and bytes. */
export function makeChunk(tenant: string, labels: Labels, entries: readonly TEntry[], opts: ChunkOptions = TEST_CHUNK_OPTIONS): { ref: ChunkRef; bytes: Buffer } {
  const c = new MemChunk({ ...opts, targetSizeBytes: Number.MAX_SAFE_INTEGER });
  for (const e of entries) c.append(e.tsNs, Buffer.from(e.line), []);
  const bytes = c.encode();
  return {
    bytes,
    ref: {
      tenant,
      fingerprint: fingerprint(labels),
      fromNs: c.minTsNs(),
      throughNs: c.maxTsNs(),
      checksum: crc32(bytes),
      sizeBytes: bytes.length,
      entries: c.entries(),
      uncompressedBytes: c.uncompressedBytes(),
    },
  };
}

/** Stores chunks and writes one index segment per call, as one ingester flush does. */
export async function flushChunks(client: ObjectClient, writer: IndexWriter, tenant: string, chunks: readonly { labels: Labels; entries: readonly TEntry[] }[]): Promise<ChunkRef[]> {
  const store = new ChunkStore(client, { cacheBytes: 0 });
  const refs: ChunkRef[] = [];
  const series = new Map<string, Labels>();
  for (const c of chunks) {
    const { ref, bytes } = makeChunk(tenant, c.labels, c.entries);
    await store.put(ref, bytes);
    refs.push(ref);
    series.set(ref.fingerprint, c.labels);
  }
  await writer.writeSegments(tenant, [...series].map(([fp, labels]) => ({ fingerprint: fp, labels })), refs);
  return refs;
}

/**
 * Everything a query for `{job="test"}` over [fromNs, throughNs] reads, as sorted
 * `stream|ts|line` rows (one row per stored entry, so an entry stored twice appears twice).
 * A fresh reader and no caches, like a new querier.
 */
export async function visibleRows(client: ObjectClient, tenant: string, fromNs: bigint, throughNs: bigint): Promise<string[]> {
  const reader = new IndexReader(client, { cacheBytes: 0 });
  const store = new ChunkStore(client, { cacheBytes: 0 });
  const { series, refs } = await reader.chunkRefs(tenant, fromNs, throughNs, [testMatcher('job', '=', 'test')]);
  const rows: string[] = [];
  for (const ref of refs) {
    const labels = series.get(ref.fingerprint)!;
    const stream = labels.find((l) => l.name === 'stream')?.value ?? '';
    const chunk = decodeChunk(await store.get(ref));
    for (let b = 0; b < chunk.blockMetas().length; b++) {
      const blk = chunk.readBlock(b);
      for (let i = 0; i < blk.n; i++) {
        const ts = blk.baseNs + BigInt(blk.tsRel[i]!);
        if (ts < fromNs || ts > throughNs) continue;
        rows.push(`${stream}|${ts}|${blk.lines.toString('utf8', blk.lineOffsets[i]!, blk.lineOffsets[i + 1]!)}`);
      }
    }
  }
  return rows.sort();
}
