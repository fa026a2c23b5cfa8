import { describe, expect, it } from 'vitest';
import { SlabArena } from './slab-arena.js';

/** `n` bytes that say which chunk they are. */
function fill(b: Buffer, seed: number): Buffer {
  for (let i = 0; i < b.length; i++) b[i] = (seed * 31 + i) & 0xff;
  return b;
}
const expected = (n: number, seed: number): Buffer => fill(Buffer.alloc(n), seed);

describe('SlabArena', () => {
  it('cuts chunks front to back from one slab, aligned and apart, and starts a slab when one does not fit', () => {
    const a = new SlabArena(1000);
    expect(a.slabsMade).toBe(1);
    const views = [13, 200, 300, 5].map((n, i) => fill(a.take(n), i));
    expect(a.slabsMade).toBe(1);
    for (const v of views) expect(v.byteOffset % 8).toBe(0);
    for (const [i, v] of views.entries()) expect(v.equals(expected(v.length, i))).toBe(true);
    // 16 + 200 + 304 + 8 = 528 used: 500 more do not fit.
    expect(a.heldBytes).toBe(528);
    const next = a.take(500);
    expect(a.slabsMade).toBe(2);
    expect(next.buffer).not.toBe(views[0]!.buffer);
    // The first slab holds no cached chunk: it went with the switch.
    expect(a.heldBytes).toBe(504);
    // A chunk larger than a slab gets a slab of its own.
    const big = a.take(2500);
    expect(big.length).toBe(2500);
    expect(a.slabsMade).toBe(3);
  });

  it('keeps a slab while a cached chunk is in it, and never hands its memory out again', () => {
    const a = new SlabArena(1024);
    const first = fill(a.take(512), 1);
    a.own('one', first);
    const rest = fill(a.take(512), 2);
    a.own('two', rest);
    expect(a.liveBytes).toBe(1024);
    // A new slab; the old one stays (it has cached chunks).
    const third = fill(a.take(512), 3);
    expect(a.slabsMade).toBe(2);
    expect(a.heldBytes).toBe(1536);
    a.disown('one');
    expect(a.heldBytes).toBe(1536);
    a.disown('two');
    // Its last chunk left: the slab is let go.
    expect(a.heldBytes).toBe(512);
    expect(a.liveBytes).toBe(0);
    // A reader still holding the old views reads what was written there.
    for (let i = 0; i < 6; i++) fill(a.take(512), 100 + i);
    expect(first.equals(expected(512, 1))).toBe(true);
    expect(rest.equals(expected(512, 2))).toBe(true);
    expect(third.equals(expected(512, 3))).toBe(true);
  });

  it('owning a key again moves it, and disowning an unknown key or a foreign view does nothing', () => {
    const a = new SlabArena(4096);
    const v1 = a.take(100);
    const v2 = a.take(200);
    a.own('k', v1);
    a.own('k', v2);
    expect(a.liveBytes).toBe(200);
    a.own('x', Buffer.alloc(10));
    a.disown('nope');
    expect(a.liveBytes).toBe(200);
    a.disown('k');
    expect(a.liveBytes).toBe(0);
  });

  it('compact copies the emptiest slab’s chunks into the current one until the bound holds, bytes unchanged', () => {
    const a = new SlabArena(1000);
    const cache = new Map<string, Buffer>();
    const put = (key: string, seed: number, n: number): void => {
      const v = fill(a.take(n), seed);
      cache.set(key, v);
      a.own(key, v);
    };
    // Five slabs of ten 96-byte chunks (keys s<slab>c<chunk>).
    for (let s = 0; s < 5; s++) for (let c = 0; c < 10; c++) put(`s${s}c${c}`, s * 10 + c, 96);
    expect(a.slabsMade).toBe(5);
    // Most chunks of the first three slabs leave the cache: slab 0 keeps 1, slab 1 keeps 3, slab 2 keeps 9.
    const keep = new Map([[0, 1], [1, 3], [2, 9]]);
    for (const [s, n] of keep) {
      for (let c = n; c < 10; c++) {
        cache.delete(`s${s}c${c}`);
        a.disown(`s${s}c${c}`);
      }
    }
    expect(a.heldBytes).toBe(5 * 960);
    expect(a.liveBytes).toBe((1 + 3 + 9 + 10 + 10) * 96);
    const copied = a.compact(3500, (key, copy) => {
      cache.set(key, copy);
      a.own(key, copy);
    });
    // Slab 0 (1 live) then slab 1 (3 live) moved; slab 2 (9 of 10 live) is left: a copy would
    // free too little.
    expect(copied).toBe(4 * 96);
    expect(a.slabsMade).toBe(6);
    expect(a.heldBytes).toBe(3 * 960 + 4 * 96);
    expect(a.liveBytes).toBe((1 + 3 + 9 + 10 + 10) * 96);
    for (const [key, v] of cache) {
      const [s, c] = key.slice(1).split('c').map(Number) as [number, number];
      expect(v.equals(expected(96, s * 10 + c)), key).toBe(true);
    }
    // A bound the slabs cannot come under: nothing is worth copying.
    expect(a.compact(1000, () => {})).toBe(0);
  });

  it('compact disowns a chunk whose move did not take the copy', () => {
    const a = new SlabArena(100);
    a.own('a', a.take(10));
    a.take(90);
    a.take(100);
    // 16 (the cached chunk's slab) + 104 (a slab of its own; the 96 cut before went with its slab).
    expect(a.heldBytes).toBe(120);
    expect(a.compact(0, () => {})).toBe(10);
    expect(a.liveBytes).toBe(0);
    expect(a.heldBytes).toBe(16);
  });

  it('refuses a slab size that cannot hold a chunk', () => {
    expect(() => new SlabArena(0)).toThrow(RangeError);
    expect(() => new SlabArena(1.5)).toThrow(RangeError);
  });
});
