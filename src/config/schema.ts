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
  | { t: 'list' } // comma-separated on the command line, a YAML list in the file
  | { t: 'map' } // `k=v,k2=v2` on the command line, a YAML mapping of strings in the file
  | { t: 'stream_retention' }; // Loki's retention_stream: a YAML list of {selector, priority, period}; JSON on the command line

export interface Setting {
  /** Dotted YAML path, e.g. `ingester.max_chunk_age`. */
  readonly path: string;
  /** Flag name without the leading dash, e.g. `ingester.max-chunk-age`. */
  readonly flag: string;
  readonly type: SettingType;
  readonly def: unknown;
  readonly help: string;
  /** Never shown by `/config` (Loki's flagext.Secret prints "********"). */
  readonly secret?: boolean;
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
  { path: 'server.log_level', flag: 'log.level', type: { t: 'enum', values: ['debug', 'info', 'warn', 'error'] }, def: 'info', help: 'Only log messages with the given severity or above: debug (adds a line per HTTP/gRPC request), info, warn, error.' },
  { path: 'server.log_format', flag: 'log.format', type: { t: 'enum', values: ['json', 'logfmt'] }, def: 'json', help: 'Output log messages in the given format: json (one JSON object per line; Silt\'s default) or logfmt (Loki\'s default).' },
  { path: 'server.http_server_read_timeout', flag: 'server.http-read-timeout', type: dur, def: 30 * S, help: 'Time allowed to read a whole request.' },
  { path: 'server.http_server_idle_timeout', flag: 'server.http-idle-timeout', type: dur, def: 120 * S, help: 'Keep-alive idle timeout.' },
  { path: 'server.idle_memory_release', flag: 'server.idle-memory-release', type: dur, def: 10 * S, help: 'Silt extension (not in Loki): after a period this long with the event loop nearly idle, following work that grew the JS heap, Silt runs a memory-reducing collection so the heap\'s garbage goes back to the OS (as V8 does only sometimes by itself), then hands malloc\'s free pages back (glibc malloc_trim, when the resident size moved). 0: never.' },
  { path: 'server.graceful_shutdown_timeout', flag: 'server.graceful-shutdown-timeout', type: dur, def: 30 * S, help: 'Longest a graceful shutdown (SIGTERM) may take, flush included; past it Silt logs what was left unflushed and exits non-zero (the WAL keeps it). 0: no limit.' },

  { path: 'common.path_prefix', flag: 'common.path-prefix', type: str, def: './data', help: 'Directory under which local state (WAL, filesystem chunks) lives by default.' },

