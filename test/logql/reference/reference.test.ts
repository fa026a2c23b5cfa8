/**
 * Proves the reference evaluator right on small hand-computed cases, so that a conformance
 * failure points at the engine, not at the reference.
 */
import { describe, expect, it } from 'vitest';
import type { SampleExpr } from '../../../src/logql/syntax/index.js';
import { goParseBytes, goParseDuration, goParseFloat } from './convert.js';
import { evalInstantQuery, evalLogQuery, evalRangeQuery, parse, PipelineError, quantile, type RefMetricResult } from './evaluate.js';
import { decodeLogfmt, patternMatches, patternTest, runPipeline, finalLabels, type RefEntry } from './pipeline.js';
import { parseTemplate, renderTemplate } from './template.js';

const S = 1_000_000_000n;

function entry(tsSec: number, line: string, labels: Record<string, string> = { app: 'a' }): RefEntry {
  return { labels, tsNs: BigInt(tsSec) * S, line };
}

function labelsAfter(query: string, e: RefEntry): Record<string, string> | null {
  const expr = parse(query);
  if (expr.kind !== 'logSelector') throw new Error('log query expected');
  const s = runPipeline(expr, e);
  return s === null ? null : Object.fromEntries(finalLabels(s));
}

function instant(entries: RefEntry[], q: string, tSec: number): RefMetricResult {
  return evalInstantQuery(entries, parse(q) as SampleExpr, BigInt(tSec) * S);
}

function vec(r: RefMetricResult): Record<string, number> {
  if (r.resultType !== 'vector') throw new Error(`vector expected, got ${r.resultType}`);
  return Object.fromEntries(r.result.map((s) => [JSON.stringify(s.metric), s.value[1]]));
}

describe('conversions', () => {
  it('parses Go floats, durations and bytes', () => {
    expect(goParseFloat('1.5')).toBe(1.5);
    expect(goParseFloat('1e3')).toBe(1000);
    expect(goParseFloat('+Inf')).toBe(Infinity);
    expect(goParseFloat('12ms')).toBeNull();
    expect(goParseFloat('')).toBeNull();
    expect(goParseDuration('75.3ms')).toBe(75_300_000);
    expect(goParseDuration('1h2m3s')).toBe(3723e9);
    expect(goParseDuration('0')).toBe(0);
    expect(goParseDuration('12')).toBeNull();
    expect(goParseBytes('10KB')).toBe(10_000);
    expect(goParseBytes('10KiB')).toBe(10_240);
    expect(goParseBytes('1.5 MB')).toBe(1_500_000);
  });
});

describe('windows and steps', () => {
  const es = [1, 2, 3, 4, 5].map((t) => entry(t, `line ${t}`));

  it('window is (t - range, t]: the left edge is excluded, the right edge included', () => {
    expect(vec(instant(es, 'count_over_time({app="a"}[2s])', 3))).toEqual({ '{"app":"a"}': 2 }); // 2, 3
    expect(vec(instant(es, 'count_over_time({app="a"}[1s])', 3))).toEqual({ '{"app":"a"}': 1 }); // 3
    expect(vec(instant(es, 'count_over_time({app="a"}[2s] offset 1s)', 3))).toEqual({ '{"app":"a"}': 2 }); // 1, 2
    expect(vec(instant(es, 'count_over_time({app="a"}[1s])', 10))).toEqual({}); // empty window: no series
  });

  it('rate divides by the range in seconds; bytes count UTF-8 bytes after the pipeline', () => {
    expect(vec(instant(es, 'rate({app="a"}[4s])', 5))).toEqual({ '{"app":"a"}': 1 });
    expect(vec(instant(es, 'bytes_over_time({app="a"}[2s])', 5))).toEqual({ '{"app":"a"}': 12 });
    expect(vec(instant(es, 'bytes_over_time({app="a"} | line_format "é" [2s])', 5))).toEqual({ '{"app":"a"}': 4 });
    expect(vec(instant(es, 'bytes_rate({app="a"}[2s])', 5))).toEqual({ '{"app":"a"}': 6 });
  });

  it('range queries step from start to end inclusive; series appear and vanish', () => {
    const r = evalRangeQuery(es, parse('count_over_time({app="a"} |= "line 2" [1s])') as SampleExpr, 0n, 6n * S, 2n * S);
    expect(r.resultType).toBe('matrix');
    if (r.resultType !== 'matrix') return;
    expect(r.result).toEqual([{ metric: { app: 'a' }, values: [[2n * S, 1]] }]);
    const big = evalRangeQuery(es, parse('count_over_time({app="a"}[1s])') as SampleExpr, 1n * S, 5n * S, 10n * S);
    // step larger than the range: only t = start is evaluated
    expect(big.resultType === 'matrix' && big.result[0]!.values).toEqual([[1n * S, 1]]);
  });
});

