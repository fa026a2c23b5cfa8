/**
 * A process's part of a cluster (`common.ring.kvstore.store: etcd`): the etcd connection, the
 * ingester ring every role reads, this process's ring memberships (ingester, ruler), the
 * compactor's leader election, and the gRPC clients of the other ingesters. Roles only see the
 * narrow interfaces they consume (WriteRing, IngesterReadRing, ownership predicates).
 */
import type { Logger } from 'pino';
import type { SiltConfig } from '../config/config.js';
import type { WriteRing } from '../distributor/replicate.js';
import { IngesterClientPool } from '../ingester/grpc/client.js';
import type { IngesterReadRing } from '../ingester/ring-client.js';
import { EtcdKv, etcdKvConfig, LeaderElection, Lifecycler, lifecyclerConfig, ownsRuleGroup, Ring, ringOptions, ringSettingsFrom, validateRingSettings, type ReadRing, type RingSettings } from '../ring/index.js';
import { InvalidError } from '../errors.js';

/** Default replication factor with an etcd ring when `common.replication_factor` is 0 (auto). */
export const CLUSTER_DEFAULT_RF = 3;

/** The ring settings of `cfg`, or null when the process runs without a ring (one process). */
export function clusterSettings(cfg: SiltConfig): RingSettings | null {
  const s = ringSettingsFrom(cfg);
  if (s.store !== 'etcd') return null;
  const errors = validateRingSettings(s);
  if (errors.length > 0) throw new InvalidError(errors.join('; '));
  return s;
}

export interface ClusterRoles {
  ingester: boolean;
  ruler: boolean;
  compactor: boolean;
}

export class Cluster {
  readonly settings: RingSettings;
  readonly rf: number;
  readonly kv: EtcdKv;
  /** The ingester ring (`ring`), read by distributors, queriers and /ring. */
  readonly ingesterRing: Ring;
  readonly rulerRing: Ring | null;
  /** Clients of every ingester this process talks to. */
  readonly pool = new IngesterClientPool();
  #ingesterLifecycler: Lifecycler | null = null;
  #rulerLifecycler: Lifecycler | null = null;
  readonly election: LeaderElection | null;
  readonly #logger: Logger;
  readonly #roles: ClusterRoles;

  constructor(settings: RingSettings, roles: ClusterRoles, logger: Logger) {
    this.settings = settings;
    this.rf = settings.replicationFactor > 0 ? settings.replicationFactor : CLUSTER_DEFAULT_RF;
    this.#roles = roles;
    this.#logger = logger;
    this.kv = new EtcdKv(etcdKvConfig(settings));
    this.ingesterRing = new Ring(this.kv, { ...ringOptions(settings, 'ingester'), logger: logger.child({ ring: 'ingester' }) });
    this.rulerRing = roles.ruler ? new Ring(this.kv, { ...ringOptions(settings, 'ruler'), logger: logger.child({ ring: 'ruler' }) } as never) : null;
    this.election = roles.compactor ? new LeaderElection(this.kv, { name: 'compactor', id: settings.lifecycler.id, ttlMs: settings.heartbeatTimeoutMs, logger: logger.child({ election: 'compactor' }) }) : null;
    // Forget the clients of ingesters that left the ring.
    this.ingesterRing.onChange(() => {
      const live = new Set(this.ingesterRing.instances().map((i) => i.addr));
      for (const a of this.pool.addresses()) if (!live.has(a)) this.pool.remove(a);
    });
  }

  /** This process's instance id in the rings (also the prefix of its chunk ids). */
  get instanceId(): string {
    return this.settings.lifecycler.id;
  }

  /** Starts watching the rings; resolves once the first state is read (start-up waits for etcd, retrying). */
  async startRings(): Promise<void> {
    await this.ingesterRing.start();
    await this.rulerRing?.start();
  }

  /** Joins the ingester ring (after the WAL is replayed): JOINING, then ACTIVE. */
  async joinIngesterRing(ports: { grpcPort: number; httpPort: number }): Promise<void> {
    if (!this.#roles.ingester) return;
    this.#ingesterLifecycler = new Lifecycler(this.kv, lifecyclerConfig(this.settings, 'ingester', ports), { logger: this.#logger.child({ ring: 'ingester', lifecycler: true }) });
    await this.#ingesterLifecycler.start();
  }

  /** Joins the ruler ring. */
  async joinRulerRing(ports: { grpcPort: number; httpPort: number }): Promise<void> {
    if (!this.#roles.ruler) return;
    this.#rulerLifecycler = new Lifecycler(this.kv, lifecyclerConfig(this.settings, 'ruler', ports), { logger: this.#logger.child({ ring: 'ruler', lifecycler: true }) });
    await this.#rulerLifecycler.start();
  }

  /** The ingester's ring state (null: this process has no ingester, or it has not joined yet). */
  ingesterState(): string | null {
    return this.#ingesterLifecycler?.state() ?? null;
  }

  /** Leaves the ingester ring: LEAVING, then `flush`, then unregistered. */
  async leaveIngesterRing(flush: () => Promise<void>): Promise<void> {
    if (this.#ingesterLifecycler) await this.#ingesterLifecycler.stop(flush);
    else await flush();
  }

  /** Where the distributor writes a stream's replicas. */
  writeRing(): WriteRing {
    return {
      replicasFor: (token) => {
        const set = this.ingesterRing.get(token, this.rf, 'write');
        return { instances: set.instances.map((i) => ({ id: i.id, addr: i.addr })), maxErrors: set.maxErrors };
      },
    };
  }

  /** The ingesters a query asks. */
  readRing(): IngesterReadRing {
    return {
      readSet: () => {
        const set = this.ingesterRing.allHealthy('read', this.rf);
        return { instances: set.instances.map((i) => ({ id: i.id, addr: i.addr })), maxErrors: set.maxErrors };
      },
    };
  }

  /** Whether this ruler evaluates `group` of `tenant` (exactly one healthy ruler does). */
  ownsRuleGroup(tenant: string, group: string): boolean {
    return this.rulerRing === null || ownsRuleGroup(this.rulerRing, this.instanceId, tenant, group);
  }

  /** Rings for `/ring` pages, by URL path. */
  rings(): { path: string; title: string; ring: ReadRing }[] {
    const out = [{ path: '/ring', title: 'Ingester ring', ring: this.ingesterRing as ReadRing }];
    if (this.rulerRing) out.push({ path: '/ruler/ring', title: 'Ruler ring', ring: this.rulerRing });
    return out;
  }

  /** Why this process is not ready, as far as the cluster goes ('' when it is). */
  readiness(): string {
    const st = this.ingesterRing.status();
    if (st.stale) return `the ring is out of date: etcd has not been reachable since ${st.lastSyncMs > 0 ? new Date(st.lastSyncMs).toISOString() : 'start-up'}`;
    const state = this.ingesterState();
    if (this.#roles.ingester && state !== 'ACTIVE') return `this ingester is ${state ?? 'not in the ring yet'}`;
    if (this.#ingesterLifecycler && !this.#ingesterLifecycler.registered()) return 'this ingester lost its ring registration (lease expired); registering again';
    return '';
  }

  /** Leaves every ring and election, closes clients and the etcd connection. */
  async stop(): Promise<void> {
    await this.election?.resign().catch(() => undefined);
    await this.#rulerLifecycler?.stop().catch(() => undefined);
    await this.#ingesterLifecycler?.stop().catch(() => undefined);
    this.ingesterRing.stop();
    this.rulerRing?.stop();
    this.pool.close();
    this.kv.close();
  }
}
