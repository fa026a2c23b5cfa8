import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { chunksNotToReindex, Compactor, DeleteRequestsStore } from '../compactor/index.js';
import { configToYaml, type LimitsConfig, type SiltConfig } from '../config/config.js';
import { RuntimeConfig } from '../config/runtime-config.js';
import { Distributor, decodeOtlpBody, PushDecoder } from '../distributor/index.js';
import { Ingester } from '../ingester/ingester.js';
import { parseExpr, printExpr } from '../logql/syntax/index.js';
import { MultiTenantQuerier } from '../querier/multi-tenant.js';
import { Querier } from '../querier/querier.js';
import { HttpServer } from '../server/http.js';
import { registerRoutes } from '../server/routes.js';
import { registerRulerRoutes } from '../server/routes-ruler.js';
import { ObjectRuleStore, Ruler } from '../ruler/index.js';
import { registerCompactorRoutes } from '../server/routes-compactor.js';
import { ResultsCache } from '../frontend/results-cache.js';
import { ChunkStore, FilesystemObjectClient, IndexReader, IndexWriter, MemoryObjectClient, S3ObjectClient, WriteHealth, WriteTrackingObjectClient, registerWriteHealthMetrics, type ObjectClient, type ReadOptions } from '../storage/index.js';
import { OverridesLimitsProvider } from './limits.js';
import { registerTailRoutes } from '../server/routes-tail.js';
import { registerOtlpRoutes } from '../server/routes-otlp.js';
import { GrpcServer } from '../server/grpc.js';
import { nowNs } from '../model/index.js';
import { TailManager } from '../querier/tail.js';
import { StoreAdapter } from './store.js';
import { VERSION } from './version.js';

/** Roles and what each needs in the same process (Loki's modules.go deps idea). */
const MODULES = {
  distributor: ['ingester'],
  ingester: [],
  querier: ['ingester'],
  'query-frontend': ['querier'],
  compactor: [],
  ruler: ['querier'],
} as const satisfies Record<string, readonly string[]>;

type ModuleName = keyof typeof MODULES;

/** Expands `-target` into the set of roles to run, adding in-process dependencies. */
export function resolveTargets(targets: readonly string[]): Set<ModuleName> {
  const out = new Set<ModuleName>();
  const add = (m: ModuleName): void => {
    if (out.has(m)) return;
    out.add(m);
    for (const d of MODULES[m]) add(d as ModuleName);
  };
  for (const t of targets) {
    if (t === 'all') for (const m of ['distributor', 'ingester', 'querier', 'compactor', 'ruler'] as const) add(m);
    else add(t as ModuleName);
  }
  return out;
}

/** A running Silt process: every role of its targets, wired together. */
export class App {
  readonly cfg: SiltConfig;
  readonly logger: Logger;
  readonly registry = new Registry();
  readonly objects: ObjectClient;
  /** Outcomes of the object store's writes, behind `/ready` (write_failure_unready_period). */
  readonly writeHealth: WriteHealth;
  readonly ingester: Ingester | null = null;
  readonly querier: Querier | null = null;
  readonly distributor: Distributor | null = null;
  /** Push body decoding (off the event loop for protobuf bodies, unless configured inline). */
  private readonly pushDecoder: PushDecoder;
  /** Per-tenant limit overrides (runtime_config), reloaded while running. */
  readonly runtimeConfig: RuntimeConfig;
  readonly ruler: Ruler | null = null;
  /** Object client of the local rule directory (ruler.storage.type: local). */
  private readonly ruleObjects: ObjectClient | null = null;
  readonly compactor: Compactor | null = null;
  /** Delete requests in object storage: written by the compactor's API, read by queriers. */
  readonly deleteRequests: DeleteRequestsStore;
  private readonly http: HttpServer;
  /** Live tail sessions (when this process runs a querier and an ingester). */
  readonly tails: TailManager | null = null;
  /** Port the HTTP server bound (after start). */
  httpPort = 0;
  /** The gRPC server (Loki's Pusher service) when this process runs a distributor. */
  private readonly grpc: GrpcServer | null = null;
  /** Port the gRPC server bound (after start; 0 when there is none). */
  grpcPort = 0;