describe('range and vector functions', () => {
  it('quantile interpolates like Prometheus', () => {
    expect(quantile(0.5, [4, 1, 3, 2])).toBe(2.5);
    expect(quantile(0.9, [1, 2, 3, 4])).toBeCloseTo(3.7, 12);
    expect(quantile(0, [1, 2, 3, 4])).toBe(1);
    expect(quantile(1, [1, 2, 3, 4])).toBe(4);
    expect(quantile(1.5, [1])).toBe(Infinity);
    expect(quantile(-1, [1])).toBe(-Infinity);
    expect(quantile(0.5, [7])).toBe(7);
  });

  const vals = [
    entry(1, 'v=1', { app: 'a', pod: 'p1' }),
    entry(2, 'v=4', { app: 'a', pod: 'p1' }),
    entry(3, 'v=3', { app: 'a', pod: 'p2' }),
    entry(4, 'v=x', { app: 'a', pod: 'p2' }),
    entry(5, 'w=1', { app: 'b', pod: 'p3' }),
  ];

  it('unwrap: absent label gives no sample, failed conversion is a pipeline error', () => {
    expect(vec(instant(vals, 'sum_over_time({app="a"} | logfmt | unwrap v [3s])', 3))).toEqual({ '{"app":"a","pod":"p1"}': 5, '{"app":"a","pod":"p2"}': 3 });
    expect(vec(instant(vals, 'max_over_time({app="a"} | logfmt | unwrap v [3s]) by (app)', 3))).toEqual({ '{"app":"a"}': 4 });
    expect(vec(instant(vals, 'avg_over_time({app=~"a|b"} | logfmt | unwrap v [10s]) by (app)', 3))).toEqual({ '{"app":"a"}': 8 / 3 });
    expect(vec(instant(vals, 'stdvar_over_time({app="a"} | logfmt | unwrap v [3s]) without (pod)', 3))).toEqual({ '{"app":"a"}': 14 / 9 });
    expect(vec(instant(vals, 'first_over_time({app="a"} | logfmt | unwrap v [3s]) by (app)', 3))).toEqual({ '{"app":"a"}': 1 });
    expect(vec(instant(vals, 'last_over_time({app="a"} | logfmt | unwrap v [3s]) by (app)', 3))).toEqual({ '{"app":"a"}': 3 });
    expect(() => instant(vals, 'sum_over_time({app="a"} | logfmt | unwrap v [3s])', 4)).toThrow(PipelineError);
    expect(vec(instant(vals, 'sum_over_time({app="a"} | logfmt | unwrap v | __error__="" [3s])', 4))).toEqual({ '{"app":"a","pod":"p1"}': 4, '{"app":"a","pod":"p2"}': 3 });
    // the window excluding the bad sample is fine
    expect(vec(instant(vals, 'sum_over_time({app="a"} | logfmt | unwrap v [1s])', 2))).toEqual({ '{"app":"a","pod":"p1"}': 4 });
  });

  it('vector aggregations: by, without, count, topk with ties', () => {
    const es = [entry(1, 'x', { app: 'a', pod: '1' }), entry(1, 'x', { app: 'a', pod: '2' }), entry(2, 'x', { app: 'b', pod: '3' })];
    es[1]!.tsNs = 1_500_000_000n;
    expect(vec(instant(es, 'sum by (app) (count_over_time({app=~".+"}[5s]))', 2))).toEqual({ '{"app":"a"}': 2, '{"app":"b"}': 1 });
    expect(vec(instant(es, 'count without (pod) (count_over_time({app=~".+"}[5s]))', 2))).toEqual({ '{"app":"a"}': 2, '{"app":"b"}': 1 });
    expect(vec(instant(es, 'sum(count_over_time({app=~".+"}[5s]))', 2))).toEqual({ '{}': 3 });
    const top = vec(instant(es, 'topk(2, count_over_time({app=~".+"}[5s]))', 2));
    expect(Object.values(top)).toEqual([1, 1]); // a 3-way tie: any two
    expect(vec(instant(es, 'topk(1, count_over_time({app=~".+"}[5s])) by (app)', 2))).toHaveProperty(['{"app":"b","pod":"3"}'], 1);
  });

  it('binary operations: filters, bool, NaN/Inf, one-to-one matching', () => {
    const es = [entry(1, 'x', { app: 'a' }), entry(2, 'x', { app: 'a' }), entry(2, 'x', { app: 'b' })];
    const q = (s: string) => vec(instant(es, s, 2));
    expect(q('count_over_time({app=~".+"}[5s]) > 1')).toEqual({ '{"app":"a"}': 2 });
    expect(q('count_over_time({app=~".+"}[5s]) > bool 1')).toEqual({ '{"app":"a"}': 1, '{"app":"b"}': 0 });
    expect(q('2 * count_over_time({app=~".+"}[5s])')).toEqual({ '{"app":"a"}': 4, '{"app":"b"}': 2 });
    expect(q('count_over_time({app=~".+"}[5s]) / 0')).toEqual({ '{"app":"a"}': NaN, '{"app":"b"}': NaN }); // Loki: x / 0 is NaN
    const nan = q('(count_over_time({app=~".+"}[5s]) - count_over_time({app=~".+"}[5s])) / 0');
    expect(Object.values(nan).every(Number.isNaN)).toBe(true);
    expect(q('count_over_time({app=~".+"}[5s]) + on (app) count_over_time({app="a"}[5s])')).toEqual({ '{"app":"a"}': 4 });
    expect(q('count_over_time({app=~".+"}[5s]) unless count_over_time({app="a"}[5s])')).toEqual({ '{"app":"b"}': 1 });
    expect(instant(es, '1 + 2', 2)).toEqual({ resultType: 'scalar', result: [2n * S, 3] });
  });
});

