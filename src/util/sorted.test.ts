import { describe, expect, it } from 'vitest';
import { seededRandom } from './random.js';
import { ascending, isMarkedAscending, lowerBound, lowerBoundString, sortedUnion, unionOfAscending } from './sorted.js';

describe('lowerBound', () => {
  it('agrees with a linear scan on random sorted columns with repeats, inside any [from, to)', () => {
    const rnd = seededRandom(9);
    for (let t = 0; t < 500; t++) {
      const n = Math.floor(rnd() * 40);
      const a = new Float64Array(n);
      for (let i = 1; i < n; i++) a[i] = a[i - 1]! + Math.floor(rnd() * 3);
      const from = Math.floor(rnd() * (n + 1));
      const to = from + Math.floor(rnd() * (n - from + 1));
      const x = Math.floor(rnd() * (n + 4)) - 2;
      let want = from;
      while (want < to && a[want]! < x) want++;
      expect(lowerBound(a, to, x, from)).toBe(want);
    }
  });
});

describe('lowerBoundString', () => {
  it('agrees with a linear scan over random sorted lists', () => {
    const rnd = seededRandom(5);
    const word = (): string => ['a', 'ab', 'b', 'é', '😀', '\uE000', 'Z', ''][Math.floor(rnd() * 8)]! + String(Math.floor(rnd() * 3));
    for (let t = 0; t < 500; t++) {
      const a = [...new Set(Array.from({ length: Math.floor(rnd() * 20) }, word))].sort();
      const v = word();
      let want = 0;
      while (want < a.length && a[want]! < v) want++;
      expect(lowerBoundString(a, v)).toBe(want);
    }
  });
});

describe('sortedUnion', () => {
  it.each([
    [[], [], []],
    [['a', 'c'], [], ['a', 'c']],
    [[], ['b'], ['b']],
    [['a', 'c', 'e'], ['b', 'c', 'd', 'f'], ['a', 'b', 'c', 'd', 'e', 'f']],
    [['b', 'a'], ['a', 'c'], ['a', 'b', 'c']],
    [['a', 'a'], ['a'], ['a']],
    [['Z', 'a', 'é', '\uE000', '😀'], ['😀', 'b'], ['Z', 'a', 'b', 'é', '😀', '\uE000']],
  ])('%j ∪ %j', (a, b, want) => {
    expect(sortedUnion(a, b)).toEqual(want);
    expect(sortedUnion(a, b)).toEqual([...new Set([...a, ...b])].sort());
  });
});

describe('ascending', () => {
  it('lets sortedUnion skip its order check for a list its maker built ascending, and checks the others', () => {
    // A list marked ascending is taken at its word (this one lies, to make that visible).
    expect(sortedUnion(ascending(['b', 'a']), [])).toEqual(['b', 'a']);
    // The same list unmarked is checked, found out of order, and sorted.
    expect(sortedUnion(['b', 'a'], [])).toEqual(['a', 'b']);
    expect(sortedUnion([], ['c', 'a', 'c'])).toEqual(['a', 'c']);
  });
});

describe('unionOfAscending', () => {
  const sortedSet = (rnd: () => number, n: number): string[] => [...new Set(Array.from({ length: n }, () => 'v' + Math.floor(rnd() * 60)))].sort();

  it('is the brute-force union of random lists, marked, and the same array for the same lists', () => {
    const rnd = seededRandom(21);
    for (let t = 0; t < 300; t++) {
      const lists = Array.from({ length: Math.floor(rnd() * 5) }, () => ascending(sortedSet(rnd, Math.floor(rnd() * 12))));
      const got = unionOfAscending(lists);
      expect(got).toEqual([...new Set(lists.flat())].sort());
      expect(isMarkedAscending(got)).toBe(true);
      // The same lists again: the same answer, not a new merge.
      expect(unionOfAscending([...lists])).toBe(got);
    }
  });

  it('returns the only non-empty list itself, and merges anew when any list is a different array', () => {
    const a = ascending(['a', 'c']);
    const b = ascending(['b', 'c']);
    const empty = ascending([] as string[]);
    expect(unionOfAscending([empty, a, empty])).toBe(a);
    const ab = unionOfAscending([a, b]);
    expect(ab).toEqual(['a', 'b', 'c']);
    // b changed (lists are replaced, never modified): same first list, new answer.
    const b2 = ascending(['b', 'd']);
    expect(unionOfAscending([a, b2])).toEqual(['a', 'b', 'c', 'd']);
    expect(unionOfAscending([a, b, b2])).toEqual(['a', 'b', 'c', 'd']);
    expect(unionOfAscending([])).toEqual([]);
    // sortedUnion of two marked lists goes through it; of an unmarked one does not keep it.
    expect(sortedUnion(a, empty)).toBe(a);
    const unmarked = ['a', 'c'];
    expect(sortedUnion(unmarked, [])).not.toBe(unmarked);
  });
});
