/**
 * The read side of a ring stored in etcd: lists `<prefix><ringName>/`, then watches it, and
 * answers every `ReadRing` call from the last known state without I/O.
 *
 * A probe every `probePeriodMs` lists the member keys without values and compares their
 * revisions with what the watch delivered. A difference may be an event still on its way (a
 * heartbeat written just before the listing), so the next probe checks whether the watch has
 * caught up with that listing; if not (a missed event), and at once for a dead watch, a full
 * list and a new watch follow. The probe is also how an outage is noticed: a failed
 * probe marks the KV store unreachable. While it is, the last known members keep being served
 * and heartbeats are judged as of the last successful sync, so an etcd outage alone does not
 * make every member look dead; after `maxUnreachableMs` without contact `status().stale` is
 * true, for /ready to report.
 */
import { decodeInstance, ringKeys, type RingKeys } from './codec.js';
import { DEFAULT_MAX_UNREACHABLE_MS } from './consts.js';
import type { EtcdKv, KeyValue, WatchEvent, WatchHandle } from './etcd-kv.js';
import { NOOP_LOGGER, type RingLogger } from './logger.js';
import { RingView } from './ring-view.js';
import { RingSnapshot } from './snapshot.js';
import type { InstanceDesc, RingStatus } from './types.js';

/** Settings of a ring reader. */
export interface RingOptions {
  /** Ring to read: `ring`, `rulers`, `compactor`. */
  readonly ringName: string;
  /** Heartbeat age after which a member is unhealthy (`common.ring.heartbeat_timeout`, ms). */
  readonly heartbeatTimeoutMs: number;
  /** Interval of the consistency/reachability probe (ms, default 5000). */
  readonly probePeriodMs?: number;
  /** Unreachable time after which `status().stale` is true (`common.ring.kvstore.etcd.max_unreachable_period`, ms, default 60000). */
  readonly maxUnreachableMs?: number;
  /** Where outages and recoveries are logged. */
  readonly logger?: RingLogger;
}

/** One member key as last seen: its revision, and its decoded value (null if unreadable). */
interface Entry {
  readonly modRevision: number;
  readonly desc: InstanceDesc | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A `ReadRing` kept in sync with etcd; see the file comment. */
export class Ring extends RingView {
  readonly #kv: EtcdKv;
  readonly #keys: RingKeys;
  readonly #log: RingLogger;
  readonly #probePeriodMs: number;
  readonly #maxUnreachableMs: number;
  readonly #entries = new Map<string, Entry>();
  /** Members that lost their lease recently (see #keepGhost). */
  readonly #ghosts = new Map<string, { desc: InstanceDesc; untilMs: number }>();
  readonly #listeners = new Set<() => void>();
  #snap: RingSnapshot = RingSnapshot.EMPTY;
  #watch: WatchHandle | null = null;
  /** Bumped on every resync; events of an older watch are dropped. */
  #generation = 0;
  #reachable = false;
  #lastSyncMs = 0;
  /** End and length of the last outage (see healthClockMs). */
  #recoveredAtMs = 0;
  #outageMs = 0;
  #probeTimer: NodeJS.Timeout | null = null;
  #running = false;
  #stopped = false;
  readonly #stats = { resyncs: 0, watchEvents: 0 };
  /** The last probe's listing when the watch was behind it: the next probe resyncs if it still is. */
  #behind: { revisions: Map<string, number>; revision: number } | null = null;

