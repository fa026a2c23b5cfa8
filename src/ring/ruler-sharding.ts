import { shardKeyFor } from './tokens.js';
import type { ReadRing } from './types.js';

/**
 * Whether ruler `instanceId` evaluates rule group `group` of `tenant`: the group's token
 * (`shardKeyFor`) belongs to the first ACTIVE, heartbeating member clockwise. Every ruler
 * computing this over the same ring picks the same single owner; a dead owner's groups move
 * to the next member once its heartbeat is stale, without waiting for its lease to expire.
 * (Loki takes the first member of `Get(key, RingOp)`, which fails instead while the owner is
 * unhealthy.) Pass `group` as `<namespace>/<group name>` for Loki's hash.
 */
export function ownsRuleGroup(ring: ReadRing, instanceId: string, tenant: string, group: string): boolean {
  return ring.firstHealthy(shardKeyFor(tenant, group), 'write')?.id === instanceId;
}
