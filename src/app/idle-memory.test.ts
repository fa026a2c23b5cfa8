import { getHeapStatistics } from 'node:v8';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { IdleMemoryRelease, RELEASE_MIN_BYTES } from './idle-memory.js';

const quiet = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Looks after quiet periods until one collects (V8 may still be sweeping the garbage during the
 * first): the number of looks it took, or 0 when none did within `max`.
 */
async function looksUntilRelease(r: IdleMemoryRelease, max = 5): Promise<number> {
  for (let i = 1; i <= max; i++) {
    await quiet(600);
    if (r.check()) return i;
  }
  return 0;
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
    const r = new IdleMemoryRelease(10_000, pino({ level: 'silent' }));
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
    expect(r.check()).toBe(false);
    expect(r.stats.releases).toBe(1);
    r.stop();
  });

  it('waits while the event loop is busy, however much the heap grew', async () => {
    const r = new IdleMemoryRelease(10_000, pino({ level: 'silent' }));
    garbage(120);
    r.check();
    // Busy for a third of the period between two looks.
    await quiet(100);
    spin(200);
    await quiet(300);
    expect(r.check()).toBe(false);
    expect(r.stats.releases).toBe(0);
    // A later quiet period collects.
    expect(await looksUntilRelease(r)).toBeGreaterThan(0);
    r.stop();
  });

  it('never runs with a period of 0', async () => {
    const r = new IdleMemoryRelease(0, pino({ level: 'silent' }));
    r.start();
    garbage(60);
    await quiet(300);
    expect(r.stats.releases).toBe(0);
    r.stop();
  });
});
