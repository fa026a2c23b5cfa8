import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { InvalidError } from '../errors.js';
import { MAX_BLOCK_SIZE_BYTES } from '../chunk/consts.js';
import { parseSelector } from '../logql/syntax/index.js';
import { LIMIT_SETTINGS } from './limits-schema.js';
import { SETTINGS, type Setting } from './schema.js';
import { formatConfigBytes, parseConfigBytes } from '../util/go/bytes.js';
import { formatDurationMs, parseConfigDurationMs } from '../util/go/duration.js';

/** Durations are milliseconds, sizes are bytes. Field names are the YAML keys. */
export interface SiltConfig {
  target: string[];
  auth_enabled: boolean;
  server: {
    http_listen_address: string;
    http_listen_port: number;
    grpc_listen_address: string;
    grpc_listen_port: number;
    log_level: 'debug' | 'info' | 'warn' | 'error';
    /** Log line format: JSON (Silt's default) or logfmt (Loki's default). */
    log_format: 'json' | 'logfmt';
    http_server_read_timeout: number;
    http_server_idle_timeout: number;
    /** Hard limit of a graceful shutdown, flush included (0: none). */
    graceful_shutdown_timeout: number;
    /** Silt extension: after this long with the event loop nearly idle, hand memory garbage back to the OS (0: never). */
    idle_memory_release: number;
  };
  common: { path_prefix: string };
  storage_config: {
    object_store: 'filesystem' | 'memory' | 's3' | 'aws';
    filesystem: { directory: string };
    aws: {
      bucketnames: string;
      endpoint: string;
      region: string;
      access_key_id: string;
      secret_access_key: string;
      session_token: string;
      insecure: boolean;
      s3forcepathstyle: boolean;
      storage_prefix: string;
      http_config: { response_header_timeout: number; max_connections_per_host: number };
      backoff_config: { min_period: number; max_period: number; max_retries: number };
    };
    chunk_cache_size: number;
    index_cache_size: number;
    index_queries_cache_config: { embedded_cache: { enabled: boolean; max_size_mb: number } };
    index_list_ttl: number;
    /** Silt extension: /ready turns 503 after object-store writes failed this long (ms; 0: never). */
    write_failure_unready_period: number;
  };
  chunk_store_config: { chunk_cache_config: { embedded_cache: { enabled: boolean; max_size_mb: number } } };
  query_range: {
    cache_results: boolean;
    results_cache: {
      cache: {
        embedded_cache: { max_size_mb: number };
        /** Redis backend of the results cache (Loki's names); used when `endpoint` is set. */
        redis: { endpoint: string; db: number; password: string; timeout: number; expiration: number };
      };
    };
    max_retries: number;
  };
  /** Loki's query-frontend section. */
  frontend: {
    /** Answer query_range with Parquet when asked with `Accept: application/vnd.apache.parquet`. */
    support_parquet_encoding: boolean;
    /** Query requests of one tenant admitted and not answered; past it 429. */
    max_outstanding_per_tenant: number;
    /** URL of a querier a standalone frontend proxies tail requests to; empty: a connected querier's advertised address. */
    tail_proxy_url: string;
  };
  /** Loki's frontend_worker section: how a querier pulls work from query-frontends. */
  frontend_worker: {
    /** `host:port` of the frontend(s), comma-separated; empty: no worker. */
    frontend_address: string;
    /** Streams per frontend when match_max_concurrent is false. */
    parallelism: number;
    /** Use querier.max_concurrent streams in total instead. */
    match_max_concurrent: boolean;
  };
  ingester: {
    chunk_encoding: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
    chunk_block_size: number;
    chunk_target_size: number;
    block_sealer: 'worker' | 'inline';
    max_chunk_age: number;
    chunk_idle_period: number;
    flush_check_period: number;
    chunk_retain_period: number;
    concurrent_flushes: number;
    flush_op_backoff_max: number;
    /** Bytes of in-memory data at which pushes are refused (0: none), see ADR 0024. */
    memory_limit: number;
    /** Fraction of memory_limit above which chunks are flushed early. */
    memory_soft_limit_ratio: number;
    wal: {
      enabled: boolean;
      dir: string;
      checkpoint_duration: number;
      fsync: 'always' | 'interval' | 'never';
      fsync_interval: number;
      segment_size: number;
    };
  };
  querier: { query_ingesters_within: number; max_concurrent: number; block_cache_size: number; threads: number; query_timeout: number; multi_tenant_queries_enabled: boolean; tail_max_duration: number };
  /** Per-tenant overrides file(s) (Loki's runtime_config block). */
  runtime_config: { file: string; period: number };
  compactor: {
    working_directory: string;
    compaction_interval: number;
    retention_enabled: boolean;
    retention_delete_delay: number;
    delete_request_cancel_period: number;
    merge_small_chunks: boolean;
    merge_chunk_target_size: number;
    recompress_after: number;
    recompress_chunk_encoding: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
    recompress_zstd_level: number;
    recompress_block_size: number;
  };
  ruler: RulerSettings;
  distributor: { push_decoder: 'worker' | 'inline'; otlp_config: { default_resource_attributes_as_index_labels: string[] } };
  limits_config: LimitsConfig;
}