  constructor(cfg: SiltConfig, logger: Logger) {
    this.cfg = cfg;
    this.logger = logger;
    collectDefaultMetrics({ register: this.registry, prefix: 'silt_' });
    const mods = resolveTargets(cfg.target);
    const objects = newObjectClient(cfg, this.registry);
    if (objects instanceof S3ObjectClient) registerS3Metrics(this.registry, objects);
    // Every put is tracked: /ready says when the store has been refusing writes for a while.
    this.writeHealth = new WriteHealth({
      unreadyAfterMs: cfg.storage_config.write_failure_unready_period,
      stuckAfterMs: objects instanceof S3ObjectClient ? objects.cfg.requestTimeoutMs : 30_000,
    });
    registerWriteHealthMetrics(this.registry, this.writeHealth);
    this.objects = new WriteTrackingObjectClient(objects, this.writeHealth);
    const rc = (this.runtimeConfig = new RuntimeConfig({
      file: cfg.runtime_config.file,
      periodMs: cfg.runtime_config.period,
      defaults: cfg.limits_config,
      logger: logger.child({ component: 'runtime-config' }),
      registry: this.registry,
    }));
    const limitsOf = (tenant: string): LimitsConfig => rc.limitsOf(tenant);
    const st = cfg.storage_config;
    // Chunks are decoded with decodeChunk, whose metas and per-block crc32 catch corruption.
    const chunkStore = new ChunkStore(this.objects, { cacheBytes: cacheBytes(cfg.chunk_store_config.chunk_cache_config.embedded_cache, st.chunk_cache_size), verifyChecksum: false });
    const indexReader = new IndexReader(this.objects, { cacheBytes: cacheBytes(st.index_queries_cache_config.embedded_cache, st.index_cache_size), listCacheTtlMs: st.index_list_ttl });
    const caches: Record<string, CacheCounters> = { chunks: chunkStore.cache, chunk_tails: chunkStore.indexCache, index: indexReader.cache };
    const indexWriter = new IndexWriter(this.objects, `${process.pid.toString(36)}-${randomBytes(4).toString('hex')}`);
    const store = new StoreAdapter(chunkStore, indexReader);
    this.deleteRequests = new DeleteRequestsStore(this.objects);
    const deleteRequests = this.deleteRequests;

    if (mods.has('ingester')) {
      this.ingester = new Ingester({
        cfg: cfg.ingester,
        limits: limitsOf,
        sink: {
          putChunk: (ref, bytes) => chunkStore.put(ref, bytes),
          writeIndex: (tenant, series, refs) => indexWriter.writeSegments(tenant, series, refs),
          notToReindex: (refs) => chunksNotToReindex(this.objects, refs),
        },
        logger: logger.child({ component: 'ingester' }),
        registry: this.registry,
      });
    }
    const tenantLimits = new OverridesLimitsProvider(rc);
    if (mods.has('distributor')) {
      this.distributor = new Distributor({ limits: tenantLimits, ingester: this.ingester!, registry: this.registry });
    }
    let rangeMetricQuery: ResultsCache | null = null;
    if (mods.has('querier')) {
      const deps = {
        cfg: cfg.querier,
        limits: limitsOf,
        ingester: this.ingester,
        store,
        logger: logger.child({ component: 'querier' }),
        deletes: (tenant: string, opts?: ReadOptions) => deleteRequests.deleterFor(tenant, opts),
      };
      this.querier = cfg.querier.multi_tenant_queries_enabled ? new MultiTenantQuerier(deps) : new Querier(deps);
      if (cfg.query_range.cache_results) {
        rangeMetricQuery = new ResultsCache(this.querier, { maxBytes: cfg.query_range.results_cache.cache.embedded_cache.max_size_mb * MB, limits: limitsOf });
        caches['results'] = rangeMetricQuery.lru;
      }
    }
    if (mods.has('ruler')) {
      const local = cfg.ruler.storage.type === 'local';
      if (local) this.ruleObjects = new FilesystemObjectClient(cfg.ruler.storage.local.directory);
      this.ruler = new Ruler({
        cfg: cfg.ruler,
        store: new ObjectRuleStore(this.ruleObjects ?? this.objects, local ? 'local' : 'object'),
        querier: this.querier!,
        logger: logger.child({ component: 'ruler' }),
        registry: this.registry,
      });
    }
    if (mods.has('compactor')) {
      this.compactor = new Compactor({
        cfg: cfg.compactor,
        ingester: cfg.ingester,
        limits: limitsOf,
        client: this.objects,
        deleteRequests,
        logger: logger.child({ component: 'compactor' }),
        registry: this.registry,
      });
    }
    registerCacheMetrics(this.registry, caches);
    this.http = new HttpServer({
      logger: logger.child({ component: 'http' }),
      registry: this.registry,
      authEnabled: cfg.auth_enabled,
      multiTenantQueries: cfg.querier.multi_tenant_queries_enabled,
      maxBodyBytes: cfg.limits_config.max_push_body_size,
      readTimeoutMs: cfg.server.http_server_read_timeout,
      idleTimeoutMs: cfg.server.http_server_idle_timeout,
    });
    const dist = this.distributor;
    this.pushDecoder = new PushDecoder({ worker: cfg.distributor.push_decoder === 'worker' });
    const maxBody = cfg.limits_config.max_push_body_size;
    registerRoutes(this.http, {
      push: dist
        ? {
            decode: (b, ct, ce, tenant) => {
              const l = tenantLimits.forTenant(tenant);
              const levels = l.discoverLogLevels && l.allowStructuredMetadata ? { fields: l.logLevelFields, maxDepth: l.logLevelFromJsonMaxDepth } : null;
              return this.pushDecoder.decode(b, ct, ce, maxBody, levels);
            },
            push: (t, r) => dist.push(t, r),
          }
        : null,
      querier: this.querier,
      rangeMetricQuery: rangeMetricQuery ? (r) => rangeMetricQuery.metricQuery(r) : null,
      registry: this.registry,
      readiness: () => {
        // The ingester's reason first (replaying, stopping), then the object store's writes.
        const ing = this.ingester?.readiness() ?? { ready: true, reason: '' };
        return ing.ready ? this.writeHealth.readiness() : ing;
      },
      configYaml: () => configToYaml(cfg),
      runtimeConfigYaml: (mode) => rc.toYaml(mode),
      formatQuery: (q) => printExpr(parseExpr(q)),
      version: VERSION,
      flush: this.ingester ? () => this.ingester!.flushNow(true) : null,
    });
    if (this.compactor) {
      registerCompactorRoutes(this.http, {
        store: deleteRequests,
        limits: limitsOf,
        retentionEnabled: cfg.compactor.retention_enabled,
        cancelPeriodMs: cfg.compactor.delete_request_cancel_period,
      });
    }
    if (this.ruler && cfg.ruler.enable_api) registerRulerRoutes(this.http, this.ruler);
    if (dist) {
      const indexLabelAttributes = cfg.distributor.otlp_config.default_resource_attributes_as_index_labels;
      const decode = (tenant: string, b: Buffer, ct: string | undefined, ce: string | undefined) =>
        decodeOtlpBody(b, ct, ce, maxBody, { indexLabelAttributes, discoverServiceName: tenantLimits.forTenant(tenant).discoverServiceName, nowNs });
      registerOtlpRoutes(this.http, { decode, push: (t, r) => dist.push(t, r) }, logger.child({ component: 'otlp' }));
      this.grpc = new GrpcServer({ logger: logger.child({ component: 'grpc' }), authEnabled: cfg.auth_enabled, maxRecvMsgSizeBytes: maxBody, push: dist });
    }
    if (this.querier && this.ingester) {
      this.tails = new TailManager({ ingester: this.ingester, querier: this.querier, maxPerTenant: (tenant) => limitsOf(tenant).max_concurrent_tail_requests, maxDurationMs: cfg.querier.tail_max_duration });
      registerTailRoutes(this.http, { tails: this.tails, logger: logger.child({ component: 'tail' }) });
    }
  }

