import { describe, expect, it } from 'vitest';
import { labelsToObject, labelsToString, type Labels } from '../model/labels.js';
import { seriesKey, seriesResponseJson, sortedUnion, sortSeries } from './metadata.js';

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

describe('series helpers', () => {
  const mk = (o: Record<string, string>): Labels => Object.entries(o).map(([name, value]) => ({ name, value }));
  it('keys, orders and encodes series as labelsToString, sort and JSON.stringify do', () => {
    const series = [mk({ a: 'x' }), mk({ a: 'x', b: 'y' }), mk({ a: 'x"\\\n' }), mk({ app: 'é😀' }), mk({})];
    const byKey = new Map<string, Labels>();
    for (const s of [...series, ...series]) byKey.set(seriesKey(s), s);
    const sorted = sortSeries(byKey);
    expect(sorted.map(labelsToString)).toEqual(series.map(labelsToString).sort());
    expect(seriesResponseJson(sorted)).toBe(JSON.stringify({ status: 'success', data: sorted.map(labelsToObject) }));
    expect(seriesResponseJson(sorted)).toBe(seriesResponseJson(sorted));
    expect(seriesResponseJson([])).toBe('{"status":"success","data":[]}');
  });
});