/** One `retention_stream` rule (Loki validation.StreamRetention); `period` in ms. */
export interface StreamRetentionRule {
  selector: string;
  priority: number;
  period: number;
}

/** Loki's deletion modes (pkg/compactor/deletionmode). */
export type DeletionMode = 'disabled' | 'filter-only' | 'filter-and-delete';

/** The `ruler` section (Loki's names); durations in ms. */
export interface RulerSettings {
  evaluation_interval: number;
  poll_interval: number;
  rule_path: string;
  enable_api: boolean;
  external_url: string;
  datasource_uid: string;
  external_labels: Record<string, string>;
  alertmanager_url: string;
  notification_queue_capacity: number;
  notification_timeout: number;
  resend_delay: number;
  for_grace_period: number;
  webhook_url: string;
  storage: { type: '' | 'local'; local: { directory: string } };
  remote_write: {
    enabled: boolean;
    add_org_id_header: boolean;
    client: {
      url: string;
      remote_timeout: number;
      queue_config: { capacity: number; max_samples_per_send: number; batch_send_deadline: number; min_backoff: number; max_backoff: number };
    };
  };
}

/** Per-tenant limits: these are the defaults; `runtime_config.file` overrides them per tenant. */
export interface LimitsConfig {
  ingestion_rate_mb: number;
  ingestion_burst_size_mb: number;
  max_label_name_length: number;
  max_label_value_length: number;
  max_label_names_per_series: number;
  max_line_size: number;
  max_line_size_truncate: boolean;
  reject_old_samples: boolean;
  reject_old_samples_max_age: number;
  creation_grace_period: number;
  per_stream_rate_limit: number;
  per_stream_rate_limit_burst: number;
  max_entries_limit_per_query: number;
  /** Loki's query byte budgets (0: none), see querier/bytes-budget.ts. */
  max_query_bytes_read: number;
  max_querier_bytes_read: number;
  max_query_series: number;
  max_query_length: number;
  max_query_lookback: number;
  max_streams_per_user: number;
  max_global_streams_per_user: number;
  max_structured_metadata_size: number;
  max_structured_metadata_entries_count: number;
  max_push_body_size: number;
  retention_period: number;
  retention_stream: StreamRetentionRule[];
  deletion_mode: DeletionMode;
  split_queries_by_interval: number;
  split_metadata_queries_by_interval: number;
  tsdb_max_bytes_per_shard: number;
  max_query_shards: number;
  results_cache_max_size_mb_per_tenant: number;
  max_cache_freshness_per_query: number;
  /** Query pieces of the tenant queued or running at once in the frontend (0: unlimited). */
  max_query_parallelism: number;
  max_concurrent_tail_requests: number;
  discover_service_name: string[];
  discover_log_levels: boolean;
  log_level_fields: string[];
  log_level_from_json_max_depth: number;
}

export const ALL_SETTINGS: readonly Setting[] = [...SETTINGS, ...LIMIT_SETTINGS];
const BY_PATH = new Map(ALL_SETTINGS.map((s) => [s.path, s]));
const BY_FLAG = new Map(ALL_SETTINGS.map((s) => [s.flag, s]));