  /** Listens first (so /ready can say "not ready"), then replays the WAL. */
  async start(): Promise<void> {
    this.httpPort = await this.http.listen(this.cfg.server.http_listen_address, this.cfg.server.http_listen_port);
    this.logger.info({ port: this.httpPort, targets: this.cfg.target }, 'HTTP server listening');
    if (this.grpc) {
      this.grpcPort = await this.grpc.listen(this.cfg.server.grpc_listen_address, this.cfg.server.grpc_listen_port);
      this.logger.info({ grpcPort: this.grpcPort }, 'gRPC server listening');
    }
    await this.ingester?.start();
    this.runtimeConfig.start();
    this.compactor?.start();
    await this.ruler?.start();
    this.logger.info('Silt is ready');
  }

  /**
   * Graceful stop: no new connections; idle ones are closed and requests in flight finish
   * (for at most SHUTDOWN_DRAIN_MS), so every acknowledged push is in the ingester; then memory
   * is flushed to storage and the WAL checkpointed. The hard limit of the whole shutdown
   * (`server.graceful_shutdown_timeout`) is enforced by the process (cmd/silt.ts).
   */
  async stop(): Promise<void> {
    const t0 = Date.now();
    const limitMs = this.cfg.server.graceful_shutdown_timeout;
    const drainMs = limitMs > 0 ? Math.min(SHUTDOWN_DRAIN_MS, limitMs) : SHUTDOWN_DRAIN_MS;
    this.tails?.closeAll();
    this.runtimeConfig.stop();
    const draining = Promise.all([this.http.close(drainMs), this.grpc?.close(drainMs)]);
    await this.ruler?.stop();
    await draining;
    await this.ingester?.stop(limitMs > 0 ? Math.max(0, limitMs - (Date.now() - t0)) : undefined);
    await this.compactor?.stop();
    await this.ruleObjects?.close();
    await this.objects.close();
    await this.pushDecoder.close();
  }