  // The ring (src/ring, ADR 0021): membership and token ownership. Loki's YAML paths and flags.
  { path: 'common.replication_factor', flag: 'common.replication-factor', type: int(0, 16), def: 0, help: 'How many ingesters each stream is written to; 0 (default): 3 with an etcd ring, 1 in a single process.' },
  { path: 'common.ring.kvstore.store', flag: 'common.storage.ring.store', type: { t: 'enum', values: ['inmemory', 'etcd'] }, def: 'inmemory', help: 'Where the rings live: inmemory (a single process holds the whole ring) or etcd (a cluster of processes).' },
  { path: 'common.ring.kvstore.prefix', flag: 'common.storage.ring.prefix', type: str, def: 'collectors/', help: 'The prefix for the keys in the store. Should end with a /.' },
  { path: 'common.ring.kvstore.etcd.endpoints', flag: 'common.storage.ring.etcd.endpoints', type: { t: 'list' }, def: [], help: 'The etcd endpoints to connect to (host:port).' },
  { path: 'common.ring.kvstore.etcd.dial_timeout', flag: 'common.storage.ring.etcd.dial-timeout', type: dur, def: 10 * S, help: 'The dial timeout for the etcd connection; also bounds each etcd request.' },
  { path: 'common.ring.kvstore.etcd.max_unreachable_period', flag: 'common.storage.ring.etcd.max-unreachable-period', type: dur, def: 1 * M, help: 'Silt extension (not in Loki): rings keep serving their last known state while etcd is unreachable; past this period the ring counts as stale and /ready reports it.' },
  { path: 'common.ring.heartbeat_period', flag: 'common.storage.ring.heartbeat-period', type: dur, def: 15 * S, help: 'Period at which to heartbeat to the ring (renew the etcd lease and the timestamp).' },
  { path: 'common.ring.heartbeat_timeout', flag: 'common.storage.ring.heartbeat-timeout', type: dur, def: 1 * M, help: 'The heartbeat timeout after which instances are unhealthy; with etcd also the lease TTL, after which a dead instance leaves the ring.' },
  { path: 'ingester.lifecycler.id', flag: 'ingester.lifecycler.ID', type: str, def: '', help: 'ID to register in the ring (empty: the hostname).' },
  { path: 'ingester.lifecycler.address', flag: 'ingester.lifecycler.addr', type: str, def: '127.0.0.1', help: 'IP address to advertise in the ring (Loki picks the first private interface address; Silt defaults to 127.0.0.1).' },
  { path: 'ingester.lifecycler.port', flag: 'ingester.lifecycler.port', type: int(0, 65535), def: 0, help: 'Port to advertise in the ring (0: server.grpc_listen_port).' },
  { path: 'ingester.lifecycler.num_tokens', flag: 'ingester.num-tokens', type: int(1, 8192), def: 128, help: 'Number of tokens for each ingester.' },
  { path: 'ingester.lifecycler.join_after', flag: 'ingester.join-after', type: dur, def: 0, help: 'Period a new ingester stays JOINING before it turns ACTIVE.' },
  { path: 'ingester.lifecycler.final_sleep', flag: 'ingester.final-sleep', type: dur, def: 0, help: 'Duration to sleep for before exiting, after leaving the ring, to ensure metrics are scraped.' },
  { path: 'ingester.lifecycler.tokens_file_path', flag: 'ingester.tokens-file-path', type: str, def: '', help: 'File path where tokens are stored. If empty, tokens are not stored and a restarted ingester takes new ones.' },
  { path: 'ruler.ring.num_tokens', flag: 'ruler.ring.num-tokens', type: int(1, 8192), def: 128, help: 'Number of tokens each ruler owns in the ruler ring (rule groups are sharded by them).' },

