/**
 * An immutable view of a ring's members with their tokens merged and sorted, and the pure
 * algorithms over it: replication sets (dskit `Ring.Get` + `defaultReplicationStrategy`),
 * the all-members set (`GetReplicationSetForOperation`), and token ownership (`CountTokens`).
 */
import { EMPTY_RING, RingError, TOO_MANY_UNHEALTHY } from './errors.js';
import { searchToken } from './tokens.js';
import type { InstanceDesc, InstanceState, ReplicationSet, RingOp } from './types.js';

/** States healthy for each op (dskit `NewOp` healthy states). */
function stateHealthy(op: RingOp, s: InstanceState): boolean {
  switch (op) {
    case 'write':
      return s === 'ACTIVE';
    case 'read':
      return s === 'ACTIVE' || s === 'PENDING' || s === 'LEAVING';
    case 'reporting':
      return true;
  }
}

/** Whether meeting a member in state `s` on the walk adds one more member to the set. */
function extendsSet(op: RingOp, s: InstanceState): boolean {
  switch (op) {
    case 'write':
      return s !== 'ACTIVE';
    case 'read':
      return s !== 'ACTIVE' && s !== 'LEAVING';
    case 'reporting':
      return false;
  }
}

/**
 * True if `inst` is in a state healthy for `op` and heartbeated within `timeoutMs` of `nowMs`
 * (`timeoutMs` 0: heartbeats never expire, as dskit's 0 = disabled).
 */
export function instanceHealthy(inst: InstanceDesc, op: RingOp, nowMs: number, timeoutMs: number): boolean {
  return stateHealthy(op, inst.state) && (timeoutMs <= 0 || nowMs - inst.timestampMs <= timeoutMs);
}

/** Sorted members and merged tokens of one ring state. */
export class RingSnapshot {
  /** Members sorted by id. */
  readonly instances: readonly InstanceDesc[];
  /** Every token of every member, ascending. */
  readonly tokens: Uint32Array;
  /** `owners[i]` is the index in `instances` of the member holding `tokens[i]`. */
  readonly owners: Int32Array;
  /** Scratch marks for the walk: `seen[j] === epoch` means member j was met this call. */
  private readonly seen: Uint32Array;
  private epoch = 0;

  /** An empty ring. */
  static readonly EMPTY = new RingSnapshot([], new Uint32Array(0), new Int32Array(0));

  private constructor(instances: readonly InstanceDesc[], tokens: Uint32Array, owners: Int32Array) {
    this.instances = instances;
    this.tokens = tokens;
    this.owners = owners;
    this.seen = new Uint32Array(instances.length);
  }

  /** Builds a snapshot from members (any order; ids must be distinct). */
  static build(list: Iterable<InstanceDesc>): RingSnapshot {
    const instances = [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (instances.length === 0) return RingSnapshot.EMPTY;
    let n = 0;
    for (const inst of instances) n += inst.tokens.length;
    // Sort (token, owner) pairs packed in one float64 each: token * 2^21 + owner index stays
    // below 2^53 for up to 2^21 members, and one typed-array sort beats sorting objects.
    const packed = new Float64Array(n);
    let k = 0;
    for (let j = 0; j < instances.length; j++) for (const t of instances[j]!.tokens) packed[k++] = t * 2097152 + j;
    packed.sort();
    const tokens = new Uint32Array(n);
    const owners = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = packed[i]!;
      const t = Math.floor(v / 2097152);
      tokens[i] = t;
      owners[i] = v - t * 2097152;
    }
    return new RingSnapshot(instances, tokens, owners);
  }

  /**
   * This snapshot with one member's description replaced, reusing the token arrays when only
   * its heartbeat or state changed (the common watch event); null if its tokens changed or
   * it is new, in which case the caller rebuilds.
   */
  withUpdated(inst: InstanceDesc): RingSnapshot | null {
    const j = this.indexOf(inst.id);
    if (j < 0) return null;
    const old = this.instances[j]!;
    if (old.tokens !== inst.tokens) {
      if (old.tokens.length !== inst.tokens.length) return null;
      for (let i = 0; i < old.tokens.length; i++) if (old.tokens[i] !== inst.tokens[i]) return null;
    }
    const instances = this.instances.slice();
    instances[j] = inst;
    return new RingSnapshot(instances, this.tokens, this.owners);
  }

