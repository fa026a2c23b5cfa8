import type { ChunkIndex, ReadableChunk } from '../chunk/index.js';
import type { Labels, Matcher } from '../model/index.js';
import type { Store } from '../querier/querier.js';
import type { ChunkLease, ChunkRef, ChunkStore, IndexReader, ReadOptions } from '../storage/index.js';
import type { Histogram } from 'prom-client';
import { timeIndexRequest } from './index-metrics.js';

/**
 * The querier's Store, made of the index reader and the chunk store; `opts` carry the query's
 * abort signal. Index reads are timed into `loki_index_request_duration_seconds` when given.
 */
export class StoreAdapter implements Store {
  constructor(
    private readonly chunks: ChunkStore,
    private readonly index: IndexReader,
    private readonly indexDuration: Histogram<'operation' | 'status_code'> | null = null,
  ) {}

  #timed<T>(operation: string, op: () => Promise<T>): Promise<T> {
    return this.indexDuration === null ? op() : timeIndexRequest(this.indexDuration, operation, op);
  }

  chunkRefs(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: ReadOptions): Promise<{ series: Map<string, Labels>; refs: ChunkRef[] }> {
    return this.#timed('chunk_refs', () => this.index.chunkRefs(tenant, fromNs, throughNs, matchers, opts));
  }
  getChunk(ref: ChunkRef, opts?: ReadOptions): Promise<Buffer> {
    return this.chunks.get(ref, opts);
  }
  getChunkForScan(ref: ChunkRef, opts?: ReadOptions): Promise<ChunkLease> {
    return this.chunks.getForScan(ref, opts);
  }
  getChunkIndex(ref: ChunkRef, opts?: ReadOptions): Promise<ChunkIndex> {
    return this.chunks.getIndex(ref, opts);
  }
  getChunkBlocksForScan(ref: ChunkRef, index: ChunkIndex, blocks: readonly number[], opts?: ReadOptions): Promise<{ chunk: ReadableChunk; bytes: number } | null> {
    return this.chunks.getBlocksForScan(ref, index, blocks, opts);
  }
  series(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: ReadOptions): Promise<readonly Labels[]> {
    return this.#timed('series', () => this.index.series(tenant, fromNs, throughNs, matchers, opts));
  }
  labelNames(tenant: string, fromNs: bigint, throughNs: bigint, matchers?: readonly Matcher[], opts?: ReadOptions): Promise<readonly string[]> {
    return this.#timed('label_names', () => this.index.labelNames(tenant, fromNs, throughNs, matchers, opts));
  }
  labelValues(tenant: string, name: string, fromNs: bigint, throughNs: bigint, matchers?: readonly Matcher[], opts?: ReadOptions): Promise<readonly string[]> {
    return this.#timed('label_values', () => this.index.labelValues(tenant, name, fromNs, throughNs, matchers, opts));
  }
  stats(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: ReadOptions): Promise<{ streams: number; chunks: number; bytes: number; entries: number }> {
    return this.#timed('stats', () => this.index.stats(tenant, fromNs, throughNs, matchers, opts));
  }
}
