import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { UnavailableError } from '../errors.js';
import { MemoryObjectClient } from './memory-client.js';
import { S3ObjectClient } from './s3-client.js';
import { WriteHealth, WriteTrackingObjectClient, registerWriteHealthMetrics } from './write-health.js';

const S = 1000;

function tracker(unreadyAfterMs = 60 * S, stuckAfterMs = 30 * S): { h: WriteHealth; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { h: new WriteHealth({ unreadyAfterMs, stuckAfterMs, nowMs: () => clock.now }), clock };
}

describe('WriteHealth', () => {
  it('is ready while idle and until failures are older than the period; a success clears them', () => {
    const { h, clock } = tracker();
    expect(h.readiness()).toEqual({ ready: true, reason: '' });
    h.failed(h.begin('a'), new UnavailableError('object store: put "a" failed: AccessDenied'));
    expect(h.failingSinceMs()).toBe(clock.now);
    clock.now += 59 * S;
    h.failed(h.begin('b'), new Error('later failure'));
    expect(h.readiness().ready).toBe(true);
    clock.now += 1 * S;
    // Dated from the first failure; the cause is the latest.
    expect(h.readiness()).toEqual({ ready: false, reason: 'object store writes failing for 1m0s: later failure' });
    clock.now += 45 * S;
    expect(h.readiness().reason).toBe('object store writes failing for 1m45s: later failure');
    h.succeeded(h.begin('c'));
    expect(h.readiness()).toEqual({ ready: true, reason: '' });
    expect(h.failingSinceMs()).toBe(null);
  });

  it('counts a put pending past the stuck time as failing from then, also once it fails', () => {
    const { h, clock } = tracker(60 * S, 30 * S);
    const t0 = clock.now;
    const stuck = h.begin('chunks/x');
    clock.now = t0 + 29 * S;
    expect(h.failingSinceMs()).toBe(null);
    clock.now = t0 + 30 * S;
    expect(h.failingSinceMs()).toBe(t0 + 30 * S);
    clock.now = t0 + 89 * S;
    expect(h.readiness().ready).toBe(true);
    clock.now = t0 + 90 * S;
    expect(h.readiness()).toEqual({ ready: false, reason: 'object store writes failing for 1m0s: put "chunks/x" has had no answer for 1m30s' });
    // It fails at last: still failing since t0 + 30 s, now with its error.
    clock.now = t0 + 100 * S;
    h.failed(stuck, new Error('request timed out after 30000ms'));
    expect(h.failingSinceMs()).toBe(t0 + 30 * S);
    expect(h.readiness().reason).toBe('object store writes failing for 1m10s: request timed out after 30000ms');
  });

  it('does not count a put pending since before a later success, until it fails (dated no earlier than that success)', () => {
    const { h, clock } = tracker(10 * S, 5 * S);
    const t0 = clock.now;
    const old = h.begin('old');
    clock.now = t0 + 20 * S;
    h.succeeded(h.begin('new'));
    clock.now = t0 + 60 * S;
    expect(h.failingSinceMs()).toBe(null);
    h.failed(old, new Error('old put failed'));
    expect(h.failingSinceMs()).toBe(t0 + 20 * S);
    expect(h.readiness().ready).toBe(false);
  });

  it('never reports unready with a period of 0, but still exports the gauge', async () => {
    const { h } = tracker(0);
    const reg = new Registry();
    registerWriteHealthMetrics(reg, h);
    expect(await reg.getSingleMetricAsString('silt_object_store_write_failing')).toMatch(/silt_object_store_write_failing 0$/m);
    h.failed(h.begin('a'), new Error('x'));
    expect(h.readiness().ready).toBe(true);
    expect(await reg.getSingleMetricAsString('silt_object_store_write_failing')).toMatch(/silt_object_store_write_failing 1$/m);
  });
});

describe('WriteTrackingObjectClient', () => {
  it('reports real put outcomes: refused connections fail, bad keys are neutral, successes clear', async () => {
    // A port that was free a moment ago: connections are refused.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const h = new WriteHealth({ unreadyAfterMs: 1, stuckAfterMs: 30 * S });
    const down = new WriteTrackingObjectClient(new S3ObjectClient({ bucket: 'b', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'x', secretAccessKey: 'y', forcePathStyle: true, maxRetries: 0 }), h);
    await expect(down.put('k', Buffer.from('v'))).rejects.toBeInstanceOf(UnavailableError);
    await new Promise((r) => setTimeout(r, 5));
    const r = h.readiness();
    expect(r.ready).toBe(false);
    expect(r.reason).toMatch(/^object store writes failing for 0s: object store: put "k" in bucket "b" failed: .*ECONNREFUSED/);
    await down.close();

    const up = new WriteTrackingObjectClient(new MemoryObjectClient(), h);
    await expect(up.put('../bad', Buffer.from('v'))).rejects.toThrow(/invalid object key/);
    expect(h.readiness().ready).toBe(false);
    await up.put('ok', Buffer.from('v'));
    expect(h.readiness().ready).toBe(true);
    expect((await up.get('ok')).toString()).toBe('v');
  });
});