  /** Index of member `id` in `instances`, or -1. */
  indexOf(id: string): number {
    let lo = 0;
    let hi = this.instances.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.instances[mid]!.id;
      if (m === id) return mid;
      if (m < id) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  /**
   * Replication set of `key` (see `ReadRing.get`). Walks at most every token once; allocates
   * only the result.
   */
  replicationSet(key: number, rf: number, op: RingOp, nowMs: number, timeoutMs: number): ReplicationSet {
    if (!Number.isInteger(rf) || rf < 1) throw new RangeError(`replication factor must be a positive integer, got ${rf}`);
    const n = this.tokens.length;
    if (n === 0) throw new RingError(EMPTY_RING);
    const epoch = this.nextEpoch();
    const maxInstances = this.instances.length;
    let size = rf;
    let distinct = 0;
    const chosen: InstanceDesc[] = [];
    for (let i = searchToken(this.tokens, key), iter = 0; distinct < Math.min(maxInstances, size) && iter < n; iter++, i++) {
      if (i === n) i = 0;
      const j = this.owners[i]!;
      if (this.seen[j] === epoch) continue;
      this.seen[j] = epoch;
      distinct++;
      const inst = this.instances[j]!;
      if (extendsSet(op, inst.state)) size++;
      chosen.push(inst);
    }
    return filterForQuorum(chosen, op, rf, nowMs, timeoutMs);
  }

  /** The member of the first token clockwise of `key` that is healthy for `op`, or null. */
  firstHealthy(key: number, op: RingOp, nowMs: number, timeoutMs: number): InstanceDesc | null {
    const n = this.tokens.length;
    if (n === 0) return null;
    const epoch = this.nextEpoch();
    for (let i = searchToken(this.tokens, key), iter = 0; iter < n; iter++, i++) {
      if (i === n) i = 0;
      const j = this.owners[i]!;
      if (this.seen[j] === epoch) continue;
      this.seen[j] = epoch;
      const inst = this.instances[j]!;
      if (instanceHealthy(inst, op, nowMs, timeoutMs)) return inst;
    }
    return null;
  }

  /**
   * Every member healthy for `op` and the failures a fan-out to all of them may tolerate
   * with replication factor `rf` (dskit `GetReplicationSetForOperation`, no zones): at least
   * max(members, rf) - floor(rf/2) must answer.
   */
  allHealthy(op: RingOp, rf: number, nowMs: number, timeoutMs: number): ReplicationSet {
    if (!Number.isInteger(rf) || rf < 1) throw new RangeError(`replication factor must be a positive integer, got ${rf}`);
    if (this.tokens.length === 0) throw new RingError(EMPTY_RING);
    const healthy = this.instances.filter((i) => instanceHealthy(i, op, nowMs, timeoutMs));
    const required = Math.max(this.instances.length, rf) - Math.floor(rf / 2);
    if (healthy.length < required) throw new RingError(TOO_MANY_UNHEALTHY);
    return { instances: healthy, maxErrors: healthy.length - required };
  }

  /**
   * Share of the token space each member owns, in percent (dskit `CountTokens` / MaxUint32):
   * a token owns the range from the previous token (exclusive) up to itself.
   */
  ownership(): Map<string, number> {
    const owned = new Float64Array(this.instances.length);
    const n = this.tokens.length;
    for (let i = 0; i < n; i++) {
      const prev = this.tokens[i === 0 ? n - 1 : i - 1]!;
      owned[this.owners[i]!]! += tokenDistance(prev, this.tokens[i]!);
    }
    const out = new Map<string, number>();
    for (let j = 0; j < this.instances.length; j++) out.set(this.instances[j]!.id, (owned[j]! / 0xffffffff) * 100);
    return out;
  }

  private nextEpoch(): number {
    if (this.epoch === 0xffffffff) {
      this.seen.fill(0);
      this.epoch = 0;
    }
    return ++this.epoch;
  }
}

/** Distance from token `from` clockwise to `to`; a token to itself is the whole ring, 2^32. */
export function tokenDistance(from: number, to: number): number {
  return from < to ? to - from : 0xffffffff - from + to + 1;
}

/**
 * dskit `defaultReplicationStrategy.Filter`: drop members unhealthy for `op`; a quorum of
 * floor(max(rf, |set|)/2)+1 must remain (an extended set raises the quorum), else the error.
 */
function filterForQuorum(chosen: InstanceDesc[], op: RingOp, rf: number, nowMs: number, timeoutMs: number): ReplicationSet {
  const minSuccess = Math.floor(Math.max(rf, chosen.length) / 2) + 1;
  const healthy: InstanceDesc[] = [];
  let unhealthy: string[] | null = null;
  for (const inst of chosen) {
    if (instanceHealthy(inst, op, nowMs, timeoutMs)) healthy.push(inst);
    else (unhealthy ??= []).push(inst.addr);
  }
  if (healthy.length < minSuccess) {
    const which = unhealthy ? ` - unhealthy instances: ${unhealthy.join(',')}` : '';
    throw new RingError(`at least ${minSuccess} live replicas required, could only find ${healthy.length}${which}`);
  }
  return { instances: healthy, maxErrors: healthy.length - minSuccess };
}