  { path: 'storage_config.object_store', flag: 'storage.object-store', type: { t: 'enum', values: ['filesystem', 'memory', 's3', 'aws'] }, def: 'filesystem', help: 'Where chunks and index live: filesystem, memory, or s3 (alias aws; settings under storage_config.aws).' },
  { path: 'storage_config.aws.bucketnames', flag: 's3.buckets', type: str, def: '', help: 'S3 bucket name (one bucket; a comma-separated list is rejected).' },
  { path: 'storage_config.aws.endpoint', flag: 's3.endpoint', type: str, def: '', help: 'S3 endpoint URL or host:port (empty: AWS for the region). A bare host uses https unless insecure.' },
  { path: 'storage_config.aws.region', flag: 's3.region', type: str, def: '', help: 'S3 region (empty: us-east-1).' },
  { path: 'storage_config.aws.access_key_id', flag: 's3.access-key-id', type: str, def: '', help: 'S3 access key id; with secret_access_key empty too, the AWS SDK default credential chain is used.' },
  { path: 'storage_config.aws.secret_access_key', flag: 's3.secret-access-key', type: str, def: '', help: 'S3 secret access key.', secret: true },
  { path: 'storage_config.aws.session_token', flag: 's3.session-token', type: str, def: '', help: 'S3 session token for temporary static credentials.', secret: true },
  { path: 'storage_config.aws.insecure', flag: 's3.insecure', type: bool, def: false, help: 'Use plain HTTP for a bare-host endpoint.' },
  { path: 'storage_config.aws.s3forcepathstyle', flag: 's3.force-path-style', type: bool, def: false, help: 'Path-style URLs (endpoint/bucket/key), needed by MinIO and most S3-compatible stores.' },
  { path: 'storage_config.aws.storage_prefix', flag: 's3.storage-prefix', type: str, def: '', help: 'Prefix of every object key, e.g. "silt/" to share a bucket.' },
  { path: 'storage_config.aws.http_config.response_header_timeout', flag: 's3.http.response-header-timeout', type: dur, def: 30 * S, help: 'Deadline of one S3 request attempt (Loki: 0 = none; Silt always bounds requests).' },
  { path: 'storage_config.aws.http_config.max_connections_per_host', flag: 's3.http.max-connections-per-host', type: int(1, 4096), def: 64, help: 'S3 requests in flight at once per process; more wait.' },
  { path: 'storage_config.aws.backoff_config.min_period', flag: 's3.min-backoff', type: dur, def: 100, help: 'First wait before retrying a failed S3 request.' },
  { path: 'storage_config.aws.backoff_config.max_period', flag: 's3.max-backoff', type: dur, def: 3 * S, help: 'Longest wait between S3 retries.' },
  { path: 'storage_config.aws.backoff_config.max_retries', flag: 's3.max-retries', type: int(0, 100), def: 5, help: 'Retries of a failed S3 request (network errors, 5xx, throttling, timeouts).' },
  { path: 'storage_config.filesystem.directory', flag: 'local.chunk-directory', type: str, def: '', help: 'Filesystem object store root; default <path_prefix>/chunks.' },
  { path: 'storage_config.chunk_cache_size', flag: 'store.chunks-cache-size', type: bytes, def: 256 * 1024 * 1024, help: 'Bytes of chunk data cached by queriers.' },
  { path: 'storage_config.index_cache_size', flag: 'store.index-cache-size', type: bytes, def: 64 * 1024 * 1024, help: 'Bytes of parsed index segments cached by queriers.' },
  { path: 'chunk_store_config.chunk_cache_config.embedded_cache.enabled', flag: 'store.chunks-cache.embedded-cache.enabled', type: bool, def: true, help: 'Cache chunk bytes in memory (false disables the chunk cache).' },
  { path: 'chunk_store_config.chunk_cache_config.embedded_cache.max_size_mb', flag: 'store.chunks-cache.embedded-cache.max-size-mb', type: int(0), def: 0, help: 'Chunk cache size in MB; 0 uses storage_config.chunk_cache_size.' },
  { path: 'storage_config.index_queries_cache_config.embedded_cache.enabled', flag: 'store.index-cache-read.embedded-cache.enabled', type: bool, def: true, help: 'Cache parsed index segments in memory (false disables the index cache).' },
  { path: 'storage_config.index_queries_cache_config.embedded_cache.max_size_mb', flag: 'store.index-cache-read.embedded-cache.max-size-mb', type: int(0), def: 0, help: 'Index cache size in MB; 0 uses storage_config.index_cache_size.' },
  { path: 'storage_config.index_list_ttl', flag: 'store.index-list-ttl', type: dur, def: 0, help: 'How long a listing of index segments is reused (0: list on every query, so flushed chunks are visible at once); at most ingester.chunk_retain_period.' },
  { path: 'storage_config.write_failure_unready_period', flag: 'store.write-failure-unready-period', type: dur, def: 1 * M, help: 'Silt extension (not in Loki): /ready answers 503 once object-store writes (chunk flushes, index segments) have been failing this long, counting a write with no answer past the S3 request timeout as failed; 200 again after a write succeeds. 0 disables.' },

