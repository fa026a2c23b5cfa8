import { describe, expect, it } from 'vitest';
import { SymbolTable } from './symbols.js';

describe('SymbolTable', () => {
  it('gives each distinct string one dense id in first-use order, before and after it outgrows its linear search', () => {
    let seed = 7;
    const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const t = new SymbolTable();
    // The reference: a Map from the first call on.
    const want = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      // Few strings at first (the linear search), then more and more (the Map), revisiting old ones.
      const pool = 4 + Math.floor(i / 20);
      // Built afresh each time: equal strings are not the same object.
      const s = `v${Math.floor(random() * pool)}`;
      if (!want.has(s)) want.set(s, want.size);
      expect(t.intern(s)).toBe(want.get(s));
    }
    expect(want.size).toBeGreaterThan(100);
    expect(t.strings).toEqual([...want.keys()]);
    expect(t.size).toBe(want.size);
    expect(t.bytes).toBe([...want.keys()].reduce((n, s) => n + Buffer.byteLength(s), 0));
  });
});
