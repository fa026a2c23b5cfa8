/**
 * The read side of a Silt process, built the same way by the process itself (`App`) and by
 * its querier threads (`querier-thread.ts`): the object store, the chunk and index readers
 * with their caches, the querier, and the function that runs a frontend's piece against the
 * querier's own query routes. Also the cache and object store metrics both register.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LimitsConfig, SiltConfig } from '../config/config.js';
import type { IngesterQuerier } from '../ingester/client.js';
import { parseExpr, printExpr } from '../logql/syntax/index.js';
import { MultiTenantQuerier } from '../querier/multi-tenant.js';
import { Querier } from '../querier/querier.js';
import type { PieceExecutor } from '../querier/worker.js';
import type { WorkMessage } from '../frontend/wire.js';
import type { ResultsCache } from '../frontend/results-cache.js';
import { HttpServer } from '../server/http.js';
import { registerRoutes } from '../server/routes.js';
import { ChunkStore, FilesystemObjectClient, IndexReader, InstrumentedObjectClient, MemoryObjectClient, S3ObjectClient, type ObjectClient, type ReadOptions } from '../storage/index.js';
import type { DeleteRequestsStore } from '../compactor/index.js';
import { StoreAdapter } from './store.js';
import { indexRequestDuration } from './index-metrics.js';
import type { BuildInfo } from './version.js';

/** Loki's embedded cache sizes are MB of 10^6 bytes. */
export const MB = 1_000_000;

/** A cache's byte budget: disabled, its Loki-style `max_size_mb`, or the older byte setting. */
function cacheBytes(embedded: { enabled: boolean; max_size_mb: number }, legacyBytes: number): number {
  if (!embedded.enabled) return 0;
  return embedded.max_size_mb > 0 ? embedded.max_size_mb * MB : legacyBytes;
}

/**
 * Shares of ingester.memory_limit each cache may hold at most (ADR 0024): with the ingester's
 * own data at the limit, the caches add at most 3/8 of it.
 */
export const CACHE_SHARE = { chunks: 1 / 8, blocks: 1 / 8, index: 1 / 16, results: 1 / 16 } as const;

/** A cache budget capped at `share` of the memory limit (uncapped when the limit is 0). */
export function memoryCapped(bytes: number, memoryLimit: number, share: number): number {
  return memoryLimit > 0 ? Math.min(bytes, Math.floor(memoryLimit * share)) : bytes;
}

/** The object store in words, for logs: `filesystem /abs/data/chunks`, `S3 bucket "b" at http://…`. */
export function describeObjectStore(cfg: SiltConfig): string {
  const st = cfg.storage_config;
  switch (st.object_store) {
    case 'memory':
      return 'memory (nothing survives a restart)';
    case 'filesystem':
      return `filesystem ${path.resolve(st.filesystem.directory)}`;
    case 's3':
    case 'aws': {
      const a = st.aws;
      const where = a.endpoint !== '' ? a.endpoint : `AWS region ${a.region !== '' ? a.region : 'us-east-1'}`;
      return `S3 bucket "${a.bucketnames}"${a.storage_prefix !== '' ? ` under "${a.storage_prefix}"` : ''} at ${where}`;
    }
  }
}

/** The `bucket` label of the object store metrics: the S3 bucket, the directory, or `memory`. */
export function bucketLabel(cfg: SiltConfig): string {
  const st = cfg.storage_config;
  if (st.object_store === 'memory') return 'memory';
  if (st.object_store === 'filesystem') return path.resolve(st.filesystem.directory);
  return st.aws.bucketnames;
}

/** The object store named by `storage_config.object_store`. */
export function newObjectClient(cfg: SiltConfig, registry: Registry): ObjectClient {
  const st = cfg.storage_config;
  switch (st.object_store) {
    case 'memory':
      return new MemoryObjectClient();
    case 'filesystem':
      return new FilesystemObjectClient(st.filesystem.directory);
    case 's3':
    case 'aws': {
      const a = st.aws;
      return new S3ObjectClient({
        bucket: a.bucketnames,
        endpoint: a.endpoint,
        region: a.region,
        accessKeyId: a.access_key_id,
        secretAccessKey: a.secret_access_key,
        sessionToken: a.session_token,
        insecure: a.insecure,
        forcePathStyle: a.s3forcepathstyle,
        keyPrefix: a.storage_prefix,
        requestTimeoutMs: a.http_config.response_header_timeout,
        maxConcurrency: a.http_config.max_connections_per_host,
        minBackoffMs: a.backoff_config.min_period,
        maxBackoffMs: a.backoff_config.max_period,
        maxRetries: a.backoff_config.max_retries,
      }, s3DurationObserver(registry));
    }
  }
}

/**
 * A counter that mirrors a monotonically growing number read at scrape time (the caches and
 * the S3 client keep plain counters on their hot paths).
 */