  { path: 'ingester.chunk_encoding', flag: 'ingester.chunk-encoding', type: { t: 'enum', values: ['none', 'gzip', 'snappy', 'lz4', 'zstd'] }, def: 'lz4', help: 'Chunk block compression. lz4 (default) scans fastest and keeps a little less than snappy (Loki\'s default); zstd keeps about a third fewer bytes and reads faster cold, for +16 % ingest CPU (docs/adr/0030-lz4-default-codec.md).' },
  { path: 'ingester.chunk_block_size', flag: 'ingester.chunks-block-size', type: bytes, def: 262144, help: 'Uncompressed bytes at which a head block is cut.' },
  { path: 'ingester.chunk_target_size', flag: 'ingester.chunk-target-size', type: bytes, def: 1572864, help: 'Compressed size at which a chunk is flushed.' },
  { path: 'ingester.block_sealer', flag: 'ingester.block-sealer', type: { t: 'enum', values: ['worker', 'inline'] }, def: 'worker', help: 'Where cut blocks are compressed and filtered: a worker thread (keeps the event loop free for pushes and queries) or inline.' },
  { path: 'ingester.max_chunk_age', flag: 'ingester.max-chunk-age', type: dur, def: 2 * H, help: 'Flush a chunk once its first entry is this old; out-of-order window is half of it.' },
  { path: 'ingester.chunk_idle_period', flag: 'ingester.chunks-idle-period', type: dur, def: 30 * M, help: 'Flush a chunk that received nothing for this long.' },
  { path: 'ingester.flush_check_period', flag: 'ingester.flush-check-period', type: dur, def: 30 * S, help: 'How often chunks are checked for flushing.' },
  { path: 'ingester.chunk_retain_period', flag: 'ingester.chunks-retain-period', type: dur, def: 1 * M, help: 'How long flushed chunks stay queryable in memory.' },
  { path: 'ingester.concurrent_flushes', flag: 'ingester.concurrent-flushes', type: int(1, 256), def: 4, help: 'Parallel chunk uploads.' },
  { path: 'ingester.flush_op_backoff_max', flag: 'ingester.flush-op-backoff-max-period', type: dur, def: 1 * M, help: 'Longest wait between retries of a failed flush.' },
  {
    path: 'ingester.memory_limit',
    flag: 'ingester.memory-limit',
    type: bytes,
    def: 0,
    help: 'Bytes of log data the ingester holds in memory (chunks, head blocks, per-stream state). Above memory_soft_limit_ratio of it the biggest and oldest chunks are flushed early; at the limit pushes get 429 and nothing of them is stored. Caches are capped at fractions of it (ADR 0024). 0: no limit.',
  },
  { path: 'ingester.memory_soft_limit_ratio', flag: 'ingester.memory-soft-limit-ratio', type: { t: 'float', min: 0.1 }, def: 0.8, help: 'Fraction of ingester.memory_limit above which chunks are flushed early (at most 1).' },
  { path: 'ingester.wal.enabled', flag: 'ingester.wal-enabled', type: bool, def: true, help: 'Write every entry to the WAL before acknowledging it.' },
  { path: 'ingester.wal.dir', flag: 'ingester.wal-dir', type: str, def: '', help: 'WAL directory; default <path_prefix>/wal.' },
  { path: 'ingester.wal.checkpoint_duration', flag: 'ingester.checkpoint-duration', type: dur, def: 5 * M, help: 'Interval between WAL checkpoints.' },
  { path: 'ingester.wal.fsync', flag: 'ingester.wal-fsync', type: { t: 'enum', values: ['always', 'interval', 'never'] }, def: 'always', help: 'always: fdatasync before acknowledging (group commit); interval: survive process kill, fsync every fsync_interval; never: leave it to the OS.' },
  { path: 'ingester.wal.fsync_interval', flag: 'ingester.wal-fsync-interval', type: dur, def: 100, help: 'fsync interval for the interval policy.' },
  { path: 'ingester.wal.segment_size', flag: 'ingester.wal-segment-size', type: bytes, def: 128 * 1024 * 1024, help: 'WAL segment file size.' },