/** Flags that are not settings. */
const META_FLAGS = new Set(['config.file', 'config.expand-env', 'print-config-stderr', 'help', 'h', 'version']);

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i]!;
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** Converts a raw YAML or flag value to the setting's type; pushes a message on failure and returns undefined. */
export function coerce(s: Setting, raw: unknown, where: string, errors: string[]): unknown {
  const bad = (why: string): undefined => {
    errors.push(`${where}: invalid value ${JSON.stringify(raw)} for ${s.path}: ${why}`);
    return undefined;
  };
  switch (s.type.t) {
    case 'int':
    case 'float': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n)) return bad('expected a number');
      if (s.type.t === 'int' && !Number.isInteger(n)) return bad('expected an integer');
      if (s.type.min !== undefined && n < s.type.min) return bad(`must be >= ${s.type.min}`);
      if (s.type.t === 'int' && s.type.max !== undefined && n > s.type.max) return bad(`must be <= ${s.type.max}`);
      return n;
    }
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '') return true;
      if (raw === 'false') return false;
      return bad('expected true or false');
    case 'string':
      if (typeof raw === 'string') return raw;
      if (typeof raw === 'number') return String(raw);
      return bad('expected a string');
    case 'enum':
      if (typeof raw === 'string' && s.type.values.includes(raw)) return raw;
      return bad(`expected one of ${s.type.values.join(', ')}`);
    case 'duration': {
      if (typeof raw === 'number') return raw * 1000; // bare YAML numbers are seconds, as Prometheus model durations are not; reject negatives below
      const ms = typeof raw === 'string' ? parseConfigDurationMs(raw) : null;
      if (ms === null || ms < 0) return bad('expected a duration like 30s, 5m, 2h');
      return ms;
    }
    case 'bytes': {
      const n = typeof raw === 'string' || typeof raw === 'number' ? parseConfigBytes(raw) : null;
      if (n === null) return bad('expected a size like 1048576, 256KB or 1.5MiB');
      return n;
    }
    case 'list':
      if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw;
      if (typeof raw === 'string') return raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
      return bad('expected a list of strings');
    case 'map': {
      if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && Object.values(raw).every((x) => typeof x === 'string' || typeof x === 'number')) {
        return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
      }
      if (typeof raw === 'string') {
        const out: Record<string, string> = {};
        for (const part of raw.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
          const eq = part.indexOf('=');
          if (eq <= 0) return bad('expected name=value pairs separated by commas');
          out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
        }
        return out;
      }
      return bad('expected a mapping of names to strings');
    }
    case 'stream_retention':
      return coerceStreamRetention(raw, bad);
  }
}

/** A retention_stream list: YAML list of mappings, or (flags) the same as JSON/YAML text. */
function coerceStreamRetention(raw: unknown, bad: (why: string) => undefined): StreamRetentionRule[] | undefined {
  let v = raw;
  if (typeof v === 'string') {
    try {
      v = parseYaml(v);
    } catch {
      return bad('expected a list of {selector, priority, period}');
    }
  }
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) return bad('expected a list of {selector, priority, period}');
  const out: StreamRetentionRule[] = [];
  for (const item of v as unknown[]) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return bad('expected a list of {selector, priority, period}');
    const o = item as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'selector' && k !== 'priority' && k !== 'period') return bad(`field ${k} not found in type validation.StreamRetention`);
    const selector = o['selector'];
    if (typeof selector !== 'string' || selector === '') return bad('selector must be a non-empty string');
    const priority = o['priority'] ?? 0;
    if (typeof priority !== 'number' || !Number.isInteger(priority)) return bad('priority must be an integer');
    const p = o['period'];
    const period = typeof p === 'string' ? parseConfigDurationMs(p) : typeof p === 'number' ? p * 1000 : null;
    if (period === null || period < 0) return bad('period must be a duration like 24h');
    out.push({ selector, priority, period });
  }
  return out;
}

/**
 * YAML sections that are other names for a settings section: Loki's `common.storage.s3`
 * configures the same S3 client as `storage_config.aws`. Explicit `storage_config.aws` keys win.
 */