  /** Chunks in ingester memory that are not in storage yet (what a cut-short shutdown leaves to the WAL). */
  unflushedChunks(): number {
    return this.ingester?.unflushedChunks() ?? 0;
  }
}

/** Longest wait for requests in flight when stopping (Go's Shutdown waits for them the same way). */
const SHUTDOWN_DRAIN_MS = 10_000;

/** Loki's embedded cache sizes are MB of 10^6 bytes. */
const MB = 1_000_000;

/** A cache's byte budget: disabled, its Loki-style `max_size_mb`, or the older byte setting. */
function cacheBytes(embedded: { enabled: boolean; max_size_mb: number }, legacyBytes: number): number {
  if (!embedded.enabled) return 0;
  return embedded.max_size_mb > 0 ? embedded.max_size_mb * MB : legacyBytes;
}

/** The object store named by `storage_config.object_store`. */
function newObjectClient(cfg: SiltConfig, registry: Registry): ObjectClient {
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
function mirrorCounter(registry: Registry, name: string, help: string, label: string, sources: Record<string, () => number>): void {
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
interface CacheCounters {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly sizeBytes: number;
}

/** silt_cache_{hits,misses,evictions}_total and silt_cache_size_bytes, by cache. */
function registerCacheMetrics(registry: Registry, caches: Record<string, CacheCounters>): void {
  const per = (f: (c: CacheCounters) => number): Record<string, () => number> =>
    Object.fromEntries(Object.entries(caches).map(([k, c]) => [k, () => f(c)]));
  mirrorCounter(registry, 'silt_cache_hits_total', 'Cache lookups that found an entry.', 'cache', per((c) => c.hits));
  mirrorCounter(registry, 'silt_cache_misses_total', 'Cache lookups that found nothing.', 'cache', per((c) => c.misses));
  mirrorCounter(registry, 'silt_cache_evictions_total', 'Entries evicted to stay within the byte budget.', 'cache', per((c) => c.evictions));
  new Gauge({
    name: 'silt_cache_size_bytes',
    help: 'Bytes held by each cache.',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      for (const [k, c] of Object.entries(caches)) this.set({ cache: k }, c.sizeBytes);
    },
  });
}

/** silt_s3_request_duration_seconds{operation,status_code}, as Loki's loki_s3_request_duration_seconds. */
function s3DurationObserver(registry: Registry): (operation: string, status: string, seconds: number) => void {
  const h = new Histogram({
    name: 'silt_s3_request_duration_seconds',
    help: 'Time spent doing S3 requests, by operation and outcome.',
    labelNames: ['operation', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return (operation, status, seconds) => h.observe({ operation, status_code: status }, seconds);
}

/** silt_s3_requests_total, silt_s3_request_retries_total, silt_s3_request_failures_total. */
function registerS3Metrics(registry: Registry, s3: S3ObjectClient): void {
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