describe('pipeline stages', () => {
  it('json flattens objects with _, skips arrays and nulls, keeps number text, suffixes clashes', () => {
    const e = entry(1, '{"level":"info","a":{"b":"c","d":{"e":1.50}},"arr":[1,2],"n":null,"t":true,"we ird":"x","s":"q\\"uote"}', { app: 'a', level: 'warn' });
    expect(labelsAfter('{app="a"} | json', e)).toEqual({ app: 'a', level: 'warn', level_extracted: 'info', a_b: 'c', a_d_e: '1.50', t: 'true', we_ird: 'x', s: 'q"uote' });
    expect(labelsAfter('{app="a"} | json x="a.d.e", y="arr[1]", z="missing", level', e)).toEqual({ app: 'a', level: 'warn', level_extracted: 'info', x: '1.50', y: '2', z: '' });
    expect(labelsAfter('{app="a"} | json', entry(1, 'not json'))).toEqual({ app: 'a', __error__: 'JSONParserErr', __error_details__: '<details>' });
    expect(labelsAfter('{app="a"} | json | __error__=""', entry(1, 'not json'))).toBeNull();
  });

  it('logfmt: bare keys, quoted values, errors only with --strict', () => {
    const line = 'a=1 b="x y" c d= e="q\\"uote" =bad f=2';
    expect(decodeLogfmt(line, false).pairs).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: 'x y' },
      { key: 'c', value: '' },
      { key: 'd', value: '' },
      { key: 'e', value: 'q"uote' },
      { key: 'f', value: '2' },
    ]);
    expect(decodeLogfmt(line, false).error).toBe("logfmt syntax error at pos 30 : unexpected '='");
    expect(labelsAfter('{app="a"} | logfmt', entry(1, line))).toEqual({ app: 'a', a: '1', b: 'x y', e: 'q"uote', f: '2' });
    expect(labelsAfter('{app="a"} | logfmt --keep-empty', entry(1, line))).toEqual({ app: 'a', a: '1', b: 'x y', c: '', d: '', e: 'q"uote', f: '2' });
    expect(labelsAfter('{app="a"} | logfmt --strict', entry(1, line))).toEqual({ app: 'a', a: '1', b: 'x y', e: 'q"uote', __error__: 'LogfmtParserErr', __error_details__: '<details>' });
    expect(labelsAfter('{app="a"} | logfmt app, d="duration"', entry(1, 'app=x duration=5ms'))).toEqual({ app: 'a', app_extracted: 'x', d: '5ms' });
  });

  it('pattern parser and pattern line filter', () => {
    const nginx = '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET /a HTTP/1.1" 200 5';
    expect(patternMatches('<ip> - - [<_>] "<method> <path> <_>" <status> <_>', nginx)).toEqual([
      ['ip', '1.2.3.4'],
      ['method', 'GET'],
      ['path', '/a'],
      ['status', '200'],
    ]);
    // a missing literal: the capture takes the rest
    expect(patternMatches('<a> | <b>', 'x y')).toEqual([['a', 'x y']]);
    expect(patternTest('<_> "GET <_>', nginx)).toBe(true);
    expect(patternTest('<_> 200', nginx)).toBe(false); // ends on a literal: the rest must be empty
    expect(patternTest('<_> 5', nginx)).toBe(true);
  });

  it('regexp, label filters, formats, drop and keep', () => {
    const e = entry(1, 'took 12ms status=500 size=2KB', { app: 'a', level: 'info' });
    expect(labelsAfter('{app="a"} | regexp "took (?P<took>\\\\d+ms) status=(?P<level>\\\\d+)"', e)).toEqual({ app: 'a', level: 'info', took: '12ms', level_extracted: '500' });
    expect(labelsAfter('{app="a"} | logfmt | status >= 500 and size > 1KB', e)).not.toBeNull();
    expect(labelsAfter('{app="a"} | logfmt | status > 500 or size < 1KB', e)).toBeNull();
    expect(labelsAfter('{app="a"} | regexp "took (?P<took>\\\\S+)" | took > 10ms', e)).not.toBeNull();
    // a number filter on a non-number keeps the entry with an error
    expect(labelsAfter('{app="a"} | logfmt | size > 1', e)).toEqual({ app: 'a', level: 'info', status: '500', size: '2KB', __error__: 'LabelFilterErr', __error_details__: '<details>' });
    // absent label: numeric filter fails, string filter compares with ""
    expect(labelsAfter('{app="a"} | nope > 1', e)).toBeNull();
    expect(labelsAfter('{app="a"} | nope = ""', e)).not.toBeNull();
    // Loki quirk: the template data is snapshotted at the stage's first template, after the
    // rename st=status already removed status.
    expect(labelsAfter('{app="a"} | logfmt | label_format st=status, lv="{{.level | ToUpper}}-{{.status}}" | drop size, level="info"', e)).toEqual({ app: 'a', st: '500', lv: 'INFO-' });
    expect(labelsAfter('{app="a"} | logfmt | label_format lv="{{.level | ToUpper}}-{{.status}}", st=status', e)).toEqual({ app: 'a', level: 'info', size: '2KB', st: '500', lv: 'INFO-500' });
    expect(labelsAfter('{app="a"} | logfmt | keep app, status="500"', e)).toEqual({ app: 'a', status: '500' });
    expect(labelsAfter('{app="a"} | logfmt | size > 1 | drop __error__, __error_details__', e)).toEqual({ app: 'a', level: 'info', status: '500', size: '2KB' });
  });

  it('templates: fields, functions, if/else, missing keys render empty', () => {
    const m = new Map([
      ['a', 'x'],
      ['b', ''],
    ]);
    expect(renderTemplate(parseTemplate('{{.a}}|{{ .a | ToUpper }}|{{.missing}}|{{ if .b }}yes{{ else }}no{{ end }}|{{ __line__ }}'), m, 'L')).toBe('x|X||no|L');
  });
});

