import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { chunksNotToReindex, Compactor, DeleteRequestsStore } from '../compactor/index.js';
import { sharedBlockSealer } from '../chunk/index.js';
import { configToYaml, type LimitsConfig, type SiltConfig } from '../config/config.js';
import { RuntimeConfig } from '../config/runtime-config.js';
import { Distributor, decodeOtlpBody, PushDecoder } from '../distributor/index.js';
import { Ingester } from '../ingester/ingester.js';
import { LocalIngesterClient } from '../ingester/local-client.js';
import { RingIngesterQuerier } from '../ingester/ring-client.js';
import { ReplicatingPusher } from '../distributor/replicate.js';
import { registerIngesterServices, type IngesterServices } from '../ingester/grpc/server.js';
import { renderRingHtml, renderRingJson, tokenFor } from '../ring/index.js';
import { Cluster, clusterSettings } from './cluster.js';
import type { IngesterAdmin, IngesterClient, IngesterQuerier, IngesterTail } from '../ingester/client.js';
import { parseExpr, printExpr } from '../logql/syntax/index.js';
import { Querier } from '../querier/querier.js';
import { HttpServer } from '../server/http.js';
import { registerRoutes } from '../server/routes.js';
import { registerRulerRoutes } from '../server/routes-ruler.js';
import { ObjectRuleStore, Ruler } from '../ruler/index.js';
import { registerCompactorRoutes } from '../server/routes-compactor.js';
import { ResultsCache } from '../frontend/results-cache.js';
import { Frontend, InProcessSlot } from '../frontend/frontend.js';
import { newQueryPlanner } from '../frontend/planner.js';
import { registerFrontendServices, type FrontendServices } from '../frontend/server.js';
import { KEEPALIVE_TIME_MS, KEEPALIVE_TIMEOUT_MS, MAX_MESSAGE_BYTES, MSG_NO_QUERIERS } from '../frontend/consts.js';
import { FrontendWorker, type PieceExecutor } from '../querier/worker.js';
import { registerFrontendRoutes } from '../server/routes-frontend.js';
import { FilesystemObjectClient, IndexWriter, S3ObjectClient, WriteHealth, WriteTrackingObjectClient, registerWriteHealthMetrics, type ChunkStore, type ObjectClient } from '../storage/index.js';
import { IdleMemoryRelease, RELEASE_MIN_BYTES } from './idle-memory.js';
import { PressureShedding, type Sheddable } from './pressure-shedding.js';
import { pressureHeapGrowth } from './runtime-flags.js';
import { OverridesLimitsProvider } from './limits.js';
import { registerTailRoutes } from '../server/routes-tail.js';
import { registerTailProxyRoutes } from '../server/routes-tail-proxy.js';
import { registerOtlpRoutes } from '../server/routes-otlp.js';
import { GrpcServer } from '../server/grpc.js';
import { nowNs } from '../model/index.js';
import { InvalidError } from '../errors.js';
import { TailManager } from '../querier/tail.js';
import { buildInfo, type BuildInfo } from './version.js';
import { FlushSink } from './flush-sink.js';
import { CACHE_SHARE, describeObjectStore, MB, memoryCapped, newObjectStore, newPieceExecutor, newQuerier, newStoreReaders, readCacheSizes, registerCacheMetrics } from './read-path.js';
import { pieceReadsIngester, QuerierThreads, querierThreadCount } from './querier-threads.js';

/** Silt's roles, with Loki's module names. */
export const ROLES = ['distributor', 'ingester', 'querier', 'query-frontend', 'compactor', 'ruler'] as const;

type ModuleName = (typeof ROLES)[number];

/** `-target` names that stand for several roles: Loki's simple-scalable groups and `all`. */
const GROUPS: Record<string, readonly ModuleName[]> = {
  all: ['distributor', 'ingester', 'querier', 'query-frontend', 'compactor', 'ruler'],
  read: ['querier', 'query-frontend'],
  write: ['distributor', 'ingester'],
  backend: ['compactor', 'ruler'],
};