  constructor(kv: EtcdKv, opts: RingOptions) {
    super(opts.heartbeatTimeoutMs);
    this.#kv = kv;
    this.#keys = ringKeys(opts.ringName);
    this.#log = opts.logger ?? NOOP_LOGGER;
    this.#probePeriodMs = opts.probePeriodMs ?? 5000;
    this.#maxUnreachableMs = opts.maxUnreachableMs ?? DEFAULT_MAX_UNREACHABLE_MS;
    if (!(this.#probePeriodMs > 0)) throw new RangeError('ring probe period must be positive');
  }

  override snapshot(): RingSnapshot {
    return this.#snap;
  }

  /** Full listings done (the first included) and watch events applied, for tests and metrics. */
  stats(): { resyncs: number; watchEvents: number } {
    return { ...this.#stats };
  }

  override status(): RingStatus {
    const now = Date.now();
    // Never synced counts as stale: there is no last known state to serve.
    return { kvReachable: this.#reachable, lastSyncMs: this.#lastSyncMs, stale: this.#lastSyncMs === 0 || (!this.#reachable && now - this.#lastSyncMs > this.#maxUnreachableMs) };
  }

  /**
   * Heartbeats are judged as of the last contact with etcd, plus two probe periods at most:
   * when etcd freezes or is cut off, heartbeats stop arriving at once, but a probe may take
   * several call deadlines to fail (a retry per member); judging by the wall clock meanwhile
   * would age every member out before etcd even counts as unreachable.
   */
  protected override healthClockMs(): number {
    if (!this.#reachable) return this.#lastSyncMs;
    const now = Date.now();
    const clock = Math.min(now, this.#lastSyncMs + 2 * this.#probePeriodMs);
    // Right after an outage, members get a heartbeat timeout to heartbeat again: the outage
    // does not count towards their heartbeats' age.
    return now - this.#recoveredAtMs < this.heartbeatTimeoutMs ? clock - this.#outageMs : clock;
  }

  /**
   * Calls `cb` after members join or leave or change state or tokens (not on plain
   * heartbeats). Returns an unsubscribe function.
   */
  onChange(cb: () => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /**
   * Reads the ring and starts watching it. Resolves after the first successful read,
   * retrying every probe period while etcd cannot be reached; rejects if `stop()` comes first.
   */
  async start(): Promise<void> {
    if (this.#running || this.#stopped) throw new Error('ring: start() called twice');
    this.#running = true;
    for (;;) {
      try {
        await this.#resync();
        break;
      } catch (e) {
        this.#markUnreachable(e);
        await sleep(this.#probePeriodMs);
        if (this.#stopped) throw new Error(`ring ${this.#keys.members}: stopped before the first sync`);
      }
    }
    this.#scheduleProbe();
  }

  /** Stops watching and probing; the last state stays readable. Does not close the KV client. */
  stop(): void {
    this.#stopped = true;
    this.#running = false;
    if (this.#probeTimer) clearTimeout(this.#probeTimer);
    this.#probeTimer = null;
    this.#generation++;
    this.#watch?.cancel();
    this.#watch = null;
  }

  #scheduleProbe(): void {
    if (this.#stopped) return;
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = null;
      void this.#probe().finally(() => this.#scheduleProbe());
    }, this.#probePeriodMs);
  }

  /** Checks reachability and consistency; resyncs on any difference. Never throws. */
  async #probe(): Promise<void> {
    if (this.#stopped || this.#kv.closed) return;
    try {
      if (this.#watch === null) {
        await this.#resync();
        return;
      }
      const gen = this.#generation;
      const { kvs, revision } = await this.#kv.list(this.#keys.members, { keysOnly: true });
      if (gen !== this.#generation || this.#stopped) return;
      const revisions = new Map<string, number>();
      for (const kv of kvs) revisions.set(kv.key.slice(this.#keys.members.length), kv.modRevision);
      const previous = this.#behind;
      this.#behind = null;
      if (previous !== null && !this.#caughtUp(previous.revisions, previous.revision)) {
        // Still behind what the last probe listed: an event was missed.
        await this.#resync();
        return;
      }
      if (!this.#caughtUp(revisions, revision)) this.#behind = { revisions, revision };
      this.#markReachable();
    } catch (e) {
      this.#markUnreachable(e);
    }
  }

  /**
   * Whether the watch has delivered everything of a keys-only listing taken at `revision`: every
   * listed key with at least its listed revision (ours may be newer: an event arrived since), and
   * no key the listing left out unless we learned of it after the listing (a missed delete).
   */
  #caughtUp(revisions: ReadonlyMap<string, number>, revision: number): boolean {
    for (const [id, rev] of revisions) {
      const e = this.#entries.get(id);
      if (!e || e.modRevision < rev) return false;
    }
    for (const [id, e] of this.#entries) if (!revisions.has(id) && e.modRevision <= revision) return false;
    return true;
  }

  /** Lists every member, replaces the state, and starts a new watch from the listing's revision. */
  async #resync(): Promise<void> {
    const gen = ++this.#generation;
    this.#behind = null;
    this.#watch?.cancel();
    this.#watch = null;
    const { kvs, revision } = await this.#kv.list(this.#keys.members);
    if (gen !== this.#generation || this.#stopped) return;
    this.#stats.resyncs++;
    const before = this.#snap;
    const old = new Map(this.#entries);
    this.#entries.clear();
    for (const kv of kvs) this.#entries.set(kv.key.slice(this.#keys.members.length), this.#decode(kv));
    for (const [id, e] of old) if (!this.#entries.has(id)) this.#keepGhost(id, e.desc);
    this.#rebuild();
    this.#markReachable();
    if (membershipChanged(before, this.#snap)) this.#notify();
    const watch = await this.#kv.watch(this.#keys.members, revision + 1, {
      onEvents: (events) => {
        if (gen === this.#generation) this.#apply(events);
      },
      onClosed: (err) => {
        if (gen !== this.#generation) return;
        this.#watch = null;
        this.#log.debug({ err }, 'ring watch closed; the next probe lists again');
      },
    });
    if (gen !== this.#generation || this.#stopped) watch.cancel();
    else this.#watch = watch;
  }

  #apply(events: readonly WatchEvent[]): void {
    this.#stats.watchEvents += events.length;
    let changed = false;
    let snap: RingSnapshot | null = this.#snap;
    for (const ev of events) {
      const id = ev.kv.key.slice(this.#keys.members.length);
      if (id.length === 0 || id.includes('/')) continue;
      if (ev.type === 'delete') {
        const gone = this.#entries.get(id);
        if (gone) {
          this.#entries.delete(id);
          this.#keepGhost(id, gone.desc);
          snap = null;
          changed = true;
        }
        continue;
      }
      const entry = this.#decode(ev.kv);
      const old = this.#entries.get(id);
      this.#entries.set(id, entry);
      if (entry.desc === null) {
        if (old?.desc) {
          snap = null;
          changed = true;
        }
        continue;
      }
      if (!old?.desc || old.desc.state !== entry.desc.state) changed = true;
      snap = snap?.withUpdated(entry.desc) ?? null;
      if (snap === null) changed = true;
    }
    if (snap === null) this.#rebuild();
    else this.#snap = snap;
    this.#markReachable();
    if (changed) this.#notify();
  }

  #decode(kv: KeyValue): Entry {
    const id = kv.key.slice(this.#keys.members.length);
    try {
      return { modRevision: kv.modRevision, desc: decodeInstance(id, kv.value) };
    } catch (e) {
      this.#log.warn({ err: e, key: kv.key }, 'ignoring an unreadable ring member');
      return { modRevision: kv.modRevision, desc: null };
    }
  }

  #rebuild(): void {
    const list: InstanceDesc[] = [];
    for (const e of this.#entries.values()) if (e.desc) list.push(e.desc);
    const now = Date.now();
    for (const [id, g] of this.#ghosts) {
      if (g.untilMs <= now || this.#entries.has(id)) this.#ghosts.delete(id);
      else list.push(g.desc);
    }
    this.#snap = RingSnapshot.build(list);
  }

  /**
   * A member whose key vanished without LEAVING first lost its lease: it crashed, or etcd
   * expired every lease at once when it came back from an outage. It stays in the view (judged
   * by its last heartbeat, like any member) for one heartbeat timeout or until it registers
   * again, so a mass expiry does not empty the ring while every member re-registers.
   */
  #keepGhost(id: string, desc: InstanceDesc | null): void {
    if (desc === null || desc.state === 'LEAVING' || this.heartbeatTimeoutMs <= 0) return;
    this.#ghosts.set(id, { desc, untilMs: Date.now() + this.heartbeatTimeoutMs });
    const t = setTimeout(() => {
      if (this.#stopped) return;
      this.#rebuild();
      this.#notify();
    }, this.heartbeatTimeoutMs + 10);
    t.unref();
  }

  #markReachable(): void {
    const now = Date.now();
    if (!this.#reachable && this.#lastSyncMs !== 0) this.#log.info({ ring: this.#keys.members }, 'etcd reachable again; ring in sync');
    // A gap in contact longer than two probe periods was an outage (whether or not a probe failed).
    if (this.#lastSyncMs !== 0 && now - this.#lastSyncMs > 2 * this.#probePeriodMs) {
      this.#recoveredAtMs = now;
      this.#outageMs = now - this.#lastSyncMs - this.#probePeriodMs;
    }
    this.#reachable = true;
    this.#lastSyncMs = now;
  }

  #markUnreachable(err: unknown): void {
    if (this.#reachable || this.#lastSyncMs === 0) this.#log.warn({ err, ring: this.#keys.members }, 'etcd unreachable; serving the last known ring');
    this.#reachable = false;
  }

  #notify(): void {
    for (const cb of this.#listeners) {
      try {
        cb();
      } catch (e) {
        this.#log.error({ err: e }, 'ring change listener failed');
      }
    }
  }
}

/** True if members, their states or their tokens differ (heartbeat timestamps ignored). */
function membershipChanged(a: RingSnapshot, b: RingSnapshot): boolean {
  if (a.instances.length !== b.instances.length || a.tokens.length !== b.tokens.length) return true;
  for (let i = 0; i < a.instances.length; i++) {
    const x = a.instances[i]!;
    const y = b.instances[i]!;
    if (x.id !== y.id || x.state !== y.state) return true;
  }
  for (let i = 0; i < a.tokens.length; i++) if (a.tokens[i] !== b.tokens[i] || a.owners[i] !== b.owners[i]) return true;
  return false;
}
