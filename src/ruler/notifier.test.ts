import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertSender, NotifierMetrics, alertmanagerAlertsUrl, webhookBody, type NotifierAlert } from './notifier.js';

const alert = (i: number, endsAt = '2026-11-22T23:00:00Z'): NotifierAlert => ({ labels: { alertname: 'A', i: String(i) }, annotations: {}, startsAt: '2026-11-22T22:00:00Z', endsAt, generatorURL: 'http://x/' });

describe('AlertSender', () => {
  let server: Server | null = null;
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = null;
  });

  async function listen(onBody: (path: string, body: any, headers: Record<string, unknown>) => void, delayMs = 0): Promise<string> {
    server = createServer((req, res) => {
      let b = '';
      req.on('data', (d: Buffer) => (b += d.toString()));
      req.on('end', () => {
        onBody(req.url ?? '', JSON.parse(b), req.headers);
        setTimeout(() => res.writeHead(200).end(), delayMs);
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  }

  it('posts JSON arrays to <url>/api/v2/alerts with the tenant header', async () => {
    const got: { path: string; body: any; tenant: unknown }[] = [];
    const url = await listen((p, body, h) => got.push({ path: p, body, tenant: h['x-scope-orgid'] }));
    const s = new AlertSender({ kind: 'alertmanager', urls: [url + '/am/'], capacity: 100, timeoutMs: 1000, logger: pino({ level: 'silent' }), metrics: new NotifierMetrics(new Registry()) });
    s.send('t1', [alert(1), alert(2)]);
    await s.stop();
    expect(got).toEqual([{ path: '/am/api/v2/alerts', body: [alert(1), alert(2)], tenant: 't1' }]);
  });

  it('drops the oldest alerts beyond the queue capacity and counts them', async () => {
    const got: any[] = [];
    const url = await listen((_p, body) => got.push(...body.alerts), 100);
    const registry = new Registry();
    const s = new AlertSender({ kind: 'webhook', urls: [url], capacity: 2, timeoutMs: 1000, logger: pino({ level: 'silent' }), metrics: new NotifierMetrics(registry) });
    s.send('t', [alert(0)]); // taken at once, in flight while the rest queue up
    s.send('t', [alert(1), alert(2), alert(3), alert(4)]);
    await new Promise((r) => setTimeout(r, 400));
    await s.stop();
    expect(got.map((a: any) => a.labels.i)).toEqual(['0', '3', '4']);
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === 'silt_ruler_notifications_dropped_total')!;
    expect(m.values).toEqual([expect.objectContaining({ value: 2, labels: { sender: 'webhook' } })]);
  });

  it('builds webhook bodies with firing/resolved status', () => {
    const now = Date.parse('2026-11-22T22:30:00Z');
    const b = webhookBody('t', [alert(1), alert(2, '2026-11-22T22:10:00Z')], now) as any;
    expect(b.alerts.map((a: any) => a.status)).toEqual(['firing', 'resolved']);
    expect(b.tenant).toBe('t');
  });

  it('keeps a path prefix of the Alertmanager URL', () => {
    expect(alertmanagerAlertsUrl('http://am:9093')).toBe('http://am:9093/api/v2/alerts');
    expect(alertmanagerAlertsUrl('http://h/alertmanager/')).toBe('http://h/alertmanager/api/v2/alerts');
  });
});
