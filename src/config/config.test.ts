import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configToYaml, defaultConfig, loadConfig } from './config.js';
import { parseConfigBytes } from '../util/go/bytes.js';
import { formatDurationMs, parseConfigDurationMs } from '../util/go/duration.js';

function file(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'silt-cfg-'));
  const p = path.join(dir, 'silt.yaml');
  writeFileSync(p, text);
  return p;
}

describe('config', () => {
  it('starts with no file at all, with Loki-like defaults', () => {
    const cfg = loadConfig([]);
    expect(cfg.server.http_listen_port).toBe(3100);
    expect(cfg.server.grpc_listen_port).toBe(9095);
    expect(cfg.target).toEqual(['all']);
    expect(cfg.ingester.max_chunk_age).toBe(2 * 3600_000);
    expect(cfg.ingester.wal.dir).toBe(path.join('./data', 'wal'));
    expect(cfg.limits_config.max_label_names_per_series).toBe(15);
    expect(Object.isFrozen(cfg.ingester.wal)).toBe(true);
  });

  it('merges YAML then flags, flags winning', () => {
    const p = file('server:\n  http_listen_port: 3200\ningester:\n  max_chunk_age: 1h\n  chunk_target_size: 1MiB\nlimits_config:\n  max_line_size: 10KB\n');
    const cfg = loadConfig([`-config.file=${p}`, '-server.http-listen-port', '3300', '-target=querier,ingester']);
    expect(cfg.server.http_listen_port).toBe(3300);
    expect(cfg.ingester.max_chunk_age).toBe(3600_000);
    expect(cfg.ingester.chunk_target_size).toBe(1024 * 1024);
    expect(cfg.limits_config.max_line_size).toBe(10_000);
    expect(cfg.target).toEqual(['querier', 'ingester']);
  });

  it('reports every error at once', () => {
    const p = file('server:\n  http_listen_port: nope\n  bogus: 1\ningester:\n  max_chunk_age: 5 parsecs\n');
    let msg = '';
    try {
      loadConfig([`-config.file=${p}`, '-no.such-flag=1', '-target=bogus']);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('5 errors');
    expect(msg).toContain('server.http_listen_port');
    expect(msg).toContain('field server.bogus not found');
    expect(msg).toContain('ingester.max_chunk_age');
    expect(msg).toContain('flag provided but not defined: -no.such-flag');
    expect(msg).toContain('unrecognised target "bogus"');
  });

  it('rejects broken YAML with a message', () => {
    expect(() => loadConfig([`-config.file=${file('server: [1,')}`])).toThrow(/invalid YAML/);
    expect(() => loadConfig(['-config.file=/nonexistent/silt.yaml'])).toThrow(/cannot read config file/);
  });

  it('dumps an effective config that loads back to the same values', () => {
    const cfg = loadConfig(['-ingester.max-chunk-age=90m', '-distributor.max-line-size=1000']);
    const again = loadConfig([`-config.file=${file(configToYaml(cfg))}`]);
    expect(again).toEqual(cfg);
    expect(configToYaml(defaultConfig())).toContain('max_chunk_age: 2h0m0s');
  });

  it('reads S3 settings with Loki names from storage_config.aws and common.storage.s3', () => {
    const direct = loadConfig([
      `-config.file=${file('storage_config:\n  object_store: aws\n  aws:\n    bucketnames: logs\n    endpoint: minio:9000\n    insecure: true\n    s3forcepathstyle: true\n    access_key_id: k\n    secret_access_key: s\n    backoff_config:\n      max_retries: 2\n')}`,
    ]);
    expect(direct.storage_config.object_store).toBe('aws');
    expect(direct.storage_config.aws).toMatchObject({ bucketnames: 'logs', endpoint: 'minio:9000', insecure: true, s3forcepathstyle: true, backoff_config: { max_retries: 2, min_period: 100, max_period: 3000 } });
    // common.storage.s3 selects S3 and fills storage_config.aws; explicit storage_config.aws keys win.
    const common = loadConfig([`-config.file=${file('common:\n  storage:\n    s3:\n      bucketnames: a\n      region: eu-west-1\nstorage_config:\n  aws:\n    region: us-east-2\n')}`]);
    expect(common.storage_config.object_store).toBe('s3');
    expect(common.storage_config.aws.bucketnames).toBe('a');
    expect(common.storage_config.aws.region).toBe('us-east-2');
    expect(() => loadConfig([`-config.file=${file('common:\n  storage:\n    s3:\n      bucket: a\n')}`])).toThrow(/field common\.storage\.s3\.bucket not found/);
    expect(configToYaml(direct)).toContain('secret_access_key: "********"');
    expect(configToYaml(direct)).not.toMatch(/secret_access_key: s\b/);
    const flags = loadConfig(['-storage.object-store=s3', '-s3.buckets=b', '-s3.force-path-style', '-s3.http.response-header-timeout=2s']);
    expect(flags.storage_config.aws).toMatchObject({ bucketnames: 'b', s3forcepathstyle: true, http_config: { response_header_timeout: 2000 } });
  });

  it('rejects incomplete S3 settings, all at once', () => {
    expect(() => loadConfig(['-storage.object-store=s3'])).toThrow(/bucketnames is required/);
    let msg = '';
    try {
      loadConfig(['-storage.object-store=s3', '-s3.buckets=a,b', '-s3.access-key-id=k', '-s3.min-backoff=5s']);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/only one bucket/);
    expect(msg).toMatch(/set both access_key_id and secret_access_key/);
    expect(msg).toMatch(/min_period must not exceed max_period/);
  });

  it('knows the cache settings by their Loki names and keeps the older ones', () => {
    const cfg = loadConfig([
      `-config.file=${file('chunk_store_config:\n  chunk_cache_config:\n    embedded_cache:\n      max_size_mb: 50\nquery_range:\n  cache_results: true\nlimits_config:\n  split_queries_by_interval: 1h\n  max_cache_freshness_per_query: 5m\nstorage_config:\n  chunk_cache_size: 1MiB\n')}`,
    ]);
    expect(cfg.chunk_store_config.chunk_cache_config.embedded_cache.max_size_mb).toBe(50);
    expect(cfg.storage_config.chunk_cache_size).toBe(1024 * 1024);
    expect(cfg.query_range.cache_results).toBe(true);
    expect(cfg.limits_config.split_queries_by_interval).toBe(3_600_000);
    expect(cfg.limits_config.max_cache_freshness_per_query).toBe(300_000);
    const def = defaultConfig();
    expect([def.query_range.cache_results, def.limits_config.split_queries_by_interval, def.limits_config.max_cache_freshness_per_query]).toEqual([false, 3_600_000, 600_000]);
  });

  it.each([
    ['30s', 30_000], ['1h30m', 5_400_000], ['500ms', 500], ['7d', 604_800_000], ['1.5h', 5_400_000], ['0', 0], ['x', null], ['5', null],
  ])('parses duration %s', (s, ms) => expect(parseConfigDurationMs(s)).toBe(ms));
  it.each([['256KB', 256_000], ['1MiB', 1_048_576], ['1.5MB', 1_500_000], ['42', 42], ['1XB', null]])('parses bytes %s', (s, n) => expect(parseConfigBytes(s)).toBe(n));
  it('formats durations like Go', () => {
    expect(formatDurationMs(7_200_000)).toBe('2h0m0s');
    expect(formatDurationMs(90_000)).toBe('1m30s');
    expect(formatDurationMs(250)).toBe('250ms');
  });
});

describe('compactor and retention settings', () => {
  it('parses retention_stream from YAML and flags, with Loki defaults', () => {
    const yaml = file('compactor:\n  retention_enabled: true\nlimits_config:\n  retention_period: 744h\n  retention_stream:\n    - selector: \'{namespace="dev"}\'\n      priority: 1\n      period: 24h\n');
    const cfg = loadConfig([`-config.file=${yaml}`]);
    expect(cfg.compactor.retention_enabled).toBe(true);
    expect(cfg.compactor.retention_delete_delay).toBe(2 * 3_600_000);
    expect(cfg.compactor.delete_request_cancel_period).toBe(24 * 3_600_000);
    expect(cfg.limits_config.deletion_mode).toBe('filter-and-delete');
    expect(cfg.limits_config.retention_period).toBe(744 * 3_600_000);
    expect(cfg.limits_config.retention_stream).toEqual([{ selector: '{namespace="dev"}', priority: 1, period: 24 * 3_600_000 }]);
    const flag = loadConfig(['-limits.retention-stream=[{"selector":"{a=\\"b\\"}","priority":2,"period":"48h"}]']);
    expect(flag.limits_config.retention_stream).toEqual([{ selector: '{a="b"}', priority: 2, period: 48 * 3_600_000 }]);
  });

  it.each([
    ['-limits.retention-stream=[{"selector":"{a=\\"b\\"}","period":"1h"}]', 'retention period must be >= 24h was 1h'],
    ['-limits.retention-stream=[{"selector":"{a=","period":"24h"}]', 'invalid labels matchers'],
    ['-limits.retention-stream=[{"selector":"{a=\\"b\\"}","period":"24h","x":1}]', 'field x not found'],
    ['-compactor.deletion-mode=sometimes', 'expected one of disabled, filter-only, filter-and-delete'],
    ['-store.index-list-ttl=5m', 'ingester.chunk_retain_period must be at least storage_config.index_list_ttl'],
    ['-compactor.recompress-block-size=512', 'compactor.recompress_block_size must be at least 1KiB'],
    ['-compactor.recompress-block-size=32MiB', 'compactor.recompress_block_size must be at most 16MiB'],
    ['-compactor.recompress-zstd-level=20', 'compactor.recompress_zstd_level'],
    ['-compactor.recompress-zstd-level=0', 'compactor.recompress_zstd_level'],
    ['-compactor.recompress-chunk-encoding=brotli', 'expected one of none, gzip, snappy, lz4, zstd'],
  ])('rejects %s', (flag, msg) => {
    expect(() => loadConfig([flag])).toThrow(msg);
  });

  it('reads the recompression settings; off by default', () => {
    const d = loadConfig([]).compactor;
    expect([d.recompress_after, d.recompress_chunk_encoding, d.recompress_zstd_level, d.recompress_block_size]).toEqual([0, 'zstd', 6, 1_048_576]);
    const c = loadConfig(['-compactor.recompress-after=72h', '-compactor.recompress-zstd-level=9', '-compactor.recompress-block-size=4MiB']).compactor;
    expect([c.recompress_after, c.recompress_zstd_level, c.recompress_block_size]).toEqual([72 * 3_600_000, 9, 4 * 1_048_576]);
  });

  it('accepts an index listing TTL within the retain period', () => {
    const cfg = loadConfig(['-store.index-list-ttl=30s']);
    expect(cfg.storage_config.index_list_ttl).toBe(30_000);
    expect(loadConfig(['-store.index-list-ttl=5m', '-ingester.chunks-retain-period=5m']).ingester.chunk_retain_period).toBe(300_000);
  });
});
