/**
 * Per-tenant limits (Loki's `limits_config`). Field names are the camelCase form of Loki's
 * YAML keys (`limitsYamlKeys` maps them back), defaults are Loki's
 * (`pkg/validation/limits.go`, `RegisterFlags`). Units are normalised so that callers never
 * convert: sizes are bytes, durations milliseconds, `*Mb` rates megabytes (2^20 bytes) per
 * second as in Loki. `limitsUnits` says which, for the config loader.
 *
 * Roles consume limits through `LimitsProvider` (the consumer-defined interface Loki's
 * `distributor.Limits` is); `StaticLimitsProvider` serves defaults plus fixed overrides.
 */

/** One tenant's effective limits. Objects returned by providers are frozen; never mutate. */
export interface TenantLimits {
  /** `local` or `global` (Silt runs one distributor per ring member; treated as local). */
  readonly ingestionRateStrategy: 'local' | 'global';
  /** Tenant ingestion rate in MB (2^20 bytes) per second of line + structured metadata bytes. */
  readonly ingestionRateMb: number;
  /** Tenant burst in MB (2^20 bytes); a single push larger than this is always rejected. */
  readonly ingestionBurstSizeMb: number;
  /** Longest accepted label name, bytes. */
  readonly maxLabelNameLength: number;
  /** Longest accepted label value, bytes. */
  readonly maxLabelValueLength: number;
  /** Most label names per stream (`service_name` does not count). */
  readonly maxLabelNamesPerSeries: number;
  /** Longest accepted line, bytes; 0 disables the check. */
  readonly maxLineSize: number;
  /** Truncate over-long lines instead of discarding them. */
  readonly maxLineSizeTruncate: boolean;
  /** Appended to truncated lines (counts towards maxLineSize). */
  readonly maxLineSizeTruncateIdentifier: string;
  /** Reject entries older than now - rejectOldSamplesMaxAge. */
  readonly rejectOldSamples: boolean;
  /** Oldest accepted entry age, ms. */
  readonly rejectOldSamplesMaxAge: number;
  /** How far in the future an entry may be, ms. */
  readonly creationGracePeriod: number;
  /** Accept structured metadata at all. */
  readonly allowStructuredMetadata: boolean;
  /** Most structured metadata bytes (names + values) per line; 0 disables. */
  readonly maxStructuredMetadataSize: number;
  /** Most structured metadata pairs per line; 0 disables. */
  readonly maxStructuredMetadataEntriesCount: number;
  /** Active streams per tenant per ingester; 0 disables. */
  readonly maxStreamsPerUser: number;
  /** Active streams per tenant across the cluster; 0 disables. */
  readonly maxGlobalStreamsPerUser: number;
  /** Per-stream rate, bytes per second. */
  readonly perStreamRateLimit: number;
  /** Per-stream burst, bytes. */
  readonly perStreamRateLimitBurst: number;
  /** Most entries a log query may return. */
  readonly maxEntriesLimitPerQuery: number;
  /** Most series a metric query may return. */
  readonly maxQuerySeries: number;
  /** Longest query time range, ms; 0 disables. */
  readonly maxQueryLength: number;
  /** Longest `[range]` inside a range query, ms; 0 disables. */
  readonly maxQueryRange: number;
  /** How far back queries may look, ms; 0 disables. */
  readonly maxQueryLookback: number;
  /** Queries scheduled in parallel by the frontend. */
  readonly maxQueryParallelism: number;
  /** Per-tenant query timeout, ms. */
  readonly queryTimeout: number;
  /** Interval queries are split by, ms; 0 disables splitting. */
  readonly splitQueriesByInterval: number;
  /** Most chunks one query may fetch. */
  readonly maxChunksPerQuery: number;
  /** Most stream matchers per query. */
  readonly maxStreamsMatchersPerQuery: number;
  /** Most concurrent tail requests. */
  readonly maxConcurrentTailRequests: number;
  /** Cardinality limit for index queries. */
  readonly cardinalityLimit: number;
  /** Results newer than this are not cached, ms. */
  readonly maxCacheFreshnessPerQuery: number;
  /** Retention, ms; 0 keeps data forever. */
  readonly retentionPeriod: number;
  /** Labels whose value becomes `service_name` when a stream has none (first found wins); empty disables. */
  readonly discoverServiceName: readonly string[];
  /** Add `detected_level` structured metadata to entries that lack it. */
  readonly discoverLogLevels: boolean;
  /** Label, metadata and line field names a level is read from. */
  readonly logLevelFields: readonly string[];
  /** JSON object depth searched for a level field; 0 or less is unlimited. */
  readonly logLevelFromJsonMaxDepth: number;
}

