import { describe, expect, it } from 'vitest';
import { seededRandom } from '../util/random.js';
import { insertionsOf } from '../util/sorted.js';
import { fingerprint, labelsFromObject, labelsToString, markInKeyOrder, mergeAllInKeyOrder, type Labels } from './labels.js';

describe('fingerprint', () => {
  // Fingerprints name chunks in object storage: these were computed by the first implementation
  // and must never change.
  it.each([
    [{}, 'ebb6c228df0c7375'],
    [{ app: 'a' }, '34ad60be3abff9d8'],
    [{ app: 'checkout', env: 'prod' }, '2fead34dde2240bd'],
    [{ service_name: 'ünïcode ✓', namespace: 'ns-3', pod: 'p-0' }, 'f1f8d2de4b16c2dd'],
  ])('of %j is %s', (labels, expected) => {
    expect(fingerprint(labelsFromObject(labels))).toBe(expected);
  });

  it('is 16 lower-case hex digits, leading zeros kept', () => {
    // Enough label sets that some halves start with zero digits.
    let zeroLed = 0;
    for (let i = 0; i < 2000; i++) {
      const fp = fingerprint(labelsFromObject({ app: `a${i}` }));
      expect(fp).toMatch(/^[0-9a-f]{16}$/);
      if (fp[0] === '0' || fp[8] === '0') zeroLed++;
    }
    expect(zeroLed).toBeGreaterThan(0);
  });
});

describe('mergeAllInKeyOrder', () => {
  const list = (...apps: string[]): Labels[] => markInKeyOrder(apps.map((a) => labelsFromObject({ app: a })));
  const apps = (l: readonly Labels[]): string[] => l.map(labelsToString);
  it('keeps the merge of frozen lists and gives it again for the same lists, not for others', () => {
    const a = Object.freeze(list('a', 'c', 'e'));
    const b = Object.freeze(list('b', 'c', 'd'));
    const merged = mergeAllInKeyOrder([a, b]);
    expect(apps(merged)).toEqual(['a', 'b', 'c', 'd', 'e'].map((x) => `{app="${x}"}`));
    expect(Object.isFrozen(merged)).toBe(true);
    expect(mergeAllInKeyOrder([a, b])).toBe(merged);
    // The same first list with another second one (a segment came): its own merge.
    const b2 = Object.freeze(list('b', 'f'));
    expect(apps(mergeAllInKeyOrder([a, b2]))).toEqual(['a', 'b', 'c', 'e', 'f'].map((x) => `{app="${x}"}`));
    expect(apps(mergeAllInKeyOrder([a, b, b2]))).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((x) => `{app="${x}"}`));
    // Lists that may still change are merged as they are each time.
    const open = list('b');
    const first = mergeAllInKeyOrder([a, open]);
    open.push(labelsFromObject({ app: 'z' }));
    const second = mergeAllInKeyOrder([a, open]);
    expect(second).not.toBe(first);
    expect(apps(second)).toEqual(['a', 'b', 'c', 'e', 'z'].map((x) => `{app="${x}"}`));
  });
});

describe('mergeAllInKeyOrder over one long list and a few label sets', () => {
  it('is the sorted union, and records where the few went in the long one', () => {
    const r = seededRandom(5);
    const pool = Array.from({ length: 600 }, (_, i) => labelsFromObject({ app: `a${i % 13}`, pod: `p${i}` }));
    const byKey = (ls: readonly Labels[]): Labels[] => [...new Map(ls.map((l) => [labelsToString(l), l] as const)).entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, l]) => l);
    let recorded = 0;
    for (let round = 0; round < 200; round++) {
      const long = byKey(pool.filter(() => r() < 0.6));
      // A few sets (some also in the long list), in one to three lists.
      const few = Array.from({ length: 1 + Math.floor(r() * 3) }, () => markInKeyOrder(byKey(Array.from({ length: Math.floor(r() * 6) }, () => pool[Math.floor(r() * pool.length)]!))));
      const frozenLong = r() < 0.5;
      const lists = [frozenLong ? Object.freeze(markInKeyOrder(long)) : markInKeyOrder(long), ...few];
      if (r() < 0.5) lists.reverse();
      const got = mergeAllInKeyOrder(lists);
      expect(got.map(labelsToString)).toEqual(byKey(lists.flat()).map(labelsToString));
      const ins = insertionsOf(got);
      if (got.length > long.length) {
        // The long list with the new sets at the recorded indices.
        expect(ins?.base).toBe(lists.find((l) => l.length === long.length));
        expect(got.filter((_, i) => !ins!.at.includes(i))).toEqual(ins!.base);
        // A frozen long list lives on: its answer is worth making for the merge's sake.
        expect(ins!.keepBase).toBe(frozenLong);
        recorded++;
      } else expect(got.map(labelsToString)).toEqual(long.map(labelsToString));
    }
    expect(recorded).toBeGreaterThan(100);
  });
});
