/**
 * Leader election on one etcd key, for roles that must run as exactly one active instance
 * (the compactor). A candidate holds a lease; it becomes leader by creating
 * `<prefix><name>.leader` on that lease in a transaction that only succeeds if the key does
 * not exist. The leader renews the lease every `ttlMs / 3`; followers retry the
 * transaction at the same pace, so a dead leader is replaced about one TTL after its last
 * renewal (its key goes with its lease).
 *
 * Safety: a leader considers itself leader only until `sent + TTL`, where `sent` is when it
 * sent its last successful renewal. etcd expires the lease no earlier than that (the server
 * received the renewal after it was sent), so a leader cut off from etcd steps down before
 * anybody else can be elected. `isLeader()` checks the clock itself, so it is right even when
 * the event loop was blocked past a timer.
 */
import { MIN_LEASE_TTL_SEC } from './consts.js';
import { LeaseLostError, type EtcdKv } from './etcd-kv.js';
import { NOOP_LOGGER, type RingLogger } from './logger.js';

/** Settings of one candidate. */
export interface LeaderElectionConfig {
  /** Election name, e.g. `compactor`; the key is `<prefix><name>.leader`. */
  readonly name: string;
  /** This candidate's id (stored as the key's value; shown by `leaderId()`). */
  readonly id: string;
  /** Lease TTL (ms, rounded up to whole seconds): how long a dead leader blocks the election. */
  readonly ttlMs: number;
  /** Where elections and step-downs are logged. */
  readonly logger?: RingLogger;
}

const LEADER_KEY_SUFFIX = '.leader';

/** One candidate in one election; see the file comment. */
export class LeaderElection {
  /** The settings it was built with. */
  readonly config: LeaderElectionConfig;
  readonly #kv: EtcdKv;
  readonly #key: string;
  readonly #log: RingLogger;
  readonly #ttlSec: number;
  readonly #periodMs: number;
  readonly #listeners = new Set<(leader: boolean) => void>();
  #lease: string | null = null;
  #leader = false;
  /** Wall-clock ms until which leadership is guaranteed (see the file comment). */
  #validUntilMs = 0;
  #leaderId: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #expiryTimer: NodeJS.Timeout | null = null;
  #running = false;
  #resigned = false;
  #tick: Promise<void> = Promise.resolve();
  #elected: { promise: Promise<boolean>; resolve: (elected: boolean) => void } | null = null;

  constructor(kv: EtcdKv, config: LeaderElectionConfig) {
    if (config.name === '' || config.id === '') throw new TypeError('leader election needs a name and a candidate id');
    if (!(config.ttlMs > 0)) throw new RangeError('leader election TTL must be positive');
    this.config = config;
    this.#kv = kv;
    this.#key = `${config.name}${LEADER_KEY_SUFFIX}`;
    this.#log = config.logger ?? NOOP_LOGGER;
    this.#ttlSec = Math.max(MIN_LEASE_TTL_SEC, Math.ceil(config.ttlMs / 1000));
    this.#periodMs = Math.max(100, Math.floor((this.#ttlSec * 1000) / 3));
  }

