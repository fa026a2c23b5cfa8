/**
 * One process's membership in one ring (`ring` for ingesters, `rulers`, `compactor`): it
 * registers the instance on an etcd lease, claims tokens without ever sharing one, heartbeats,
 * and leaves cleanly. Behaviour follows dskit's `Lifecycler`, with etcd leases in place of
 * Loki's "forget unhealthy instances" (see docs/adr/0021-etcd-ring.md):
 *
 * - `start()`: claim tokens (from the tokens file if there is one) in a transaction that only
 *   commits if no other member claimed tokens since this one read the ring, and write the
 *   instance key on a lease whose TTL is the heartbeat timeout. A fresh instance registers
 *   JOINING and turns ACTIVE after `joinAfterMs`; one that got its tokens from the file
 *   registers ACTIVE at once (as dskit does). A key left by an earlier run with the same id is
 *   replaced.
 * - every `heartbeatPeriodMs`: renew the lease and rewrite the key with a new `timestampMs`.
 *   If etcd says the lease is gone (an outage longer than the TTL), register again with the
 *   same tokens and state.
 * - `stop(flush)`: LEAVING, then the caller's flush (heartbeats go on meanwhile), then delete
 *   the key and revoke the lease, then `finalSleepMs`.
 *
 * A process that dies without `stop()` leaves the ring when its lease expires.
 */
import { loadTokens, storeTokens } from './tokens-file.js';
import { decodeInstance, encodeInstance, ringKeys, validInstanceId, type RingKeys } from './codec.js';
import { CLAIM_BACKOFF_MAX_MS, CLAIM_BACKOFF_STEP_MS, MAX_CLAIM_ATTEMPTS, MAX_TOKENS_PER_INSTANCE, MIN_LEASE_TTL_SEC } from './consts.js';
import { LeaseLostError, type EtcdKv } from './etcd-kv.js';
import { NOOP_LOGGER, type RingLogger } from './logger.js';
import { pickTokens, randomToken, type TokenSource } from './tokens.js';
import type { InstanceDesc, InstanceState } from './types.js';
import { sameElements } from '../util/sorted.js';

/** Settings of one membership (see src/ring/config.ts for the config names). */
export interface LifecyclerConfig {
  /** Ring to join: `ring` (ingesters), `rulers`, `compactor`. */
  readonly ringName: string;
  /** Instance id, unique in the ring. */
  readonly id: string;
  /** gRPC `host:port` others dial. */
  readonly addr: string;
  /** `http://host:port`, for /ring links. */
  readonly httpAddr: string;
  /** Tokens to own (1 for a ring used only for membership). */
  readonly numTokens: number;
  /** Interval of lease renewals and heartbeats (ms). */
  readonly heartbeatPeriodMs: number;
  /** Lease TTL, rounded up to whole seconds: a dead member leaves the ring this long after its last renewal (ms). */
  readonly heartbeatTimeoutMs: number;
  /** Time spent JOINING before ACTIVE (ms). */
  readonly joinAfterMs: number;
  /** Sleep at the end of `stop()`, after unregistering (ms). */
  readonly finalSleepMs: number;
  /** Where tokens persist across restarts; '' for nowhere. */
  readonly tokensFilePath: string;
}

/** Collaborators of a lifecycler. */
export interface LifecyclerOptions {
  /** Where registrations, state changes and failed heartbeats are logged. */
  logger?: RingLogger;
  /** Random token source; tests inject a tiny space to force claim conflicts. */
  tokenSource?: TokenSource;
  /**
   * Test seam: awaited between reading the ring and committing a token claim, so a test can
   * let another member claim in that window and prove the commit then fails and retries.
   */
  beforeClaimCommit?: () => Promise<void>;
}

/** Counters for tests, metrics and the ADR's measurements. */
export interface LifecyclerStats {
  /** Successful heartbeats (lease renewed and key rewritten). */
  heartbeats: number;
  /** Heartbeats that failed (etcd unreachable or slow). */
  heartbeatFailures: number;
  /** Successful registrations: the first and every one after a lost lease. */
  registrations: number;
  /** Token-claim transactions that lost a race and were retried. */
  claimConflicts: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One process's membership in one ring; see the file comment. */
export class Lifecycler {
  /** The settings it was built with. */
  readonly config: LifecyclerConfig;
  readonly #kv: EtcdKv;
  readonly #keys: RingKeys;
  readonly #log: RingLogger;
  readonly #source: TokenSource;
  readonly #beforeClaimCommit: (() => Promise<void>) | null;
  readonly #ttlSec: number;
  readonly #stats: LifecyclerStats = { heartbeats: 0, heartbeatFailures: 0, registrations: 0, claimConflicts: 0 };

