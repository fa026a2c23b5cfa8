import { describe, expect, it } from 'vitest';
import { formatG3, renderRingHtml, renderRingJson } from './http.js';
import { StaticRing } from './static-ring.js';
import type { InstanceDesc } from './types.js';

// Health is judged by the real clock, so the fixture lives at the current time: a whole
// second plus 678 ms, and the expected texts are derived from it.
const NOW = Math.floor(Date.now() / 1000) * 1000 + 678;
const iso = (ms: number): string => new Date(ms).toISOString();
const secs = (ms: number): string => iso(Math.floor(ms / 1000) * 1000).replace('.000Z', 'Z');
const hms = (ms: number): string => iso(ms).slice(11, 23);

function inst(id: string, tokens: number[], over: Partial<InstanceDesc> = {}): InstanceDesc {
  return { id, addr: `10.0.0.${id.length}:9095`, httpAddr: `http://10.0.0.${id.length}:3100`, state: 'ACTIVE', tokens, timestampMs: NOW - 12_345, registeredAtMs: Date.UTC(2026, 0, 1), zone: '', ...over };
}

describe('/ring rendering', () => {
  const ring = new StaticRing([inst('ing-b', [0x40000000]), inst('ing-a', [0, 0x80000000]), inst('ing-dead', [], { timestampMs: NOW - 120_000, state: 'LEAVING', registeredAtMs: 0 })], { heartbeatTimeoutMs: 60_000 });

  it("renders dskit's JSON fields, sorted by id, UNHEALTHY for stale heartbeats", () => {
    const text = renderRingJson(ring, NOW);
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({
      shards: [
        { id: 'ing-a', state: 'ACTIVE', address: '10.0.0.5:9095', timestamp: secs(NOW - 12_345), registered_timestamp: '2026-01-01T00:00:00Z', read_only: false, read_only_updated_timestamp: '0001-01-01T00:00:00Z', zone: '', tokens: [0, 0x80000000] },
        { id: 'ing-b', state: 'ACTIVE', address: '10.0.0.5:9095', timestamp: secs(NOW - 12_345), registered_timestamp: '2026-01-01T00:00:00Z', read_only: false, read_only_updated_timestamp: '0001-01-01T00:00:00Z', zone: '', tokens: [0x40000000] },
        { id: 'ing-dead', state: 'UNHEALTHY', address: '10.0.0.8:9095', timestamp: secs(NOW - 120_000), registered_timestamp: '0001-01-01T00:00:00Z', read_only: false, read_only_updated_timestamp: '0001-01-01T00:00:00Z', zone: '', tokens: null },
      ],
      now: iso(NOW),
    });
  });

  it('renders an HTML table with heartbeat age, token counts and ownership', () => {
    const html = renderRingHtml(ring, { nowMs: NOW });
    const rows = html.match(/<tr[^>]*><td>.*<\/tr>/g) ?? [];
    expect(rows).toHaveLength(3);
    expect(rows[0]).toBe(
      `<tr><td><a href="http://10.0.0.5:3100">ing-a</a></td><td></td><td>ACTIVE</td><td>10.0.0.5:9095</td><td>2026-01-01T00:00:00Z</td><td>12s ago (${hms(NOW - 12_345)})</td><td>2</td><td>75%</td></tr>`,
    );
    expect(rows[1]).toContain('<td>1</td><td>25%</td>');
    expect(rows[2]).toContain('<td>UNHEALTHY</td>');
    expect(rows[2]).toContain(`<td>2m0s ago (${hms(NOW - 120_000)})</td><td>0</td><td>0%</td>`);
    expect(html).not.toContain('Tokens:<br/>');
    expect(renderRingHtml(ring, { nowMs: NOW, showTokens: true })).toContain('<h2>Instance: ing-a</h2>\n<p>Tokens:<br/>0 2147483648</p>');
  });

  it('escapes what members publish', () => {
    const evil = new StaticRing([inst('x', [1], { addr: '<script>alert(1)</script>', httpAddr: 'javascript:alert(1)' })]);
    const html = renderRingHtml(evil, { nowMs: NOW });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toContain('javascript:');
  });

  it.each([
    [100, '100'],
    [99.99, '100'],
    [33.3333, '33.3'],
    [1, '1'],
    [0.5, '0.5'],
    [0.001234, '0.00123'],
    [0.00001, '1e-05'],
    [999.9, '1e+03'],
    [1234, '1.23e+03'],
    [0, '0'],
  ])("formats %d like Go's %%.3g: %s", (x, want) => expect(formatG3(x)).toBe(want));
});
