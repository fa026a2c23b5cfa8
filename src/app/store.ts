import type { ChunkIndex } from '../chunk/index.js';
import type { Labels, Matcher } from '../model/index.js';
import type { Store } from '../querier/querier.js';
import type { ChunkRef, ChunkStore, IndexReader, ReadOptions, SeriesEntry } from '../storage/index.js';

/** The querier's Store, made of the index reader and the chunk store; `opts` carry the query's abort signal. */
export class StoreAdapter implements Store {
  constructor(
    private readonly chunks: ChunkStore,
    private readonly index: IndexReader,
  ) {}

  chunkRefs(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: ReadOptions): Promise<{ series: Map<string, Labels>; refs: ChunkRef[] }> {
    return this.index.chunkRefs(tenant, fromNs, throughNs, matchers, opts);
  }
  getChunk(ref: ChunkRef, opts?: ReadOptions): Promise<Buffer> {
    return this.chunks.get(ref, opts);
  }
  getChunkIndex(ref: ChunkRef, opts?: ReadOptions): Promise<ChunkIndex> {
    return this.chunks.getIndex(ref, opts);
  }
  series(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: ReadOptions): Promise<SeriesEntry[]> {
    return this.index.series(tenant, fromNs, throughNs, matchers, opts);
  }
  labelNames(tenant: string, fromNs: bigint, throughNs: bigint, matchers?: readonly Matcher[], opts?: ReadOptions): Promise<string[]> {
    return this.index.labelNames(tenant, fromNs, throughNs, matchers, opts);
  }
  labelValues(tenant: string, name: string, fromNs: bigint, throughNs: bigint, matchers?: readonly Matcher[], opts?: ReadOptions): Promise<string[]> {
    return this.index.labelValues(tenant, name, fromNs, throughNs, matchers, opts);
  }
  stats(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: ReadOptions): Promise<{ streams: number; chunks: number; bytes: number; entries: number }> {
    return this.index.stats(tenant, fromNs, throughNs, matchers, opts);
  }
}
