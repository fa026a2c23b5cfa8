/**
 * The ingester's chunk sink as the app wires it: every chunk upload and index write of a
 * flush goes through here, which
 * - records Loki's per-chunk flush metrics when a chunk is stored (`loki_ingester_chunk_*`,
 *   observed as Loki's `reportFlushedChunkStatistics` does) and times index writes
 *   (`loki_index_request_duration_seconds{operation="index_chunk"}`);
 * - logs the object store's failures once per state change (DeliveryLog): the first failed
 *   upload with its cause, one line when uploads work again. The ingester itself logs each
 *   failed attempt at debug only.
 */
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ChunkSink } from '../ingester/ingester.js';
import type { ChunkRef, SeriesEntry } from '../storage/index.js';
import { DeliveryLog } from '../util/delivery-log.js';
import { indexRequestDuration, timeIndexRequest } from './index-metrics.js';

const NS_PER_S = 1e9;
const S_PER_HOUR = 3600;

export interface FlushSinkOptions {
  /** Where chunks and index segments are written. */
  inner: ChunkSink;
  registry: Registry;
  logger: Logger;
  /** The object store, for the log lines: `filesystem /data/chunks`, `S3 bucket "b" at http://…`. */
  storeName: string;
  /** ingester.chunk_target_size: a chunk's utilization is its size over this (Loki's MemChunk.Utilization). */
  chunkTargetSizeBytes: number;
  nowMs?: () => number;
}

/** The instrumented, logging ChunkSink. */
export class FlushSink implements ChunkSink {
  readonly #o: FlushSinkOptions;
  readonly #now: () => number;
  readonly #log: DeliveryLog;
  readonly #index: Histogram<'operation' | 'status_code'>;
  readonly #m;

  constructor(o: FlushSinkOptions) {
    this.#o = o;
    this.#now = o.nowMs ?? Date.now;
    this.#log = new DeliveryLog({
      logger: o.logger,
      action: 'flushing chunks',
      target: `the object store (${o.storeName})`,
      meanwhile: 'chunks stay in memory and in the WAL and are retried with backoff',
    });
    this.#index = indexRequestDuration(o.registry);
    const registers = [o.registry];
    // Loki's pkg/ingester/metrics.go: names, help, buckets.
    this.#m = {
      utilization: new Histogram({ name: 'loki_ingester_chunk_utilization', help: 'Distribution of stored chunk utilization (when stored).', buckets: [0, 0.2, 0.4, 0.6, 0.8, 1], registers }),
      size: new Histogram({ name: 'loki_ingester_chunk_size_bytes', help: 'Distribution of stored chunk sizes (when stored).', buckets: Array.from({ length: 10 }, (_, i) => 20_000 * 2 ** i), registers }),
      ratio: new Histogram({ name: 'loki_ingester_chunk_compression_ratio', help: 'Compression ratio of chunks (when stored).', buckets: Array.from({ length: 10 }, (_, i) => 0.75 + 2 * i), registers }),
      age: new Histogram({ name: 'loki_ingester_chunk_age_seconds', help: 'Distribution of chunk ages (when stored).', buckets: [60, 300, 600, 1800, 3600, 7200, 14400, 36000, 43200, 57600], registers }),
      bounds: new Histogram({ name: 'loki_ingester_chunk_bounds_hours', help: 'Distribution of chunk end-start durations.', buckets: [1, 2, 3, 4, 5, 6, 7, 8], registers }),
      stored: new Counter({ name: 'loki_ingester_chunks_stored_total', help: 'Total stored chunks per tenant.', labelNames: ['tenant'], registers }),
      storedBytes: new Counter({ name: 'loki_ingester_chunk_stored_bytes_total', help: 'Total bytes stored in chunks per tenant.', labelNames: ['tenant'], registers }),
    };
  }

  async putChunk(ref: ChunkRef, bytes: Buffer): Promise<void> {
    try {
      await this.#o.inner.putChunk(ref, bytes);
    } catch (e) {
      this.#log.failed(e);
      throw e;
    }
    this.#log.succeeded();
    const m = this.#m;
    const size = bytes.length;
    if (this.#o.chunkTargetSizeBytes > 0) m.utilization.observe(size / this.#o.chunkTargetSizeBytes);
    m.size.observe(size);
    if (size > 0 && ref.uncompressedBytes > 0) m.ratio.observe(ref.uncompressedBytes / size);
    m.age.observe(Math.max(0, this.#now() / 1000 - Number(ref.fromNs) / NS_PER_S));
    m.bounds.observe(Number(ref.throughNs - ref.fromNs) / NS_PER_S / S_PER_HOUR);
    m.stored.inc({ tenant: ref.tenant });
    m.storedBytes.inc({ tenant: ref.tenant }, size);
  }

  async writeIndex(tenant: string, series: SeriesEntry[], refs: ChunkRef[]): Promise<void> {
    try {
      await timeIndexRequest(this.#index, 'index_chunk', () => this.#o.inner.writeIndex(tenant, series, refs));
    } catch (e) {
      this.#log.failed(e);
      throw e;
    }
    this.#log.succeeded();
  }

  notToReindex(refs: readonly ChunkRef[]): Promise<Set<string>> {
    const inner = this.#o.inner;
    return inner.notToReindex !== undefined ? inner.notToReindex(refs) : Promise.resolve(new Set<string>());
  }
}
