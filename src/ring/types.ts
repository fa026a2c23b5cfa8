/**
 * Value types of the ring: what one member publishes about itself, the operations the ring
 * answers, and the read-side interface every ring (etcd-backed or static) implements.
 */

/** Lifecycle of a ring member (dskit's InstanceState, minus the unused LEFT). */
export type InstanceState = 'PENDING' | 'JOINING' | 'ACTIVE' | 'LEAVING';

/** Every state, in dskit's enum order. */
export const INSTANCE_STATES: readonly InstanceState[] = ['PENDING', 'JOINING', 'ACTIVE', 'LEAVING'];

/**
 * One member of a ring, as stored under `<prefix><ringName>/<id>` (JSON). Immutable: a
 * change (heartbeat, state) replaces the whole object.
 */
export interface InstanceDesc {
  /** Instance id, unique within the ring (default: the hostname). No `/`. */
  readonly id: string;
  /** gRPC address other roles dial, `host:port`. */
  readonly addr: string;
  /** HTTP base URL, `http://host:port`, for links on /ring. */
  readonly httpAddr: string;
  readonly state: InstanceState;
  /** Owned tokens, sorted ascending, distinct, each a uint32. */
  readonly tokens: readonly number[];
  /** Wall-clock ms of the member's last heartbeat. */
  readonly timestampMs: number;
  /** Wall-clock ms when the member (this incarnation) registered. */
  readonly registeredAtMs: number;
  /** Availability zone; zone awareness is not implemented, so always ''. */
  readonly zone: '';
}

/**
 * The operation a replication set is for. `write`: only ACTIVE members are healthy, and each
 * non-ACTIVE member met on the walk extends the set by one (dskit `ring.Write`). `read`:
 * ACTIVE, PENDING and LEAVING are healthy, and PENDING/JOINING extend the set (dskit
 * `ring.Read`, so reads find what extended writes wrote). `reporting`: every state is healthy,
 * only the heartbeat counts (dskit `ring.Reporting`, used by /ring).
 */
export type RingOp = 'write' | 'read' | 'reporting';

/** Members chosen for one key or operation. */
export interface ReplicationSet {
  /** Healthy members, in ring order for `get`, by id for `allHealthy`. */
  readonly instances: readonly InstanceDesc[];
  /** How many of `instances` may fail while the operation still reaches quorum. */
  readonly maxErrors: number;
}

/** What a ring knows about its own freshness (for /ready). */
export interface RingStatus {
  /** The last attempt to reach the KV store succeeded. Always true for a static ring. */
  readonly kvReachable: boolean;
  /** Wall-clock ms of the last successful read from the KV store; 0 before the first. */
  readonly lastSyncMs: number;
  /**
   * The KV store has not been reached for longer than the configured bound (or never was):
   * the ring answers from its last known state, which may be out of date.
   */
  readonly stale: boolean;
}

/**
 * Read side of a ring, implemented by `Ring` (etcd) and `StaticRing` (in memory). Roles
 * depend on this interface only. Methods never block and never do I/O: they answer from the
 * last known state.
 */
export interface ReadRing {
  /** Heartbeat age after which a member counts as unhealthy (ms; 0: never). */
  readonly heartbeatTimeoutMs: number;
  /** Every known member, sorted by id. The array and its objects must not be modified. */
  instances(): readonly InstanceDesc[];
  /**
   * The replication set of a key token: walk the tokens clockwise from the first token
   * greater than `token`, collecting `rf` distinct members (more when `op` extends), then drop
   * unhealthy ones. Throws `RingError` with Loki's text when fewer than a quorum remain, and
   * `RingError('empty ring')` when no member has tokens.
   */
  get(token: number, rf: number, op: RingOp): ReplicationSet;
  /**
   * Every member healthy for `op`, with the errors a fan-out may tolerate for replication
   * factor `rf` (dskit `GetReplicationSetForOperation`): queriers ask all ingesters this way.
   * Throws `RingError('too many unhealthy instances in the ring')` when more than rf/2 are out.
   */
  allHealthy(op: RingOp, rf: number): ReplicationSet;
  /** True if the member is in a state healthy for `op` and its heartbeat is fresh. */
  isHealthy(inst: InstanceDesc, op: RingOp): boolean;
  /** The member owning the first token clockwise of `token` that is healthy for `op`, or null. */
  firstHealthy(token: number, op: RingOp): InstanceDesc | null;
  /** Freshness of the state answered from. */
  status(): RingStatus;
}
