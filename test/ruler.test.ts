/**
 * End to end: Silt's ruler against the real Alertmanager and Prometheus binaries. A burst of
 * ERROR lines makes an alert go pending, then firing; it reaches Alertmanager (read back through
 * its v2 API) and a webhook, and is resolved when the burst ages out of the range. A recording
 * rule's samples are read back from Prometheus and checked against counts computed here from
 * the pushed lines.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAlertmanager, startPrometheus, type ExternalServer } from './support/prometheus.js';
import { startInProcess, tempDir, type InProcess } from './support/silt.js';

const WINDOW_S = 5;
const THRESHOLD = 20;
const BURST = 30;

const GROUP = `name: api-errors
interval: 1s
rules:
  - alert: HighErrorRate
    expr: sum by (app) (count_over_time({app="api"} |= "ERROR" [${WINDOW_S}s])) > ${THRESHOLD}
    for: 2s
    labels:
      severity: page
      team: '{{ $labels.app }}-oncall'
    annotations:
      summary: '{{ $labels.app }} logged {{ $value }} errors in ${WINDOW_S}s on {{ $externalLabels.cluster }}'
  - record: app:error_lines:count${WINDOW_S}s
    expr: sum by (app) (count_over_time({app="api"} |= "ERROR" [${WINDOW_S}s]))
`;

interface Pushed {
  tsNs: bigint;
  line: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

describe('ruler end to end (real Alertmanager and Prometheus)', () => {
  let am: ExternalServer;
  let prom: ExternalServer;
  let silt: InProcess;
  let hook: Server;
  const hookBodies: any[] = [];
  const pushed: Pushed[] = [];

  beforeAll(async () => {
    [am, prom] = await Promise.all([startAlertmanager(), startPrometheus()]);
    hook = createServer((req, res) => {
      let b = '';
      req.on('data', (d: Buffer) => (b += d.toString()));
      req.on('end', () => {
        hookBodies.push(JSON.parse(b));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    silt = await startInProcess(tempDir(), [
      '-ruler.evaluation-interval=1s',
      `-ruler.alertmanager-url=${am.url}`,
      `-ruler.webhook-url=${hookUrl}`,
      '-ruler.resend-delay=1m',
      '-ruler.external-labels=cluster=e2e',
      '-ruler.external.url=http://grafana.example',
      '-ruler.remote-write.enabled=true',
      `-ruler.remote-write.client.url=${prom.url}/api/v1/write`,
    ]);
  });

  afterAll(async () => {
    await silt?.stop();
    await Promise.all([am?.stop(), prom?.stop()]);
    await new Promise((r) => hook?.close(r));
  });

  async function push(lines: Pushed[]): Promise<void> {
    const body = { streams: [{ stream: { app: 'api', env: 'prod' }, values: lines.map((l) => [l.tsNs.toString(), l.line]) }] };
    const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(r.status).toBe(204);
    pushed.push(...lines);
  }

  async function rules(): Promise<any> {
    return (await fetch(`${silt.url}/prometheus/api/v1/rules`)).json();
  }

  async function amAlerts(): Promise<any[]> {
    return (await fetch(`${am.url}/api/v2/alerts`)).json() as Promise<any[]>;
  }

  it('fires, notifies Alertmanager and the webhook, resolves, and records to Prometheus', async () => {
    const post = await fetch(`${silt.url}/loki/api/v1/rules/e2e`, { method: 'POST', headers: { 'Content-Type': 'application/yaml' }, body: GROUP });
    expect(post.status).toBe(202);

    // A few INFO lines and below-threshold errors first: nothing may fire on them.
    const t0 = BigInt(Date.now()) * 1_000_000n;
    await push([...Array(5).keys()].map((i) => ({ tsNs: t0 + BigInt(i) * 1000n, line: `level=ERROR msg="warmup ${i}"` })).concat([{ tsNs: t0 + 10_000n, line: 'level=INFO msg=ok' }]));
    await sleep(1500);
    expect((await rules()).data.groups[0].rules[0].state).toBe('inactive');

    // The burst: BURST error lines within 200 ms.
    const b0 = BigInt(Date.now()) * 1_000_000n;
    const burst = [...Array(BURST).keys()].map((i) => ({ tsNs: b0 + BigInt(i) * 6_000_000n, line: `level=ERROR msg="db timeout" n=${i}` }));
    await push(burst);

    const pending = await until('pending', async () => {
      const r = (await rules()).data.groups[0].rules[0];
      return r.state === 'pending' ? r : null;
    }, 5000);
    expect(pending.alerts).toHaveLength(1);
    expect(pending.alerts[0].labels).toEqual({ alertname: 'HighErrorRate', app: 'api', severity: 'page', team: 'api-oncall' });
    const firing = await until('firing', async () => {
      const r = (await rules()).data.groups[0].rules[0];
      return r.state === 'firing' ? r : null;
    }, 6000);
    expect(firing.health).toBe('ok');

    // Alertmanager has it, with external labels, templated annotations and a generator URL.
    const inAm = await until('alert in Alertmanager', async () => (await amAlerts()).find((a) => a.labels.alertname === 'HighErrorRate'), 5000);
    expect(inAm.labels).toEqual({ alertname: 'HighErrorRate', app: 'api', severity: 'page', team: 'api-oncall', cluster: 'e2e' });
    const value = Number(/logged (\d+) errors/.exec(inAm.annotations.summary)?.[1]);
    expect(value).toBeGreaterThan(THRESHOLD);
    expect(value).toBeLessThanOrEqual(BURST + 5);
    expect(inAm.annotations.summary).toBe(`api logged ${value} errors in ${WINDOW_S}s on e2e`);
    expect(inAm.generatorURL).toBe(
      `http://grafana.example/loki/api/v1/query?query=sum+by+%28app%29+%28count_over_time%28%7Bapp%3D%22api%22%7D+%7C%3D+%22ERROR%22+%5B${WINDOW_S}s%5D%29%29+%3E+${THRESHOLD}`,
    );
    expect(inAm.status.state).toBe('active');
    // While firing, endsAt is validUntil: four resend delays ahead, so only a resolved
    // notification can make Alertmanager drop the alert within this test.
    expect(Date.parse(inAm.endsAt) - Date.now()).toBeGreaterThan(3 * 60_000);

    // The burst ages out of the window: the alert resolves and Alertmanager is told so.
    await until('rule inactive', async () => (await rules()).data.groups[0].rules[0].state === 'inactive', 10_000);
    await until('alert resolved in Alertmanager', async () => !(await amAlerts()).some((a) => a.labels.alertname === 'HighErrorRate'), 5000);
    const hookAlerts = hookBodies.flatMap((b) => b.alerts.map((a: any) => ({ ...a, tenant: b.tenant })));
    expect(hookAlerts.some((a) => a.status === 'firing' && a.labels.alertname === 'HighErrorRate')).toBe(true);
    const resolved = await until('resolved webhook', async () => hookBodies.flatMap((b) => b.alerts).find((a: any) => a.status === 'resolved'), 3000);
    expect(resolved.labels.cluster).toBe('e2e');
    expect(hookBodies[0].tenant).toBe('fake');

    // Recording rule: every sample Prometheus holds equals the count of pushed ERROR lines in
    // (t - 5s, t] for its timestamp t, computed here from what was pushed.
    const metric = `app:error_lines:count${WINDOW_S}s`;
    const series = await until('recorded series in Prometheus', async () => {
      const r: any = await (await fetch(`${prom.url}/api/v1/query?${new URLSearchParams({ query: `${metric}[2m]` })}`)).json();
      return r.data.result.length > 0 && r.data.result[0].values.length >= 5 ? r.data.result : null;
    }, 5000, 200);
    expect(series).toHaveLength(1);
    expect(series[0].metric).toEqual({ __name__: metric, app: 'api', cluster: 'e2e' });
    let sawBurst = false;
    for (const [tsS, v] of series[0].values as [number, string][]) {
      const tNs = BigInt(Math.round(tsS * 1000)) * 1_000_000n;
      const expected = pushed.filter((p) => p.line.includes('ERROR') && p.tsNs > tNs - BigInt(WINDOW_S) * 1_000_000_000n && p.tsNs <= tNs).length;
      expect({ tsS, v: Number(v) }).toEqual({ tsS, v: expected });
      if (expected >= BURST) sawBurst = true;
      expect(Math.round(tsS * 1000) % 1000).toBe(0); // evaluation times are aligned on the 1s interval
    }
    expect(sawBurst).toBe(true);

    // ALERTS series were remote-written too.
    const alerts: any = await (await fetch(`${prom.url}/api/v1/query?${new URLSearchParams({ query: 'ALERTS[2m]' })}`)).json();
    const states = new Set((alerts.data.result as any[]).map((s) => s.metric.alertstate));
    expect(states).toEqual(new Set(['pending', 'firing']));
  });
});
