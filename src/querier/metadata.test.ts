import { describe, expect, it } from 'vitest';
import { isInKeyOrder, labelsToObject, labelsToString, markInKeyOrder, seriesKey, withSeriesJson, type Labels } from '../model/labels.js';
import { ascending, insertionsOf, recordInsertions, unionOfAscending } from '../util/sorted.js';
import { seededRandom } from '../util/random.js';
import { labelListBody, seriesResponseBody, seriesUnion, sortSeries } from './metadata.js';

describe('series helpers', () => {
  const mk = (o: Record<string, string>): Labels => Object.entries(o).map(([name, value]) => ({ name, value }));
  it('keys, orders and encodes series as labelsToString, sort and JSON.stringify do', () => {
    const series = [mk({ a: 'x' }), mk({ a: 'x', b: 'y' }), mk({ a: 'x"\\\n' }), mk({ app: 'é😀' }), mk({ lone: '\ud800z' }), mk({})];
    const byKey = new Map<string, Labels>();
    for (const s of [...series, ...series]) byKey.set(seriesKey(s), s);
    const sorted = sortSeries(byKey);
    expect(sorted.map(labelsToString)).toEqual(series.map(labelsToString).sort());
    const want = (ls: readonly Labels[]): string => JSON.stringify({ status: 'success', data: ls.map(labelsToObject) });
    // The exact bytes: a wrong size would leave garbage or cut the answer.
    for (let n = 0; n <= sorted.length; n++) expect(seriesResponseBody(sorted.slice(0, n)).equals(Buffer.from(want(sorted.slice(0, n))))).toBe(true);
    expect(seriesResponseBody(sorted).equals(seriesResponseBody(sorted))).toBe(true);
  });

  it("writes a list's own JSON texts when its maker gave them, and refuses texts that do not fit", () => {
    const list = [mk({ a: '1' }), mk({ a: '2' })];
    // Texts unlike the labels' own, to see which ones the body is made of.
    withSeriesJson(list, ['{"a":"one"}', '{"a":"two"}']);
    expect(seriesResponseBody(list).toString()).toBe('{"status":"success","data":[{"a":"one"},{"a":"two"}]}');
    expect(seriesResponseBody([...list]).toString()).toBe('{"status":"success","data":[{"a":"1"},{"a":"2"}]}');
    expect(() => withSeriesJson([mk({ a: '1' })], [])).toThrow(RangeError);
  });

  it('splices the answer of a list made by putting a few series into one whose answer is kept', () => {
    const r = seededRandom(17);
    const want = (ls: readonly Labels[]): string => JSON.stringify({ status: 'success', data: ls.map(labelsToObject) });
    const pool = Array.from({ length: 300 }, (_, i) => mk({ app: `a${i % 7}`, pod: `p${i}"é${i % 5 === 0 ? '😀' : ''}` }));
    const sorted = (ls: readonly Labels[]): Labels[] => [...ls].sort((a, b) => (seriesKey(a) < seriesKey(b) ? -1 : seriesKey(a) > seriesKey(b) ? 1 : 0));
    let list: readonly Labels[] = Object.freeze(markInKeyOrder(sorted(pool.filter(() => r() < 0.5))));
    let spliced = 0;
    for (let round = 0; round < 100; round++) {
      // Sometimes the body of the list is made first (as an answer), sometimes not.
      const base = list;
      if (r() < 0.8) seriesResponseBody(base);
      const have = new Set(base.map(seriesKey));
      const add = sorted([...new Set(Array.from({ length: 1 + Math.floor(r() * 4) }, () => pool[Math.floor(r() * pool.length)]!))].filter((l) => !have.has(seriesKey(l))));
      if (add.length === 0) continue;
      const next = sorted([...base, ...add]);
      const at = add.map((l) => next.indexOf(l));
      recordInsertions(next, base, at);
      if (r() < 0.5) withSeriesJson(next, next.map((l) => JSON.stringify(labelsToObject(l))));
      list = Object.freeze(markInKeyOrder(next));
      expect(seriesResponseBody(list).toString(), `round ${round}`).toBe(want(list));
      spliced++;
    }
    expect(spliced).toBeGreaterThan(50);
    // The spliced answer is made of the base answer's bytes: texts unlike the labels' own show it.
    const base = Object.freeze(withSeriesJson(markInKeyOrder([mk({ a: '1' }), mk({ a: '3' })]), ['{"a":"one"}', '{"a":"three"}']));
    seriesResponseBody(base);
    const next = Object.freeze(markInKeyOrder([base[0]!, mk({ a: '2' }), base[1]!]));
    recordInsertions(next, base, [1]);
    expect(seriesResponseBody(next).toString()).toBe('{"status":"success","data":[{"a":"one"},{"a":"2"},{"a":"three"}]}');
    // Once made, the record is gone (the base need not live on for it).
    expect(insertionsOf(next)).toBeUndefined();
    // A base that lives on (keepBase) has its answer made first when nobody asked for it yet;
    // one that does not is not (the answer is made from the list itself).
    for (const keepBase of [true, false]) {
      const b = Object.freeze(withSeriesJson(markInKeyOrder([mk({ a: '1' }), mk({ a: '3' })]), ['{"a":"one"}', '{"a":"three"}']));
      const n = Object.freeze(markInKeyOrder([b[0]!, mk({ a: '2' }), b[1]!]));
      recordInsertions(n, b, [1], keepBase);
      expect(seriesResponseBody(n).toString()).toBe(keepBase ? '{"status":"success","data":[{"a":"one"},{"a":"2"},{"a":"three"}]}' : '{"status":"success","data":[{"a":"1"},{"a":"2"},{"a":"3"}]}');
    }
  });

  it('keeps the answer of a frozen list (it cannot change), and makes one per request otherwise', () => {
    const frozen = Object.freeze([mk({ a: '1' }), mk({ a: '2' })]);
    const body = seriesResponseBody(frozen);
    expect(body.toString()).toBe('{"status":"success","data":[{"a":"1"},{"a":"2"}]}');
    expect(seriesResponseBody(frozen)).toBe(body);
    // An equal frozen list is another list: its own answer.
    const twin = Object.freeze([...frozen]);
    expect(seriesResponseBody(twin)).not.toBe(body);
    expect(seriesResponseBody(twin).equals(body)).toBe(true);
    // A list that may still change is encoded as it is now.
    const open = [mk({ a: '1' })];
    const before = seriesResponseBody(open);
    open.push(mk({ a: '3' }));
    expect(seriesResponseBody(open).toString()).toBe('{"status":"success","data":[{"a":"1"},{"a":"3"}]}');
    expect(before.toString()).toBe('{"status":"success","data":[{"a":"1"}]}');
  });
});

