import { decodeChunk, readBlockAsync, type ChunkIndex, type DecodedBlock, type ReadableChunk } from '../chunk/index.js';
import type { IngesterQuerier } from '../ingester/client.js';
import type { BlockVisit, EntrySource } from '../logql/engine/source.js';
import { compileLineFilters, requiredTokenHashes, selectorMatchers } from '../logql/log/index.js';
import type { LogSelectorExpr } from '../logql/syntax/index.js';
import type { Labels } from '../model/index.js';
import { chunkKey, type ChunkRef } from '../storage/index.js';
import { storedCopies, withoutCopies } from './memory-copies.js';
import type { BlockCache } from './block-cache.js';
import type { Store } from './querier.js';
import { NO_DEADLINE, type Deadline } from './deadline.js';
import { blockRange, ScanContext, ScanStats, type BlockFilter, type TenantDeletes } from './scan.js';

/**
 * Hands the metric engine every selected entry of a selector, block by block, from ingester
 * memory and stored chunks, each entry exactly once (a flushed chunk still in memory is read
 * there, and its stored copy skipped). Time range, line filters and token filters are applied
 * here, a block at a time.
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
    /** Delete requests applied at query time (null: none). */
    private readonly deletes: TenantDeletes | null = null,
    /** The query's time budget. */
    private readonly deadline: Deadline = NO_DEADLINE,
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
    const visitChunk = (chunk: ReadableChunk, blockCount: number, head: DecodedBlock | null, labels: Labels, fingerprint: string, key: string | null, ready: Map<number, DecodedBlock> | null): void => {
      const deleter = this.deletes === null ? null : this.deletes.forStream(labels);
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
          block = ready?.get(b) ?? (this.blocks ? this.blocks.read(chunk, key, b) : chunk.readBlock(b));
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
        if (deleter) deleter.apply(block, lo, hi, sel);
        visit({ labels, fingerprint, block, lo, hi, sel });
      }
    };

    // Memory first, then the index (see memory-copies.ts).
    const memory = this.ingester ? this.ingester.selectStreams(this.tenant, matchers, fromNs, throughNs) : [];
    for (const s of memory) {
      for (const c of s.chunks) visitChunk(c.chunk, c.blockCount, c.head, s.labels, s.fingerprint, null, null);
    }
    const read = this.deadline.read;
    const listed = await this.deadline.wait(this.store.chunkRefs(this.tenant, fromNs, throughNs, matchers, read));
    const series = listed.series;
    const refs = withoutCopies(listed.refs, storedCopies(memory));
    const byIndex = required.length > 0;
    const candidate = (idx: ChunkIndex, b: number): boolean => {
      const m = idx.blockMetas()[b]!;
      return m.maxTsNs >= fromNs && m.minTsNs <= throughNs && (required.length === 0 || idx.blockMayContainAll(b, required));
    };
    type Prepared = { skip: ChunkIndex } | { chunk: ReadableChunk; key: string; bytes: number; blocks: Map<number, DecodedBlock> } | Error;
    // Runs up to `concurrency` chunks ahead of the scan: fetch (tail first for needle
    // queries), then decompress the blocks that may match on the libuv threadpool, so the
    // other core works while this thread evaluates.
    const prepare = async (r: ChunkRef): Promise<Prepared> => {
      try {
        if (byIndex) {
          const idx = await this.store.getChunkIndex(r, read);
          let any = false;
          for (let b = 0; b < idx.blockMetas().length && !any; b++) any = candidate(idx, b);
          if (!any) return { skip: idx };
        }
        const body = await this.store.getChunk(r, read);
        const chunk = decodeChunk(body);
        const key = chunkKey(r);
        const want: number[] = [];
        for (let b = 0; b < chunk.blockMetas().length; b++) if (candidate(chunk, b)) want.push(b);
        const decoded = await Promise.all(want.map((b) => (this.blocks ? this.blocks.readAsync(chunk, key, b) : readBlockAsync(chunk, b))));
        const blocks = new Map<number, DecodedBlock>();
        want.forEach((b, j) => blocks.set(b, decoded[j]!));
        return { chunk, key, bytes: body.length, blocks };
      } catch (e) {
        return e instanceof Error ? e : new Error(String(e));
      }
    };
    const inflight: Promise<Prepared>[] = [];
    const conc = Math.max(1, this.concurrency);
    for (let i = 0; i < refs.length && i < conc; i++) inflight.push(prepare(refs[i]!));
    for (let i = 0; i < refs.length; i++) {
      if (i + conc < refs.length) inflight.push(prepare(refs[i + conc]!));
      const ref = refs[i]!;
      const got = await this.deadline.wait(inflight[i]!);
      delete inflight[i];
      if (got instanceof Error) throw got;
      const labels = series.get(ref.fingerprint);
      if (!labels) continue;
      if ('skip' in got) {
        for (let b = 0; b < got.skip.blockMetas().length; b++) mayMatch(got.skip, b);
        stats.chunksSkipped++;
        continue;
      }
      stats.chunksFetched++;
      stats.compressedBytesFetched += got.bytes;
      visitChunk(got.chunk, got.chunk.blockMetas().length, null, labels, ref.fingerprint, got.key, got.blocks);
    }
  }
}
