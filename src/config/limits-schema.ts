import type { Setting } from './schema.js';

const KB = 1024;
const MB = 1024 * 1024;
const H = 3_600_000;

/** Per-tenant limits with Loki's names and defaults (pkg/validation/limits.go). */
export const LIMIT_SETTINGS: readonly Setting[] = [
  { path: 'limits_config.ingestion_rate_mb', flag: 'distributor.ingestion-rate-limit-mb', type: { t: 'float', min: 0 }, def: 4, help: 'Per-tenant ingestion rate in MB/s of line bytes.' },
  { path: 'limits_config.ingestion_burst_size_mb', flag: 'distributor.ingestion-burst-size-mb', type: { t: 'float', min: 0 }, def: 6, help: 'Per-tenant ingestion burst in MB.' },
  { path: 'limits_config.max_label_name_length', flag: 'validation.max-length-label-name', type: { t: 'int', min: 1 }, def: 1024, help: 'Longest label name accepted.' },
  { path: 'limits_config.max_label_value_length', flag: 'validation.max-length-label-value', type: { t: 'int', min: 1 }, def: 2048, help: 'Longest label value accepted.' },
  { path: 'limits_config.max_label_names_per_series', flag: 'validation.max-label-names-per-series', type: { t: 'int', min: 1 }, def: 15, help: 'Most labels a stream may have.' },
  { path: 'limits_config.max_line_size', flag: 'distributor.max-line-size', type: { t: 'bytes' }, def: 256 * KB, help: 'Longest line accepted (0 = unlimited).' },
  { path: 'limits_config.max_line_size_truncate', flag: 'distributor.max-line-size-truncate', type: { t: 'bool' }, def: false, help: 'Truncate long lines instead of rejecting them.' },
  { path: 'limits_config.reject_old_samples', flag: 'validation.reject-old-samples', type: { t: 'bool' }, def: true, help: 'Reject entries older than reject_old_samples_max_age.' },
  { path: 'limits_config.reject_old_samples_max_age', flag: 'validation.reject-old-samples.max-age', type: { t: 'duration' }, def: 7 * 24 * H, help: 'Oldest entry accepted.' },
  { path: 'limits_config.creation_grace_period', flag: 'validation.create-grace-period', type: { t: 'duration' }, def: 10 * 60_000, help: 'How far in the future an entry may be.' },
  { path: 'limits_config.per_stream_rate_limit', flag: 'ingester.per-stream-rate-limit', type: { t: 'bytes' }, def: 3 * MB, help: 'Per-stream rate in bytes/s.' },
  { path: 'limits_config.per_stream_rate_limit_burst', flag: 'ingester.per-stream-rate-limit-burst', type: { t: 'bytes' }, def: 15 * MB, help: 'Per-stream burst in bytes.' },
  { path: 'limits_config.max_entries_limit_per_query', flag: 'validation.max-entries-limit', type: { t: 'int', min: 0 }, def: 5000, help: 'Largest limit a log query may ask for.' },
  { path: 'limits_config.max_query_bytes_read', flag: 'frontend.max-query-bytes-read', type: { t: 'bytes' }, def: 0, help: 'Most uncompressed bytes a query may read; refused with 400 before any block is read (0 = unlimited).' },
  { path: 'limits_config.max_querier_bytes_read', flag: 'frontend.max-querier-bytes-read', type: { t: 'bytes' }, def: 0, help: 'Most uncompressed bytes one querier may read for a query or a query piece (0 = unlimited).' },
  { path: 'limits_config.max_query_series', flag: 'querier.max-query-series', type: { t: 'int', min: 0 }, def: 500, help: 'Most series a metric query may return.' },
  { path: 'limits_config.max_query_length', flag: 'store.max-query-length', type: { t: 'duration' }, def: 721 * H, help: 'Longest time range of a query (0 = unlimited).' },
  { path: 'limits_config.max_query_lookback', flag: 'querier.max-query-lookback', type: { t: 'duration' }, def: 0, help: 'How far back queries may look (0 = unlimited).' },
  { path: 'limits_config.max_streams_per_user', flag: 'ingester.max-streams-per-user', type: { t: 'int', min: 0 }, def: 0, help: 'Active streams per tenant per ingester (0 = unlimited).' },
  { path: 'limits_config.max_global_streams_per_user', flag: 'ingester.max-global-streams-per-user', type: { t: 'int', min: 0 }, def: 5000, help: 'Active streams per tenant across the cluster (0 = unlimited).' },
  { path: 'limits_config.max_structured_metadata_size', flag: 'limits.max-structured-metadata-size', type: { t: 'bytes' }, def: 64 * KB, help: 'Largest structured metadata of one entry.' },
  { path: 'limits_config.max_structured_metadata_entries_count', flag: 'limits.max-structured-metadata-entries-count', type: { t: 'int', min: 0 }, def: 128, help: 'Most structured metadata pairs of one entry.' },
  { path: 'limits_config.retention_period', flag: 'store.retention', type: { t: 'duration' }, def: 0, help: 'Retention period of stored data when compactor.retention_enabled is true (0 disables).' },
  { path: 'limits_config.retention_stream', flag: 'limits.retention-stream', type: { t: 'stream_retention' }, def: [], help: 'Per-stream retention rules [{selector, priority, period}]: the matching rule with the highest priority wins (ties: the shortest period); else retention_period.' },
  { path: 'limits_config.deletion_mode', flag: 'compactor.deletion-mode', type: { t: 'enum', values: ['disabled', 'filter-only', 'filter-and-delete'] }, def: 'filter-and-delete', help: "Deletion mode: 'disabled', 'filter-only' or 'filter-and-delete'." },
  { path: 'limits_config.split_queries_by_interval', flag: 'querier.split-queries-by-interval', type: { t: 'duration' }, def: H, help: 'Split metric and log queries into windows of this length, aligned to it, run in parallel and cached (0 disables splitting and caching; Loki 3.x default 1h).' },
  { path: 'limits_config.split_metadata_queries_by_interval', flag: 'querier.split-metadata-queries-by-interval', type: { t: 'duration' }, def: 24 * H, help: 'Split label, series and volume queries into windows of this length (0 disables).' },
  { path: 'limits_config.tsdb_max_bytes_per_shard', flag: 'querier.tsdb-max-bytes-per-shard', type: { t: 'bytes' }, def: 600 * MB, help: 'Target bytes of one shard of a metric query window: the query-frontend shards a window into index-stats bytes / this (at least 1, at most max_query_shards).' },
  { path: 'limits_config.max_query_shards', flag: 'querier.max-query-shards', type: { t: 'int', min: 1 }, def: 32, help: 'Most shards of one metric query window (1 disables sharding). Silt extension.' },
  { path: 'limits_config.results_cache_max_size_mb_per_tenant', flag: 'frontend.results-cache.max-size-mb-per-tenant', type: { t: 'int', min: 0 }, def: 0, help: "Most of the embedded results cache one tenant may hold, MB (0: the whole cache). Silt extension." },
  { path: 'limits_config.max_query_parallelism', flag: 'querier.max-query-parallelism', type: { t: 'int', min: 0 }, def: 32, help: 'Maximum number of query pieces of one tenant queued or running at once in the query-frontend (0 = unlimited).' },
  { path: 'limits_config.max_cache_freshness_per_query', flag: 'frontend.max-cache-freshness', type: { t: 'duration' }, def: 10 * 60_000, help: 'Results newer than this are not cached (late data may still arrive).' },
  { path: 'limits_config.max_concurrent_tail_requests', flag: 'querier.max-concurrent-tail-requests', type: { t: 'int', min: 0 }, def: 10, help: 'Most concurrent tail (live) requests per tenant.' },
  {
    path: 'limits_config.discover_service_name',
    flag: 'validation.discover-service-name',
    type: { t: 'list' },
    def: ['service', 'app', 'application', 'app_name', 'name', 'app_kubernetes_io_name', 'container', 'container_name', 'k8s_container_name', 'component', 'workload', 'job', 'k8s_job_name'],
    help: 'If a stream has no service_name label, the first of these labels found becomes service_name; none found: unknown_service. An empty list disables.',
  },
  { path: 'limits_config.discover_log_levels', flag: 'validation.discover-log-levels', type: { t: 'bool' }, def: true, help: 'Detect a log level from labels, structured metadata or the line and store it as detected_level structured metadata.' },
  {
    path: 'limits_config.log_level_fields',
    flag: 'validation.log-level-fields',
    type: { t: 'list' },
    def: ['level', 'LEVEL', 'Level', 'log.level', 'severity', 'SEVERITY', 'Severity', 'SeverityText', 'lvl', 'LVL', 'Lvl', 'severity_text', 'Severity_Text', 'SEVERITY_TEXT'],
    help: 'Label, metadata and line field names a log level is read from.',
  },
  { path: 'limits_config.log_level_from_json_max_depth', flag: 'validation.log-level-from-json-max-depth', type: { t: 'int' }, def: 2, help: 'Object depth searched for a level field in JSON lines (0 or less: unlimited).' },
  { path: 'limits_config.max_push_body_size', flag: 'distributor.max-recv-msg-size', type: { t: 'bytes' }, def: 100 * MB, help: 'Largest decompressed push body.' },
];
