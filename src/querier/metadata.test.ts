import { describe, expect, it } from 'vitest';
import { labelsToObject, labelsToString, type Labels } from '../model/labels.js';
import { seriesKey, seriesResponseJson, sortSeries } from './metadata.js';

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