describe('seriesUnion', () => {
  it('is the union of the lists ordered by label string, each set once, marked lists merged as they are', () => {
    const r = seededRandom(11);
    // Label sets drawn from a small pool, so lists overlap; equal sets are distinct arrays.
    const pool = Array.from({ length: 40 }, (_, i) => ({ app: `a${i % 7}`, ...(i % 3 === 0 ? {} : { pod: `p${i}"é` }), ...(i % 5 === 0 ? { z: '😀' } : {}) }));
    const draw = (): Labels => Object.entries(pool[Math.floor(r() * pool.length)]!).map(([name, value]) => ({ name, value }));
    for (let round = 0; round < 300; round++) {
      const lists: Labels[][] = [];
      // Up to 7 lists: merged in pairs, then pairs of those, an odd one carried up.
      for (let k = Math.floor(r() * 8); k > 0; k--) {
        const list = Array.from({ length: Math.floor(r() * 12) }, draw);
        const x = r();
        const byKey = new Map(list.map((l) => [labelsToString(l), l] as const));
        const ordered = [...byKey.keys()].sort().map((k) => byKey.get(k)!);
        // In key order, each set once: as the store and the ingester answer (marked), or as an
        // ingester's answer decoded from gRPC (not marked); sorted with a set twice; in no order.
        if (x < 0.4) lists.push(markInKeyOrder(ordered));
        else if (x < 0.6) lists.push(ordered);
        else if (x < 0.7) lists.push(list.sort((a, b) => (labelsToString(a) < labelsToString(b) ? -1 : labelsToString(a) > labelsToString(b) ? 1 : 0)));
        else lists.push(list);
      }
      const keys = [...new Set(lists.flat().map(labelsToString))].sort();
      const got = seriesUnion(lists);
      expect(got.map(labelsToString)).toEqual(keys);
      const nonEmpty = lists.filter((l) => l.length > 0);
      if (nonEmpty.length === 1 && isInKeyOrder(nonEmpty[0]!)) expect(got).toBe(nonEmpty[0]);
    }
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

describe('labelListBody of a list made by insertions', () => {
  it('splices the new values into the kept answer, byte for byte as JSON.stringify, over chains of edits', () => {
    const rnd = seededRandom(13);
    const ALPHABET = ['a', 'b', 'z', '"', '\\', 'é', '😀', '\n', '\u0001', '\uE000', ',', ']', '-'];
    const word = (): string => Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => ALPHABET[Math.floor(rnd() * ALPHABET.length)]!).join('');
    for (let t = 0; t < 200; t++) {
      let list: readonly string[] = ascending([...new Set(Array.from({ length: Math.floor(rnd() * 30) }, word))].sort());
      if (rnd() < 0.8) labelListBody(list);
      for (let step = 0; step < 4; step++) {
        const next = [...list];
        const put: string[] = [];
        for (let k = Math.floor(rnd() * 5); k > 0; k--) {
          const v = word();
          if (next.includes(v)) continue;
          next.push(v);
          put.push(v);
        }
        next.sort();
        recordInsertions(ascending(next), list, put.map((v) => next.indexOf(v)).sort((a, b) => a - b));
        const want = JSON.stringify({ status: 'success', data: next });
        expect(labelListBody(next).toString()).toBe(want);
        expect(labelListBody(next).toString()).toBe(want);
        list = next;
      }
    }
  });
});

describe('labelListBody of a union of one long list and a few values', () => {
  it('is the long list with the few put in, answered byte for byte as JSON.stringify', () => {
    const rnd = seededRandom(17);
    const word = (): string => ['pod-', 'é', '"q"', '\\', 'z'][Math.floor(rnd() * 5)]! + String(Math.floor(rnd() * 500));
    for (let t = 0; t < 100; t++) {
      const long = ascending([...new Set(Array.from({ length: 100 + Math.floor(rnd() * 100) }, word))].sort());
      // The few: some new values, some already in the long list; sometimes only those.
      const few = ascending([...new Set([...Array.from({ length: Math.floor(rnd() * 4) }, word), ...(rnd() < 0.5 ? [long[3]!] : [])])].sort());
      const lists = rnd() < 0.5 ? [few, long] : [long, few];
      const got = unionOfAscending(lists);
      const want = [...new Set([...long, ...few])].sort();
      expect(got).toEqual(want);
      if (want.length === long.length) expect(got).toBe(long);
      else expect(insertionsOf(got)?.base).toBe(long);
      if (rnd() < 0.5) labelListBody(long);
      expect(labelListBody(got).toString()).toBe(JSON.stringify({ status: 'success', data: want }));
    }
    // Before the first, several in one gap, after the last.
    const long = ascending(Array.from({ length: 100 }, (_, i) => `m${String(i).padStart(2, '0')}`));
    const few = ascending(['a', 'm05a', 'm05b', 'm05c', 'z']);
    const got = unionOfAscending([long, few]);
    expect(got).toEqual([...long, ...few].sort());
    expect(insertionsOf(got)).toEqual({ base: long, at: [0, 7, 8, 9, 104], keepBase: true });
    expect(labelListBody(got).toString()).toBe(JSON.stringify({ status: 'success', data: [...long, ...few].sort() }));
  });
});