  /**
   * Starts campaigning (until `resign()`). Resolves true once this candidate is elected,
   * false if it resigned first; never rejects (etcd errors are retried). After losing
   * leadership it keeps campaigning: watch `onChange`.
   */
  campaign(): Promise<boolean> {
    if (this.#resigned) return Promise.resolve(false);
    if (this.isLeader()) return Promise.resolve(true);
    if (this.#elected) return this.#elected.promise;
    let resolve!: (elected: boolean) => void;
    const p = new Promise<boolean>((res) => {
      resolve = res;
    });
    this.#elected = { promise: p, resolve };
    if (!this.#running) {
      this.#running = true;
      this.#loop();
    }
    return p;
  }

  /** True while this candidate is the leader (checked against the clock, not just the last event). */
  isLeader(): boolean {
    return this.#leader && Date.now() < this.#validUntilMs;
  }

  /** The leader's id as last seen (this candidate's own when leading), or null if unknown. */
  leaderId(): string | null {
    return this.isLeader() ? this.config.id : this.#leaderId;
  }

  /** Calls `cb(true)` on election and `cb(false)` on losing it. Returns an unsubscribe function. */
  onChange(cb: (leader: boolean) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /**
   * Stops campaigning; a leader deletes its key and revokes its lease so another candidate
   * takes over at once. etcd errors are logged (the lease then expires on its own).
   */
  async resign(): Promise<void> {
    if (this.#resigned) return;
    this.#resigned = true;
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#tick;
    const lease = this.#lease;
    this.#lease = null;
    this.#setLeader(false);
    this.#elected?.resolve(false);
    this.#elected = null;
    if (lease !== null && !this.#kv.closed) {
      try {
        await this.#kv.txn([{ key: this.#key, target: 'lease', result: '=', value: lease }], [{ op: 'delete', key: this.#key }]);
        await this.#kv.revokeLease(lease);
      } catch (e) {
        this.#log.warn({ err: e, election: this.config.name }, 'cannot resign cleanly; the lease will expire');
      }
    }
  }

  #loop(): void {
    if (!this.#running) return;
    this.#tick = this.#step().catch((e: unknown) => this.#log.warn({ err: e, election: this.config.name }, 'election step failed'));
    void this.#tick.then(() => {
      if (this.#running) this.#timer = setTimeout(() => this.#loop(), this.#periodMs);
    });
  }

  /** One round: keep the lease, then hold or try to take the key. */
  async #step(): Promise<void> {
    if (this.#kv.closed) {
      this.#setLeader(false);
      return;
    }
    const sentMs = Date.now();
    try {
      if (this.#lease === null) this.#lease = await this.#kv.grantLease(this.#ttlSec);
      else await this.#kv.keepAlive(this.#lease);
    } catch (e) {
      if (e instanceof LeaseLostError) {
        this.#lease = null;
        this.#setLeader(false);
      }
      throw e;
    }
    const lease = this.#lease;
    // Create the key if absent; otherwise read who holds it.
    const r = await this.#kv.txn([{ key: this.#key, target: 'create', result: '=', value: 0 }], [{ op: 'put', key: this.#key, value: this.config.id, lease }], [{ op: 'get', key: this.#key }]);
    if (!this.#running) return;
    const holder = r.succeeded ? null : (r.gets[0]?.[0] ?? null);
    if (r.succeeded || holder?.lease === lease) {
      this.#validUntilMs = sentMs + this.#ttlSec * 1000;
      this.#armExpiry();
      this.#setLeader(true);
    } else {
      this.#leaderId = holder ? holder.value.toString() : null;
      this.#setLeader(false);
    }
  }

  /** Steps down when the guaranteed period ends without a renewal. */
  #armExpiry(): void {
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = null;
      if (Date.now() >= this.#validUntilMs) this.#setLeader(false);
    }, Math.max(0, this.#validUntilMs - Date.now()));
  }

  #setLeader(leader: boolean): void {
    if (!leader && this.#expiryTimer) {
      clearTimeout(this.#expiryTimer);
      this.#expiryTimer = null;
    }
    if (leader === this.#leader) return;
    this.#leader = leader;
    if (leader) this.#leaderId = this.config.id;
    else if (this.#leaderId === this.config.id) this.#leaderId = null;
    this.#log.info({ election: this.config.name, id: this.config.id, leader }, leader ? 'elected leader' : 'no longer leader');
    if (leader) {
      this.#elected?.resolve(true);
      this.#elected = null;
    }
    for (const cb of this.#listeners) {
      try {
        cb(leader);
      } catch (e) {
        this.#log.error({ err: e }, 'leader change listener failed');
      }
    }
  }
}
