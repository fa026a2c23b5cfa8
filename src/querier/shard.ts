/**
 * Query sharding in the querier: the shard primitives live in src/model/shard.ts (ingesters
 * select a shard's streams too); what only queriers need is here.
 */
export { formatShard, inShard, parseShard, type Shard } from '../model/shard.js';

/**
 * A shard piece returns a leaf of the query (a range aggregation before the vector aggregation
 * that narrows it), which may hold many more series than the answer: the frontend checks
 * `max_query_series` on the merged answer, and a piece may hold this many times it.
 */
export const LEAF_SERIES_FACTOR = 100;