  { path: 'querier.query_ingesters_within', flag: 'querier.query-ingesters-within', type: dur, def: 3 * H, help: 'Only ask ingesters for data newer than this (0 = always).' },
  { path: 'querier.max_concurrent', flag: 'querier.max-concurrent', type: int(1, 1024), def: 8, help: 'Concurrent chunk fetches per query.' },
  { path: 'querier.block_cache_size', flag: 'querier.block-cache-size', type: bytes, def: 256 * 1024 * 1024, help: 'Bytes of decoded (decompressed) chunk blocks kept for repeated queries; 0 disables.' },
  {
    path: 'querier.threads',
    flag: 'querier.threads',
    type: int(-1, 64),
    def: -1,
    help: 'Querier threads beside the querier of a -target=all process without a ring (Silt extension): each runs query pieces on its own core, pulling them from the process\'s query-frontend and reading the ingester over local gRPC; the chunk and block caches are shared out among the queriers. Pieces over the last query_ingesters_within stay on the process\'s own querier. -1: one per CPU core beyond the first (none on one core); 0: none.',
  },
  { path: 'compactor.working_directory', flag: 'compactor.working-directory', type: str, def: '', help: 'Accepted for Loki config compatibility; Silt stages nothing on local disk (markers and delete requests live in object storage).' },
  { path: 'compactor.compaction_interval', flag: 'compactor.compaction-interval', type: dur, def: 10 * M, help: 'Interval at which to re-run compaction, retention, deletes and the sweeper.' },
  { path: 'compactor.retention_enabled', flag: 'compactor.retention-enabled', type: bool, def: false, help: 'Apply retention_period/retention_stream and enable the delete API (as Loki).' },
  { path: 'compactor.retention_delete_delay', flag: 'compactor.retention-delete-delay', type: dur, def: 2 * H, help: 'Delay after which chunks removed from the index (retention, deletes, merging) are deleted from object storage.' },
  { path: 'compactor.delete_request_cancel_period', flag: 'compactor.delete-request-cancel-period', type: dur, def: 24 * H, help: 'Delete requests can be cancelled for this long after creation; the compactor rewrites chunks only after it (queries hide the lines at once).' },
  { path: 'compactor.merge_small_chunks', flag: 'compactor.merge-small-chunks', type: bool, def: true, help: 'Merge small chunks of one stream into chunks of about the target size during compaction.' },
  { path: 'compactor.recompress_after', flag: 'compactor.recompress-after', type: dur, def: 0, help: 'Rewrite the chunks of each day that ended at least this long ago once, with recompress_chunk_encoding, recompress_zstd_level and recompress_block_size: old logs kept in fewer bytes, recent ones scanned at full speed (docs/adr/0038-recompress-old-days.md). 0 disables.' },
  { path: 'compactor.recompress_chunk_encoding', flag: 'compactor.recompress-chunk-encoding', type: { t: 'enum', values: ['none', 'gzip', 'snappy', 'lz4', 'zstd'] }, def: 'zstd', help: 'Chunk block compression of recompressed days.' },
  { path: 'compactor.recompress_zstd_level', flag: 'compactor.recompress-zstd-level', type: int(1, 19), def: 6, help: 'zstd level of recompressed days (1-19; higher keeps fewer bytes for more compactor CPU, reads as fast).' },
  { path: 'compactor.recompress_block_size', flag: 'compactor.recompress-block-size', type: bytes, def: 1048576, help: 'Uncompressed bytes per block of recompressed days (bigger blocks compress better; a hit reads a whole block).' },
  { path: 'compactor.merge_chunk_target_size', flag: 'compactor.merge-chunk-target-size', type: bytes, def: 0, help: 'Compressed size merged chunks aim for; 0 uses ingester.chunk_target_size.' },

