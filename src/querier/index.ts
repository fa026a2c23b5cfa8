/**
 * The querier role as other roles see it: the request/result types of log and metric queries
 * and the per-query scan statistics. Roles import the querier through this file only
 * (eslint.config.js); server/ and app/ may wire its internals.
 */
export type {
  Direction,
  LogQueryRequest,
  LogQueryResult,
  MetricQueryRequest,
  MetricQueryResult,
  Querier,
  QuerierConfig,
  QuerierDeps,
  ResultStream,
  Store,
} from './querier.js';
export { ScanStats } from './scan.js';
export { formatShard, inShard, LEAF_SERIES_FACTOR, parseShard, type Shard } from './shard.js';
export { labelListBody, seriesResponseBody } from './metadata.js';
/** Drilldown answers computed from what a query-frontend merged (detected fields of lines, detected labels of label values). */
export { fieldsOfLines, fieldValuesOfLines, shouldRejectLabel, detectedLabels, volumeResult, type DetectedFieldLines, type DrilldownSource, type VolumeBucket } from './drilldown/index.js';
