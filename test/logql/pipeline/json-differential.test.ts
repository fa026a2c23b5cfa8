/**
 * Differential test: the byte-scanning json parser (full and key-subset modes) against a
 * JSON.parse-based flattening reference on seeded random JSON.
 */
import { describe, expect, it } from 'vitest';
import { compileSampleExtractor, compilePipeline, needsAfterStages } from '../../../src/logql/log/index.js';
import { LabelNeeds } from '../../../src/logql/log/stage.js';
import type { LogSelectorExpr, RangeAggregationExpr } from '../../../src/logql/syntax/ast.js';
import { parseExpr } from '../../../src/logql/syntax/parse.js';
import { sanitizeLabelKey } from '../../../src/logql/log/sanitize.js';
import { seededRandom } from '../../../src/util/random.js';

const KEY_CHARS = 'abcxyz_-. é1';

function randKey(r: () => number): string {
  let k = 'k';
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) k += KEY_CHARS[Math.floor(r() * KEY_CHARS.length)]!;
  return k;
}

function randValue(r: () => number, depth: number): unknown {
  const t = r();
  if (t < 0.3) return ['a', 'hello world', 'q"uote', 'back\\slash', 'nl\nx', 'é€😀', ''][Math.floor(r() * 7)];
  if (t < 0.45) return Math.floor(r() * 2000) - 1000;
  if (t < 0.5) return r() * 100;
  if (t < 0.55) return r() < 0.5;
  if (t < 0.6) return null;
  if (t < 0.7) return [1, 'x', { a: 1 }];
  if (depth < 3) return randObject(r, depth + 1);
  return 'leaf';
}

function randObject(r: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) o[randKey(r)] = randValue(r, depth);
  return o;
}

/** Reference flattening: Loki's rules on a parsed object, first value wins. */
function reference(o: Record<string, unknown>, stream: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      if (v === null || Array.isArray(v)) continue;
      if (typeof v === 'object') {
        const part = sanitizeLabelKey(k, prefix === '');
        walk(v as Record<string, unknown>, part === '' ? prefix : prefix === '' ? part : prefix + '_' + part);
        continue;
      }
      const part = sanitizeLabelKey(k, prefix === '');
      let name = prefix === '' ? part : part === '' ? prefix : prefix + '_' + part;
      if (name === '') continue;
      if (stream.has(name)) name += '_extracted';
      if (out.has(name)) continue;
      out.set(name, typeof v === 'string' ? v.replaceAll('\ufffd', ' ') : String(v));
    }
  };
  walk(o, '');
  return out;
}

const fmtLine = (o: unknown, r: () => number): string => (r() < 0.5 ? JSON.stringify(o) : JSON.stringify(o, null, 1));

describe('json parser differential', () => {
  it('full extraction equals the JSON.parse reference', () => {
    const r = seededRandom(42);
    const sp = compilePipeline(parseExpr('{app="x"} | json') as LogSelectorExpr).forStream([{ name: 'app', value: 'x' }]);
    for (let i = 0; i < 2000; i++) {
      const o = randObject(r, 0);
      if (r() < 0.1) o['app'] = 'clash';
      const line = fmtLine(o, r);
      const got = sp.process(0n, Buffer.from(line), [])!.labels.labels();
      const want = reference(o, new Set(['app']));
      want.set('app', 'x');
      const wantArr = [...want].map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : 1));
      expect(got, line).toEqual(wantArr);
    }
  });

  it('key-subset extraction equals the full extraction restricted to the keys', () => {
    const r = seededRandom(7);
    for (let i = 0; i < 300; i++) {
      const o = randObject(r, 0);
      const full = reference(o, new Set(['app']));
      const names = [...full.keys()];
      const pick = names.filter(() => r() < 0.4);
      if (r() < 0.3) pick.push('not_there');
      const e = parseExpr('count_over_time({app="x"} | json [1m])') as RangeAggregationExpr;
      const se = compileSampleExtractor(e.range, e.op, { grouping: { without: false, labels: pick } }).forStream([{ name: 'app', value: 'x' }]);
      const line = fmtLine(o, r);
      const s = se.process(0n, Buffer.from(line), [])!;
      const want = pick
        .filter((n) => full.has(n))
        .sort()
        .map((n) => ({ name: n, value: full.get(n)! }));
      expect(s.labels.labels(), `${line} by ${pick.join(',')}`).toEqual([...new Map(want.map((w) => [w.name, w])).values()]);
    }
  });
});

describe('label needs', () => {
  const needs = (q: string, out: LabelNeeds): (string[] | 'all')[] =>
    needsAfterStages((parseExpr(q) as LogSelectorExpr).stages, out).map((n) => (n.all ? 'all' : [...n.names].sort()));
  it('collects what later stages read', () => {
    const out = new LabelNeeds(false, new Set(['g']));
    expect(needs('{a="b"} | json | x > 1 | label_format y=z, w="{{.v}}" | line_format "{{.u}}"', out)).toEqual([
      ['g', 'u', 'v', 'x', 'z'],
      ['g', 'u', 'v', 'z'],
      ['g', 'u'],
      ['g'],
    ]);
    expect(needs('{a="b"} | json | keep a, b', LabelNeeds.ALL)).toEqual([['a', 'b'], 'all']);
    expect(needs('{a="b"} | json | line_format "{{ . }}"', out)).toEqual(['all', ['g']]);
    expect(needs('{a="b"} | json | drop g', out)).toEqual([[], ['g']]);
  });
});
