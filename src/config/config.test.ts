import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configToYaml, defaultConfig, loadConfig } from './config.js';
import { formatDurationMs, parseBytes, parseDurationMs } from './units.js';

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

  it.each([
    ['30s', 30_000], ['1h30m', 5_400_000], ['500ms', 500], ['7d', 604_800_000], ['1.5h', 5_400_000], ['0', 0], ['x', null], ['5', null],
  ])('parses duration %s', (s, ms) => expect(parseDurationMs(s)).toBe(ms));
  it.each([['256KB', 256_000], ['1MiB', 1_048_576], ['1.5MB', 1_500_000], ['42', 42], ['1XB', null]])('parses bytes %s', (s, n) => expect(parseBytes(s)).toBe(n));
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
  ])('rejects %s', (flag, msg) => {
    expect(() => loadConfig([flag])).toThrow(msg);
  });
});