export function mirrorCounter(registry: Registry, name: string, help: string, label: string, sources: Record<string, () => number>): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      for (const [k, read] of Object.entries(sources)) {
        const v = read();
        const d = v - (last.get(k) ?? 0);
        if (d > 0) this.inc({ [label]: k }, d);
        else if (d === 0 && !last.has(k)) this.inc({ [label]: k }, 0);
        last.set(k, v);
      }
    },
  });
}

/** What the cache metrics read from a ByteLru. */
export interface CacheCounters {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly rejections: number;
  readonly sizeBytes: number;
  /** Memory the entries take when more than sizeBytes (the chunk cache's slabs); sizeBytes when absent. */
  readonly memoryBytes?: number;
}

/** silt_cache_{hits,misses,evictions,rejections}_total, silt_cache_size_bytes and silt_cache_memory_bytes, by cache. */
export function registerCacheMetrics(registry: Registry, caches: Record<string, CacheCounters>): void {
  const per = (f: (c: CacheCounters) => number): Record<string, () => number> =>
    Object.fromEntries(Object.entries(caches).map(([k, c]) => [k, () => f(c)]));
  mirrorCounter(registry, 'silt_cache_hits_total', 'Cache lookups that found an entry.', 'cache', per((c) => c.hits));
  mirrorCounter(registry, 'silt_cache_misses_total', 'Cache lookups that found nothing.', 'cache', per((c) => c.misses));
  mirrorCounter(registry, 'silt_cache_evictions_total', 'Entries evicted to stay within the byte budget.', 'cache', per((c) => c.evictions));
  mirrorCounter(registry, 'silt_cache_rejections_total', 'New entries a full cache refused: asked for less often than those they would evict.', 'cache', per((c) => c.rejections));
  new Gauge({
    name: 'silt_cache_size_bytes',
    help: 'Bytes held by each cache.',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      for (const [k, c] of Object.entries(caches)) this.set({ cache: k }, c.sizeBytes);
    },
  });
  new Gauge({
    name: 'silt_cache_memory_bytes',
    help: 'Memory each cache takes: its entries, and the room chunks that left the chunk cache leave in its slabs until they are let go.',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      for (const [k, c] of Object.entries(caches)) this.set({ cache: k }, c.memoryBytes ?? c.sizeBytes);
    },
  });
}

/**
 * Loki's loki_s3_request_duration_seconds{operation, status_code}, per request attempt:
 * operation `S3.PutObject`, `S3.GetObject`, … as Loki's; status `200`, the HTTP status of an
 * error answer, `timeout`, `canceled` (the query gave up) or `error` (no answer), where Loki
 * says `500` for every failure. Buckets reach 30 s, the default request timeout.
 */
