import { describe, expect, it } from 'vitest';
import { FrequencySketch } from './frequency-sketch.js';
import { ByteLru } from './lru.js';

describe('ByteLru', () => {
  it('evicts least recently used entries to stay within the byte budget', () => {
    const c = new ByteLru<string, number>(10);
    c.set('a', 1, 4);
    c.set('b', 2, 4);
    expect(c.get('a')).toBe(1); // a is now most recent
    c.set('c', 3, 4); // evicts b
    expect(c.has('b')).toBe(false);
    expect(c.get('a')).toBe(1);
    expect(c.get('c')).toBe(3);
    expect(c.sizeBytes).toBe(8);
    expect(c.evictions).toBe(1);
  });

  it('counts hits and misses', () => {
    const c = new ByteLru<string, string>(100);
    c.get('x');
    c.set('x', 'v', 1);
    c.get('x');
    c.get('x');
    expect([c.hits, c.misses]).toEqual([2, 1]);
  });

  it('refuses entries larger than the budget and replaces in place', () => {
    const c = new ByteLru<string, string>(10);
    expect(c.set('big', 'v', 11)).toBe(false);
    expect(c.count).toBe(0);
    c.set('k', 'one', 6);
    c.set('k', 'two', 3);
    expect(c.sizeBytes).toBe(3);
    expect(c.get('k')).toBe('two');
    c.set('k2', 'x', 7);
    expect(c.count).toBe(2);
    c.set('k3', 'x', 10);
    expect([c.count, c.sizeBytes]).toEqual([1, 10]);
    c.clear();
    expect([c.count, c.sizeBytes]).toEqual([0, 0]);
  });

  it('with a zero budget caches nothing', () => {
    const c = new ByteLru<number, number>(0);
    expect(c.set(1, 1, 1)).toBe(false);
    expect(c.get(1)).toBeUndefined();
    expect(() => new ByteLru(-1)).toThrow(RangeError);
  });
});

/** Seeded xorshift32 in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Reads every key of `keys` in order through the cache, caching what missed; returns the hits. */
function pass(c: ByteLru<string, string>, keys: readonly string[], size = 1): number {
  let hits = 0;
  for (const k of keys) {
    const v = c.get(k);
    if (v === undefined) c.set(k, 'v' + k, size);
    else {
      expect(v).toBe('v' + k);
      hits++;
    }
  }
  return hits;
}

describe('FrequencySketch', () => {
  it('never counts fewer requests than were made, until it ages', () => {
    const sketch = new FrequencySketch(500);
    const next = rng(7);
    const truth = new Map<string, number>();
    // 3000 distinct keys (6x what it was sized for), skewed: a few asked for often.
    for (let i = 0; i < sketch.sampleSize - 1; i++) {
      const k = 'chunk/' + Math.floor(3000 * next() ** 3);
      sketch.increment(k);
      truth.set(k, (truth.get(k) ?? 0) + 1);
    }
    let exact = 0;
    for (const [k, n] of truth) {
      expect(sketch.frequency(k)).toBeGreaterThanOrEqual(Math.min(15, n));
      if (sketch.frequency(k) === Math.min(15, n)) exact++;
    }
    // Collisions only add, and four rows keep most keys exact.
    expect(exact / truth.size).toBeGreaterThan(0.5);
    expect(sketch.frequency('never-asked')).toBeLessThanOrEqual(2);
  });

  it('halves every count after sampleSize requests', () => {
    const sketch = new FrequencySketch(100);
    for (let i = 0; i < 12; i++) sketch.increment('hot');
    expect(sketch.frequency('hot')).toBe(12);
    // Other keys, each once, until the sketch ages (12 increments were counted already).
    for (let i = 0; i < sketch.sampleSize - 12; i++) sketch.increment('cold-' + i);
    // 12 halved is 6; other keys may share its counters, but a halving ran.
    expect(sketch.frequency('hot')).toBeGreaterThanOrEqual(6);
    expect(sketch.frequency('hot')).toBeLessThan(12);
  });
});

describe('ByteLru with frequency admission', () => {
  it.each([101, 200, 1000])('keeps serving part of a cyclic scan of %i keys through a cache of 100, where LRU serves none', (n) => {
    const keys = Array.from({ length: n }, (_, i) => `tenant/chunk-${i}`);
    const lru = new ByteLru<string, string>(100);
    const tiny = new ByteLru<string, string>(100, { admission: { entryBytes: 1 } });
    const lruHits: number[] = [];
    const tinyHits: number[] = [];
    for (let round = 0; round < 30; round++) {
      lruHits.push(pass(lru, keys));
      tinyHits.push(pass(tiny, keys));
      expect(tiny.sizeBytes).toBeLessThanOrEqual(100);
    }
    // LRU against a loop longer than itself: every key is evicted just before it comes back.
    expect(lruHits.every((h) => h === 0)).toBe(true);
    // Admission keeps what it holds: after the first pass, nearly all of the 100 it can hold
    // are hit on every pass, through several agings of the counts (sampleSize 1000 requests).
    for (const h of tinyHits.slice(1)) expect(h).toBeGreaterThanOrEqual(90);
    expect(tiny.rejections).toBeGreaterThan(0);
  });

  it('lets a new working set take over from an old one', () => {
    const c = new ByteLru<string, string>(100, { admission: { entryBytes: 1 } });
    const old = Array.from({ length: 200 }, (_, i) => `old-${i}`);
    for (let round = 0; round < 5; round++) pass(c, old);
    const fresh = Array.from({ length: 60 }, (_, i) => `new-${i}`);
    let rounds = 0;
    while (pass(c, fresh) < fresh.length) {
      rounds++;
      expect(rounds).toBeLessThan(40);
    }
    // Once the old keys' counts are passed, the new set is held whole.
    expect(pass(c, fresh)).toBe(fresh.length);
  });

  it('admits everything while there is room, like plain LRU', () => {
    const c = new ByteLru<string, string>(1000, { admission: { entryBytes: 10 } });
    for (let i = 0; i < 99; i++) expect(c.set(`k${i}`, 'v', 10)).toBe(true);
    expect(c.rejections).toBe(0);
    // Full: a key never asked for does not displace one that was.
    c.get('k0');
    expect(c.set('k99', 'v', 10)).toBe(true);
    expect(c.set('unasked', 'v', 10)).toBe(false);
    expect(c.has('k0')).toBe(true);
  });

  it('agrees with a model map under random operations: no stale value, sizes add up', () => {
    const next = rng(42);
    const c = new ByteLru<string, number>(5000, { admission: { entryBytes: 50 } });
    const latest = new Map<string, { v: number; size: number }>();
    for (let i = 0; i < 50_000; i++) {
      const k = 'k' + Math.floor(400 * next() ** 2);
      const op = next();
      if (op < 0.6) {
        const v = c.get(k);
        if (v !== undefined) expect(v).toBe(latest.get(k)!.v);
      } else if (op < 0.95) {
        const size = 1 + Math.floor(next() * 120);
        if (c.set(k, i, size)) latest.set(k, { v: i, size });
        else expect(c.has(k)).toBe(false);
      } else {
        c.delete(k);
      }
      if (i % 1000 === 0) {
        let held = 0;
        for (const [key, e] of latest) if (c.has(key)) held += e.size;
        expect(c.sizeBytes).toBe(held);
        expect(c.sizeBytes).toBeLessThanOrEqual(5000);
      }
    }
    expect(c.rejections).toBeGreaterThan(0);
    expect(c.evictions).toBeGreaterThan(0);
  });
});
