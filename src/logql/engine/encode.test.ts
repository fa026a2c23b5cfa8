import { describe, expect, it } from 'vitest';
// The HTTP encoder lives in src/server; its test sits here beside the formatting it relies on.
import { encodeMetricData } from '../../loghttp/encode-metric.js';
import { formatGoFloat, formatPromTimestamp } from './format.js';
import { goExpand } from './label-replace.js';

describe('formatGoFloat (strconv.FormatFloat(v, f, -1, 64))', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [-0, '-0'],
    [1, '1'],
    [-2.5, '-2.5'],
    [0.1, '0.1'],
    [1 / 3, '0.3333333333333333'],
    [1e21, '1000000000000000000000'],
    [1.5e22, '15000000000000000000000'],
    [1e-7, '0.0000001'],
    [-1.25e-9, '-0.00000000125'],
    [123456789012345680000, '123456789012345680000'],
    [Number.MAX_VALUE, '17976931348623157' + '0'.repeat(292)],
    [5e-324, '0.' + '0'.repeat(323) + '5'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ];
  it.each(cases)('%s → %s', (v, want) => expect(formatGoFloat(v)).toBe(want));

  it('timestamps are unix seconds', () => {
    expect(formatPromTimestamp(1_700_000_000_000)).toBe('1700000000');
    expect(formatPromTimestamp(1_700_000_000_500)).toBe('1700000000.5');
    expect(formatPromTimestamp(1_700_000_000_001)).toBe('1700000000.001');
    expect(formatPromTimestamp(0)).toBe('0');
  });
});

describe('encodeMetricData', () => {
  const L = [
    { name: 'app', value: 'a"b' },
    { name: 'level', value: 'info' },
  ];
  it('matrix', () => {
    const s = encodeMetricData({
      type: 'matrix',
      series: [
        { labels: L, points: [{ tsMs: 1_700_000_000_000, value: 1 }, { tsMs: 1_700_000_000_500, value: NaN }] },
        { labels: [], points: [{ tsMs: 1_700_000_001_000, value: -Infinity }] },
      ],
    });
    expect(s).toBe(
      '{"resultType":"matrix","result":[{"metric":{"app":"a\\"b","level":"info"},"values":[[1700000000,"1"],[1700000000.5,"NaN"]]},{"metric":{},"values":[[1700000001,"-Inf"]]}]}',
    );
    expect(JSON.parse(s)).toBeTruthy();
  });
  it('vector', () => {
    expect(encodeMetricData({ type: 'vector', samples: [{ labels: [], tsMs: 1_700_000_000_000, value: 2 }] })).toBe(
      '{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"2"]}]}',
    );
    expect(encodeMetricData({ type: 'vector', samples: [] })).toBe('{"resultType":"vector","result":[]}');
  });
  it('scalar', () => {
    expect(encodeMetricData({ type: 'scalar', tsMs: 1_700_000_000_250, value: 0.5 })).toBe('{"resultType":"scalar","result":[1700000000.25,"0.5"]}');
  });
});

describe('goExpand (regexp.Expand)', () => {
  const groups = ['whole', 'a', undefined, 'c'];
  const named = { n: 'N', x_1: 'X' };
  const cases: [string, string][] = [
    ['$1', 'a'],
    ['${1}x', 'ax'],
    ['$1x', ''],
    ['$2', ''],
    ['$3-$0', 'c-whole'],
    ['$9', ''],
    ['$01', ''],
    ['$$1', '$1'],
    ['${n}', 'N'],
    ['$x_1.', 'X.'],
    ['a$', 'a$'],
    ['${1', '${1'],
    ['$-', '$-'],
    ['${}', '${}'],
  ];
  it.each(cases)('%s → %s', (t, want) => expect(goExpand(t, groups, named)).toBe(want));
});
