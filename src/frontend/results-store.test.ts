/**
 * One contract for both results-cache backends: the embedded LRU (per-tenant byte bound) and
 * Redis (a real redis-server on a free port, killed afterwards), plus what only one of them does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../test/support/redis.js';
import { LruResultsStore } from './results-cache.js';
import { RedisResultsStore } from './redis-cache.js';
import type { ResultsStore } from './split/options.js';

let redis: RedisServer;
const opened: RedisResultsStore[] = [];

beforeAll(async () => {
  redis = await startRedis({ password: 'pw-silt' });
});

afterAll(async () => {
  for (const s of opened) await s.close();
  await redis?.stop();
});

function redisStore(over: Partial<{ db: number; expiration: number; timeout: number; password: string; endpoint: string }> = {}): RedisResultsStore {
  const s = new RedisResultsStore({ endpoint: redis.endpoint, db: 0, password: 'pw-silt', timeout: 500, expiration: 0, ...over });
  opened.push(s);
  return s;
}

/** Waits until a fresh client is connected (ioredis connects in the background; commands before that are misses). */
async function ready(s: ResultsStore): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await s.set('probe', 'k', Buffer.from('x'));
    if ((await s.get('probe', 'k')) !== null) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('store never became ready');
}

const backends: [string, () => Promise<ResultsStore>][] = [
  ['embedded LRU', async () => new LruResultsStore({ maxBytes: 1 << 20, tenantMaxBytes: () => 1 << 20 })],
  [
    'redis',
    async () => {
      const s = redisStore();
      await ready(s);
      return s;
    },
  ],
];

describe.each(backends)('%s: the results store contract', (_name, make) => {
  it('answers what was set, per tenant, byte for byte; misses are null', async () => {
    const s = await make();
    const big = Buffer.alloc(200_000, 3);
    await s.set('t1', 'q\u0000a', Buffer.from('one'));
    await s.set('t2', 'q\u0000a', Buffer.from('two'));
    await s.set('t1', 'big', big);
    expect((await s.get('t1', 'q\u0000a'))?.toString()).toBe('one');
    expect((await s.get('t2', 'q\u0000a'))?.toString()).toBe('two');
    expect((await s.get('t1', 'big'))?.equals(big)).toBe(true);
    expect(await s.get('t3', 'q\u0000a')).toBeNull();
    await s.set('t1', 'q\u0000a', Buffer.from('uno'));
    expect((await s.get('t1', 'q\u0000a'))?.toString()).toBe('uno');
  });
});

describe('embedded LRU', () => {
  it('bounds each tenant: a tenant past its bound evicts its own oldest entries, not others', async () => {
    const s = new LruResultsStore({ maxBytes: 1 << 20, tenantMaxBytes: (t) => (t === 'small' ? 10_000 : 1 << 20) });
    const v = Buffer.alloc(1000, 1);
    await s.set('other', 'keep', v);
    for (let i = 0; i < 30; i++) await s.set('small', `k${i}`, v);
    expect(s.tenantBytes('small')).toBeLessThanOrEqual(10_000);
    expect(await s.get('small', 'k0')).toBeNull();
    expect(await s.get('small', 'k29')).not.toBeNull();
    expect(await s.get('other', 'keep')).not.toBeNull();
    // Recency per tenant: a read entry survives the next evictions.
    await s.get('small', 'k22');
    for (let i = 30; i < 36; i++) await s.set('small', `k${i}`, v);
    expect(await s.get('small', 'k22')).not.toBeNull();
    expect(await s.get('small', 'k23')).toBeNull();
  });

  it('bounds the whole cache across tenants, and keeps per-tenant accounting right on global eviction', async () => {
    const s = new LruResultsStore({ maxBytes: 20_000, tenantMaxBytes: () => 20_000 });
    const v = Buffer.alloc(1000, 1);
    for (let i = 0; i < 40; i++) await s.set(`t${i % 4}`, `k${i}`, v);
    expect(s.lru.sizeBytes).toBeLessThanOrEqual(20_000);
    const total = [0, 1, 2, 3].reduce((a, t) => a + s.tenantBytes(`t${t}`), 0);
    expect(total).toBe(s.lru.sizeBytes);
  });
});

describe('redis', () => {
  it('honours db, password and expiration', async () => {
    const a = redisStore({ db: 0 });
    const b = redisStore({ db: 3 });
    await ready(a);
    await ready(b);
    await a.set('t', 'k', Buffer.from('db0'));
    expect(await b.get('t', 'k')).toBeNull();
    const wrong = redisStore({ password: 'nope' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await wrong.get('t', 'k')).toBeNull();
    const short = redisStore({ expiration: 200 });
    await ready(short);
    await short.set('t', 'gone', Buffer.from('x'));
    expect(await short.get('t', 'gone')).not.toBeNull();
    await new Promise((r) => setTimeout(r, 400));
    expect(await short.get('t', 'gone')).toBeNull();
  });

  it('a frozen or absent Redis is a miss within the timeout, never an error', async () => {
    const s = redisStore({ timeout: 200 });
    await ready(s);
    await s.set('t', 'k', Buffer.from('v'));
    redis.pause();
    try {
      const t0 = performance.now();
      expect(await s.get('t', 'k')).toBeNull();
      await s.set('t', 'k2', Buffer.from('v'));
      expect(performance.now() - t0).toBeLessThan(2000);
    } finally {
      redis.resume();
    }
    const none = redisStore({ endpoint: '127.0.0.1:1', timeout: 200 });
    expect(await none.get('t', 'k')).toBeNull();
    await none.set('t', 'k', Buffer.from('v'));
  });
});