const YAML_ALIASES: readonly (readonly [string, string])[] = [['common.storage.s3', 'storage_config.aws']];

/** Applies a parsed YAML document: direct keys first, then aliased sections where not set directly. */
function applyYamlDocument(out: Record<string, unknown>, doc: unknown, file: string, errors: string[]): void {
  const set = new Set<string>();
  const deferred: [string, unknown][] = [];
  applyYaml(out, doc, '', file, errors, set, deferred);
  for (const [p, v] of deferred) {
    if (set.has(p)) continue;
    const s = BY_PATH.get(p)!;
    const val = coerce(s, v, file, errors);
    if (val !== undefined) setPath(out, p, val);
  }
  // Loki: an S3 section in common storage makes S3 the object store unless one is named.
  if (deferred.length > 0 && !set.has('storage_config.object_store')) setPath(out, 'storage_config.object_store', 's3');
}

/** Walks parsed YAML, reporting unknown keys and coercing known ones. */
function applyYaml(out: Record<string, unknown>, node: unknown, prefix: string, file: string, errors: string[], set: Set<string>, deferred: [string, unknown][], alias: string | null = null): void {
  if (node === null || node === undefined) return;
  if (typeof node !== 'object' || Array.isArray(node)) {
    errors.push(`${file}: ${prefix || 'top level'} must be a mapping`);
    return;
  }
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    const p = prefix ? `${prefix}.${k}` : k;
    const a = alias !== null ? `${alias}.${k}` : YAML_ALIASES.find(([from]) => from === p)?.[1] ?? null;
    if (a !== null && alias === null) {
      applyYaml(out, v, p, file, errors, set, deferred, a); // an aliased section
      continue;
    }
    const target = a ?? p;
    const s = BY_PATH.get(target);
    if (s) {
      if (alias !== null) {
        deferred.push([target, v]);
        continue;
      }
      const val = coerce(s, v, file, errors);
      if (val !== undefined) setPath(out, p, val);
      set.add(p);
    } else if (ALL_SETTINGS.some((x) => x.path.startsWith(target + '.')) || YAML_ALIASES.some(([from]) => from.startsWith(p + '.'))) {
      applyYaml(out, v, p, file, errors, set, deferred, a);
    } else {
      errors.push(`${file}: field ${p} not found in type config`);
    }
  }
}

export interface ParsedArgs {
  configFile: string | null;
  expandEnv: boolean;
  flags: Map<string, string>;
  help: boolean;
}

/** Parses `-name=value`, `--name=value`, `-name value` and bare boolean `-name`. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags = new Map<string, string>();
  const errors: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) {
      errors.push(`unexpected argument ${JSON.stringify(a)}`);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    if (eq >= 0) {
      flags.set(body.slice(0, eq), body.slice(eq + 1));
      continue;
    }
    const s = BY_FLAG.get(body);
    const next = argv[i + 1];
    const isBool = (s && s.type.t === 'bool') || META_FLAGS.has(body);
    if (!isBool && next !== undefined && !next.startsWith('-')) {
      flags.set(body, next);
      i++;
    } else flags.set(body, body === 'config.file' ? '' : 'true');
  }
  if (errors.length) throw new InvalidError(`invalid command line:\n  ${errors.join('\n  ')}`);
  const configFile = flags.get('config.file') ?? null;
  return {
    configFile: configFile === '' ? null : configFile,
    expandEnv: flags.get('config.expand-env') === 'true',
    flags,
    help: flags.has('help') || flags.has('h'),
  };
}

/** The defaults as a typed object. */
export function defaultConfig(): SiltConfig {
  const out: Record<string, unknown> = {};
  for (const s of ALL_SETTINGS) setPath(out, s.path, structuredClone(s.def));
  return out as unknown as SiltConfig;
}

function expandEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_m, name: string, def?: string) => env[name] ?? def ?? '');
}