function s3DurationObserver(registry: Registry): (operation: string, status: string, seconds: number) => void {
  const h = new Histogram({
    name: 'loki_s3_request_duration_seconds',
    help: 'Time spent doing S3 requests.',
    labelNames: ['operation', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return (operation, status, seconds) => h.observe({ operation: `S3.${operation}`, status_code: status }, seconds);
}

/** silt_s3_requests_total, silt_s3_request_retries_total, silt_s3_request_failures_total. */
export function registerS3Metrics(registry: Registry, s3: S3ObjectClient): void {
  const one = (f: () => number): Record<string, () => number> => ({ [s3.cfg.bucket]: f });
  mirrorCounter(registry, 'silt_s3_requests_total', 'S3 requests sent, retries included.', 'bucket', one(() => s3.stats.requests));
  mirrorCounter(registry, 'silt_s3_request_retries_total', 'S3 requests retried after a transient failure.', 'bucket', one(() => s3.stats.retries));
  mirrorCounter(registry, 'silt_s3_request_failures_total', 'S3 operations that failed after every retry.', 'bucket', one(() => s3.stats.failures));
  new Gauge({
    name: 'silt_s3_requests_in_flight',
    help: 'S3 requests sent and not yet answered or aborted (at most max_connections_per_host).',
    labelNames: ['bucket'],
    registers: [registry],
    collect() {
      this.set({ bucket: s3.cfg.bucket }, s3.stats.inFlight);
    },
  });
}

/** Byte budgets of one querier's caches (ADR 0024 caps applied). */
export interface ReadCacheSizes {
  chunks: number;
  index: number;
  blocks: number;
}

/**
 * The cache budgets of each of `queriers` queriers of one process (the process's own and its
 * querier threads): the configured sizes, capped by `ingester.memory_limit` (ADR 0024); the
 * chunk and decoded-block caches are then shared out evenly (with shard affinity each querier
 * reads its own streams, ADR 0029), so that threads add cores, not cache memory. The index
 * cache is not: every querier looks up the same per-day index.
 */
export function readCacheSizes(cfg: SiltConfig, queriers = 1): ReadCacheSizes {
  const st = cfg.storage_config;
  const mem = cfg.ingester.memory_limit;
  const each = (bytes: number): number => Math.floor(bytes / Math.max(1, queriers));
  return {
    chunks: each(memoryCapped(cacheBytes(cfg.chunk_store_config.chunk_cache_config.embedded_cache, st.chunk_cache_size), mem, CACHE_SHARE.chunks)),
    index: memoryCapped(cacheBytes(st.index_queries_cache_config.embedded_cache, st.index_cache_size), mem, CACHE_SHARE.index),
    blocks: each(memoryCapped(cfg.querier.block_cache_size, mem, CACHE_SHARE.blocks)),
  };
}

/** The configured object store, instrumented (`bucket` label), its S3 metrics registered. */
export function newObjectStore(cfg: SiltConfig, registry: Registry): { raw: ObjectClient; objects: ObjectClient } {
  const raw = newObjectClient(cfg, registry);
  if (raw instanceof S3ObjectClient) registerS3Metrics(registry, raw);
  return { raw, objects: new InstrumentedObjectClient(raw, registry, bucketLabel(cfg)) };
}

/** What a querier reads stored data with: the chunk store (the ingester writes through it too), the querier's Store, and their caches by metric name. */
export interface StoreReaders {
  chunkStore: ChunkStore;
  store: StoreAdapter;
  caches: Record<string, CacheCounters>;
}

/** The chunk store, index reader and querier Store over `objects`, with caches of `sizes`. */
export function newStoreReaders(objects: ObjectClient, cfg: SiltConfig, sizes: ReadCacheSizes, registry: Registry): StoreReaders {
  // Chunks are decoded with decodeChunk, whose metas and per-block crc32 catch corruption.
  const chunkStore = new ChunkStore(objects, { cacheBytes: sizes.chunks, verifyChecksum: false });
  const indexReader = new IndexReader(objects, { cacheBytes: sizes.index, listCacheTtlMs: cfg.storage_config.index_list_ttl });
  const store = new StoreAdapter(chunkStore, indexReader, indexRequestDuration(registry));
  return { chunkStore, store, caches: { chunks: chunkStore.cache, chunk_tails: chunkStore.indexCache, index: indexReader.cache } };
}

/** The querier of `cfg` (multi-tenant when configured) over `store` and `ingester`. */
export function newQuerier(
  cfg: SiltConfig,
  deps: {
    store: StoreAdapter;
    ingester: IngesterQuerier | null;
    limits: (tenant: string) => LimitsConfig;
    deletes: DeleteRequestsStore;
    blockCacheBytes: number;
    dedup: boolean;
    logger: Logger;
    /** Queriers in this process (its own and its querier threads). */
    queriers: number;
  },
): Querier {
  const d = {
    // Metric queries decompress ahead on the threadpool only while a core has no querier of its own.
    decodeAhead: deps.queriers < availableParallelism(),
    cfg: { ...cfg.querier, block_cache_size: deps.blockCacheBytes },
    limits: deps.limits,
    ingester: deps.ingester,
    dedup: deps.dedup,
    store: deps.store,
    logger: deps.logger,
    deletes: (tenant: string, opts?: ReadOptions) => deps.deletes.deleterFor(tenant, opts),
  };
  return cfg.querier.multi_tenant_queries_enabled ? new MultiTenantQuerier(d) : new Querier(d);
}

/**
 * Runs a frontend's piece against `querier`'s own query routes (a router, no socket): what
 * in-process slots, the gRPC frontend worker and querier threads all call. `signal` is the
 * frontend cancelling the piece, as a client going away over HTTP.
 */
export function newPieceExecutor(querier: Querier, cfg: SiltConfig, o: { logger: Logger; registry: Registry; build: BuildInfo; rangeMetricQuery: ResultsCache | null }): PieceExecutor {
  const router = new HttpServer({
    logger: o.logger,
    // Pieces are counted by the frontend's request metrics, not again here.
    registry: new Registry(),
    authEnabled: cfg.auth_enabled,
    multiTenantQueries: cfg.querier.multi_tenant_queries_enabled,
    maxBodyBytes: cfg.limits_config.max_push_body_size,
    readTimeoutMs: cfg.server.http_server_read_timeout,
    idleTimeoutMs: cfg.server.http_server_idle_timeout,
  });
  const rmq = o.rangeMetricQuery;
  registerRoutes(router, {
    push: null,
    querier,
    rangeMetricQuery: rmq ? (r) => rmq.metricQuery(r) : null,
    supportParquetEncoding: cfg.frontend.support_parquet_encoding,
    registry: o.registry,
    readiness: () => ({ ready: true, reason: '' }),
    configYaml: () => '',
    runtimeConfigYaml: () => '',
    formatQuery: (x) => printExpr(parseExpr(x)),
    build: o.build,
    services: () => [],
  });
  return async (w: WorkMessage, signal: AbortSignal) => {
    const headers: Record<string, string> = Object.fromEntries(w.headers);
    headers['x-scope-orgid'] = w.tenant;
    const res = await router.dispatch({ method: 'GET', path: w.path, params: new URLSearchParams(w.params), headers, signal });
    const body = res.body === undefined ? Buffer.alloc(0) : typeof res.body === 'string' ? Buffer.from(res.body) : res.body;
    return { status: res.status, contentType: res.contentType ?? 'text/plain; charset=utf-8', body };
  };
}