  { path: 'query_range.cache_results', flag: 'querier.cache-results', type: bool, def: false, help: 'Cache metric query_range results per split interval (query-frontend results cache).' },
  { path: 'query_range.results_cache.cache.embedded_cache.max_size_mb', flag: 'frontend.embedded-cache.max-size-mb', type: int(1), def: 100, help: 'Results cache size in MB.' },
  { path: 'query_range.results_cache.cache.redis.endpoint', flag: 'frontend.redis.endpoint', type: str, def: '', help: 'Redis host:port for the results cache instead of the embedded cache (empty: embedded).' },
  { path: 'query_range.results_cache.cache.redis.db', flag: 'frontend.redis.db', type: int(0), def: 0, help: 'Redis database index of the results cache.' },
  { path: 'query_range.results_cache.cache.redis.password', flag: 'frontend.redis.password', type: str, def: '', help: 'Redis password (AUTH) of the results cache.' },
  { path: 'query_range.results_cache.cache.redis.timeout', flag: 'frontend.redis.timeout', type: dur, def: 500, help: 'Redis command timeout; a slow or absent Redis is a cache miss.' },
  { path: 'query_range.results_cache.cache.redis.expiration', flag: 'frontend.redis.expiration', type: dur, def: 0, help: 'How long cached results stay in Redis (0: no expiry; Redis maxmemory evicts).' },
  { path: 'query_range.max_retries', flag: 'querier.max-retries-per-request', type: int(1), def: 5, help: 'Maximum number of attempts of a query piece (the first included): a piece whose querier dies or answers 5xx is retried, on another querier when there is one.' },
  { path: 'frontend.max_outstanding_per_tenant', flag: 'querier.max-outstanding-requests-per-tenant', type: int(1), def: 2048, help: "Maximum number of query requests of one tenant admitted to the query-frontend and not answered yet; past it the frontend answers 429 'too many outstanding requests'. Silt counts requests (HTTP queries), not their split pieces as Loki does: pieces are drawn lazily, at most max_query_parallelism per tenant at a time." },
  { path: 'frontend_worker.frontend_address', flag: 'querier.frontend-address', type: str, def: '', help: 'Address (host:port, gRPC) of the query-frontend this querier pulls query pieces from; a comma-separated list for several frontends (Silt extension). Empty: no worker (in -target=all and read, the frontend runs pieces in process).' },
  { path: 'frontend_worker.parallelism', flag: 'querier.worker-parallelism', type: int(1, 1024), def: 10, help: 'Pieces this querier runs at once from each frontend (Process streams per frontend), when match_max_concurrent is false.' },
  { path: 'frontend_worker.match_max_concurrent', flag: 'querier.worker-match-max-concurrent', type: bool, def: true, help: 'Run querier.max_concurrent pieces at once in total, split over the frontends (each at least one), instead of parallelism per frontend.' },
  { path: 'frontend.tail_proxy_url', flag: 'frontend.tail-proxy-url', type: str, def: '', help: "URL of querier for tail proxy: a query-frontend without a querier in its process proxies /loki/api/v1/tail (and /api/prom/tail) WebSockets there, e.g. http://querier:3100. Empty (Silt extension): a querier connected to the frontend over gRPC, at the HTTP address its worker advertises; none connected: 503." },
  { path: 'frontend.support_parquet_encoding', flag: 'frontend.support-parquet-encoding', type: bool, def: false, help: "Support 'application/vnd.apache.parquet' content type in HTTP responses (query_range answers Parquet when asked with that Accept header)." },
  { path: 'querier.tail_max_duration', flag: 'querier.tail-max-duration', type: dur, def: 1 * H, help: 'Longest a tail (live) request may stay open.' },
  { path: 'distributor.push_decoder', flag: 'distributor.push-decoder', type: { t: 'enum', values: ['worker', 'inline'] }, def: 'worker', help: 'Where protobuf push bodies are decompressed and their lines read for detected_level: a worker thread (keeps the event loop free) or inline.' },
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
  { path: 'querier.multi_tenant_queries_enabled', flag: 'querier.multi-tenant-queries-enabled', type: bool, def: false, help: 'When true, allow queries to span multiple tenants (X-Scope-OrgID: a|b); results carry a __tenant_id__ label.' },

  { path: 'runtime_config.file', flag: 'runtime-config.file', type: str, def: '', help: 'Comma-separated YAML files with per-tenant limit overrides (`overrides:`), reloaded while running; merged left to right.' },
  { path: 'runtime_config.period', flag: 'runtime-config.reload-period', type: dur, def: 10 * S, help: 'How often to check runtime config files.' },