/**
 * Builds the effective config: defaults, then the YAML file, then flags. Every problem
 * is collected and reported at once in one InvalidError. The result is deeply frozen.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SiltConfig {
  const args = parseArgs(argv);
  const errors: string[] = [];
  const out = defaultConfig() as unknown as Record<string, unknown>;
  if (args.configFile !== null) {
    let text: string | null = null;
    try {
      text = readFileSync(args.configFile, 'utf8');
    } catch (e) {
      errors.push(`cannot read config file ${args.configFile}: ${(e as Error).message}`);
    }
    if (text !== null) {
      if (args.expandEnv) text = expandEnv(text, env);
      try {
        applyYamlDocument(out, parseYaml(text), args.configFile, errors);
      } catch (e) {
        errors.push(`${args.configFile}: invalid YAML: ${(e as Error).message}`);
      }
    }
  }
  for (const [name, raw] of args.flags) {
    if (META_FLAGS.has(name)) continue;
    const s = BY_FLAG.get(name);
    if (!s) {
      errors.push(`flag provided but not defined: -${name}`);
      continue;
    }
    const v = coerce(s, raw, `flag -${name}`, errors);
    if (v !== undefined) setPath(out, s.path, v);
  }
  const cfg = out as unknown as SiltConfig;
  validate(cfg, errors);
  if (errors.length > 0) throw new InvalidError(`invalid configuration (${errors.length} error${errors.length > 1 ? 's' : ''}):\n  ${errors.join('\n  ')}`);
  return deepFreeze(resolveDerived(cfg));
}

const TARGETS = new Set(['all', 'distributor', 'ingester', 'querier', 'query-frontend', 'compactor', 'ruler']);

function validate(cfg: SiltConfig, errors: string[]): void {
  for (const t of cfg.target) if (!TARGETS.has(t)) errors.push(`unrecognised target ${JSON.stringify(t)}; expected one of ${[...TARGETS].join(', ')}`);
  const ing = cfg.ingester;
  if (ing.chunk_block_size < 1024) errors.push('ingester.chunk_block_size must be at least 1KiB');
  if (ing.chunk_target_size < ing.chunk_block_size / 8) errors.push('ingester.chunk_target_size is too small for ingester.chunk_block_size');
  if (ing.max_chunk_age <= 0) errors.push('ingester.max_chunk_age must be positive');
  if (ing.flush_check_period <= 0) errors.push('ingester.flush_check_period must be positive');
  if (ing.memory_soft_limit_ratio > 1) errors.push('ingester.memory_soft_limit_ratio must be at most 1');
  if (ing.memory_limit > 0 && ing.memory_limit < 1024 * 1024) errors.push('ingester.memory_limit must be 0 (no limit) or at least 1MiB');
  if (ing.wal.checkpoint_duration <= 0) errors.push('ingester.wal.checkpoint_duration must be positive');
  // A querier may not see a new index segment until its listing is older than the TTL; until
  // then the chunk must still be in ingester memory, or queries miss it.
  if (ing.chunk_retain_period < cfg.storage_config.index_list_ttl) {
    errors.push('ingester.chunk_retain_period must be at least storage_config.index_list_ttl, or queriers miss chunks flushed while their index listing is cached');
  }
  if (cfg.compactor.compaction_interval <= 0) errors.push('compactor.compaction_interval must be positive');
  if (cfg.compactor.recompress_after < 0) errors.push('compactor.recompress_after must not be negative');
  if (cfg.compactor.recompress_block_size < 1024) errors.push('compactor.recompress_block_size must be at least 1KiB');
  if (cfg.compactor.recompress_block_size > MAX_BLOCK_SIZE_BYTES) errors.push(`compactor.recompress_block_size must be at most ${MAX_BLOCK_SIZE_BYTES / (1024 * 1024)}MiB`);
  validateLimits(cfg.limits_config, 'limits_config', errors);
  if (cfg.runtime_config.file !== '' && cfg.runtime_config.period <= 0) errors.push('runtime_config.period must be positive');
  const rl = cfg.ruler;
  if (rl.evaluation_interval <= 0) errors.push('ruler.evaluation_interval must be positive');
  if (rl.poll_interval <= 0) errors.push('ruler.poll_interval must be positive');
  if (rl.remote_write.enabled && rl.remote_write.client.url === '') errors.push('ruler.remote_write.client.url must be set when ruler.remote_write.enabled is true');
  for (const u of [...rl.alertmanager_url.split(','), rl.webhook_url, rl.remote_write.client.url].map((x) => x.trim()).filter((x) => x !== '')) {
    if (!URL.canParse(u)) errors.push(`invalid URL ${JSON.stringify(u)} in the ruler section`);
  }
  for (const k of Object.keys(rl.external_labels)) if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) errors.push(`ruler.external_labels: invalid label name ${JSON.stringify(k)}`);
  const st = cfg.storage_config;
  if (st.object_store === 's3' || st.object_store === 'aws') {
    if (st.aws.bucketnames === '') errors.push('storage_config.aws.bucketnames is required when storage_config.object_store is s3');
    else if (st.aws.bucketnames.includes(',')) errors.push(`storage_config.aws.bucketnames ${JSON.stringify(st.aws.bucketnames)}: only one bucket is supported`);
    if ((st.aws.access_key_id === '') !== (st.aws.secret_access_key === '')) errors.push('storage_config.aws: set both access_key_id and secret_access_key, or neither (AWS SDK default credentials)');
    if (st.aws.backoff_config.min_period > st.aws.backoff_config.max_period) errors.push('storage_config.aws.backoff_config.min_period must not exceed max_period');
    if (st.aws.http_config.response_header_timeout <= 0) errors.push('storage_config.aws.http_config.response_header_timeout must be positive');
  }
}

/** Checks one set of limits (the defaults, or a tenant's after its overrides); `where` prefixes messages. */
export function validateLimits(l: LimitsConfig, where: string, errors: string[]): void {
  if (l.max_line_size < 0) errors.push(`${where}.max_line_size must be >= 0`);
  // Loki's Limits.Validate: selectors must parse and every rule keeps data at least a day.
  for (const rule of l.retention_stream) {
    try {
      parseSelector(rule.selector, false);
    } catch (e) {
      errors.push(`invalid labels matchers: ${(e as Error).message}`);
      continue;
    }
    if (rule.period < 24 * 3_600_000) errors.push(`retention period must be >= 24h was ${formatDurationMs(rule.period)}`);
  }
}