describe('log queries', () => {
  const es = [entry(1, 'one'), entry(2, 'two', { app: 'b' }), entry(3, 'three'), entry(4, 'four')];
  it('limit and direction apply globally, streams keep the direction order, end is exclusive', () => {
    const sel = parse('{app=~"a|b"}');
    if (sel.kind !== 'logSelector') throw new Error();
    expect(evalLogQuery(es, sel, { startNs: 1n * S, endNs: 4n * S, limit: 2, direction: 'backward' })).toEqual([
      { stream: { app: 'a' }, values: [['3000000000', 'three']] },
      { stream: { app: 'b' }, values: [['2000000000', 'two']] },
    ]);
    expect(evalLogQuery(es, sel, { startNs: 1n * S, endNs: 5n * S, limit: 3, direction: 'forward' })).toEqual([
      { stream: { app: 'a' }, values: [['1000000000', 'one'], ['3000000000', 'three']] },
      { stream: { app: 'b' }, values: [['2000000000', 'two']] },
    ]);
  });

  it('line_format rewrites the line and splits streams by parsed labels', () => {
    const sel = parse('{app="a"} | regexp "(?P<w>o)" | line_format "{{.w}}!"');
    if (sel.kind !== 'logSelector') throw new Error();
    const r = evalLogQuery(es, sel, { startNs: 0n, endNs: 10n * S, limit: 10, direction: 'forward' });
    expect(r).toEqual([
      { stream: { app: 'a', w: 'o' }, values: [['1000000000', 'o!'], ['4000000000', 'o!']] },
      { stream: { app: 'a' }, values: [['3000000000', '!']] },
    ]);
  });
});
