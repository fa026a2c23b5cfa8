import { afterEach, describe, expect, it, vi } from 'vitest';
import { READ_BUFFERS_IDLE_MS, ReadBuffers } from './read-buffers.js';

describe('ReadBuffers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers exact sizes over memory reused once given back, never shared while taken', () => {
    const rb = new ReadBuffers(8 << 20);
    const a = rb.take(100_000);
    const b = rb.take(100_000);
    expect([a.length, b.length]).toEqual([100_000, 100_000]);
    expect(a.buffer).not.toBe(b.buffer);
    expect(rb.allocated).toBe(2);
    rb.give(a);
    const c = rb.take(50_000);
    // The same memory in a new Buffer object (a WeakMap keyed by the old one must not match).
    expect(c.buffer).toBe(a.buffer);
    expect(c).not.toBe(a);
    expect(c.length).toBe(50_000);
    expect(rb.allocated).toBe(2);
    // Taken again: not handed out twice.
    expect(rb.take(50_000).buffer).not.toBe(c.buffer);
    expect(rb.allocated).toBe(3);
  });

  it('picks the smallest free buffer that fits, and allocates for one larger than all', () => {
    const rb = new ReadBuffers(64 << 20);
    const small = rb.take(200_000);
    const large = rb.take(3_000_000);
    rb.give(large);
    rb.give(small);
    expect(rb.take(150_000).buffer).toBe(small.buffer);
    expect(rb.take(150_000).buffer).toBe(large.buffer);
    const n = rb.allocated;
    rb.take(10_000_000);
    expect(rb.allocated).toBe(n + 1);
  });

  it('keeps at most its budget of free bytes, and ignores a second give of one buffer', () => {
    const rb = new ReadBuffers(1 << 20);
    const bufs = Array.from({ length: 8 }, () => rb.take(200_000));
    for (const b of bufs) rb.give(b);
    expect(rb.freeBytes).toBeLessThanOrEqual(1 << 20);
    expect(rb.freeBytes).toBeGreaterThan(0);
    const before = rb.freeBytes;
    rb.give(bufs.at(-1)!);
    expect(rb.freeBytes).toBe(before);
    // Larger than the whole budget: never kept.
    const huge = rb.take(4 << 20);
    rb.give(huge);
    expect(rb.freeBytes).toBe(before);
  });

  it('drops its free buffers once idle', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const rb = new ReadBuffers(8 << 20);
    rb.give(rb.take(100_000));
    expect(rb.freeBytes).toBeGreaterThan(0);
    vi.advanceTimersByTime(READ_BUFFERS_IDLE_MS / 2);
    // A take half-way keeps them another full period.
    rb.give(rb.take(100_000));
    vi.advanceTimersByTime(READ_BUFFERS_IDLE_MS * 0.9);
    expect(rb.freeBytes).toBeGreaterThan(0);
    vi.advanceTimersByTime(READ_BUFFERS_IDLE_MS);
    expect(rb.freeBytes).toBe(0);
  });
});