  { path: 'ruler.evaluation_interval', flag: 'ruler.evaluation-interval', type: dur, def: 1 * M, help: 'How frequently to evaluate rules (default of groups without an interval).' },
  { path: 'ruler.poll_interval', flag: 'ruler.poll-interval', type: dur, def: 1 * M, help: 'How frequently to reload rule groups from storage.' },
  { path: 'ruler.rule_path', flag: 'ruler.rule-path', type: str, def: '', help: 'Directory where the ruler writes the rule files it evaluates, per tenant; default <path_prefix>/rules-temp.' },
  { path: 'ruler.enable_api', flag: 'ruler.enable-api', type: bool, def: true, help: 'Serve the ruler API (rules CRUD and the Prometheus rules/alerts endpoints).' },
  { path: 'ruler.external_url', flag: 'ruler.external.url', type: str, def: '', help: 'Base URL (e.g. of Grafana) prefixed to the generatorURL of alerts.' },
  { path: 'ruler.datasource_uid', flag: 'ruler.datasource-uid', type: str, def: '', help: 'Grafana datasource UID put in the explore link of alerts; empty: a /loki/api/v1/query link.' },
  { path: 'ruler.external_labels', flag: 'ruler.external-labels', type: { t: 'map' }, def: {}, help: 'Labels added to every alert and recorded series (k=v,k2=v2).' },
  { path: 'ruler.alertmanager_url', flag: 'ruler.alertmanager-url', type: str, def: '', help: 'Comma-separated Alertmanager URLs to send alerts to (v2 API).' },
  { path: 'ruler.notification_queue_capacity', flag: 'ruler.notification-queue-capacity', type: int(1), def: 10000, help: 'Alerts queued for Alertmanager before the oldest are dropped.' },
  { path: 'ruler.notification_timeout', flag: 'ruler.notification-timeout', type: dur, def: 10 * S, help: 'HTTP timeout of one notification request.' },
  { path: 'ruler.for_grace_period', flag: 'ruler.for-grace-period', type: dur, def: 10 * M, help: 'At start, alerts whose `for` is at least this long and whose condition already held `for` ago resume instead of waiting `for` again (Loki restores the "for" state this way).' },
  { path: 'ruler.resend_delay', flag: 'ruler.resend-delay', type: dur, def: 1 * M, help: 'Minimum time before a firing alert is sent again.' },
  { path: 'ruler.webhook_url', flag: 'ruler.webhook-url', type: str, def: '', help: 'Also POST alerts as a plain JSON webhook to this URL (Silt extension).' },
  { path: 'ruler.storage.type', flag: 'ruler.storage.type', type: { t: 'enum', values: ['', 'local'] }, def: '', help: 'Where rule groups live: empty for the configured object store (storage_config), local for a directory.' },
  { path: 'ruler.storage.local.directory', flag: 'ruler.storage.local.directory', type: str, def: '', help: 'Directory of <tenant>/<namespace> rule files for the local type; default <path_prefix>/rules.' },
  { path: 'ruler.remote_write.enabled', flag: 'ruler.remote-write.enabled', type: bool, def: false, help: 'Remote-write recording rule results (and ALERTS series) to Prometheus.' },
  { path: 'ruler.remote_write.add_org_id_header', flag: 'ruler.remote-write.add-org-id-header', type: bool, def: true, help: 'Send the tenant as X-Scope-OrgID with remote-write requests.' },
  { path: 'ruler.remote_write.client.url', flag: 'ruler.remote-write.client.url', type: str, def: '', help: 'Prometheus remote-write endpoint, e.g. http://prometheus:9090/api/v1/write.' },
  { path: 'ruler.remote_write.client.remote_timeout', flag: 'ruler.remote-write.client.remote-timeout', type: dur, def: 30 * S, help: 'Timeout of one remote-write request.' },
  { path: 'ruler.remote_write.client.queue_config.capacity', flag: 'ruler.remote-write.client.queue-capacity', type: int(1), def: 10000, help: 'Samples buffered for remote write; when full the oldest are dropped.' },
  { path: 'ruler.remote_write.client.queue_config.max_samples_per_send', flag: 'ruler.remote-write.client.max-samples-per-send', type: int(1), def: 2000, help: 'Most samples in one remote-write request.' },
  { path: 'ruler.remote_write.client.queue_config.batch_send_deadline', flag: 'ruler.remote-write.client.batch-send-deadline', type: dur, def: 5 * S, help: 'Longest a sample waits for a batch to fill.' },
  { path: 'ruler.remote_write.client.queue_config.min_backoff', flag: 'ruler.remote-write.client.min-backoff', type: dur, def: 30, help: 'First retry delay after a failed remote write.' },
  { path: 'ruler.remote_write.client.queue_config.max_backoff', flag: 'ruler.remote-write.client.max-backoff', type: dur, def: 5 * S, help: 'Longest retry delay after failed remote writes.' },
];
