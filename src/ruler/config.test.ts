import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configToYaml, loadConfig } from '../config/config.js';

function file(text: string): string {
  const p = path.join(mkdtempSync(path.join(tmpdir(), 'silt-ruler-cfg-')), 'silt.yaml');
  writeFileSync(p, text);
  return p;
}

describe('ruler settings', () => {
  it("has Loki's defaults", () => {
    const r = loadConfig([]).ruler;
    expect(r.evaluation_interval).toBe(60_000);
    expect(r.resend_delay).toBe(60_000);
    expect(r.for_grace_period).toBe(10 * 60_000);
    expect(r.enable_api).toBe(true);
    expect(r.notification_queue_capacity).toBe(10_000);
    expect(r.storage.local.directory).toBe(path.join('./data', 'rules'));
    expect(r.rule_path).toBe(path.join('./data', 'rules-temp'));
    expect(r.external_labels).toEqual({});
  });

  it('reads the YAML section with external_labels as a mapping, flags winning', () => {
    const p = file(
      'ruler:\n  evaluation_interval: 15s\n  alertmanager_url: http://am:9093\n  external_labels:\n    cluster: eu\n    replica: 1\n  storage:\n    type: local\n    local:\n      directory: /rules\n  remote_write:\n    enabled: true\n    client:\n      url: http://prom:9090/api/v1/write\n',
    );
    const cfg = loadConfig([`-config.file=${p}`, '-ruler.resend-delay=30s']);
    expect(cfg.ruler).toMatchObject({
      evaluation_interval: 15_000,
      resend_delay: 30_000,
      alertmanager_url: 'http://am:9093',
      external_labels: { cluster: 'eu', replica: '1' },
      storage: { type: 'local', local: { directory: '/rules' } },
      remote_write: { enabled: true, client: { url: 'http://prom:9090/api/v1/write' } },
    });
    expect(configToYaml(cfg)).toContain('external_labels:\n    cluster: eu\n');
  });

  it('parses external labels from a flag', () => {
    expect(loadConfig(['-ruler.external-labels=a=1, b=two']).ruler.external_labels).toEqual({ a: '1', b: 'two' });
  });

  it.each([
    [['-ruler.external-labels=novalue'], 'expected name=value pairs separated by commas'],
    [['-ruler.external-labels=a-b=1'], 'ruler.external_labels: invalid label name "a-b"'],
    [['-ruler.remote-write.enabled=true'], 'ruler.remote_write.client.url must be set when ruler.remote_write.enabled is true'],
    [['-ruler.alertmanager-url=not a url'], 'invalid URL "not a url" in the ruler section'],
    [['-ruler.evaluation-interval=0s'], 'ruler.evaluation_interval must be positive'],
    [['-ruler.storage.type=s3'], 'expected one of , local'],
  ])('rejects %j', (flags, msg) => {
    expect(() => loadConfig(flags)).toThrow(msg);
  });
});
