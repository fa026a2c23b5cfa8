import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { configToYaml, type LimitsConfig, type SiltConfig } from '../config/config.js';
import { Distributor, StaticLimitsProvider, decodeOtlpBody, decodePushBody, tenantLimitsFromYaml } from '../distributor/index.js';
import { Ingester } from '../ingester/ingester.js';
import { parseExpr, printExpr } from '../logql/syntax/index.js';
import { Querier } from '../querier/querier.js';
import { HttpServer } from '../server/http.js';
import { registerRoutes } from '../server/routes.js';
import { registerTailRoutes } from '../server/routes-tail.js';
import { registerOtlpRoutes } from '../server/routes-otlp.js';
import { GrpcServer } from '../server/grpc.js';
import { nowNs } from '../model/index.js';
import { TailManager } from '../querier/tail.js';
import { ChunkStore, FilesystemObjectClient, IndexReader, IndexWriter, MemoryObjectClient, type ObjectClient } from '../storage/index.js';
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
    if (t === 'all') for (const m of ['distributor', 'ingester', 'querier'] as const) add(m);
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
  readonly ingester: Ingester | null = null;
  readonly querier: Querier | null = null;
  readonly distributor: Distributor | null = null;
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
    this.objects = cfg.storage_config.object_store === 'memory' ? new MemoryObjectClient() : new FilesystemObjectClient(cfg.storage_config.filesystem.directory);
    const limitsOf = (_tenant: string): LimitsConfig => cfg.limits_config;
    // Chunks are decoded with decodeChunk, whose metas and per-block crc32 catch corruption.
    const chunkStore = new ChunkStore(this.objects, { cacheBytes: cfg.storage_config.chunk_cache_size, verifyChecksum: false });
    const indexReader = new IndexReader(this.objects, { cacheBytes: cfg.storage_config.index_cache_size, listCacheTtlMs: cfg.storage_config.index_list_ttl });
    const indexWriter = new IndexWriter(this.objects, `${process.pid.toString(36)}-${randomBytes(4).toString('hex')}`);
    const store = new StoreAdapter(chunkStore, indexReader);

    if (mods.has('ingester')) {
      this.ingester = new Ingester({
        cfg: cfg.ingester,
        limits: limitsOf,
        sink: { putChunk: (ref, bytes) => chunkStore.put(ref, bytes), writeIndex: (tenant, series, refs) => indexWriter.writeSegments(tenant, series, refs) },
        logger: logger.child({ component: 'ingester' }),
        registry: this.registry,
      });
    }
    const tenantLimits = new StaticLimitsProvider(tenantLimitsFromYaml(cfg.limits_config));
    if (mods.has('distributor')) {
      this.distributor = new Distributor({ limits: tenantLimits, ingester: this.ingester!, registry: this.registry });
    }
    if (mods.has('querier')) {
      this.querier = new Querier({ cfg: cfg.querier, limits: limitsOf, ingester: this.ingester, store, logger: logger.child({ component: 'querier' }) });
    }
    this.http = new HttpServer({
      logger: logger.child({ component: 'http' }),
      registry: this.registry,
      authEnabled: cfg.auth_enabled,
      maxBodyBytes: cfg.limits_config.max_push_body_size,
      readTimeoutMs: cfg.server.http_server_read_timeout,
      idleTimeoutMs: cfg.server.http_server_idle_timeout,
    });
    const dist = this.distributor;
    const maxBody = cfg.limits_config.max_push_body_size;
    registerRoutes(this.http, {
      push: dist ? { decode: (b, ct, ce) => decodePushBody(b, ct, ce, maxBody), push: (t, r) => dist.push(t, r) } : null,
      querier: this.querier,
      registry: this.registry,
      readiness: () => this.ingester?.readiness() ?? { ready: true, reason: '' },
      configYaml: () => configToYaml(cfg),
      formatQuery: (q) => printExpr(parseExpr(q)),
      version: VERSION,
    });
    if (dist) {
      const indexLabelAttributes = cfg.distributor.otlp_config.default_resource_attributes_as_index_labels;
      const decode = (tenant: string, b: Buffer, ct: string | undefined, ce: string | undefined) =>
        decodeOtlpBody(b, ct, ce, maxBody, { indexLabelAttributes, discoverServiceName: tenantLimits.forTenant(tenant).discoverServiceName, nowNs });
      registerOtlpRoutes(this.http, { decode, push: (t, r) => dist.push(t, r) }, logger.child({ component: 'otlp' }));
      this.grpc = new GrpcServer({ logger: logger.child({ component: 'grpc' }), authEnabled: cfg.auth_enabled, maxRecvMsgSizeBytes: maxBody, push: dist });
    }
    if (this.querier && this.ingester) {
      this.tails = new TailManager({ ingester: this.ingester, querier: this.querier, maxPerTenant: () => cfg.limits_config.max_concurrent_tail_requests, maxDurationMs: cfg.querier.tail_max_duration });
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
    this.logger.info('Silt is ready');
  }

  /** Graceful stop: no new requests, flush memory to storage, checkpoint the WAL. */
  async stop(): Promise<void> {
    this.tails?.closeAll();
    const closing = this.http.close();
    const closingGrpc = this.grpc?.close();
    await this.ingester?.stop();
    await closing;
    await closingGrpc;
    await this.objects.close();
  }
}
