import { validInstanceId } from './codec.js';
import { RingView } from './ring-view.js';
import { RingSnapshot } from './snapshot.js';
import type { InstanceDesc, RingStatus } from './types.js';

/**
 * A ring held in memory, with no network: for tests, and for `-target=all` (or
 * `common.ring.kvstore.store: inmemory`), where the process's own roles are the whole ring.
 * Members change only through `set`, `upsert` and `remove`.
 */
export class StaticRing extends RingView {
  #snap: RingSnapshot;

  /**
   * `heartbeatTimeoutMs` defaults to 0: heartbeats never expire, since nothing refreshes
   * them; pass a timeout to test health rules.
   */
  constructor(instances: Iterable<InstanceDesc> = [], opts: { heartbeatTimeoutMs?: number } = {}) {
    super(opts.heartbeatTimeoutMs ?? 0);
    this.#snap = build(instances);
  }

  override snapshot(): RingSnapshot {
    return this.#snap;
  }

  /** Replaces every member. */
  set(instances: Iterable<InstanceDesc>): void {
    this.#snap = build(instances);
  }

  /** Adds a member or replaces the one with its id. */
  upsert(inst: InstanceDesc): void {
    this.#snap = this.#snap.withUpdated(inst) ?? build([...this.#snap.instances.filter((i) => i.id !== inst.id), inst]);
  }

  /** Removes member `id` (no-op if absent). */
  remove(id: string): void {
    if (this.#snap.indexOf(id) >= 0) this.#snap = build(this.#snap.instances.filter((i) => i.id !== id));
  }

  /** Always reachable and fresh: there is no store to lose. */
  override status(): RingStatus {
    return { kvReachable: true, lastSyncMs: Date.now(), stale: false };
  }
}

function build(instances: Iterable<InstanceDesc>): RingSnapshot {
  const list = [...instances];
  const seen = new Set<string>();
  for (const i of list) {
    if (!validInstanceId(i.id)) throw new TypeError(`invalid instance id ${JSON.stringify(i.id)}`);
    if (seen.has(i.id)) throw new TypeError(`duplicate instance id ${JSON.stringify(i.id)}`);
    seen.add(i.id);
  }
  return RingSnapshot.build(list);
}
