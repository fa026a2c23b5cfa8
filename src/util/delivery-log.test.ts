import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DeliveryLog, describeError, formatSeconds } from './delivery-log.js';

/** A port nothing listens on: bound for a moment on 127.0.0.1, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The error a real fetch rejects with. */
async function fetchError(url: string, init: RequestInit = {}): Promise<unknown> {
  try {
    await fetch(url, init);
  } catch (e) {
    return e;
  }
  throw new Error(`fetch ${url} did not fail`);
}

describe('describeError', () => {
  it("names the cause undici hides behind 'fetch failed'", async () => {
    const port = await closedPort();
    const e = await fetchError(`http://127.0.0.1:${port}/api/v2/alerts`);
    expect((e as Error).message).toBe('fetch failed');
    expect(describeError(e)).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('lists every address tried when a name resolves to several (AggregateError)', async () => {
    const port = await closedPort();
    const e = await fetchError(`http://localhost:${port}/`);
    const text = describeError(e);
    expect(text).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(text).not.toMatch(/^fetch failed/);
  });

  it('keeps a timeout and nested causes, without repeating a message', () => {
    const inner = new Error('connect ETIMEDOUT 10.0.0.1:443');
    const outer = new Error('object store: put "x" failed: connect ETIMEDOUT 10.0.0.1:443', { cause: inner });
    expect(describeError(outer)).toBe('object store: put "x" failed: connect ETIMEDOUT 10.0.0.1:443');
    expect(describeError(new Error('request timed out after 30000ms', { cause: new Error('socket hang up') }))).toBe('request timed out after 30000ms: socket hang up');
    expect(describeError('plain string')).toBe('plain string');
    expect(describeError(new Error(''))).toBe('Error');
  });
});

describe('DeliveryLog', () => {
  const collect = () => {
    const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    const logger = {
      warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    };
    return { lines, logger };
  };

  it('logs the first failure with its cause, nothing while failing, and one recovery line', () => {
    const { lines, logger } = collect();
    let now = 1_000_000;
    const d = new DeliveryLog({ logger, action: 'sending alerts', target: 'Alertmanager http://am:9093/api/v2/alerts', meanwhile: 'resent later', nowMs: () => now });
    d.succeeded();
    expect(lines).toEqual([]);
    const refused = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9093') });
    for (let i = 0; i < 5; i++) {
      d.failed(refused);
      now += 10_000;
    }
    expect(d.failures).toBe(5);
    expect(lines).toEqual([
      {
        level: 'warn',
        obj: { target: 'Alertmanager http://am:9093/api/v2/alerts', err: 'connect ECONNREFUSED 127.0.0.1:9093' },
        msg: 'sending alerts to Alertmanager http://am:9093/api/v2/alerts failed: connect ECONNREFUSED 127.0.0.1:9093; resent later (logged once until it works again)',
      },
    ]);
    d.succeeded();
    d.succeeded();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({
      level: 'info',
      obj: { target: 'Alertmanager http://am:9093/api/v2/alerts', failures: 5, failingForMs: 50_000 },
      msg: 'sending alerts: delivering to Alertmanager http://am:9093/api/v2/alerts again after 5 failures (failing for 50s)',
    });
    expect(d.failures).toBe(0);
    // A new outage is a new state change: logged again, with the new cause.
    d.failed(new Error('bad response status 500: boom'), 'dropped');
    expect(lines).toHaveLength(3);
    expect(lines[2]!.msg).toBe('sending alerts to Alertmanager http://am:9093/api/v2/alerts failed: bad response status 500: boom; dropped (logged once until it works again)');
  });

  it('formats durations as Go does', () => {
    expect(formatSeconds(999)).toBe('0s');
    expect(formatSeconds(65_000)).toBe('1m5s');
    expect(formatSeconds(3_725_000)).toBe('1h2m5s');
  });
});
