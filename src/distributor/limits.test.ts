import { describe, expect, it } from 'vitest';
import { defaultLimits, limitsUnits, limitsYamlKeys, StaticLimitsProvider, tenantLimitsFromYaml } from './limits.js';

describe('limits', () => {
  it('has Loki defaults in normalised units', () => {
    expect(defaultLimits.ingestionRateMb).toBe(4);
    expect(defaultLimits.ingestionBurstSizeMb).toBe(6);
    expect(defaultLimits.maxLineSize).toBe(262144);
    expect(defaultLimits.rejectOldSamplesMaxAge).toBe(7 * 24 * 3600 * 1000);
    expect(defaultLimits.creationGracePeriod).toBe(10 * 60 * 1000);
    expect(defaultLimits.perStreamRateLimit).toBe(3 * 1048576);
    expect(defaultLimits.perStreamRateLimitBurst).toBe(15 * 1048576);
    expect(defaultLimits.maxQueryLength).toBe(721 * 3600 * 1000);
    expect(defaultLimits.queryTimeout).toBe(60_000);
  });

  it('maps every field to a snake_case YAML key and a unit', () => {
    const fields = Object.keys(defaultLimits).sort();
    expect(Object.keys(limitsYamlKeys).sort()).toEqual(fields);
    expect(Object.keys(limitsUnits).sort()).toEqual(fields);
    for (const [field, yaml] of Object.entries(limitsYamlKeys)) {
      expect(yaml.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())).toBe(field.replace(/Mb$/, 'Mb'));
    }
  });

  it('serves overrides merged over defaults', () => {
    const p = new StaticLimitsProvider(defaultLimits, { big: { ingestionRateMb: 100 } });
    expect(p.forTenant('big').ingestionRateMb).toBe(100);
    expect(p.forTenant('big').maxLineSize).toBe(defaultLimits.maxLineSize);
    expect(p.forTenant('other')).toEqual(defaultLimits);
    expect(Object.isFrozen(p.forTenant('big'))).toBe(true);
  });

  it('builds limits from snake_case YAML keys', () => {
    const l = tenantLimitsFromYaml({ ingestion_rate_mb: 8, max_line_size: 1024, reject_old_samples: 'yes', unknown_key: 1 });
    expect(l.ingestionRateMb).toBe(8);
    expect(l.maxLineSize).toBe(1024);
    expect(l.rejectOldSamples).toBe(true); // wrong type: default kept
    expect(l.maxLabelNamesPerSeries).toBe(15);
    expect(Object.isFrozen(l)).toBe(true);
  });
});
