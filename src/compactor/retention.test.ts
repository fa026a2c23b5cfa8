import { describe, expect, it } from 'vitest';
import { chunkExpired, TenantRetention } from './retention.js';
import { testLabels } from './testing.js';

const H = 3_600_000;
const D = 24 * H;

describe('TenantRetention', () => {
  const rules = [
    { selector: '{stream="s1"}', priority: 1, period: 2 * D },
    { selector: '{stream=~"s1|s2"}', priority: 1, period: 3 * D },
    { selector: '{job="test", stream="s2"}', priority: 5, period: 10 * D },
    { selector: '{stream="s3"}', priority: 0, period: 0 },
  ];
  const r = new TenantRetention({ retention_period: 30 * D, retention_stream: rules });
  it.each([
    ['equal priority: the shortest period wins', 1, 2 * D],
    ['higher priority wins over a shorter period', 2, 10 * D],
    ['a matching rule with period 0 keeps forever', 3, 0],
    ['no rule matches: retention_period', 4, 30 * D],
  ])('%s', (_name, stream, want) => {
    expect(r.periodFor(testLabels(stream))).toBe(want);
  });

  it('is disabled only when every period is 0', () => {
    expect(new TenantRetention({ retention_period: 0, retention_stream: [] }).disabled).toBe(true);
    expect(new TenantRetention({ retention_period: 0, retention_stream: [rules[0]!] }).disabled).toBe(false);
  });

  it('expires a chunk strictly after its newest entry is older than the period', () => {
    const nowMs = 100 * D;
    const through = BigInt(nowMs - 2 * D) * 1_000_000n;
    expect(chunkExpired(through, 2 * D, nowMs)).toBe(false);
    expect(chunkExpired(through - 1n, 2 * D, nowMs)).toBe(true);
    expect(chunkExpired(0n, 0, nowMs)).toBe(false);
  });
});