/**
 * What a role needs in its own process (Loki's modules.go dependencies). With a ring, roles reach
 * the ingesters over gRPC; without one, the distributor and the querier need the ingester here.
 */
function dependencies(m: ModuleName, ring: boolean): readonly ModuleName[] {
  switch (m) {
    case 'distributor':
      return ring ? [] : ['ingester'];
    case 'querier':
      return ring ? [] : ['ingester'];
    case 'query-frontend':
      // In a cluster, queriers pull the frontend's pieces over gRPC; alone, it runs them here.
      return ring ? [] : ['querier'];
    case 'ruler':
      return ['querier'];
    default:
      return [];
  }
}

/** A module's state, with the names of Loki's (dskit's) service states. */
export type ServiceState = 'New' | 'Starting' | 'Running' | 'Stopping' | 'Terminated' | 'Failed';

/**
 * Expands `-target` (roles, groups, a comma list) into the roles to run, adding the in-process
 * dependencies. An unknown name is an InvalidError with Loki's wording.
 */
export function resolveTargets(targets: readonly string[], ring = false): Set<ModuleName> {
  const out = new Set<ModuleName>();
  const add = (m: ModuleName): void => {
    if (out.has(m)) return;
    out.add(m);
    for (const d of dependencies(m, ring)) add(d);
  };
  for (const raw of targets) {
    for (const t of raw.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
      const group = GROUPS[t];
      if (group) for (const m of group) add(m);
      else if ((ROLES as readonly string[]).includes(t)) add(t as ModuleName);
      else throw new InvalidError(`unrecognised module name: ${t}`);
    }
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
  /** The ingester of this process as a client (what its gRPC services and `/flush` answer from). */
  readonly ingesterClient: IngesterClient | null = null;
  /** How this process's querier reaches the ingesters: in-process, or every ingester of the ring over gRPC. */
  readonly ingesters: (IngesterQuerier & IngesterTail & IngesterAdmin) | null = null;
  /** The ring, memberships and clients when the process is part of a cluster (etcd). */
  readonly cluster: Cluster | null = null;
  #ingesterServices: IngesterServices | null = null;
  readonly querier: Querier | null = null;
  /** Stored chunks as this process reads and writes them (its cache, its lent read buffers). */
  readonly chunkStore: ChunkStore;
  /** The query-frontend (queue, pieces, retries) when this process runs one. */
  readonly frontend: Frontend | null = null;
  /** In-process slots of the frontend (a querier in this process), connected at start. */
  readonly #localSlots: InProcessSlot[] = [];
  /** Pulls pieces from remote frontends (`frontend_worker.frontend_address`). */
  #worker: FrontendWorker | null = null;
  /** Querier threads beside this process's querier (`querier.threads`), pulling from its frontend. */
  #threads: QuerierThreads | null = null;
  /** With ingester.memory_limit: helper threads stopped while the ingester is above its soft mark (ADR 0039). */
  #shedding: PressureShedding | null = null;
  /** Hands heap garbage back to the OS once the process goes quiet (`server.idle_memory_release`). */
  readonly idleMemory: IdleMemoryRelease;
  /** The querier threads, when this process runs any. */
  get querierThreads(): QuerierThreads | null {
    return this.#threads;
  }
  #frontendServices: FrontendServices | null = null;
  /** Releases the frontend planner's results cache (a Redis connection) at shutdown. */
  #closePlanner: (() => Promise<void>) | null = null;
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
  /** Version, git revision and branch (package.json and the checkout). */
  readonly build: BuildInfo = buildInfo();
  /** Every module of this process and its state, in start order (`/services`). */
  readonly services = new Map<string, ServiceState>();
  #replayActive: Gauge | null = null;
  #replayDuration: Gauge | null = null;

  constructor(cfg: SiltConfig, logger: Logger) {
    this.cfg = cfg;
    this.logger = logger;
    // What pushes leave per label set (and rebuild) and the head columns kept for reuse go with
    // the idle collection.
    this.idleMemory = new IdleMemoryRelease(cfg.server.idle_memory_release, logger, {
      registry: this.registry,
      beforeCollect: () => {
        this.distributor?.forgetScratch();
        this.ingester?.forgetScratch();
      },
      // Above the soft mark of ingester.memory_limit malloc's free pages go back while busy too.
      ...(cfg.ingester.memory_limit > 0 ? { pressure: () => this.ingester?.underMemoryPressure === true } : {}),
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'silt_' });
    registerBuildInfo(this.registry, this.build);
    const ring = clusterSettings(cfg);
    const mods = resolveTargets(cfg.target, ring !== null);
    if (ring) this.cluster = new Cluster(ring, { ingester: mods.has('ingester'), ruler: mods.has('ruler'), compactor: mods.has('compactor') }, logger.child({ component: 'ring' }));
    const cluster = this.cluster;
    const { raw, objects } = newObjectStore(cfg, this.registry);
    // Every put is tracked: /ready says when the store has been refusing writes for a while.
    this.writeHealth = new WriteHealth({
      unreadyAfterMs: cfg.storage_config.write_failure_unready_period,
      stuckAfterMs: raw instanceof S3ObjectClient ? raw.cfg.requestTimeoutMs : 30_000,
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
    const memLimit = cfg.ingester.memory_limit;
    // Querier threads run beside this process's own querier; the caches are shared out among them.
    const threads = querierThreadCount(cfg, mods, ring !== null);
    const sizes = readCacheSizes(cfg, 1 + threads);
    const { chunkStore, store, caches } = newStoreReaders(this.objects, cfg, sizes, this.registry);
    this.chunkStore = chunkStore;
    const indexWriter = new IndexWriter(this.objects, `${process.pid.toString(36)}-${randomBytes(4).toString('hex')}`);
    // Querier threads cache the requests too: tell them at once when one changes here.
    this.deleteRequests = new DeleteRequestsStore(this.objects, { onChange: (tenant) => this.#threads?.deletesChanged(tenant) });
    const deleteRequests = this.deleteRequests;

    if (mods.has('ingester')) {
      const ingesterLogger = logger.child({ component: 'ingester' });
      // Flush metrics and the object store's failures, logged once per state change.
      const sink = new FlushSink({
        inner: {
          putChunk: (ref, bytes) => chunkStore.put(ref, bytes),
          writeIndex: (tenant, series, refs) => indexWriter.writeSegments(tenant, series, refs),
          notToReindex: (refs) => chunksNotToReindex(this.objects, refs),
        },
        registry: this.registry,
        logger: ingesterLogger,
        storeName: describeObjectStore(cfg),
        chunkTargetSizeBytes: cfg.ingester.chunk_target_size,
      });
      this.ingester = new Ingester({
        cfg: cfg.ingester,
        limits: limitsOf,
        sink,
        logger: ingesterLogger,
        registry: this.registry,
        onHeadsShrunk: (bytes) => {
          if (bytes >= RELEASE_MIN_BYTES) this.idleMemory.requestCollection();
        },
      });
      this.ingesterClient = new LocalIngesterClient(this.ingester, cluster ? cluster.instanceId : 'local');
      this.#replayActive = new Gauge({ name: 'loki_ingester_wal_replay_active', help: 'Whether the WAL is replaying.', registers: [this.registry] });
      this.#replayDuration = new Gauge({ name: 'loki_ingester_wal_replay_duration_seconds', help: 'Time taken to replay the checkpoint and the WAL (the ingester\'s start, re-indexing of chunks flushed before a crash included).', registers: [this.registry] });
    }
    const tenantLimits = new OverridesLimitsProvider(rc);
    if (mods.has('distributor')) {
      // With a ring, every stream goes to its replicas over gRPC; else to the ingester here.
      const pusher = cluster ? new ReplicatingPusher({ ring: cluster.writeRing(), clients: cluster.pool, tokenFor }) : this.ingesterClient!;
      this.distributor = new Distributor({ limits: tenantLimits, ingester: pusher, registry: this.registry });
    }
    let rangeMetricQuery: ResultsCache | null = null;
    this.ingesters = cluster ? new RingIngesterQuerier(cluster.readRing(), cluster.pool) : this.ingesterClient;
    if (mods.has('querier')) {
      // Replicas hold copies of a stream: read each entry once.
      this.querier = newQuerier(cfg, { store, ingester: this.ingesters, limits: limitsOf, deletes: deleteRequests, blockCacheBytes: sizes.blocks, dedup: cluster !== null, logger: logger.child({ component: 'querier' }), queriers: 1 + threads });
      // A querier answering queries itself (no frontend here or upstream) caches metric ranges;
      // behind a frontend the frontend's cache serves (as Loki's queriers have none).
      if (cfg.query_range.cache_results && !mods.has('query-frontend') && cfg.frontend_worker.frontend_address === '') {
        rangeMetricQuery = new ResultsCache(this.querier, { maxBytes: memoryCapped(cfg.query_range.results_cache.cache.embedded_cache.max_size_mb * MB, memLimit, CACHE_SHARE.results), limits: limitsOf });
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
        ...(cluster ? { owns: (tenant: string, group: string) => cluster.ownsRuleGroup(tenant, group) } : {}),
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
    const planner = mods.has('query-frontend')
      ? newQueryPlanner({ cfg, limits: limitsOf, embeddedCacheBytes: memoryCapped(cfg.query_range.results_cache.cache.embedded_cache.max_size_mb * MB, memLimit, CACHE_SHARE.results), queriers: () => this.frontend?.queriers ?? 1 })
      : null;
    if (planner?.cache) caches['results'] = planner.cache;
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
      // With a frontend here, the query endpoints are its own (below); the querier answers its pieces.
      querier: mods.has('query-frontend') ? null : this.querier,
      frontendQueries: mods.has('query-frontend'),
      rangeMetricQuery: rangeMetricQuery ? (r) => rangeMetricQuery.metricQuery(r) : null,
      supportParquetEncoding: cfg.frontend.support_parquet_encoding,
      registry: this.registry,
      ...(threads > 0 ? { metrics: () => this.#threads!.metrics(this.registry) } : {}),
      readiness: () => {
        // The ingester's reason first (replaying, stopping), then the object store's writes.
        const ing = this.ingester?.readiness() ?? { ready: true, reason: '' };
        if (!ing.ready) return ing;
        // Then the ring: this ingester not ACTIVE yet, or etcd out of reach for too long.
        const ring = this.cluster?.readiness() ?? '';
        if (ring !== '') return { ready: false, reason: ring };
        // Loki's frontend is not ready before a querier connected (nothing could answer).
        if (this.frontend && this.frontend.slots === 0) return { ready: false, reason: MSG_NO_QUERIERS };
        return this.writeHealth.readiness();
      },
      configYaml: () => configToYaml(cfg),
      runtimeConfigYaml: (mode) => rc.toYaml(mode),
      formatQuery: (q) => printExpr(parseExpr(q)),
      build: this.build,
      services: () => [...this.services].map(([name, state]) => ({ name, state })),
      flush: this.ingesterClient ? () => this.ingesterClient!.flush() : null,
    });
    this.#setUpFrontend(planner, rangeMetricQuery, limitsOf, threads);
    if (this.compactor) {
      registerCompactorRoutes(this.http, {
        store: deleteRequests,
        limits: limitsOf,
        retentionEnabled: cfg.compactor.retention_enabled,
        cancelPeriodMs: cfg.compactor.delete_request_cancel_period,
        registry: this.registry,
      });
    }
    if (this.ruler && cfg.ruler.enable_api) registerRulerRoutes(this.http, this.ruler);
    if (dist) {
      const indexLabelAttributes = cfg.distributor.otlp_config.default_resource_attributes_as_index_labels;
      const decode = (tenant: string, b: Buffer, ct: string | undefined, ce: string | undefined) =>
        decodeOtlpBody(b, ct, ce, maxBody, { indexLabelAttributes, discoverServiceName: tenantLimits.forTenant(tenant).discoverServiceName, nowNs });
      registerOtlpRoutes(this.http, { decode, push: (t, r) => dist.push(t, r) }, logger.child({ component: 'otlp' }));
    }
    // gRPC: Loki's Pusher for clients when there is a distributor; the ingester's services when
    // there is an ingester (every cluster process listens: the ring advertises its address).
    if (dist || this.ingesterClient || cluster || this.frontend) {
      // An ingester receives decoded (uncompressed, enriched) pushes: room for several bodies;
      // a frontend receives queriers' answers (MAX_MESSAGE_BYTES, the same 64 MiB).
      this.grpc = new GrpcServer({ logger: logger.child({ component: 'grpc' }), registry: this.registry, authEnabled: cfg.auth_enabled, maxRecvMsgSizeBytes: this.ingesterClient || this.frontend ? Math.max(4 * maxBody, MAX_MESSAGE_BYTES) : maxBody, push: dist, ...(this.frontend ? { keepalive: FRONTEND_KEEPALIVE } : {}) });
      if (this.ingesterClient) this.#ingesterServices = registerIngesterServices(this.grpc, this.ingesterClient, { logger: logger.child({ component: 'ingester-grpc' }), lokiPusher: dist === null, registry: this.registry });
      if (this.frontend) this.#frontendServices = registerFrontendServices(this.grpc, this.frontend, logger.child({ component: 'frontend-grpc' }));
    }
    if (cluster) {
      for (const r of cluster.rings()) {
        this.http.route(['GET'], r.path, (req) =>
          (req.headers['accept'] ?? '').includes('application/json')
            ? { status: 200, body: renderRingJson(r.ring), contentType: 'application/json' }
            : { status: 200, body: renderRingHtml(r.ring, { title: r.title }), contentType: 'text/html; charset=utf-8' },
        );
      }
    }
    if (this.querier && this.ingesters) {
      this.tails = new TailManager({ ingester: this.ingesters, querier: this.querier, maxPerTenant: (tenant) => limitsOf(tenant).max_concurrent_tail_requests, maxDurationMs: cfg.querier.tail_max_duration });
      registerTailRoutes(this.http, { tails: this.tails, logger: logger.child({ component: 'tail' }) });
    } else if (this.frontend) {
      // A standalone frontend proxies tail requests to a querier (Loki's frontend.tail_proxy_url).
      const frontend = this.frontend;
      registerTailProxyRoutes(this.http, { proxyUrl: cfg.frontend.tail_proxy_url, queriers: () => frontend.querierHttpAddresses(), logger: logger.child({ component: 'tail-proxy' }) });
    }
    // Modules in start order, with Loki's names.
    this.services.set('server', 'New');
    this.services.set('runtime-config', 'New');
    for (const m of ['ingester', 'distributor', 'querier'] as const) if (mods.has(m)) this.services.set(m, 'New');
    if (mods.has('query-frontend') || rangeMetricQuery !== null) this.services.set('query-frontend', 'New');
    for (const m of ['compactor', 'ruler'] as const) if (mods.has(m)) this.services.set(m, 'New');
  }

  /**
   * The query path through a frontend: a router of the querier's own query routes (what pieces
   * run against, in process or pulled over gRPC by the worker), the frontend with its
   * in-process slots, and the worker when `frontend_worker.frontend_address` is set.
   */
  #setUpFrontend(planner: ReturnType<typeof newQueryPlanner> | null, rangeMetricQuery: ResultsCache | null, limitsOf: (tenant: string) => LimitsConfig, threads: number): void {
    const cfg = this.cfg;
    const logger = this.logger;
    const q = this.querier;
    const execute: PieceExecutor | null = q ? newPieceExecutor(q, cfg, { logger: logger.child({ component: 'querier-pieces' }), registry: this.registry, build: this.build, rangeMetricQuery }) : null;
    const wk = cfg.frontend_worker;
    const addresses = wk.frontend_address.split(',').map((a) => a.trim()).filter((a) => a !== '');
    const concurrency = (frontends: number): number => (wk.match_max_concurrent ? Math.max(1, Math.floor(cfg.querier.max_concurrent / Math.max(1, frontends))) : wk.parallelism);
    if (planner) {
      this.#closePlanner = planner.close;
      const frontend = new Frontend({
        planner: planner.planner,
        limits: limitsOf,
        maxOutstandingPerTenant: cfg.frontend.max_outstanding_per_tenant,
        maxRetries: cfg.query_range.max_retries,
        timeoutMs: cfg.querier.query_timeout,
        logger: logger.child({ component: 'query-frontend' }),
        registry: this.registry,
        // With querier threads, pieces over the ingester's time range run where its memory is.
        ...(threads > 0 ? { inProcessFirst: (params: readonly (readonly [string, string])[]) => pieceReadsIngester(params, cfg.querier.query_ingesters_within) } : {}),
      });
      (this as { frontend: Frontend | null }).frontend = frontend;
      registerFrontendRoutes(this.http, frontend);
      // A querier here runs pieces in process, through the same queue (no gRPC hop).
      if (execute) for (let i = 0; i < concurrency(1); i++) this.#localSlots.push(new InProcessSlot(frontend, execute));
      if (execute && threads > 0) this.#threads = new QuerierThreads({ count: threads, cfg, build: this.build, logger: logger.child({ component: 'querier-threads' }), concurrency: concurrency(1), registry: this.registry });
    }
    if (execute && addresses.length > 0) {
      const id = this.cluster?.instanceId ?? `${cfg.server.http_listen_address}:${cfg.server.http_listen_port}`;
      // The frontend proxies tail requests here; listening on every interface, it uses the address it sees us at.
      const httpAddress = (): string => `${allInterfaces(cfg.server.http_listen_address) === '' ? hostForUrl(cfg.server.http_listen_address) : ''}:${this.httpPort}`;
      this.#worker = new FrontendWorker({ addresses, concurrency: concurrency(addresses.length), querierId: `${id}/${process.pid}`, run: execute, logger: logger.child({ component: 'frontend-worker' }), httpAddress, registry: this.registry });
    }
  }

  /** Moves every module in `names` (that this process runs) to `state`. */
  #setState(state: ServiceState, ...names: string[]): void {
    for (const n of names) if (this.services.has(n)) this.services.set(n, state);
  }

  /**
   * Says where everything is, listens (so /ready can say "not ready"), then replays the WAL and
   * starts the other modules. A module that fails to start is `Failed` in `/services`.
   */
  async start(): Promise<void> {
    const cfg = this.cfg;
    const b = this.build;
    this.logger.info({ version: b.version, revision: b.revision, branch: b.branch, nodeVersion: b.nodeVersion, targets: cfg.target }, `starting Silt ${b.version} (revision ${b.revision}, branch ${b.branch}, Node.js ${b.nodeVersion}), targets ${cfg.target.join(',')}`);
    this.#logStorage();
    let current = 'server';
    try {
      this.#setState('Starting', 'server');
      this.httpPort = await this.http.listen(cfg.server.http_listen_address, cfg.server.http_listen_port);
      const httpAddr = this.http.boundAddress();
      this.logger.info({ addr: httpAddr, port: this.httpPort }, `HTTP server listening on ${httpAddr}${allInterfaces(cfg.server.http_listen_address)}`);
      if (this.grpc) {
        this.grpcPort = await this.grpc.listen(cfg.server.grpc_listen_address, cfg.server.grpc_listen_port);
        const grpcAddr = hostPort(cfg.server.grpc_listen_address, this.grpcPort);
        this.logger.info({ addr: grpcAddr, grpcPort: this.grpcPort }, `gRPC server listening on ${grpcAddr}${allInterfaces(cfg.server.grpc_listen_address)}`);
      }
      this.#setState('Running', 'server');
      // The rings first: the distributor and the querier answer from them.
      await this.cluster?.startRings();
      current = 'runtime-config';
      this.runtimeConfig.start();
      this.#setState('Running', 'runtime-config');
      if (this.ingester) {
        current = 'ingester';
        this.#setState('Starting', 'ingester', 'distributor', 'querier', 'query-frontend');
        const t0 = performance.now();
        this.#replayActive?.set(1);
        try {
          await this.ingester.start();
        } finally {
          this.#replayActive?.set(0);
          this.#replayDuration?.set((performance.now() - t0) / 1000);
        }
      }
      // Replayed: join the ring (JOINING, then ACTIVE), so distributors start writing here.
      const ports = { grpcPort: this.grpcPort, httpPort: this.httpPort };
      if (this.ingester) await this.cluster?.joinIngesterRing(ports);
      for (const slot of this.#localSlots) this.frontend?.connect(slot);
      this.#worker?.start();
      this.#threads?.start(hostPort(allInterfaces(cfg.server.grpc_listen_address) === '' ? cfg.server.grpc_listen_address : '127.0.0.1', this.grpcPort));
      this.#setState('Running', 'ingester', 'distributor', 'querier', 'query-frontend');
      current = 'compactor';
      this.#startCompactor();
      this.#setState('Running', 'compactor');
      current = 'ruler';
      this.#setState('Starting', 'ruler');
      if (this.ruler && this.cluster) {
        await this.cluster.joinRulerRing(ports);
        // Group ownership follows the ruler ring.
        const ruler = this.ruler;
        let timer: NodeJS.Timeout | null = null;
        this.cluster.rulerRing?.onChange(() => {
          if (timer) return;
          timer = setTimeout(() => {
            timer = null;
            ruler.syncAll().catch((e: unknown) => this.logger.warn({ err: e }, 'ruler: resync after a ring change failed'));
          }, 1000);
          timer.unref();
        });
      }
      await this.ruler?.start();
      this.#setState('Running', 'ruler');
    } catch (e) {
      this.#setState('Failed', current);
      throw e;
    }
    this.idleMemory.start();
    this.#startShedding();
    this.logger.info('Silt is ready');
  }

  /**
   * Starts the compactor: at once in one process; in a cluster only while this process holds
   * the compactor election, so exactly one compactor runs.
   */
  #startCompactor(): void {
    const c = this.compactor;
    if (!c) return;
    const election = this.cluster?.election;
    if (!election) {
      c.start();
      return;
    }
    election.onChange((leader) => {
      if (leader) {
        this.logger.info('elected the active compactor');
        c.start();
      } else {
        this.logger.info('no longer the active compactor');
        c.stop().catch(() => undefined);
      }
    });
    void election.campaign();
  }

  /** With ingester.memory_limit, sheds the block sealer, the push decoder's thread and the querier threads while the ingester is above its soft mark. */
  #startShedding(): void {
    const ing = this.ingester;
    if (ing === null || this.cfg.ingester.memory_limit <= 0) return;
    const helpers: Sheddable[] = [pressureHeapGrowth];
    if (this.cfg.ingester.block_sealer === 'worker') helpers.push(sharedBlockSealer());
    if (this.distributor !== null && this.cfg.distributor.push_decoder === 'worker') helpers.push(this.pushDecoder);
    if (this.#threads !== null) helpers.push(this.#threads);
    this.#shedding = new PressureShedding({ pressure: () => ing.underMemoryPressure, helpers, logger: this.logger.child({ component: 'memory' }), registry: this.registry });
    this.#shedding.start();
  }

  /** One line on where data lives: the object store, the WAL, the rules. */
  #logStorage(): void {
    const cfg = this.cfg;
    const store = describeObjectStore(cfg);
    const w = cfg.ingester.wal;
    const wal = this.ingester === null ? 'no ingester here' : w.enabled ? `${path.resolve(w.dir)} (fsync ${w.fsync})` : 'disabled (pushes are acknowledged before they are on disk)';
    const rules = this.ruler === null ? null : cfg.ruler.storage.type === 'local' ? `directory ${path.resolve(cfg.ruler.storage.local.directory)}` : 'the object store (rules/<tenant>/)';
    this.logger.info(
      { pathPrefix: path.resolve(cfg.common.path_prefix), objectStore: store, wal: this.ingester === null ? null : w.enabled ? path.resolve(w.dir) : 'disabled', ...(rules !== null ? { rules } : {}) },
      `data: chunks and index in ${store}; WAL ${wal}${rules !== null ? `; rules in ${rules}` : ''}`,
    );
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
    this.idleMemory.stop();
    this.#shedding?.stop();
    this.runtimeConfig.stop();
    this.#setState('Terminated', 'runtime-config');
    this.#setState('Stopping', 'server', 'distributor', 'querier', 'query-frontend', 'ruler');
    // Querier threads finish their pieces in hand while HTTP drains; they need this process's
    // frontend and ingester services until then.
    const threadsStopped = this.#threads?.stop(drainMs);
    // Pieces in hand are finished and answered before the streams end (else the frontend retries them).
    await this.#worker?.stop(drainMs);
    const httpDrained = this.http.close(drainMs);
    await threadsStopped;
    this.#frontendServices?.close();
    this.#ingesterServices?.close();
    const draining = Promise.all([httpDrained, this.grpc?.close(drainMs)]);
    await this.ruler?.stop();
    this.#setState('Terminated', 'ruler');
    await draining;
    this.#setState('Terminated', 'server', 'distributor', 'querier', 'query-frontend');
    this.#setState('Stopping', 'ingester');
    const stopIngester = async (): Promise<void> => {
      await this.ingester?.stop(limitMs > 0 ? Math.max(0, limitMs - (Date.now() - t0)) : undefined);
    };
    // In a ring: LEAVING, flush, then unregistered (distributors stop writing here first).
    if (this.cluster && this.ingester) await this.cluster.leaveIngesterRing(stopIngester);
    else await stopIngester();
    this.#setState('Terminated', 'ingester');
    this.#setState('Stopping', 'compactor');
    await this.compactor?.stop();
    this.#setState('Terminated', 'compactor');
    await this.cluster?.stop();
    await this.ruleObjects?.close();
    await this.#closePlanner?.();
    await this.objects.close();
    await this.pushDecoder.close();
  }

  /** Chunks in ingester memory that are not in storage yet (what a cut-short shutdown leaves to the WAL). */
  unflushedChunks(): number {
    return this.ingester?.unflushedChunks() ?? 0;
  }
}

/** Keepalive of a frontend's gRPC server: a frozen querier's pieces are retried after at most this. */
const FRONTEND_KEEPALIVE = { timeMs: KEEPALIVE_TIME_MS, timeoutMs: KEEPALIVE_TIMEOUT_MS };

/** Longest wait for requests in flight when stopping (Go's Shutdown waits for them the same way). */
const SHUTDOWN_DRAIN_MS = 10_000;

/** `host:port`, brackets around an IPv6 host. */
function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Says so when a listen address is every interface (the default 0.0.0.0), not only loopback. */
function allInterfaces(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? ' (all interfaces)' : '';
}

/** A listen host as the host part of `host:port` (IPv6 literals in brackets). */
function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}


/** Architecture in Go's words (GOARCH), as `goarch` labels elsewhere spell it. */
const GOARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

/**
 * `loki_build_info`: constant 1, labelled with the version, git revision and branch, platform,
 * and the Node.js version (Loki's `goversion` label is left out: Silt is not a Go program).
 */
function registerBuildInfo(registry: Registry, b: BuildInfo): void {
  const g = new Gauge({
    name: 'loki_build_info',
    help: "A metric with a constant '1' value labeled by version, revision, branch and nodeversion from which Silt was built, and the goos and goarch of the platform it runs on.",
    labelNames: ['version', 'revision', 'branch', 'goos', 'goarch', 'nodeversion'],
    registers: [registry],
  });
  g.set({ version: b.version, revision: b.revision, branch: b.branch, goos: process.platform === 'win32' ? 'windows' : process.platform, goarch: GOARCH[process.arch] ?? process.arch, nodeversion: b.nodeVersion }, 1);
}

