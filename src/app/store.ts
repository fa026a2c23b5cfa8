import type { ChunkIndex } from '../chunk/index.js';
import type { Labels, Matcher } from '../model/index.js';
import type { Store } from '../querier/querier.js';
import type { ChunkRef, ChunkStore, IndexReader, SeriesEntry } from '../storage/index.js';

/** The querier's Store, made of the index reader and the chunk store. */
export class StoreAdapter implements Store {
  constructor(
    private readonly chunks: ChunkStore,
    private readonly index: IndexReader,
  ) {}

  chunkRefs(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): Promise<{ series: Map<string, Labels>; refs: ChunkRef[] }> {
    return this.index.chunkRefs(tenant, fromNs, throughNs, matchers);
  }
  getChunk(ref: ChunkRef): Promise<Buffer> {
    return this.chunks.get(ref);
  }
  getChunkIndex(ref: ChunkRef): Promise<ChunkIndex> {
    return this.chunks.getIndex(ref);
  }
  series(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): Promise<SeriesEntry[]> {
    return this.index.series(tenant, fromNs, throughNs, matchers);
  }
  labelNames(tenant: string, fromNs: bigint, throughNs: bigint, matchers?: readonly Matcher[]): Promise<string[]> {
    return this.index.labelNames(tenant, fromNs, throughNs, matchers);
  }
  labelValues(tenant: string, name: string, fromNs: bigint, throughNs: bigint, matchers?: readonly Matcher[]): Promise<string[]> {
    return this.index.labelValues(tenant, name, fromNs, throughNs, matchers);
  }
  stats(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[]): Promise<{ streams: number; chunks: number; bytes: number; entries: number }> {
    return this.index.stats(tenant, fromNs, throughNs, matchers);
  }
}
