import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configToYaml, loadConfig } from '../config/config.js';
import { DEFAULT_RING_SETTINGS, lifecyclerConfig, ringOptions, ringSettingsFrom, validateRingSettings } from './config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'silt-ring-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ring settings', () => {
  it('defaults match the settings table', () => {
    const s = ringSettingsFrom(loadConfig([]));
    expect(s).toEqual({ ...DEFAULT_RING_SETTINGS, lifecycler: { ...DEFAULT_RING_SETTINGS.lifecycler, id: hostname() } });
    expect(validateRingSettings(s)).toEqual([]);
  });

  it("reads Loki's YAML names and flags", () => {
    const file = path.join(dir, 'ring.yaml');
    writeFileSync(
      file,
      [
        'common:',
        '  replication_factor: 3',
        '  ring:',
        '    kvstore:',
        '      store: etcd',
        '      prefix: silt/',
        '      etcd:',
        '        endpoints: [etcd-0:2379, etcd-1:2379]',
        '        dial_timeout: 3s',
        '        max_unreachable_period: 2m',
        '    heartbeat_period: 5s',
        '    heartbeat_timeout: 30s',
        'ingester:',
        '  lifecycler:',
        '    id: ingester-7',
        '    address: 10.1.2.3',
        '    num_tokens: 64',
        '    join_after: 10s',
        '    tokens_file_path: /data/tokens.json',
        'ruler:',
        '  ring:',
        '    num_tokens: 32',
        '',
      ].join('\n'),
    );
    const cfg = loadConfig([`-config.file=${file}`, '-ingester.lifecycler.port=9096', '-ingester.final-sleep=1s']);
    const s = ringSettingsFrom(cfg);
    expect(s).toMatchObject({ replicationFactor: 3, store: 'etcd', prefix: 'silt/', etcdEndpoints: ['etcd-0:2379', 'etcd-1:2379'], etcdDialTimeoutMs: 3000, etcdMaxUnreachableMs: 120_000, heartbeatPeriodMs: 5000, heartbeatTimeoutMs: 30_000, rulerNumTokens: 32 });
    expect(s.lifecycler).toEqual({ id: 'ingester-7', address: '10.1.2.3', port: 9096, numTokens: 64, joinAfterMs: 10_000, finalSleepMs: 1000, tokensFilePath: '/data/tokens.json' });
    expect(lifecyclerConfig(s, 'ingester', { grpcPort: 9095, httpPort: 3100 })).toMatchObject({ ringName: 'ring', id: 'ingester-7', addr: '10.1.2.3:9096', httpAddr: 'http://10.1.2.3:3100', numTokens: 64, heartbeatTimeoutMs: 30_000 });
    expect(lifecyclerConfig(s, 'ruler', { grpcPort: 9095, httpPort: 3100 })).toMatchObject({ ringName: 'rulers', numTokens: 32, tokensFilePath: '' });
    expect(ringOptions(s, 'compactor')).toEqual({ ringName: 'compactor', heartbeatTimeoutMs: 30_000, probePeriodMs: 5000, maxUnreachableMs: 120_000 });
    // The effective config dumps and loads back to the same ring settings.
    const again = path.join(dir, 'again.yaml');
    writeFileSync(again, configToYaml(cfg));
    expect(ringSettingsFrom(loadConfig([`-config.file=${again}`]))).toEqual(s);
    const flags = ringSettingsFrom(loadConfig(['-common.storage.ring.store=etcd', '-common.storage.ring.etcd.endpoints=a:1,b:2', '-ingester.lifecycler.ID=x', '-common.replication-factor=2']));
    expect(flags).toMatchObject({ store: 'etcd', etcdEndpoints: ['a:1', 'b:2'], replicationFactor: 2, lifecycler: { id: 'x' } });
  });

  it.each([
    [['-common.storage.ring.store=etcd'], 'endpoints must list at least one endpoint'],
    [['-common.storage.ring.heartbeat-period=2m'], 'heartbeat_period must be shorter'],
    [['-ingester.lifecycler.ID=a/b'], 'must not contain "/"'],
  ])('validates %j', (flags, msg) => {
    expect(validateRingSettings(ringSettingsFrom(loadConfig(flags))).join('\n')).toContain(msg);
  });

  it('rejects values the table does not allow', () => {
    expect(() => loadConfig(['-common.storage.ring.store=consul'])).toThrow('expected one of inmemory, etcd');
    expect(() => loadConfig(['-common.replication-factor=-1'])).toThrow('must be >= 0');
  });
});
