import { instanceHealthy, type RingSnapshot } from './snapshot.js';
import type { InstanceDesc, ReadRing, ReplicationSet, RingOp, RingStatus } from './types.js';

/**
 * The `ReadRing` methods, answered from whatever snapshot a subclass holds. Subclasses say
 * where the snapshot comes from and which clock judges heartbeats.
 */
export abstract class RingView implements ReadRing {
  readonly heartbeatTimeoutMs: number;

  constructor(heartbeatTimeoutMs: number) {
    if (!(heartbeatTimeoutMs >= 0)) throw new RangeError(`heartbeat timeout must be >= 0, got ${heartbeatTimeoutMs}`);
    this.heartbeatTimeoutMs = heartbeatTimeoutMs;
  }

  /** The current state; replaced, never mutated. */
  abstract snapshot(): RingSnapshot;

  abstract status(): RingStatus;

  /** Wall-clock ms heartbeats are judged against (now, unless a subclass knows better). */
  protected healthClockMs(): number {
    return Date.now();
  }

  instances(): readonly InstanceDesc[] {
    return this.snapshot().instances;
  }

  get(token: number, rf: number, op: RingOp): ReplicationSet {
    return this.snapshot().replicationSet(token >>> 0, rf, op, this.healthClockMs(), this.heartbeatTimeoutMs);
  }

  allHealthy(op: RingOp, rf: number): ReplicationSet {
    return this.snapshot().allHealthy(op, rf, this.healthClockMs(), this.heartbeatTimeoutMs);
  }

  isHealthy(inst: InstanceDesc, op: RingOp): boolean {
    return instanceHealthy(inst, op, this.healthClockMs(), this.heartbeatTimeoutMs);
  }

  firstHealthy(token: number, op: RingOp): InstanceDesc | null {
    return this.snapshot().firstHealthy(token >>> 0, op, this.healthClockMs(), this.heartbeatTimeoutMs);
  }
}
