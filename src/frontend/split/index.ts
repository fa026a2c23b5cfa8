/**
 * The splitting and sharding planner, built from the process config (what
 * src/frontend/planner.ts hands the frontend). See planner.ts here and ADR 0027.
 */
import type { LimitsConfig, SiltConfig } from '../../config/config.js';
import { LruResultsStore } from '../results-cache.js';
import { RedisResultsStore } from '../redis-cache.js';
import type { ResultsStore, SplitLimits } from './options.js';
import { SplitPlanner } from './planner.js';

const MB = 1024 * 1024;

export { SplitPlanner } from './planner.js';
export type { ResultsStore, Runner, SplitLimits, SplitOptions } from './options.js';

/** The planner's view of a tenant's limits. */
export function splitLimits(l: LimitsConfig): SplitLimits {
  return {
    split_queries_by_interval: l.split_queries_by_interval,
    split_metadata_queries_by_interval: l.split_metadata_queries_by_interval,
    max_cache_freshness_per_query: l.max_cache_freshness_per_query,
    max_query_series: l.max_query_series,
    max_query_length: l.max_query_length,
    tsdb_max_bytes_per_shard: l.tsdb_max_bytes_per_shard,
    max_shards: l.max_query_shards,
  };
}

/**
 * The splitting planner with its results cache (`query_range.cache_results`): Redis when
 * `results_cache.cache.redis.endpoint` is set, else the embedded LRU with its per-tenant bound.
 * `close()` ends the Redis connection (call it when the frontend stops).
 */
export function createSplitPlanner(deps: { cfg: SiltConfig; limits: (tenant: string) => LimitsConfig; nowMs?: () => number; embeddedCacheBytes?: number; queriers?: () => number }): { planner: SplitPlanner; store: ResultsStore | null; close: () => Promise<void> } {
  const rc = deps.cfg.query_range.results_cache.cache;
  let store: LruResultsStore | RedisResultsStore | null = null;
  if (deps.cfg.query_range.cache_results) {
    if (rc.redis.endpoint !== '') store = new RedisResultsStore(rc.redis);
    else {
      const maxBytes = deps.embeddedCacheBytes ?? rc.embedded_cache.max_size_mb * MB;
      store = new LruResultsStore({ maxBytes, tenantMaxBytes: (t) => (deps.limits(t).results_cache_max_size_mb_per_tenant > 0 ? deps.limits(t).results_cache_max_size_mb_per_tenant * MB : maxBytes) });
    }
  }
  const planner = new SplitPlanner({ limits: (t) => splitLimits(deps.limits(t)), cache: store, nowMs: deps.nowMs ?? Date.now, ...(deps.queriers ? { queriers: deps.queriers } : {}) });
  return { planner, store, close: async () => (store instanceof RedisResultsStore ? store.close() : undefined) };
}
