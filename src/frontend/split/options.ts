/** What the splitting planners read: per-tenant limits, the results cache and a way to run pieces. */
import { LimitError } from '../../errors.js';
import { formatDuration, formatPromDuration } from '../../util/go/duration.js';
import type { Piece, PieceResult } from '../plan.js';

const NS_PER_MS = 1_000_000n;

/**
 * The whole query's length against `max_query_length` (each window alone would pass), with
 * the querier's message (Loki's, which allows one extra minute).
 */
export function checkQueryLength(lim: SplitLimits, startNs: bigint, endNs: bigint): void {
  if (lim.max_query_length > 0 && endNs - startNs > BigInt(lim.max_query_length) * NS_PER_MS + 60_000n * NS_PER_MS) {
    throw new LimitError(`the query time range exceeds the limit (query length: ${formatDuration(((endNs - startNs) / NS_PER_MS) * NS_PER_MS)}, limit: ${formatPromDuration(BigInt(Math.trunc(lim.max_query_length)) * NS_PER_MS)})`);
  }
}

/** Per-tenant settings of the splitting planners (a slice of limits_config; durations in ms). */
export interface SplitLimits {
  /** Window length of metric and log queries, ms; 0: no splitting (Loki 3.x default 1h). */
  split_queries_by_interval: number;
  /** Window length of label, series and volume queries, ms (Loki `split_metadata_queries_by_interval`, 24h). */
  split_metadata_queries_by_interval: number;
  /** Windows ending less than this long ago are not cached, ms. */
  max_cache_freshness_per_query: number;
  /** max_query_series, checked on the merged answer. */
  max_query_series: number;
  /** Longest query range, ms (0: unlimited), checked on the whole query before splitting. */
  max_query_length: number;
  /** Bytes of a metric leaf's streams per shard (Loki `tsdb_max_bytes_per_shard`, 600MB). */
  tsdb_max_bytes_per_shard: number;
  /** Most shards of one leaf in one window (1: no sharding). */
  max_shards: number;
}

/** Cached answers by tenant and key (results-cache.ts: in-process LRU or Redis). */
export interface ResultsStore {
  /** The stored bytes, or null (a miss, or the backend failed: a cache never fails a query). */
  get(tenant: string, key: string): Promise<Buffer | null>;
  set(tenant: string, key: string, value: Buffer): Promise<void>;
}

export interface SplitOptions {
  limits: (tenant: string) => SplitLimits;
  /** null: no results cache. */
  cache: ResultsStore | null;
  nowMs: () => number;
  /**
   * Queriers connected to the frontend now (the frontend's `queriers`): a big log span uses at
   * least this many shards (log-plan.ts). Absent: 1 (shards from bytes only). Queriers, not
   * their slots: a querier's slots share its one event loop, so shards beyond one per querier
   * only add pieces (measured: 72 pieces and 3x the warm time of 16 for a 7-day needle query
   * on one querier, bench/RESULTS.md "Query frontend at 5 GB").
   */
  queriers?: () => number;
}

/** Runs one piece through the frontend's queue and queriers: its 2xx answer, or the request's error. */
export interface Runner {
  run(piece: Piece): Promise<PieceResult>;
}