const MB = 1 << 20;
const KB = 1 << 10;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Loki's defaults (pkg/validation/limits.go). */
export const defaultLimits: TenantLimits = Object.freeze({
  ingestionRateStrategy: 'global',
  ingestionRateMb: 4,
  ingestionBurstSizeMb: 6,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
  maxLabelNamesPerSeries: 15,
  maxLineSize: 256 * KB,
  maxLineSizeTruncate: false,
  maxLineSizeTruncateIdentifier: '',
  rejectOldSamples: true,
  rejectOldSamplesMaxAge: 7 * DAY_MS,
  creationGracePeriod: 10 * MINUTE_MS,
  allowStructuredMetadata: true,
  maxStructuredMetadataSize: 64 * KB,
  maxStructuredMetadataEntriesCount: 128,
  maxStreamsPerUser: 0,
  maxGlobalStreamsPerUser: 5000,
  perStreamRateLimit: 3 * MB,
  perStreamRateLimitBurst: 15 * MB,
  maxEntriesLimitPerQuery: 5000,
  maxQuerySeries: 500,
  maxQueryLength: 721 * HOUR_MS,
  maxQueryRange: 0,
  maxQueryLookback: 0,
  maxQueryParallelism: 32,
  queryTimeout: MINUTE_MS,
  splitQueriesByInterval: HOUR_MS,
  maxChunksPerQuery: 2_000_000,
  maxStreamsMatchersPerQuery: 1000,
  maxConcurrentTailRequests: 10,
  cardinalityLimit: 100_000,
  maxCacheFreshnessPerQuery: 10 * MINUTE_MS,
  retentionPeriod: 0,
  discoverServiceName: Object.freeze(['service', 'app', 'application', 'app_name', 'name', 'app_kubernetes_io_name', 'container', 'container_name', 'k8s_container_name', 'component', 'workload', 'job', 'k8s_job_name']),
  discoverLogLevels: true,
  logLevelFields: Object.freeze(['level', 'LEVEL', 'Level', 'log.level', 'severity', 'SEVERITY', 'Severity', 'SeverityText', 'lvl', 'LVL', 'Lvl', 'severity_text', 'Severity_Text', 'SEVERITY_TEXT']),
  logLevelFromJsonMaxDepth: 2,
});

/** camelCase field → Loki's snake_case YAML key under `limits_config`. */
export const limitsYamlKeys: Readonly<Record<keyof TenantLimits, string>> = Object.freeze({
  ingestionRateStrategy: 'ingestion_rate_strategy',
  ingestionRateMb: 'ingestion_rate_mb',
  ingestionBurstSizeMb: 'ingestion_burst_size_mb',
  maxLabelNameLength: 'max_label_name_length',
  maxLabelValueLength: 'max_label_value_length',
  maxLabelNamesPerSeries: 'max_label_names_per_series',
  maxLineSize: 'max_line_size',
  maxLineSizeTruncate: 'max_line_size_truncate',
  maxLineSizeTruncateIdentifier: 'max_line_size_truncate_identifier',
  rejectOldSamples: 'reject_old_samples',
  rejectOldSamplesMaxAge: 'reject_old_samples_max_age',
  creationGracePeriod: 'creation_grace_period',
  allowStructuredMetadata: 'allow_structured_metadata',
  maxStructuredMetadataSize: 'max_structured_metadata_size',
  maxStructuredMetadataEntriesCount: 'max_structured_metadata_entries_count',
  maxStreamsPerUser: 'max_streams_per_user',
  maxGlobalStreamsPerUser: 'max_global_streams_per_user',
  perStreamRateLimit: 'per_stream_rate_limit',
  perStreamRateLimitBurst: 'per_stream_rate_limit_burst',
  maxEntriesLimitPerQuery: 'max_entries_limit_per_query',
  maxQuerySeries: 'max_query_series',
  maxQueryLength: 'max_query_length',
  maxQueryRange: 'max_query_range',
  maxQueryLookback: 'max_query_lookback',
  maxQueryParallelism: 'max_query_parallelism',
  queryTimeout: 'query_timeout',
  splitQueriesByInterval: 'split_queries_by_interval',
  maxChunksPerQuery: 'max_chunks_per_query',
  maxStreamsMatchersPerQuery: 'max_streams_matchers_per_query',
  maxConcurrentTailRequests: 'max_concurrent_tail_requests',
  cardinalityLimit: 'cardinality_limit',
  maxCacheFreshnessPerQuery: 'max_cache_freshness_per_query',
  retentionPeriod: 'retention_period',
  discoverServiceName: 'discover_service_name',
  discoverLogLevels: 'discover_log_levels',
  logLevelFields: 'log_level_fields',
  logLevelFromJsonMaxDepth: 'log_level_from_json_max_depth',
});

