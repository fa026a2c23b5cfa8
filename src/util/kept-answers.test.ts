import { describe, expect, it } from 'vitest';
import { seededRandom } from './random.js';
import { KeptAnswers } from './kept-answers.js';

describe('KeptAnswers', () => {
  it('gives a kept list back only at its version, frozen', () => {
    const k = new KeptAnswers(4);
    const list = k.keep('a', 1, ['x', 'y'], 10);
    expect(Object.isFrozen(list)).toBe(true);
    expect(k.get('a', 1)).toBe(list);
    expect(k.get('a', 2)).toBeUndefined();
    expect(k.get('b', 1)).toBeUndefined();
    // A new answer for the key replaces the old one.
    const again = k.keep('a', 2, ['z'], 10);
    expect(k.get('a', 2)).toBe(again);
    expect(k.get('a', 1)).toBeUndefined();
    expect(k.size).toBe(1);
  });

  it('drops the least recently used answers over its bounds, as a brute-force model does', () => {
    const r = seededRandom(3);
    const k = new KeptAnswers(5);
    // The model: [key, version, list] least recently used first.
    let model: [string, number, readonly number[]][] = [];
    for (let step = 0; step < 5000; step++) {
      const key = `k${Math.floor(r() * 9)}`;
      const version = Math.floor(r() * 2);
      if (r() < 0.5) {
        const got = k.get<number>(key, version);
        const at = model.findIndex(([mk, mv]) => mk === key && mv === version);
        if (at < 0) expect(got).toBeUndefined();
        else {
          expect(got).toBe(model[at]![2]);
          model.push(...model.splice(at, 1));
        }
      } else {
        const maxItems = 5 + Math.floor(r() * 30);
        const list = Array.from({ length: Math.floor(r() * 12) }, (_, i) => i);
        expect(k.keep(key, version, list, maxItems)).toBe(list);
        model = model.filter(([mk]) => mk !== key);
        if (list.length <= maxItems) {
          const items = (): number => model.reduce((a, [, , l]) => a + l.length, 0);
          while (model.length > 0 && (model.length >= 5 || items() + list.length > maxItems)) model.shift();
          model.push([key, version, list]);
        }
      }
      expect(k.size).toBe(model.length);
    }
  });
});