  #state: InstanceState = 'PENDING';
  #tokens: readonly number[] = [];
  #registeredAtMs = 0;
  /** Last description written to etcd, or null while not registered. */
  #written: InstanceDesc | null = null;
  /** Current lease, or null when none is known to be alive. */
  #lease: string | null = null;
  /** Serialises every etcd write of this member, so heartbeats, state changes and leaving never interleave. */
  #queue: Promise<unknown> = Promise.resolve();
  #beatTimer: NodeJS.Timeout | null = null;
  #joinTimer: NodeJS.Timeout | null = null;
  #phase: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  /** Heartbeats run from registration until `stop()` has flushed. */
  #beating = false;
  readonly #stateListeners = new Set<(s: InstanceState) => void>();

  constructor(kv: EtcdKv, config: LifecyclerConfig, opts: LifecyclerOptions = {}) {
    if (!validInstanceId(config.id)) throw new TypeError(`invalid instance id ${JSON.stringify(config.id)}: must be non-empty, without "/"`);
    if (!Number.isInteger(config.numTokens) || config.numTokens < 1 || config.numTokens > MAX_TOKENS_PER_INSTANCE) throw new RangeError(`num_tokens must be 1..${MAX_TOKENS_PER_INSTANCE}, got ${config.numTokens}`);
    if (!(config.heartbeatPeriodMs > 0)) throw new RangeError('heartbeat period must be positive');
    if (!(config.heartbeatTimeoutMs > 0)) throw new RangeError('heartbeat timeout must be positive: it is the lease TTL');
    this.config = config;
    this.#kv = kv;
    this.#keys = ringKeys(config.ringName);
    this.#log = opts.logger ?? NOOP_LOGGER;
    this.#source = opts.tokenSource ?? randomToken;
    this.#beforeClaimCommit = opts.beforeClaimCommit ?? null;
    this.#ttlSec = Math.max(MIN_LEASE_TTL_SEC, Math.ceil(config.heartbeatTimeoutMs / 1000));
  }

  /** Current state (PENDING before the first registration). */
  state(): InstanceState {
    return this.#state;
  }

  /** Owned tokens, sorted; empty before the first registration. */
  tokens(): readonly number[] {
    return this.#tokens;
  }

  /** True while the instance key is believed present in etcd (false during an outage longer than the TTL). */
  registered(): boolean {
    return this.#written !== null && this.#lease !== null;
  }

  /** The description as last written, or null. */
  desc(): InstanceDesc | null {
    return this.#written;
  }

