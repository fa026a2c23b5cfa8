import { decodeChunk, type ChunkIndex, type ReadableChunk } from '../chunk/index.js';
import type { IngesterQuerier } from '../ingester/client.js';
import type { BlockVisit, EntrySource } from '../logql/engine/source.js';
import { compileLineFilters, requiredTokenHashes, selectorMatchers } from '../logql/log/index.js';
import type { LogSelectorExpr } from '../logql/syntax/index.js';
import type { Labels } from '../model/index.js';
import { chunkKey, type ChunkRef } from '../storage/index.js';
import type { BlockCache } from './block-cache.js';
import type { Store } from './querier.js';
import { blockRange, ScanContext, ScanStats, type BlockFilter } from './scan.js';

/**
 * Hands the metric engine every selected entry of a selector, block by block, from ingester
 * memory (unflushed chunks only) and stored chunks, each entry exactly once. Time range,
 * line filters and token filters are applied here, a block at a time.
 */
export class QuerierEntrySource implements EntrySource {
  /** Counters of everything this source read, for the query's stats. */
  readonly stats = new ScanStats();
  private readonly ctx = new ScanContext();

  constructor(
    private readonly tenant: string,
    private readonly ingester: IngesterQuerier | null,
    private readonly store: Store,
    private readonly concurrency: number,
    private readonly blocks: BlockCache | null = null,
  ) {}

  async scan(selector: LogSelectorExpr, fromNs: bigint, throughNs: bigint, visit: (v: BlockVisit) => void): Promise<void> {
    const matchers = selectorMatchers(selector);
    const filter: BlockFilter | null = compileLineFilters(selector);
    const required = requiredTokenHashes(selector);
    const stats = this.stats;
    const ctx = this.ctx;
    const mayMatch = (idx: ChunkIndex, b: number): boolean => {
      const m = idx.blockMetas()[b]!;
      if (m.maxTsNs < fromNs || m.minTsNs > throughNs) return false;
      if (required.length > 0 && !idx.blockMayContainAll(b, required)) {
        stats.blocksSkippedByBloom++;
        stats.bytesSkippedByBloom += m.uncompressedBytes;
        stats.bytesProcessed += m.uncompressedBytes;
        stats.linesProcessed += m.entries;
        return false;
      }
      return true;
    };
    const visitChunk = (chunk: ReadableChunk, blockCount: number, head: import('../chunk/index.js').DecodedBlock | null, labels: Labels, fingerprint: string, key: string | null): void => {
      for (let b = -1; b < blockCount; b++) {
        let block;
        if (b < 0) {
          if (!head) continue;
          block = head;
        } else {
          if (!mayMatch(chunk, b)) {
            stats.blocksSkipped++;
            continue;
          }
          block = this.blocks ? this.blocks.read(chunk, key, b) : chunk.readBlock(b);
          stats.decompressedBytes += chunk.blockMetas()[b]!.uncompressedBytes;
        }
        const { lo, hi } = blockRange(block, fromNs, throughNs);
        if (lo >= hi) continue;
        stats.blocksScanned++;
        stats.linesProcessed += hi - lo;
        stats.bytesProcessed += block.lineOffsets[hi]! - block.lineOffsets[lo]!;
        const sel = ctx.selection(block.n);
        sel.fill(0, 0, block.n);
        sel.fill(1, lo, hi);
        if (filter) filter.apply(block.lines, block.lineOffsets, block.n, sel);
        visit({ labels, fingerprint, block, lo, hi, sel });
      }
    };

    if (this.ingester) {
      for (const s of this.ingester.selectStreams(this.tenant, matchers, fromNs, throughNs, true)) {
        for (const c of s.chunks) visitChunk(c.chunk, c.blockCount, c.head, s.labels, s.fingerprint, null);
      }
    }
    const { series, refs } = await this.store.chunkRefs(this.tenant, fromNs, throughNs, matchers);
    const byIndex = required.length > 0;
    const fetchOne = (r: ChunkRef): Promise<Buffer | ChunkIndex | Error> =>
      (byIndex ? this.store.getChunkIndex(r) : this.store.getChunk(r)).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    const inflight: Promise<Buffer | ChunkIndex | Error>[] = [];
    const conc = Math.max(1, this.concurrency);
    for (let i = 0; i < refs.length && i < conc; i++) inflight.push(fetchOne(refs[i]!));
    for (let i = 0; i < refs.length; i++) {
      if (i + conc < refs.length) inflight.push(fetchOne(refs[i + conc]!));
      const ref = refs[i]!;
      let got = await inflight[i]!;
      delete inflight[i];
      if (got instanceof Error) throw got;
      const labels = series.get(ref.fingerprint);
      if (!labels) continue;
      if (!Buffer.isBuffer(got)) {
        const idx = got;
        let any = false;
        for (let b = 0; b < idx.blockMetas().length && !any; b++) {
          const m = idx.blockMetas()[b]!;
          any = m.maxTsNs >= fromNs && m.minTsNs <= throughNs && idx.blockMayContainAll(b, required);
        }
        if (!any) {
          for (let b = 0; b < idx.blockMetas().length; b++) mayMatch(idx, b);
          stats.chunksSkipped++;
          continue;
        }
        got = await this.store.getChunk(ref);
      }
      stats.chunksFetched++;
      stats.compressedBytesFetched += got.length;
      const chunk = decodeChunk(got);
      visitChunk(chunk, chunk.blockMetas().length, null, labels, ref.fingerprint, chunkKey(ref));
    }
  }
}
