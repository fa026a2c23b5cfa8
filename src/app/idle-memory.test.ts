import { getHeapStatistics } from 'node:v8';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { mallocTrim } from '../util/malloc-trim.js';
import { IdleMemoryRelease, RELEASE_MIN_BYTES, TRIM_MIN_BYTES } from './idle-memory.js';

const quiet = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Looks after quiet periods until one collects (V8 may still be sweeping the garbage during the
 * first): the number of looks it took, or 0 when none did within `max`.
 */
async function looksUntilRelease(r: IdleMemoryRelease, max = 5): Promise<number> {
  for (let i = 1; i <= max; i++) {
    await quiet(600);
    if (r.check() === 'collect') return i;
  }
  return 0;
}

/** Waits (up to 1 s) until `r` has run `n` trims; the trim runs on a pool thread. */
async function untilTrims(r: IdleMemoryRelease, n: number): Promise<void> {
  for (let i = 0; i < 20 && r.stats.trims < n; i++) await quiet(50);
}

/** Grows the heap by ~`mb` MB of objects that are garbage once this returns. */
function garbage(mb: number): number {
  let keep: { i: number; s: string }[] | null = [];
  for (let i = 0; i < mb * 10_000; i++) keep.push({ i, s: `line ${i} of garbage` });
  const n = keep.length;
  keep = null;
  return n;
}

/** Keeps the event loop busy for `ms`. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* busy */
  }
}

