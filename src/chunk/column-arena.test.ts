import { describe, expect, it } from 'vitest';
import { seededRandom } from '../util/random.js';
import { ColumnArena, MAX_REGION_BYTES, type Slab } from './column-arena.js';

interface Held {
  slab: Slab;
  offset: number;
  bytes: number;
  mark: number;
  /** The holder's view, kept past the slab being let go (as a query keeps a line). */
  view: Uint8Array;
}

/** Whether the region still holds the byte its holder wrote over all of it. */
function intact(h: Held): boolean {
  const b = h.view;
  for (let i = 0; i < b.length; i++) if (b[i] !== h.mark) return false;
  return true;
}

describe('column arena', () => {
  it('hands out disjoint, aligned regions of at least the size asked, reuses them and lets empty slabs go', () => {
    const arena = new ColumnArena();
    const r = seededRandom(20);
    const rnd = (n: number): number => Math.floor(r() * n);
    const held: Held[] = [];
    // Regions given back as lent: still viewed, so never written again.
    const viewed: Held[] = [];
    const lentSlabs = new Set<Slab>();
    // Per slab, the end of the furthest region handed out: slabs are carved front to back.
    const slabsSeen = new Map<Slab, number>();
    let mark = 0;
    for (let step = 0; step < 20_000; step++) {
      if (held.length === 0 || rnd(100) < 55 - (step > 15_000 ? 40 : 0)) {
        // Mostly small regions, some up to the largest class.
        const want = rnd(10) === 0 ? 1 + rnd(MAX_REGION_BYTES) : 1 + rnd(4000);
        const slab = arena.take(want);
        const bytes = arena.regionBytes(slab);
        const h: Held = { slab, offset: arena.offset, bytes, mark: (mark = (mark % 255) + 1), view: new Uint8Array(slab.buffer!, arena.offset, bytes) };
        expect(h.bytes).toBeGreaterThanOrEqual(want);
        expect(h.offset % 8).toBe(0);
        expect(h.offset + h.bytes).toBeLessThanOrEqual(slab.buffer!.byteLength);
        expect(lentSlabs.has(slab)).toBe(false);
        h.view.fill(h.mark);
        held.push(h);
        slabsSeen.set(slab, Math.max(slabsSeen.get(slab) ?? 0, h.offset + h.bytes));
      } else {
        const i = rnd(held.length);
        const h = held[i]!;
        // No other holder wrote into it while it was held.
        expect(intact(h), `step ${step}`).toBe(true);
        held[i] = held[held.length - 1]!;
        held.pop();
        const lent = rnd(8) === 0;
        arena.give(h.slab, h.offset, lent);
        if (lent) {
          viewed.push(h);
          lentSlabs.add(h.slab);
          expect(h.slab.lent).toBe(true);
        }
      }
      if (step % 1000 === 0) for (const h of [...held, ...viewed]) expect(intact(h)).toBe(true);
      expect(arena.takenBytes).toBe(held.reduce((a, h) => a + h.bytes, 0));
      expect(arena.carvedBytes).toBeGreaterThanOrEqual(arena.takenBytes);
    }
    for (const h of [...held, ...viewed]) expect(intact(h)).toBe(true);
    expect(lentSlabs.size).toBeGreaterThan(10);
    for (const h of held.splice(0)) arena.give(h.slab, h.offset);
    expect(arena.takenBytes).toBe(0);
    // Only the slab each class is still carving is kept: every other one was let go.
    // Lent slabs are let go once their last region is back.
    for (const s of lentSlabs) expect(s.buffer).toBe(null);
    const kept = [...slabsSeen.keys()].filter((s) => s.buffer !== null);
    expect(kept.length).toBeLessThanOrEqual(new Set([...slabsSeen.keys()].map((s) => s.cls)).size);
    expect(kept.length).toBeGreaterThan(0);
    for (const s of slabsSeen.keys()) expect(s.live).toBe(0);
    // What is carved of the kept slabs is all that is counted, with the spare slabs kept whole for reuse (16 at most).
    const spare = arena.carvedBytes - kept.reduce((a, s) => a + slabsSeen.get(s)!, 0);
    expect(spare % (256 * 1024)).toBe(0);
    expect(spare).toBeGreaterThanOrEqual(0);
    expect(spare / (256 * 1024)).toBeLessThanOrEqual(16);
  });

  it('reuses the region just given back', () => {
    const arena = new ColumnArena();
    const a = arena.take(1000);
    const offA = arena.offset;
    arena.take(1000);
    arena.give(a, offA);
    expect(arena.take(1000)).toBe(a);
    expect(arena.offset).toBe(offA);
  });

  it('keeps the memory of an emptied slab for the next slab of any class, but never that of a lent one', () => {
    const arena = new ColumnArena();
    // Four 64 KiB regions fill a slab; a fifth starts the next.
    const first = Array.from({ length: 4 }, () => [arena.take(MAX_REGION_BYTES), arena.offset] as const);
    const full = first[0]![0];
    expect(first.every(([s]) => s === full)).toBe(true);
    arena.take(MAX_REGION_BYTES);
    const memory = full.buffer!;
    for (const [s, off] of first) arena.give(s, off);
    expect(full.buffer).toBe(null);
    // A class with no slab yet gets that memory.
    const small = arena.take(300);
    expect(small.buffer).toBe(memory);
    // A lent slab's memory may still be viewed: not reused.
    const lent = arena.take(5000);
    const offLent = arena.offset;
    const lentMemory = lent.buffer!;
    arena.give(lent, offLent, true);
    expect(lent.buffer).toBe(null);
    expect(arena.take(5000).buffer).not.toBe(lentMemory);
    expect(arena.take(20_000).buffer).not.toBe(lentMemory);
  });
});
