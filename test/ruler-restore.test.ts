/**
 * `for` state after a restart (Loki's memstore behaviour): an alert whose condition already
 * held `for` ago resumes and fires right after the restart instead of waiting `for` again; one
 * whose condition is recent stays pending.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startInProcess, tempDir, type InProcess } from './support/silt.js';

const GROUP = `name: restore
rules:
  - alert: LongRunning
    expr: sum(count_over_time({app="r"} |= "OLD" [1m])) > 0
    for: 10m
  - alert: Recent
    expr: sum(count_over_time({app="r"} |= "NEW" [1m])) > 0
    for: 10m
`;

async function states(url: string): Promise<Record<string, string>> {
  const body = (await (await fetch(`${url}/prometheus/api/v1/rules`)).json()) as any;
  return Object.fromEntries((body.data.groups[0]?.rules ?? []).map((r: any) => [r.name, r.state]));
}

describe('ruler for-state restore', () => {
  let silt: InProcess | null = null;
  afterAll(async () => {
    await silt?.stop();
  });

  it('fires at once after a restart when the condition held `for` ago', async () => {
    const dir = tempDir();
    const flags = ['-ruler.evaluation-interval=1s'];
    silt = await startInProcess(dir, flags);
    const now = Date.now();
    const values: [string, string][] = [];
    // OLD lines every 10 s over the last 20 minutes; NEW lines only in the last 2 minutes.
    for (let s = 1200; s > 0; s -= 10) values.push([String(BigInt(now - s * 1000) * 1_000_000n), s <= 120 ? 'level=ERROR NEW' : 'level=ERROR OLD']);
    for (let s = 120; s > 0; s -= 10) values.push([String(BigInt(now - s * 1000 + 1) * 1_000_000n), 'level=ERROR OLD']);
    values.sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
    const push = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ streams: [{ stream: { app: 'r' }, values }] }) });
    expect(push.status).toBe(204);
    expect((await fetch(`${silt.url}/loki/api/v1/rules/ns`, { method: 'POST', body: GROUP })).status).toBe(202);

    // Created through the API: no restore, both wait their 10 minutes.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await states(silt.url)).toEqual({ LongRunning: 'pending', Recent: 'pending' });

    await silt.stop();
    silt = await startInProcess(dir, flags);
    let s: Record<string, string> = {};
    for (let i = 0; i < 50 && s['LongRunning'] !== 'firing'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      s = await states(silt.url);
    }
    expect(s).toEqual({ LongRunning: 'firing', Recent: 'pending' });
    const alerts = ((await (await fetch(`${silt.url}/prometheus/api/v1/alerts`)).json()) as any).data.alerts;
    const long = alerts.find((a: any) => a.labels.alertname === 'LongRunning');
    expect(Date.now() - Date.parse(long.activeAt)).toBeGreaterThanOrEqual(10 * 60_000);
  });
});
