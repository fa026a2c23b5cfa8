import { describe, expect, it } from 'vitest';
import { RateLimiters, TokenBucket } from './rate-limiter.js';

describe('TokenBucket', () => {
  it('starts full, refuses more than is available, consumes nothing on refusal', () => {
    const b = new TokenBucket(100, 200, 0);
    expect(b.allowN(0, 150)).toBe(true);
    expect(b.allowN(0, 60)).toBe(false);
    expect(b.allowN(0, 50)).toBe(true);
    expect(b.allowN(0, 1)).toBe(false);
  });

  it('refills at rate per second, capped at burst', () => {
    const b = new TokenBucket(100, 200, 0);
    b.allowN(0, 200);
    expect(b.allowN(500, 51)).toBe(false);
    expect(b.allowN(500, 50)).toBe(true);
    expect(b.available(100_000)).toBe(200);
  });

  it('never allows a request larger than burst', () => {
    const b = new TokenBucket(1e9, 10, 0);
    expect(b.allowN(1e6, 11)).toBe(false);
  });

  it('allows everything at an infinite rate', () => {
    const b = new TokenBucket(Infinity, 0, 0);
    expect(b.allowN(0, 1e12)).toBe(true);
  });

  it('ignores a clock going backwards', () => {
    const b = new TokenBucket(100, 100, 1000);
    b.allowN(1000, 100);
    expect(b.allowN(0, 1)).toBe(false);
    expect(b.allowN(1010, 1)).toBe(true);
  });

  it('keeps accrued tokens when limits change', () => {
    const b = new TokenBucket(100, 100, 0);
    b.allowN(0, 100);
    b.setLimit(500, 10, 1000); // 50 accrued so far
    expect(b.available(500)).toBe(50);
    expect(b.available(1500)).toBe(60);
  });
});

describe('RateLimiters', () => {
  it('keeps one bucket per key', () => {
    const r = new RateLimiters();
    expect(r.allowN('a', 0, 10, 1, 10)).toBe(true);
    expect(r.allowN('a', 0, 1, 1, 10)).toBe(false);
    expect(r.allowN('b', 0, 10, 1, 10)).toBe(true);
    expect(r.size).toBe(2);
  });

  it('applies changed limits to an existing bucket', () => {
    const r = new RateLimiters();
    r.allowN('a', 0, 10, 1, 10);
    expect(r.allowN('a', 0, 1, 1, 10)).toBe(false);
    expect(r.allowN('a', 1000, 20, 100, 100)).toBe(false); // 1 token accrued
    expect(r.allowN('a', 1000, 1, 100, 100)).toBe(true);
  });

  it('evicts buckets that refilled, keeps those still draining', () => {
    const r = new RateLimiters({ sweepIntervalMs: 1000 });
    r.allowN('idle', 0, 1, 10, 10);
    r.allowN('busy', 0, 10, 1, 10);
    expect(r.evictIdle(500)).toBe(1);
    expect(r.peek('idle')).toBeUndefined();
    expect(r.peek('busy')).toBeDefined();
    // A sweep also runs on its own from allowN once the interval has passed.
    r.allowN('other', 20_000, 1, 1, 10);
    expect(r.peek('busy')).toBeUndefined();
  });

  it('get() creates or updates a bucket on the injected clock', () => {
    let now = 0;
    const r = new RateLimiters({ nowMs: () => now });
    expect(r.get('s', 10, 10).allowN(now, 10)).toBe(true);
    expect(r.get('s', 10, 10).allowN(now, 1)).toBe(false);
    now = 500;
    expect(r.get('s', 10, 10).allowN(now, 5)).toBe(true);
  });
});
