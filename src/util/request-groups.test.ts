import { describe, expect, it } from 'vitest';
import { seededRandom } from './random.js';
import { RequestGroups } from './request-groups.js';

describe('RequestGroups', () => {
  it('groups like a fresh Map per request, and forgets values between requests', () => {
    const g = new RequestGroups<number>(50);
    const rnd = seededRandom(5);
    for (let req = 0; req < 300; req++) {
      g.begin();
      const ref = new Map<string, number>();
      for (let i = 0; i < 40; i++) {
        const k = `k${Math.floor(rnd() * 80)}`;
        expect(g.get(k)).toBe(ref.get(k));
        if (rnd() < 0.7) {
          const v = Math.floor(rnd() * 1000);
          g.set(k, v);
          ref.set(k, v);
        }
      }
      expect(g.heldValues()).toBe(ref.size);
      g.release();
      // Nothing of the request stays reachable through the slots.
      expect(g.heldValues()).toBe(0);
      for (const k of ref.keys()) expect(g.get(k)).toBeUndefined();
      // Now and then the process goes quiet and every slot is forgotten; grouping goes on the same.
      if (req % 17 === 16) {
        expect(g.size).toBeGreaterThan(0);
        g.forget();
        expect(g.size).toBe(0);
      }
    }
  });
});
