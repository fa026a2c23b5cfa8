import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { InvalidError } from '../errors.js';
import { LIMIT_SETTINGS } from './limits-schema.js';
import { SETTINGS, type Setting } from './schema.js';
import { formatBytes, formatDurationMs, parseBytes, parseDurationMs } from './units.js';

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
    http_server_read_timeout: number;
    http_server_idle_timeout: number;
  };
  common: { path_prefix: string };
  storage_config: {
    object_store: 'filesystem' | 'memory';
    filesystem: { directory: string };
    chunk_cache_size: number;
    index_cache_size: number;
    index_list_ttl: number;
  };
  ingester: {
    chunk_encoding: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
    chunk_block_size: number;
    chunk_target_size: number;
    max_chunk_age: number;
    chunk_idle_period: number;
    flush_check_period: number;
    chunk_retain_period: number;
    concurrent_flushes: number;
    flush_op_backoff_max: number;
    wal: {
      enabled: boolean;
      dir: string;
      checkpoint_duration: number;
      fsync: 'always' | 'interval' | 'never';
      fsync_interval: number;
      segment_size: number;
    };
  };
  querier: { query_ingesters_within: number; max_concurrent: number; block_cache_size: number; query_timeout: number; tail_max_duration: number };
  distributor: { otlp_config: { default_resource_attributes_as_index_labels: string[] } };
  limits_config: LimitsConfig;
}

/** Per-tenant limits (defaults; overrides come later from runtime config). */
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
  max_query_series: number;
  max_query_length: number;
  max_query_lookback: number;
  max_streams_per_user: number;
  max_global_streams_per_user: number;
  max_structured_metadata_size: number;
  max_structured_metadata_entries_count: number;
  max_push_body_size: number;
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

/** Converts a raw YAML or flag value to the setting's type; pushes a message on failure. */
function coerce(s: Setting, raw: unknown, where: string, errors: string[]): unknown {
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
      const ms = typeof raw === 'string' ? parseDurationMs(raw) : null;
      if (ms === null || ms < 0) return bad('expected a duration like 30s, 5m, 2h');
      return ms;
    }
    case 'bytes': {
      const n = typeof raw === 'string' || typeof raw === 'number' ? parseBytes(raw) : null;
      if (n === null) return bad('expected a size like 1048576, 256KB or 1.5MiB');
      return n;
    }
    case 'list':
      if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw;
      if (typeof raw === 'string') return raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
      return bad('expected a list of strings');
  }
}

/** Walks parsed YAML, reporting unknown keys and coercing known ones. */
function applyYaml(out: Record<string, unknown>, node: unknown, prefix: string, file: string, errors: string[]): void {
  if (node === null || node === undefined) return;
  if (typeof node !== 'object' || Array.isArray(node)) {
    errors.push(`${file}: ${prefix || 'top level'} must be a mapping`);
    return;
  }
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    const p = prefix ? `${prefix}.${k}` : k;
    const s = BY_PATH.get(p);
    if (s) {
      const val = coerce(s, v, file, errors);
      if (val !== undefined) setPath(out, p, val);
    } else if (ALL_SETTINGS.some((x) => x.path.startsWith(p + '.'))) {
      applyYaml(out, v, p, file, errors);
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
        applyYaml(out, parseYaml(text), '', args.configFile, errors);
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
  if (ing.wal.checkpoint_duration <= 0) errors.push('ingester.wal.checkpoint_duration must be positive');
  if (cfg.limits_config.max_line_size < 0) errors.push('limits_config.max_line_size must be >= 0');
}

function resolveDerived(cfg: SiltConfig): SiltConfig {
  const prefix = cfg.common.path_prefix;
  if (cfg.storage_config.filesystem.directory === '') cfg.storage_config.filesystem.directory = path.join(prefix, 'chunks');
  if (cfg.ingester.wal.dir === '') cfg.ingester.wal.dir = path.join(prefix, 'wal');
  return cfg;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** The effective config as YAML, durations and sizes in their human form (GET /config). */
export function configToYaml(cfg: SiltConfig): string {
  const out: Record<string, unknown> = {};
  for (const s of ALL_SETTINGS) {
    let v: unknown = s.path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], cfg);
    if (s.type.t === 'duration') v = formatDurationMs(v as number);
    else if (s.type.t === 'bytes') v = formatBytes(v as number);
    setPath(out, s.path, v);
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
