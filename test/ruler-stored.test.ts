/**
 * Rules see stored chunks, not only ingester memory: lines are pushed, Silt is stopped (which
 * flushes every chunk) and restarted without a WAL, so the data exists only in object storage;
 * the alert's value must still be the count computed here from the pushed lines.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../src/util/random.js';
import { startInProcess, tempDir, type InProcess } from './support/silt.js';

describe('ruler over stored chunks', () => {
  let silt: InProcess | null = null;
  afterAll(async () => {
    await silt?.stop();
  });

  it('alerts on lines that are only in object storage', async () => {
    const dir = tempDir();
    const flags = ['-ingester.wal-enabled=false', '-ruler.evaluation-interval=1s'];
    silt = await startInProcess(dir, flags);
    const rand = seededRandom(7);
    const t0 = Date.now() - 120_000;
    const values: [string, string][] = [];
    for (let i = 0; i < 200; i++) values.push([String(BigInt(t0 + i * 100) * 1_000_000n), rand() < 0.3 ? `level=ERROR n=${i}` : `level=INFO n=${i}`]);
    const expected = values.filter(([, l]) => l.includes('ERROR')).length;
    const push = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ streams: [{ stream: { app: 'stored' }, values }] }) });
    expect(push.status).toBe(204);
    const group = 'name: stored\nrules:\n  - alert: StoredErrors\n    expr: sum(count_over_time({app="stored"} |= "ERROR" [10m])) > 0\n';
    expect((await fetch(`${silt.url}/loki/api/v1/rules/ns`, { method: 'POST', body: group })).status).toBe(202);

    await silt.stop();
    silt = await startInProcess(dir, flags);
    // Nothing in memory now: the instant query must read the flushed chunks.
    const q: any = await (await fetch(`${silt.url}/loki/api/v1/query?${new URLSearchParams({ query: 'sum(count_over_time({app="stored"} |= "ERROR" [10m]))' })}`)).json();
    expect(q.data.result[0].value[1]).toBe(String(expected));
    let alerts: any[] = [];
    for (let i = 0; i < 60 && alerts.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      alerts = ((await (await fetch(`${silt.url}/prometheus/api/v1/alerts`)).json()) as any).data.alerts;
    }
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ state: 'firing', labels: { alertname: 'StoredErrors' } });
    expect(Number(alerts[0].value)).toBe(expected);
  });
});
