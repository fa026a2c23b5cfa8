import { describe, expect, it } from 'vitest';
import { labelsToObject, labelsToString, type Labels } from '../model/labels.js';
import { ascending } from '../util/sorted.js';
import { labelListBody, seriesKey, seriesResponseJson, sortSeries } from './metadata.js';

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

describe('labelListBody', () => {
  it("is Loki's success body of the list, kept only for lists marked as never changing", () => {
    const values = ['a', 'b"\\', 'é😀', '\n'];
    const want = JSON.stringify({ status: 'success', data: values });
    const marked = ascending([...values]);
    expect(labelListBody(marked).toString()).toBe(want);
    expect(labelListBody(marked)).toBe(labelListBody(marked));
    // An unmarked list may change between requests: its body is made each time.
    const plain = [...values];
    expect(labelListBody(plain).toString()).toBe(want);
    plain.push('z');
    expect(labelListBody(plain).toString()).toBe(JSON.stringify({ status: 'success', data: plain }));
    expect(labelListBody([]).toString()).toBe('{"status":"success","data":[]}');
  });
});