  /** Copies of the counters. */
  stats(): LifecyclerStats {
    return { ...this.#stats };
  }

  /** Calls `cb` after each state change is written (or, during an outage, decided). Returns an unsubscribe function. */
  onStateChange(cb: (s: InstanceState) => void): () => void {
    this.#stateListeners.add(cb);
    return () => this.#stateListeners.delete(cb);
  }

  /**
   * Registers the instance and starts heartbeating. Resolves once registered (and, with
   * `joinAfterMs` 0, ACTIVE). While etcd cannot be reached it retries every heartbeat period;
   * rejects only if `stop()` is called first, or the tokens file is unreadable.
   */
  async start(): Promise<void> {
    if (this.#phase !== 'new') throw new Error(`lifecycler ${this.config.id}: start() called twice`);
    this.#phase = 'starting';
    const fromFile = this.config.tokensFilePath !== '' ? loadTokens(this.config.tokensFilePath) : [];
    this.#tokens = fromFile;
    this.#state = fromFile.length > 0 ? 'ACTIVE' : 'JOINING';
    this.#registeredAtMs = Date.now();
    for (;;) {
      try {
        await this.#serial(() => this.#register());
        break;
      } catch (e) {
        if (this.#phase !== 'starting') throw new Error(`lifecycler ${this.config.id}: stopped before it registered`, { cause: e });
        this.#stats.heartbeatFailures++;
        this.#log.warn({ err: e, ring: this.config.ringName, id: this.config.id }, 'cannot register in the ring; retrying');
        await sleep(this.config.heartbeatPeriodMs);
        if (this.#phase !== 'starting') throw new Error(`lifecycler ${this.config.id}: stopped before it registered`);
      }
    }
    if (this.#phase !== 'starting') throw new Error(`lifecycler ${this.config.id}: stopped while registering`);
    this.#phase = 'running';
    this.#beating = true;
    this.#log.info({ ring: this.config.ringName, id: this.config.id, state: this.#state, tokens: this.#tokens.length }, 'registered in the ring');
    this.#scheduleBeat();
    if (this.#state === 'JOINING') {
      if (this.config.joinAfterMs <= 0) {
        // The state is taken even if the write fails; the next heartbeat (or re-registration) writes it.
        await this.changeState('ACTIVE').catch((e: unknown) => this.#log.warn({ err: e }, 'cannot write ACTIVE state yet; the next heartbeat retries'));
      } else {
        this.#joinTimer = setTimeout(() => {
          this.#joinTimer = null;
          if (this.#state === 'JOINING') this.changeState('ACTIVE').catch((e: unknown) => this.#log.warn({ err: e }, 'cannot turn ACTIVE; the next heartbeat retries'));
        }, this.config.joinAfterMs);
      }
    }
  }

  /**
   * Sets the state and writes it. When etcd cannot be reached the state is still taken (and
   * written by the next successful heartbeat or registration) and the error is rethrown.
   */
  async changeState(s: InstanceState): Promise<void> {
    if (this.#state === s) return;
    this.#state = s;
    for (const cb of this.#stateListeners) cb(s);
    this.#log.info({ ring: this.config.ringName, id: this.config.id, state: s }, 'ring state change');
    await this.#serial(() => this.#writeDesc());
  }

  /**
   * Leaves the ring: LEAVING, then `beforeUnregister` (the ingester flushes there; heartbeats
   * continue), then the key is deleted and the lease revoked, then the final sleep. etcd
   * errors are logged, not thrown: an unreachable etcd lets the lease expire instead.
   * `beforeUnregister`'s own error is rethrown after unregistering.
   */
  async stop(beforeUnregister?: () => Promise<void>): Promise<void> {
    if (this.#phase === 'stopping' || this.#phase === 'stopped') return;
    const wasRunning = this.#phase === 'running';
    this.#phase = 'stopping';
    if (this.#joinTimer) clearTimeout(this.#joinTimer);
    this.#joinTimer = null;
    let flushErr: unknown = null;
    if (wasRunning) {
      await this.changeState('LEAVING').catch((e: unknown) => this.#log.warn({ err: e }, 'cannot write LEAVING state'));
      try {
        await beforeUnregister?.();
      } catch (e) {
        flushErr = e;
      }
    }
    this.#beating = false;
    if (this.#beatTimer) clearTimeout(this.#beatTimer);
    this.#beatTimer = null;
    await this.#serial(() => this.#unregister()).catch((e: unknown) => this.#log.warn({ err: e, ring: this.config.ringName, id: this.config.id }, 'cannot unregister; the lease will expire'));
    this.#phase = 'stopped';
    if (this.config.finalSleepMs > 0) await sleep(this.config.finalSleepMs);
    if (flushErr !== null) throw flushErr;
  }

  /** Runs `fn` after every earlier queued write has finished. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #scheduleBeat(): void {
    if (!this.#beating) return;
    this.#beatTimer = setTimeout(() => {
      this.#beatTimer = null;
      void this.#serial(() => this.#beat()).finally(() => {
        if (this.#beatTimer === null) this.#scheduleBeat();
      });
    }, this.config.heartbeatPeriodMs);
  }

  /** Renews the lease and the timestamp; registers again when the lease is gone. Never throws. */
  async #beat(): Promise<void> {
    if (!this.#beating || this.#kv.closed) return;
    try {
      if (this.#lease === null) {
        await this.#register();
        this.#log.info({ ring: this.config.ringName, id: this.config.id, state: this.#state }, 'registered in the ring again after losing the lease');
      } else {
        await this.#kv.keepAlive(this.#lease);
        await this.#writeDesc();
      }
      this.#stats.heartbeats++;
    } catch (e) {
      let err = e;
      if (e instanceof LeaseLostError) {
        this.#log.warn({ ring: this.config.ringName, id: this.config.id }, 'ring lease lost (etcd unreachable for longer than the heartbeat timeout?); registering again');
        this.#lease = null;
        try {
          await this.#register();
          this.#stats.heartbeats++;
          return;
        } catch (e2) {
          err = e2;
        }
      }
      this.#stats.heartbeatFailures++;
      this.#log.warn({ err, ring: this.config.ringName, id: this.config.id }, 'ring heartbeat failed');
    }
  }

  /** Writes the current description with a fresh timestamp, on the current lease (if any). */
  async #writeDesc(): Promise<void> {
    if (this.#lease === null) return; // written on re-registration
    const desc = this.#describe();
    try {
      await this.#kv.put(this.#keys.member(this.config.id), encodeInstance(desc), this.#lease);
    } catch (e) {
      if (e instanceof LeaseLostError) this.#lease = null;
      throw e;
    }
    this.#written = desc;
  }

  #describe(): InstanceDesc {
    return {
      id: this.config.id,
      addr: this.config.addr,
      httpAddr: this.config.httpAddr,
      state: this.#state,
      tokens: this.#tokens,
      timestampMs: Date.now(),
      registeredAtMs: this.#registeredAtMs,
      zone: '',
    };
  }

  /**
   * Grants a lease and claims tokens: read the claims key's revision and every member in one
   * snapshot, keep the tokens this instance wants that nobody else holds and draw new ones,
   * then commit only if the claims key is unchanged (nobody claimed meanwhile). Our own key
   * from an earlier run does not count as "somebody else".
   */
  async #register(): Promise<void> {
    const lease = await this.#kv.grantLease(this.#ttlSec);
    let renewedMs = Date.now();
    try {
      for (let attempt = 1; ; attempt++) {
        // Many members joining at once serialise on the claims key; keep the lease alive meanwhile.
        if (Date.now() - renewedMs > (this.#ttlSec * 1000) / 3) {
          renewedMs = Date.now();
          await this.#kv.keepAlive(lease);
        }
        const snap = await this.#kv.txn([], [
          { op: 'get', key: this.#keys.claims },
          { op: 'get', key: this.#keys.members, prefix: true },
        ]);
        const claimsRev = snap.gets[0]![0]?.modRevision ?? 0;
        const taken = new Set<number>();
        for (const kv of snap.gets[1]!) {
          const id = kv.key.slice(this.#keys.members.length);
          if (id === this.config.id) continue;
          try {
            for (const t of decodeInstance(id, kv.value).tokens) taken.add(t);
          } catch (e) {
            this.#log.warn({ err: e, key: kv.key }, 'ignoring an unreadable ring member');
          }
        }
        const tokens = pickTokens(this.config.numTokens, taken, this.#tokens, this.#source);
        const prev = this.#tokens;
        this.#tokens = tokens;
        const desc = this.#describe();
        if (this.#beforeClaimCommit) await this.#beforeClaimCommit();
        const res = await this.#kv.txn(
          [{ key: this.#keys.claims, target: 'mod', result: '=', value: claimsRev }],
          [
            { op: 'put', key: this.#keys.claims, value: this.config.id },
            { op: 'put', key: this.#keys.member(this.config.id), value: encodeInstance(desc), lease },
          ],
        );
        if (res.succeeded) {
          this.#lease = lease;
          this.#written = desc;
          this.#stats.registrations++;
          if (this.config.tokensFilePath !== '' && !sameElements(prev, tokens)) storeTokens(this.config.tokensFilePath, tokens);
          return;
        }
        this.#tokens = prev;
        this.#stats.claimConflicts++;
        if (attempt >= MAX_CLAIM_ATTEMPTS) throw new Error(`could not claim ${this.config.numTokens} tokens in ring ${this.config.ringName} after ${attempt} attempts: other members kept claiming`);
        // Each round commits one claim; jitter spreads the losers so they do not collide again in lockstep.
        await sleep(Math.random() * Math.min(CLAIM_BACKOFF_MAX_MS, attempt * CLAIM_BACKOFF_STEP_MS));
      }
    } catch (e) {
      await this.#kv.revokeLease(lease).catch(() => undefined);
      throw e;
    }
  }

  /** Deletes our key if it is still on our lease, then revokes the lease. */
  async #unregister(): Promise<void> {
    const lease = this.#lease;
    this.#lease = null;
    this.#written = null;
    if (lease === null || this.#kv.closed) return;
    const key = this.#keys.member(this.config.id);
    // Only our incarnation's key: a newer process with the same id may have replaced it.
    await this.#kv.txn([{ key, target: 'lease', result: '=', value: lease }], [{ op: 'delete', key }]);
    await this.#kv.revokeLease(lease);
    this.#log.info({ ring: this.config.ringName, id: this.config.id }, 'left the ring');
  }
}

