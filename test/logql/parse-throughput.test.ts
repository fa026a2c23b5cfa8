import { describe, expect, it } from 'vitest';
import { measureThroughput, report } from './parse-throughput.js';

describe('LogQL parse throughput', () => {
  it('prints queries/s for ten typical Grafana queries, with and without the cache', () => {
    const rows = measureThroughput(3, 300);
    console.log(`LogQL parse throughput (10 typical Grafana queries):\n${report(rows)}`);
    const uncached = rows.find((r) => r.name.includes('WITHOUT cache'))!.qps;
    const nearley = rows.find((r) => r.name.startsWith('nearley'))!.qps;
    // Loose bounds: CI machines are shared; the real figure is printed (and by the script).
    expect(uncached).toBeGreaterThan(5000);
    expect(uncached).toBeGreaterThan(nearley);
  });
});