function resolveDerived(cfg: SiltConfig): SiltConfig {
  const prefix = cfg.common.path_prefix;
  if (cfg.storage_config.filesystem.directory === '') cfg.storage_config.filesystem.directory = path.join(prefix, 'chunks');
  if (cfg.ingester.wal.dir === '') cfg.ingester.wal.dir = path.join(prefix, 'wal');
  if (cfg.ruler.rule_path === '') cfg.ruler.rule_path = path.join(prefix, 'rules-temp');
  if (cfg.ruler.storage.local.directory === '') cfg.ruler.storage.local.directory = path.join(prefix, 'rules');
  if (cfg.compactor.working_directory === '') cfg.compactor.working_directory = path.join(prefix, 'compactor');
  return cfg;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** A setting's value in its human YAML form (durations like 2h0m0s, sizes like 256KiB). */
export function displayValue(s: Setting, v: unknown): unknown {
  if (s.type.t === 'duration') return formatDurationMs(v as number);
  if (s.type.t === 'bytes') return formatConfigBytes(v as number);
  if (s.type.t === 'stream_retention') return (v as StreamRetentionRule[]).map((r) => ({ selector: r.selector, priority: r.priority, period: formatDurationMs(r.period) }));
  return v;
}

/** The effective config as YAML, durations and sizes in their human form (GET /config). */
export function configToYaml(cfg: SiltConfig): string {
  const out: Record<string, unknown> = {};
  for (const s of ALL_SETTINGS) {
    const v: unknown = s.path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], cfg);
    setPath(out, s.path, s.secret === true && v !== '' ? '********' : displayValue(s, v));
  }
  return stringifyYaml(out);
}

/** `-help` text. */
export function usage(): string {
  const lines = ['Usage of silt:', '  -config.file string', '    \tYAML configuration file.', '  -config.expand-env', '    \tExpand ${VAR} and ${VAR:-default} in the config file.'];
  for (const s of ALL_SETTINGS) {
    lines.push(`  -${s.flag} ${s.type.t}`, `    \t${s.help} (default ${JSON.stringify(s.def)})`);
  }
  return lines.join('\n') + '\n';
}
