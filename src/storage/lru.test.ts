import { describe, expect, it } from 'vitest';
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
