import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrilldownSource } from '../querier/drilldown/index.js';
import { HttpServer } from './http.js';
import { registerDrilldownRoutes } from './routes-drilldown.js';

/**
 * A source that never answers on its own: each call waits for the signal it was given and
 * records the call once that signal aborts. A call made without a signal waits forever and is
 * never recorded, which is what the routes must not do.
 */
class WaitsForCancel implements DrilldownSource {
  readonly cancelled: string[] = [];

  #wait(what: string, signal: AbortSignal | undefined): Promise<never> {
    return new Promise<never>((_, reject) => {
      signal?.addEventListener('abort', () => {
        this.cancelled.push(what);
        reject(signal.reason as Error);
      });
    });
  }

  scanSelector(_t: string, _s: unknown, _f: bigint, _th: bigint, _v: unknown, signal?: AbortSignal): Promise<never> {
    return this.#wait('scanSelector', signal);
  }
  labelNames(_t: string, _a: bigint, _b: bigint, _q?: string, signal?: AbortSignal): Promise<never> {
    return this.#wait('labelNames', signal);
  }
  labelValues(_t: string, _n: string, _a: bigint, _b: bigint, _q?: string, signal?: AbortSignal): Promise<never> {
    return this.#wait('labelValues', signal);
  }
  logQuery(req: { signal?: AbortSignal | undefined }): Promise<never> {
    return this.#wait('logQuery', req.signal);
  }
}

const source = new WaitsForCancel();
let http: HttpServer;
let base = '';

beforeAll(async () => {
  http = new HttpServer({ logger: pino({ level: 'silent' }), registry: new Registry(), authEnabled: false, maxBodyBytes: 1 << 20, readTimeoutMs: 5000, idleTimeoutMs: 5000 });
  registerDrilldownRoutes(http, source);
  base = `http://127.0.0.1:${await http.listen('127.0.0.1', 0)}`;
});
afterAll(async () => {
  await http.close();
});

describe('drilldown routes', () => {
  it.each([
    ['/loki/api/v1/patterns', 'scanSelector'],
    ['/loki/api/v1/index/volume_range', 'scanSelector'],
    ['/loki/api/v1/detected_labels', 'labelNames'],
    ['/loki/api/v1/detected_fields', 'logQuery'],
    ['/loki/api/v1/detected_field/level/values', 'logQuery'],
  ])('%s stops reading when its client goes away', async (path, call) => {
    const before = source.cancelled.length;
    const ac = new AbortController();
    const q = new URLSearchParams({ query: '{app="a"}', start: '1700000000000000000', end: '1700000600000000000', step: '60' });
    const res = fetch(`${base}${path}?${q}`, { signal: ac.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    expect(await res).toBeInstanceOf(Error);
    const until = Date.now() + 2000;
    while (source.cancelled.length === before && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(source.cancelled.slice(before)).toEqual([call]);
  });
});
