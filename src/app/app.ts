import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { Compactor, DeleteRequestsStore } from '../compactor/index.js';
import { configToYaml, type LimitsConfig, type SiltConfig } from '../config/config.js';
import { RuntimeConfig } from '../config/runtime-config.js';
import { Distributor, decodePushBody } from '../distributor/index.js';
import { Ingester } from '../ingester/ingester.js';
import { parseExpr, printExpr } from '../logql/syntax/index.js';
import { MultiTenantQuerier } from '../querier/multi-tenant.js';
import { Querier } from '../querier/querier.js';
import { HttpServer } from '../server/http.js';
import { registerRoutes } from '../server/routes.js';
import { registerRulerRoutes } from '../server/routes-ruler.js';
import { ObjectRuleStore, Ruler } from '../ruler/index.js';
import { registerCompactorRoutes } from '../server/routes-compactor.js';
import { ChunkStore, FilesystemObjectClient, IndexReader, IndexWriter, MemoryObjectClient, type ObjectClient } from '../storage/index.js';
import { OverridesLimitsProvider } from './limits.js';
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
  readonly ingester: Ingester | null = null;
  readonly querier: Querier | null = null;
  readonly distributor: Distributor | null = null;
  /** Per-tenant limit overrides (runtime_config), reloaded while running. */
  readonly runtimeConfig: RuntimeConfig;
  readonly ruler: Ruler | null = null;
  /** Object client of the local rule directory (ruler.storage.type: local). */
  private readonly ruleObjects: ObjectClient | null = null;
  readonly compactor: Compactor | null = null;
  /** Delete requests in object storage: written by the compactor's API, read by queriers. */
  readonly deleteRequests: DeleteRequestsStore;
  private readonly http: HttpServer;
  /** Port the HTTP server bound (after start). */
  httpPort = 0;

  constructor(cfg: SiltConfig, logger: Logger) {
    this.cfg = cfg;
    this.logger = logger;
    collectDefaultMetrics({ register: this.registry, prefix: 'silt_' });
    const mods = resolveTargets(cfg.target);
    this.objects = cfg.storage_config.object_store === 'memory' ? new MemoryObjectClient() : new FilesystemObjectClient(cfg.storage_config.filesystem.directory);
    const rc = (this.runtimeConfig = new RuntimeConfig({
      file: cfg.runtime_config.file,
      periodMs: cfg.runtime_config.period,
      defaults: cfg.limits_config,
      logger: logger.child({ component: 'runtime-config' }),
      registry: this.registry,
    }));
    const limitsOf = (tenant: string): LimitsConfig => rc.limitsOf(tenant);
    // Chunks are decoded with decodeChunk, whose metas and per-block crc32 catch corruption.
    const chunkStore = new ChunkStore(this.objects, { cacheBytes: cfg.storage_config.chunk_cache_size, verifyChecksum: false });
    const indexReader = new IndexReader(this.objects, { cacheBytes: cfg.storage_config.index_cache_size, listCacheTtlMs: cfg.storage_config.index_list_ttl });
    const indexWriter = new IndexWriter(this.objects, `${process.pid.toString(36)}-${randomBytes(4).toString('hex')}`);
    const store = new StoreAdapter(chunkStore, indexReader);
    this.deleteRequests = new DeleteRequestsStore(this.objects);
    const deleteRequests = this.deleteRequests;

    if (mods.has('ingester')) {
      this.ingester = new Ingester({
        cfg: cfg.ingester,
        limits: limitsOf,
        sink: { putChunk: (ref, bytes) => chunkStore.put(ref, bytes), writeIndex: (tenant, series, refs) => indexWriter.writeSegments(tenant, series, refs) },
        logger: logger.child({ component: 'ingester' }),
        registry: this.registry,
      });
    }
    if (mods.has('distributor')) {
      this.distributor = new Distributor({ limits: new OverridesLimitsProvider(rc), ingester: this.ingester!, registry: this.registry });
    }
    if (mods.has('querier')) {
      const deps = {
        cfg: cfg.querier,
        limits: limitsOf,
        ingester: this.ingester,
        store,
        logger: logger.child({ component: 'querier' }),
        deletes: (tenant: string) => deleteRequests.deleterFor(tenant),
      };
      this.querier = cfg.querier.multi_tenant_queries_enabled ? new MultiTenantQuerier(deps) : new Querier(deps);
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
    const maxBody = cfg.limits_config.max_push_body_size;
    registerRoutes(this.http, {
      push: dist ? { decode: (b, ct, ce) => decodePushBody(b, ct, ce, maxBody), push: (t, r) => dist.push(t, r) } : null,
      querier: this.querier,
      registry: this.registry,
      readiness: () => this.ingester?.readiness() ?? { ready: true, reason: '' },
      configYaml: () => configToYaml(cfg),
      runtimeConfigYaml: (mode) => rc.toYaml(mode),
      formatQuery: (q) => printExpr(parseExpr(q)),
      version: VERSION,
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
  }

  /** Listens first (so /ready can say "not ready"), then replays the WAL. */
  async start(): Promise<void> {
    this.httpPort = await this.http.listen(this.cfg.server.http_listen_address, this.cfg.server.http_listen_port);
    this.logger.info({ port: this.httpPort, targets: this.cfg.target }, 'HTTP server listening');
    await this.ingester?.start();
    this.runtimeConfig.start();
    this.compactor?.start();
    await this.ruler?.start();
    this.logger.info('Silt is ready');
  }

  /** Graceful stop: no new requests, flush memory to storage, checkpoint the WAL. */
  async stop(): Promise<void> {
    this.runtimeConfig.stop();
    const closing = this.http.close();
    await this.ruler?.stop();
    await this.ingester?.stop();
    await this.compactor?.stop();
    await closing;
    await this.ruleObjects?.close();
    await this.objects.close();
  }
}
