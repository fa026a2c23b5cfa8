/**
 * The one description of every config setting: its YAML path (snake_case, Loki's names
 * where Loki has the setting), its flag, type, default and help. Defaults, YAML merging,
 * flags, validation and the `/config` dump are all driven from this table.
 */

export type SettingType =
  | { t: 'int'; min?: number; max?: number }
  | { t: 'float'; min?: number }
  | { t: 'bool' }
  | { t: 'string' }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'duration' } // stored as milliseconds
  | { t: 'bytes' } // stored as a byte count
  | { t: 'list' }; // comma-separated on the command line, a YAML list in the file

export interface Setting {
  /** Dotted YAML path, e.g. `ingester.max_chunk_age`. */
  readonly path: string;
  /** Flag name without the leading dash, e.g. `ingester.max-chunk-age`. */
  readonly flag: string;
  readonly type: SettingType;
  readonly def: unknown;
  readonly help: string;
}

const int = (min?: number, max?: number): SettingType => ({ t: 'int', ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) });
const dur: SettingType = { t: 'duration' };
const bytes: SettingType = { t: 'bytes' };
const bool: SettingType = { t: 'bool' };
const str: SettingType = { t: 'string' };

const H = 3_600_000;
const M = 60_000;
const S = 1000;

/** Every setting of the server process except per-tenant limits (see limits-schema.ts). */
export const SETTINGS: readonly Setting[] = [
  { path: 'target', flag: 'target', type: { t: 'list' }, def: ['all'], help: 'Roles to run: all, distributor, ingester, querier, query-frontend, compactor, ruler.' },
  { path: 'auth_enabled', flag: 'auth.enabled', type: bool, def: false, help: 'Require X-Scope-OrgID; when false every request uses tenant "fake".' },

  { path: 'server.http_listen_address', flag: 'server.http-listen-address', type: str, def: '0.0.0.0', help: 'HTTP listen address.' },
  { path: 'server.http_listen_port', flag: 'server.http-listen-port', type: int(0, 65535), def: 3100, help: 'HTTP listen port (0 picks a free port).' },
  { path: 'server.grpc_listen_address', flag: 'server.grpc-listen-address', type: str, def: '0.0.0.0', help: 'gRPC listen address.' },
  { path: 'server.grpc_listen_port', flag: 'server.grpc-listen-port', type: int(0, 65535), def: 9095, help: 'gRPC listen port.' },
  { path: 'server.log_level', flag: 'log.level', type: { t: 'enum', values: ['debug', 'info', 'warn', 'error'] }, def: 'info', help: 'Log level.' },
  { path: 'server.http_server_read_timeout', flag: 'server.http-read-timeout', type: dur, def: 30 * S, help: 'Time allowed to read a whole request.' },
  { path: 'server.http_server_idle_timeout', flag: 'server.http-idle-timeout', type: dur, def: 120 * S, help: 'Keep-alive idle timeout.' },

  { path: 'common.path_prefix', flag: 'common.path-prefix', type: str, def: './data', help: 'Directory under which local state (WAL, filesystem chunks) lives by default.' },

  { path: 'storage_config.object_store', flag: 'storage.object-store', type: { t: 'enum', values: ['filesystem', 'memory'] }, def: 'filesystem', help: 'Where chunks and index live.' },
  { path: 'storage_config.filesystem.directory', flag: 'local.chunk-directory', type: str, def: '', help: 'Filesystem object store root; default <path_prefix>/chunks.' },
  { path: 'storage_config.chunk_cache_size', flag: 'store.chunks-cache-size', type: bytes, def: 256 * 1024 * 1024, help: 'Bytes of chunk data cached by queriers.' },
  { path: 'storage_config.index_cache_size', flag: 'store.index-cache-size', type: bytes, def: 64 * 1024 * 1024, help: 'Bytes of parsed index segments cached by queriers.' },
  { path: 'storage_config.index_list_ttl', flag: 'store.index-list-ttl', type: dur, def: 0, help: 'How long a listing of index segments is reused (0: list on every query, so flushed chunks are visible at once).' },

  { path: 'ingester.chunk_encoding', flag: 'ingester.chunk-encoding', type: { t: 'enum', values: ['none', 'gzip', 'snappy', 'lz4', 'zstd'] }, def: 'snappy', help: 'Chunk block compression.' },
  { path: 'ingester.chunk_block_size', flag: 'ingester.chunks-block-size', type: bytes, def: 262144, help: 'Uncompressed bytes at which a head block is cut.' },
  { path: 'ingester.chunk_target_size', flag: 'ingester.chunk-target-size', type: bytes, def: 1572864, help: 'Compressed size at which a chunk is flushed.' },
  { path: 'ingester.max_chunk_age', flag: 'ingester.max-chunk-age', type: dur, def: 2 * H, help: 'Flush a chunk once its first entry is this old; out-of-order window is half of it.' },
  { path: 'ingester.chunk_idle_period', flag: 'ingester.chunks-idle-period', type: dur, def: 30 * M, help: 'Flush a chunk that received nothing for this long.' },
  { path: 'ingester.flush_check_period', flag: 'ingester.flush-check-period', type: dur, def: 30 * S, help: 'How often chunks are checked for flushing.' },
  { path: 'ingester.chunk_retain_period', flag: 'ingester.chunks-retain-period', type: dur, def: 1 * M, help: 'How long flushed chunks stay queryable in memory.' },
  { path: 'ingester.concurrent_flushes', flag: 'ingester.concurrent-flushes', type: int(1, 256), def: 4, help: 'Parallel chunk uploads.' },
  { path: 'ingester.flush_op_backoff_max', flag: 'ingester.flush-op-backoff-max-period', type: dur, def: 1 * M, help: 'Longest wait between retries of a failed flush.' },
  { path: 'ingester.wal.enabled', flag: 'ingester.wal-enabled', type: bool, def: true, help: 'Write every entry to the WAL before acknowledging it.' },
  { path: 'ingester.wal.dir', flag: 'ingester.wal-dir', type: str, def: '', help: 'WAL directory; default <path_prefix>/wal.' },
  { path: 'ingester.wal.checkpoint_duration', flag: 'ingester.checkpoint-duration', type: dur, def: 5 * M, help: 'Interval between WAL checkpoints.' },
  { path: 'ingester.wal.fsync', flag: 'ingester.wal-fsync', type: { t: 'enum', values: ['always', 'interval', 'never'] }, def: 'always', help: 'always: fdatasync before acknowledging (group commit); interval: survive process kill, fsync every fsync_interval; never: leave it to the OS.' },
  { path: 'ingester.wal.fsync_interval', flag: 'ingester.wal-fsync-interval', type: dur, def: 100, help: 'fsync interval for the interval policy.' },
  { path: 'ingester.wal.segment_size', flag: 'ingester.wal-segment-size', type: bytes, def: 128 * 1024 * 1024, help: 'WAL segment file size.' },

  { path: 'querier.query_ingesters_within', flag: 'querier.query-ingesters-within', type: dur, def: 3 * H, help: 'Only ask ingesters for data newer than this (0 = always).' },
  { path: 'querier.max_concurrent', flag: 'querier.max-concurrent', type: int(1, 1024), def: 8, help: 'Concurrent chunk fetches per query.' },
  { path: 'querier.block_cache_size', flag: 'querier.block-cache-size', type: bytes, def: 256 * 1024 * 1024, help: 'Bytes of decoded (decompressed) chunk blocks kept for repeated queries; 0 disables.' },
  { path: 'querier.tail_max_duration', flag: 'querier.tail-max-duration', type: dur, def: 1 * H, help: 'Longest a tail (live) request may stay open.' },
  {
    path: 'distributor.otlp_config.default_resource_attributes_as_index_labels',
    flag: 'distributor.otlp.default_resource_attributes_as_index_labels',
    type: { t: 'list' },
    def: [
      'service.name',
      'service.namespace',
      'service.instance.id',
      'deployment.environment',
      'deployment.environment.name',
      'cloud.region',
      'cloud.availability_zone',
      'k8s.cluster.name',
      'k8s.namespace.name',
      'k8s.pod.name',
      'k8s.container.name',
      'container.name',
      'k8s.replicaset.name',
      'k8s.deployment.name',
      'k8s.statefulset.name',
      'k8s.daemonset.name',
      'k8s.cronjob.name',
      'k8s.job.name',
    ],
    help: 'OTLP resource attributes that become index labels (dots become underscores); every other attribute is stored as structured metadata.',
  },
  { path: 'querier.query_timeout', flag: 'querier.query-timeout', type: dur, def: 60 * S, help: 'Abort a query after this long.' },
];
