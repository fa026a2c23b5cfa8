import { describe, expect, it } from 'vitest';
import { ColumnPool } from './column-pool.js';

describe('ColumnPool', () => {
  it('hands a given buffer out again only for its exact size, up to its bound', () => {
    const p = new ColumnPool(10_000);
    const a = new ArrayBuffer(4000);
    const b = new ArrayBuffer(4000);
    p.give(a);
    p.give(b);
    // Past the bound: dropped, not kept.
    p.give(new ArrayBuffer(2001));
    expect(p.bytes).toBe(8000);
    p.give(new ArrayBuffer(2000));
    expect(p.bytes).toBe(10_000);
    expect(p.take(3999)).toBeNull();
    expect(p.take(4001)).toBeNull();
    const got = [p.take(4000), p.take(4000)];
    expect(new Set(got)).toEqual(new Set([a, b]));
    expect(p.take(4000)).toBeNull();
    expect(p.take(2000)!.byteLength).toBe(2000);
    expect(p.bytes).toBe(0);
    expect(p.reused).toBe(3);
    // Empty buffers are never kept.
    p.give(new ArrayBuffer(0));
    expect(p.bytes).toBe(0);
  });

  it('drains when nothing was taken or given since the last look', () => {
    const p = new ColumnPool(1 << 20);
    p.give(new ArrayBuffer(1000));
    // Used since the last look (the give): kept.
    expect(p.drainIfUnused()).toBe(0);
    expect(p.bytes).toBe(1000);
    // Nothing since: dropped.
    expect(p.drainIfUnused()).toBe(1000);
    expect(p.bytes).toBe(0);
    p.give(new ArrayBuffer(1000));
    p.drainIfUnused();
    // The take counts as use: the next look keeps what is left.
    expect(p.take(1000)).not.toBeNull();
    p.give(new ArrayBuffer(8));
    expect(p.drainIfUnused()).toBe(0);
    expect(p.drain()).toBe(8);
    expect(p.bytes).toBe(0);
  });
});
