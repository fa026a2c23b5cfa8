import type { ChunkIndex, DecodedBlock, ReadableChunk } from '../chunk/index.js';
import type { IngesterQuerier } from '../ingester/client.js';
import type { BlockVisit, EntrySource } from '../logql/engine/source.js';
import { compileLineFilters, requiredBlockProbe, selectorMatchers } from '../logql/log/index.js';
import type { LogSelectorExpr } from '../logql/syntax/index.js';
import type { Labels } from '../model/index.js';
import type { BlockCache } from './block-cache.js';
import type { Store } from './querier.js';
import { NO_DEADLINE, type Deadline } from './deadline.js';
import { blockRange, ScanContext, ScanStats, type BlockFilter, type TenantDeletes } from './scan.js';
import { planScan, StoredPrefetch } from './sources.js';
import type { Shard } from './shard.js';
import type { QueryBytesBudget } from './bytes-budget.js';

/** How a metric query's source reads stored chunks ahead of its scan. */
export interface PrefetchOptions {
  /** Chunks fetched ahead of the one being scanned. */
  concurrency: number;
  /**
   * Decompress their blocks on the libuv threadpool (when a core would otherwise idle). Off
   * when every core runs a querier (querier threads): the threadpool then competes with the
   * queriers and costs ~30 % more CPU than decompressing in the scan (bench/RESULTS.md).
   */
  decodeAhead: boolean;
}

/**
 * Hands the metric engine every selected entry of a selector, block by block, from ingester
 * memory and stored chunks, each entry once (the choice of chunks is sources.ts's). Time
 * range, line filters and token filters are applied here, a block at a time.
 */
export class QuerierEntrySource implements EntrySource {
  /** Counters of everything this source read, for the query's stats. */
  readonly stats = new ScanStats();
  /** The query's byte budget, checked as each selector's chunks are planned (null: no limit). */
  budget: QueryBytesBudget | null = null;
  private readonly ctx = new ScanContext();

  constructor(
    private readonly tenant: string,
    private readonly ingester: IngesterQuerier | null,
    private readonly store: Store,
    /** How stored chunks are read ahead of the scan. */
    private readonly prefetch: PrefetchOptions,
    private readonly blocks: BlockCache | null = null,
    /** Delete requests applied at query time (null: none). */
    private readonly deletes: TenantDeletes | null = null,
    /** The query's time budget. */
    private readonly deadline: Deadline = NO_DEADLINE,
    /** Merge overlapping copies of a stream (replicas). */
    private readonly dedup = false,
    /** Only this shard's streams (query-frontend pieces); null: all. */
    private readonly shard: Shard | null = null,
  ) {}

  async scan(selector: LogSelectorExpr, fromNs: bigint, throughNs: bigint, visit: (v: BlockVisit) => void): Promise<void> {
    const matchers = selectorMatchers(selector);
    const filter: BlockFilter | null = compileLineFilters(selector);
    const required = requiredBlockProbe(selector);
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
    const visitChunk = (chunk: ReadableChunk | null, head: DecodedBlock | null, labels: Labels, fingerprint: string, key: string | null, ready: ReadonlyMap<number, DecodedBlock> | null): void => {
      const deleter = this.deletes === null ? null : this.deletes.forStream(labels);
      const blockCount = chunk === null ? 0 : chunk.blockMetas().length;
      for (let b = -1; b < blockCount; b++) {
        let block;
        if (b < 0) {
          if (!head) continue;
          block = head;
        } else {
          if (!mayMatch(chunk!, b)) {
            stats.blocksSkipped++;
            continue;
          }
          block = ready?.get(b) ?? (this.blocks ? this.blocks.read(chunk!, key, b) : chunk!.readBlock(b));
          stats.decompressedBytes += chunk!.blockMetas()[b]!.uncompressedBytes;
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

    const plan = await planScan({ tenant: this.tenant, matchers, fromNs, throughNs, ingester: this.ingester, store: this.store, deadline: this.deadline, dedup: this.dedup, stats, blocks: this.blocks, shard: this.shard });
    this.budget?.addPlan(plan);
    for (const s of plan.memory) {
      for (const p of s.parts) visitChunk(p.cut, p.head, s.labels, s.fingerprint, null, null);
      await this.deadline.breathe();
    }
    const refs = plan.stored;
    // Runs up to `concurrency` chunks ahead of the scan: fetch (tail first for needle
    // queries), then (decodeAhead) decompress the blocks that may match on the libuv
    // threadpool, so an idle core works while this thread evaluates.
    const fetch = new StoredPrefetch(refs, {
      store: this.store,
      deadline: this.deadline,
      concurrency: this.prefetch.concurrency,
      candidate: (idx, b) => {
        const m = idx.blockMetas()[b]!;
        return m.maxTsNs >= fromNs && m.minTsNs <= throughNs && (required.length === 0 || idx.blockMayContainAll(b, required));
      },
      byIndex: required.length > 0,
      decodeAhead: this.prefetch.decodeAhead,
      blocks: this.blocks,
      // Chunks the cache will not keep are read into memory lent until their visit is over.
      lend: true,
    });
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      const got = (await fetch.get(i))!;
      if (got instanceof Error) throw got;
      await this.deadline.breathe();
      const labels = plan.series.get(ref.fingerprint);
      if (!labels) continue;
      if ('skip' in got) {
        for (let b = 0; b < got.skip.blockMetas().length; b++) mayMatch(got.skip, b);
        stats.chunksSkipped++;
        continue;
      }
      stats.chunksFetched++;
      stats.compressedBytesFetched += got.bytes;
      visitChunk(got.chunk, null, labels, ref.fingerprint, got.key, got.blocks);
      // Visits are synchronous and keep no view of the chunk's bytes (decodeChunk's `lent`).
      got.release();
    }
  }
}
