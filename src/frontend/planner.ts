/**
 * Which QueryPlanner the frontend uses: the one place app.ts asks. The splitting and sharding
 * planner of src/frontend/split/ (ADR 0027); requests it does not split run as one piece.
 */
import type { LimitsConfig, SiltConfig } from '../config/config.js';
import { LruResultsStore } from './results-cache.js';
import { createSplitPlanner } from './split/index.js';
import type { QueryPlanner } from './plan.js';

/** What a planner may read: the process config and each tenant's limits. */
export interface PlannerDeps {
  cfg: SiltConfig;
  limits: (tenant: string) => LimitsConfig;
  /** Byte budget of the in-process results cache (the config's, capped by the memory limit). */
  embeddedCacheBytes: number;
  /** Queriers connected to the frontend now (`Frontend.queriers`): big log spans use at least this many shards. */
  queriers?: () => number;
}

/**
 * The frontend's planner; its in-process results cache (null with Redis or no caching), for the
 * cache metrics; and what releases its resources (a Redis connection) at shutdown.
 */
export function newQueryPlanner(deps: PlannerDeps): { planner: QueryPlanner; cache: LruResultsStore['lru'] | null; close: () => Promise<void> } {
  // Splitting and sharding (issue #21 part 2); its results cache when query_range.cache_results.
  const { planner, store, close } = createSplitPlanner(deps);
  return { planner, cache: store instanceof LruResultsStore ? store.lru : null, close };
}
