import { describe, expect, it } from 'vitest';
import { SymbolTable } from './symbols.js';

describe('SymbolTable', () => {
  it('gives each distinct string one dense id in first-use order, before and after it outgrows its linear search', () => {
    let seed = 7;
    const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const t = new SymbolTable();
    // The reference: a Map from the first call on.
    const want = new Map<string, number>();
    // Arrays readers took along the way (an addition may replace the array) and their sizes then.
    const taken: [readonly string[], number][] = [];
    for (let i = 0; i < 3000; i++) {
      if (i % 7 === 0) taken.push([t.strings, t.size]);
      // Few strings at first (the linear search), then more and more (the Map), revisiting old ones.
      const pool = 4 + Math.floor(i / 20);
      // Built afresh each time: equal strings are not the same object.
      const s = `v${Math.floor(random() * pool)}`;
      if (!want.has(s)) want.set(s, want.size);
      expect(t.intern(s)).toBe(want.get(s));
    }
    expect(want.size).toBeGreaterThan(100);
    expect(t.strings).toEqual([...want.keys()]);
    // Every id given out before a reader took its array resolves in it.
    for (const [a, n] of taken) expect(a.slice(0, n)).toEqual([...want.keys()].slice(0, n));
    expect(t.size).toBe(want.size);
    expect(t.bytes).toBe([...want.keys()].reduce((n, s) => n + Buffer.byteLength(s), 0));
  });
});
