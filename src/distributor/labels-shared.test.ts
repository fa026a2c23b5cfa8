import { describe, expect, it } from 'vitest';
import { parseLabelString } from './labels-parser.js';

// Its own file: the table of shared pairs belongs to the module, which starts empty here.
describe('shared label pairs', () => {
  it('gives streams carrying the same pair one object, and each stream its own once a name has too many values', () => {
    // Names of this test only: the table is the module's.
    const a = parseLabelString('{app="api", pod="api-1", zz_share="one"}');
    const b = parseLabelString('{app="api", pod="api-2", zz_share="one"}');
    expect(b.labels[0]).toBe(a.labels[0]);
    expect(b.labels[2]).toBe(a.labels[2]);
    expect(b.labels[1]).not.toBe(a.labels[1]);
    expect(b.labels.map((l) => `${l.name}=${l.value}`)).toEqual(['app=api', 'pod=api-2', 'zz_share=one']);
    // A name given ever more values: shared up to 1024 of them, then each parse makes its own.
    const first = (v: number): unknown => parseLabelString(`{zz_many="${v}"}`).labels[0];
    for (let v = 0; v < 1024; v++) expect(first(v), `value ${v}`).toBe(first(v));
    expect(first(2000)).not.toBe(first(2000));
    // Values shared before keep their pairs in the streams that have them, but new parses no longer share.
    expect(first(5)).not.toBe(first(5));
    expect(first(5)).toEqual({ name: 'zz_many', value: '5' });
  });

  it('stops sharing new pairs past its bound over all names, answering as before', () => {
    // 40 names of 1000 values: past 32,768 pairs in all, new pairs are the parse's own.
    let shared = 0;
    for (let n = 0; n < 40; n++)
      for (let v = 0; v < 1000; v++) {
        const text = `{zz_bound_${n}="v${v}"}`;
        const p = parseLabelString(text);
        expect(p.labels).toEqual([{ name: `zz_bound_${n}`, value: `v${v}` }]);
        if (parseLabelString(text).labels[0] === p.labels[0]) shared++;
      }
    // The first test left 4 pairs shared (app, zz_share and the two pods: few values yet); zz_many's
    // 1024 left the count when it stopped being shared.
    expect(shared).toBe(32_768 - 4);
  });
});
