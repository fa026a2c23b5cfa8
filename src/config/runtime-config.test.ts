import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultConfig } from './config.js';
import { parseRuntimeConfig, RuntimeConfig } from './runtime-config.js';

const defaults = defaultConfig().limits_config;
const doc = (text: string, name = 'rc.yaml') => [{ name, text }];

function tmpFile(text: string): string {
  const p = path.join(mkdtempSync(path.join(tmpdir(), 'silt-rc-')), 'runtime.yaml');
  writeFileSync(p, text);
  return p;
}

async function gauge(reg: Registry, name: string): Promise<number | undefined> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  return m?.values[0]?.value;
}

describe('parseRuntimeConfig', () => {
  it('reads Loki overrides in the main config units', () => {
    const v = parseRuntimeConfig(doc('overrides:\n  a:\n    max_line_size: 1KB\n    max_query_length: 2h\n    ingestion_rate_mb: 0.5\n    reject_old_samples: false\n  b:\n    max_entries_limit_per_query: 10\n'), defaults);
    expect(Object.fromEntries(v.overrides)).toEqual({
      a: { max_line_size: 1000, max_query_length: 7_200_000, ingestion_rate_mb: 0.5, reject_old_samples: false },
      b: { max_entries_limit_per_query: 10 },
    });
  });

  it.each([
    ['', 0],
    ['overrides:\n', 0],
    ['overrides:\n  a:\n', 0], // an empty tenant entry is skipped, as Loki does
    ['configs: {}\nmulti_kv_config: null\n', 0],
  ])('accepts %j', (text, n) => expect(parseRuntimeConfig(doc(text), defaults).overrides.size).toBe(n));

  it.each([
    ['overrides: [1,', /invalid YAML/],
    ['- a\n', /top level must be a mapping/],
    ['overides:\n  a: {}\n', /field overides not found/],
    ['overrides: 3\n', /overrides must be a mapping/],
    ['overrides:\n  a: 5\n', /overrides\.a must be a mapping/],
    ['overrides:\n  a:\n    max_lines: 5\n', /overrides\.a: field max_lines not found/],
    ['overrides:\n  a:\n    max_push_body_size: 5MB\n', /not a per-tenant limit/],
    ['overrides:\n  a:\n    max_query_series: lots\n', /invalid override for tenant a.*max_query_series/],
    ['overrides:\n  a:\n    max_query_length: 5 parsecs\n', /invalid override for tenant a.*max_query_length/],
  ])('rejects %j', (text, re) => expect(() => parseRuntimeConfig(doc(text), defaults)).toThrow(re));

  it('reports every problem at once', () => {
    expect(() => parseRuntimeConfig(doc('overrides:\n  a:\n    nope: 1\n  b:\n    max_query_series: x\n'), defaults)).toThrow(/2 errors/);
  });

  it('merges several files left to right, key by key', () => {
    const v = parseRuntimeConfig(
      [
        { name: '1', text: 'overrides:\n  a:\n    max_query_series: 1\n    max_line_size: 10\n  b:\n    max_query_series: 2\n' },
        { name: '2', text: 'overrides:\n  a:\n    max_query_series: 3\n' },
      ],
      defaults,
    );
    expect(v.overrides.get('a')).toEqual({ max_query_series: 3, max_line_size: 10 });
    expect(v.overrides.get('b')).toEqual({ max_query_series: 2 });
  });
});

describe('RuntimeConfig', () => {
  const make = (file: string) => {
    const registry = new Registry();
    return { registry, rc: new RuntimeConfig({ file, periodMs: 60_000, defaults, logger: pino({ level: 'silent' }), registry }) };
  };

  it('without a file every tenant has the defaults', () => {
    const { rc } = make('');
    expect(rc.limitsOf('anyone')).toBe(defaults);
    expect(rc.toYaml('all')).toBe("runtime config file doesn't exist");
  });

  it('an invalid file at start is fatal', () => {
    expect(() => make(tmpFile('overrides:\n  a:\n    bogus: 1\n'))).toThrow(/field bogus not found/);
    expect(() => make('/nonexistent/runtime.yaml')).toThrow(/cannot read runtime config file/);
  });

  it('reloads a changed file, keeps the old overrides when the new one is invalid', async () => {
    const f = tmpFile('overrides:\n  a:\n    max_query_series: 7\n');
    const { rc, registry } = make(f);
    expect(rc.limitsOf('a').max_query_series).toBe(7);
    expect(rc.limitsOf('a').max_line_size).toBe(defaults.max_line_size);
    expect(rc.limitsOf('b')).toBe(defaults);
    const gen = rc.generation;
    expect(await rc.reload()).toBe(true);
    expect(rc.generation).toBe(gen); // unchanged bytes: nothing re-applied

    writeFileSync(f, 'overrides:\n  a:\n    max_query_series: 8\n  b:\n    max_line_size: 5\n');
    expect(await rc.reload()).toBe(true);
    expect(rc.limitsOf('a').max_query_series).toBe(8);
    expect(rc.limitsOf('b').max_line_size).toBe(5);
    expect(await gauge(registry, 'silt_runtime_config_last_reload_successful')).toBe(1);

    writeFileSync(f, 'overrides:\n  a:\n    max_query_series: [\n');
    expect(await rc.reload()).toBe(false);
    expect(rc.limitsOf('a').max_query_series).toBe(8);
    expect(await gauge(registry, 'silt_runtime_config_last_reload_successful')).toBe(0);
    expect(Object.isFrozen(rc.limitsOf('a'))).toBe(true);
  });

  it('serves all effective limits, or only what differs from the defaults', () => {
    const { rc } = make(tmpFile(`overrides:\n  a:\n    max_query_length: 2h\n    max_query_series: ${defaults.max_query_series}\n  b: {}\n`));
    const all = parseYaml(rc.toYaml('all')) as { overrides: Record<string, Record<string, unknown>> };
    expect(Object.keys(all.overrides)).toEqual(['a', 'b']);
    expect(all.overrides['a']!['max_query_length']).toBe('2h0m0s');
    expect(all.overrides['b']!['max_line_size']).toBe('256KiB');
    expect(parseYaml(rc.toYaml('diff'))).toEqual({ overrides: { a: { max_query_length: '2h0m0s' } } });
  });
});
