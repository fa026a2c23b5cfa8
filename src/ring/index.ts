/**
 * Public API of the ring: membership and token ownership in etcd (issue #19 section 3).
 * See docs/adr/0021-etcd-ring.md for the design and its measured costs.
 */
export type { InstanceDesc, InstanceState, ReadRing, ReplicationSet, RingOp, RingStatus } from './types.js';
export { INSTANCE_STATES } from './types.js';
export { RingError, EMPTY_RING, TOO_MANY_UNHEALTHY } from './errors.js';
export { tokenFor, shardKeyFor, pickTokens, randomToken, type TokenSource } from './tokens.js';
export { EtcdKv, LeaseLostError, type EtcdKvConfig } from './etcd-kv.js';
export { Lifecycler, type LifecyclerConfig, type LifecyclerOptions, type LifecyclerStats } from './lifecycler.js';
export { Ring, type RingOptions } from './ring.js';
export { StaticRing } from './static-ring.js';
export { RingSnapshot } from './snapshot.js';
export { LeaderElection, type LeaderElectionConfig } from './leader-election.js';
export { ownsRuleGroup } from './ruler-sharding.js';
export { renderRingJson, renderRingHtml } from './http.js';
export { loadTokens, storeTokens } from './tokens-file.js';
export type { RingLogger } from './logger.js';
export { DEFAULT_RING_SETTINGS, RING_NAMES, etcdKvConfig, lifecyclerConfig, ringOptions, ringSettingsFrom, validateRingSettings, type RingSettings } from './config.js';
