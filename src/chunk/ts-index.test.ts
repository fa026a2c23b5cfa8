import { describe, expect, it } from 'vitest';
import { TsIndex } from './ts-index.js';
import { Rng } from './testing.js';

describe('TsIndex', () => {
  it('behaves like a Map<number, number> on random integer keys (negative, huge, repeated)', () => {
    const rng = new Rng(42);
    const idx = new TsIndex(4);
    const ref = new Map<number, number>();
    for (let i = 0; i < 50_000; i++) {
      const r = rng.int(4);
      const key = r === 0 ? rng.int(100) : r === 1 ? -rng.int(1e12) : r === 2 ? rng.int(2 ** 53) : (rng.int(1000) * 1e9);
      expect(idx.set(key, i)).toBe(ref.get(key) ?? -1);
      ref.set(key, i);
      const probe = rng.int(3) === 0 ? key + 1 : key;
      expect(idx.get(probe)).toBe(ref.get(probe) ?? -1);
    }
    expect(idx.size).toBe(ref.size);
    for (const [k, v] of ref) expect(idx.get(k)).toBe(v);
  });
});