/**
 * How each YAML value is written, for the config loader: `bytes` accepts Loki's
 * human sizes ("256KB"), `duration` Prometheus durations ("7d", "721h") converted to ms,
 * `mb` a float of megabytes, `int`/`bool`/`string` plain values.
 */
export type LimitUnit = 'bytes' | 'duration' | 'mb' | 'int' | 'bool' | 'string' | 'list';

export const limitsUnits: Readonly<Record<keyof TenantLimits, LimitUnit>> = Object.freeze({
  ingestionRateStrategy: 'string',
  ingestionRateMb: 'mb',
  ingestionBurstSizeMb: 'mb',
  maxLabelNameLength: 'int',
  maxLabelValueLength: 'int',
  maxLabelNamesPerSeries: 'int',
  maxLineSize: 'bytes',
  maxLineSizeTruncate: 'bool',
  maxLineSizeTruncateIdentifier: 'string',
  rejectOldSamples: 'bool',
  rejectOldSamplesMaxAge: 'duration',
  creationGracePeriod: 'duration',
  allowStructuredMetadata: 'bool',
  maxStructuredMetadataSize: 'bytes',
  maxStructuredMetadataEntriesCount: 'int',
  maxStreamsPerUser: 'int',
  maxGlobalStreamsPerUser: 'int',
  perStreamRateLimit: 'bytes',
  perStreamRateLimitBurst: 'bytes',
  maxEntriesLimitPerQuery: 'int',
  maxQuerySeries: 'int',
  maxQueryLength: 'duration',
  maxQueryRange: 'duration',
  maxQueryLookback: 'duration',
  maxQueryParallelism: 'int',
  queryTimeout: 'duration',
  splitQueriesByInterval: 'duration',
  maxChunksPerQuery: 'int',
  maxStreamsMatchersPerQuery: 'int',
  maxConcurrentTailRequests: 'int',
  cardinalityLimit: 'int',
  maxCacheFreshnessPerQuery: 'duration',
  retentionPeriod: 'duration',
  discoverServiceName: 'list',
  discoverLogLevels: 'bool',
  logLevelFields: 'list',
  logLevelFromJsonMaxDepth: 'int',
});

/** Where roles get a tenant's limits (Loki's `Limits` interface, consumer-side). */
export interface LimitsProvider {
  /** The tenant's effective limits; cheap enough to call once per request. */
  forTenant(tenant: string): TenantLimits;
}

/** Defaults plus fixed per-tenant overrides, merged once at construction. */
export class StaticLimitsProvider implements LimitsProvider {
  readonly #defaults: TenantLimits;
  readonly #perTenant: Map<string, TenantLimits>;

  constructor(defaults: TenantLimits = defaultLimits, overrides: Readonly<Record<string, Partial<TenantLimits>>> = {}) {
    this.#defaults = Object.freeze({ ...defaults });
    this.#perTenant = new Map();
    for (const [tenant, o] of Object.entries(overrides)) {
      this.#perTenant.set(tenant, Object.freeze({ ...this.#defaults, ...o }));
    }
  }

  forTenant(tenant: string): TenantLimits {
    return this.#perTenant.get(tenant) ?? this.#defaults;
  }
}

/**
 * Builds TenantLimits from an object keyed by Loki's YAML names (for example the config
 * loader's `limits_config`, already in normalised units: bytes, ms, MB). Keys that are
 * absent or of the wrong JS type keep the `base` value; unknown keys are ignored. Call once
 * per config load (e.g. `new StaticLimitsProvider(tenantLimitsFromYaml(cfg.limits_config))`),
 * not per request.
 */
export function tenantLimitsFromYaml(src: object, base: TenantLimits = defaultLimits): TenantLimits {
  const raw = src as Readonly<Record<string, unknown>>;
  const out: Record<string, unknown> = { ...base };
  for (const field of Object.keys(limitsYamlKeys) as (keyof TenantLimits)[]) {
    const v = raw[limitsYamlKeys[field]];
    if (v !== undefined && typeof v === typeof base[field]) out[field] = v;
  }
  return Object.freeze(out) as unknown as TenantLimits;
}