describe('IdleMemoryRelease', () => {
  it('collects once after the heap grew and the loop went quiet, and not again without growth', async () => {
    const r = new IdleMemoryRelease(10_000, pino({ level: 'silent' }), { trim: null });
    const start = getHeapStatistics().total_heap_size;
    expect(garbage(120)).toBeGreaterThan(0);
    const grown = getHeapStatistics().total_heap_size;
    expect(grown).toBeGreaterThan(start + RELEASE_MIN_BYTES);
    // The allocation was busy time: this look starts a quiet period without collecting.
    r.check();
    expect(await looksUntilRelease(r)).toBeGreaterThan(0);
    await quiet(50);
    expect(r.stats.releases).toBe(1);
    expect(r.stats.lastBeforeBytes).toBeGreaterThan(start + RELEASE_MIN_BYTES);
    expect(r.stats.lastAfterBytes).toBeLessThan(r.stats.lastBeforeBytes - RELEASE_MIN_BYTES);
    // Quiet again, but the heap did not grow since: nothing to do.
    await quiet(600);
    expect(r.check()).toBe(null);
    expect(r.stats.releases).toBe(1);
    expect(r.stats.trims).toBe(0);
    r.stop();
  });

  it('waits while the event loop is busy, however much the heap grew', async () => {
    const r = new IdleMemoryRelease(10_000, pino({ level: 'silent' }), { trim: null });
    garbage(120);
    r.check();
    // Busy for a third of the period between two looks.
    await quiet(100);
    spin(200);
    await quiet(300);
    expect(r.check()).toBe(null);
    expect(r.stats.releases).toBe(0);
    // A later quiet period collects.
    expect(await looksUntilRelease(r)).toBeGreaterThan(0);
    r.stop();
  });

  it('collects at the next quiet look when asked, without heap growth, once', async () => {
    const r = new IdleMemoryRelease(10_000, pino({ level: 'silent' }), { trim: null });
    await quiet(600);
    expect(r.check()).toBe(null);
    r.requestCollection();
    // Busy: it waits.
    spin(300);
    expect(r.check()).toBe(null);
    await quiet(600);
    expect(r.check()).toBe('collect');
    for (let i = 0; i < 20 && r.stats.releases === 0; i++) await quiet(50);
    expect(r.stats.releases).toBe(1);
    await quiet(600);
    expect(r.check()).toBe(null);
    // With a period of 0 nothing is ever asked for.
    const off = new IdleMemoryRelease(0, pino({ level: 'silent' }), { trim: null });
    off.requestCollection();
    await quiet(300);
    expect(off.check()).toBe(null);
    r.stop();
  });

  it('drops rebuildable state right before each collection, and only then', async () => {
    const calls: number[] = [];
    // What it drops is collected by that very collection: a WeakRef to it is cleared.
    let held: object | null = { big: new Array(100_000).fill(1) };
    const ref = new WeakRef(held);
    const r = new IdleMemoryRelease(10_000, pino({ level: 'silent' }), {
      trim: null,
      beforeCollect: () => {
        calls.push(r.stats.releases);
        held = null;
      },
    });
    await quiet(600);
    expect(r.check()).toBe(null);
    expect(calls).toEqual([]);
    r.requestCollection();
    await quiet(600);
    expect(r.check()).toBe('collect');
    // Called before the collection ran (none counted yet), once.
    expect(calls).toEqual([0]);
    for (let i = 0; i < 20 && r.stats.releases === 0; i++) await quiet(50);
    expect(r.stats.releases).toBe(1);
    expect(ref.deref()).toBeUndefined();
    await quiet(600);
    expect(r.check()).toBe(null);
    expect(calls).toEqual([0]);
    r.stop();
  });

  it('never runs with a period of 0', async () => {
    const r = new IdleMemoryRelease(0, pino({ level: 'silent' }));
    r.start();
    garbage(60);
    await quiet(300);
    expect(r.stats.releases).toBe(0);
    expect(r.stats.trims).toBe(0);
    r.stop();
  });

  // glibc's malloc_trim: Linux with glibc only (CI and the supported platform).
  const trim = mallocTrim();
  const withTrim = trim === null ? it.skip : it;

  withTrim('trims malloc once the resident size moved and the loop is quiet, and not again until it moves', async () => {
    // The resident size and external memory read through a stand-in: the process's own move
    // with every collection.
    let rss = 500e6;
    let external = 200e6;
    const r = new IdleMemoryRelease(10_000, pino({ level: 'silent' }), { trim, memory: () => ({ rss, external }) });
    r.check();
    await quiet(600);
    rss += TRIM_MIN_BYTES - 1;
    external -= TRIM_MIN_BYTES - 1;
    expect(r.check()).toBe(null);
    await quiet(600);
    rss += 1;
    expect(r.check()).toBe('trim');
    // Running: the next look waits for it.
    expect(r.check()).toBe(null);
    await untilTrims(r, 1);
    expect(r.stats.trims).toBe(1);
    expect(r.stats.lastTrimAfterBytes).toBe(500e6 + TRIM_MIN_BYTES);
    await quiet(600);
    expect(r.check()).toBe(null);
    // Shrinking counts too (a worker thread stopped and left its arena's free pages).
    rss -= TRIM_MIN_BYTES;
    await quiet(600);
    expect(r.check()).toBe('trim');
    await untilTrims(r, 2);
    expect(r.stats.trims).toBe(2);
    // So do ArrayBuffers freed without a move of the resident size (their pages still held by malloc).
    await quiet(600);
    expect(r.check()).toBe(null);
    external -= TRIM_MIN_BYTES;
    await quiet(600);
    expect(r.check()).toBe('trim');
    await untilTrims(r, 3);
    expect(r.stats.trims).toBe(3);
    // Busy: no trim however far it moved.
    rss += 10 * TRIM_MIN_BYTES;
    spin(300);
    expect(r.check()).toBe(null);
    r.stop();
  });

  withTrim('under memory pressure trims while busy once the memory moved, and only then', async () => {
    let rss = 500e6;
    let pressure = false;
    const r = new IdleMemoryRelease(10_000, pino({ level: 'silent' }), { trim, memory: () => ({ rss, external: 100e6 }), pressure: () => pressure });
    spin(200);
    rss += 10 * TRIM_MIN_BYTES;
    // No pressure: a busy process waits, whichever look it is.
    expect(r.checkPressure()).toBe(null);
    expect(r.check()).toBe(null);
    pressure = true;
    spin(200);
    expect(r.checkPressure()).toBe('trim');
    // One at a time.
    expect(r.checkPressure()).toBe(null);
    await untilTrims(r, 1);
    expect(r.stats.trims).toBe(1);
    // Not again until the memory moves by TRIM_MIN_BYTES from where the trim left it.
    spin(200);
    expect(r.checkPressure()).toBe(null);
    rss -= TRIM_MIN_BYTES - 1;
    expect(r.checkPressure()).toBe(null);
    rss -= 1;
    expect(r.checkPressure()).toBe('trim');
    await untilTrims(r, 2);
    expect(r.stats.trims).toBe(2);
    // Without the option there is no pressure look.
    const plain = new IdleMemoryRelease(10_000, pino({ level: 'silent' }), { trim, memory: () => ({ rss: rss + 10 * TRIM_MIN_BYTES, external: 0 }) });
    expect(plain.checkPressure()).toBe(null);
    r.stop();
    plain.stop();
  });

  withTrim('trims the free pages that freed Buffers left between live ones', async () => {
    const r = new IdleMemoryRelease(10_000, pino({ level: 'silent' }), { trim });
    // ~200 MB of Buffers of 1–6 KB from malloc, every fourth kept: once collected, the rest are
    // free chunks between live ones, which free() cannot give back and malloc_trim can.
    let all: Buffer[] | null = [];
    for (let i = 0; i < 60_000; i++) all.push(Buffer.allocUnsafeSlow(1024 + ((i * 7919) % 5000)).fill(1));
    const kept = all.filter((_, i) => i % 4 === 0);
    all = null;
    // Heap garbage beside them, so that a quiet look collects (unless V8 already did).
    garbage(120);
    r.check();
    for (let i = 0; i < 15 && r.stats.trimmedBytes <= 2 * TRIM_MIN_BYTES; i++) {
      await quiet(300);
      r.check();
    }
    expect(r.stats.trims).toBeGreaterThan(0);
    expect(r.stats.trimmedBytes).toBeGreaterThan(2 * TRIM_MIN_BYTES);
    expect(kept.length).toBe(15_000);
    r.stop();
  });
});
