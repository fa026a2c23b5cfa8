import { describe, expect, it } from 'vitest';
import { InvalidError, LimitError } from '../../errors.js';
import { labelsToObject } from '../../model/index.js';
import { parseExpr, type Grouping, type SampleExpr } from '../syntax/index.js';
import { seededRandom } from '../../util/random.js';
import { defaultStepNs, evaluateMetric, PipelineError, type ExtractorFactory, type MetricResult } from './index.js';
import { MemSource, stubExtractors, type MemEntry } from './testing.js';

const SEC = 1_000_000_000n;
const T0 = 1_700_000_000n * SEC;
const T0_MS = 1_700_000_000_000;
/** ns timestamp `sec` seconds after T0 (ms precision). */
const at = (sec: number): bigint => T0 + BigInt(Math.round(sec * 1000)) * 1_000_000n;
const ms = (sec: number): number => T0_MS + Math.round(sec * 1000);

function e(labels: Record<string, string>, sec: number, line = 'msg'): MemEntry {
  return { labels, tsNs: at(sec), line };
}

interface Q {
  start: number;
  end?: number;
  step?: number;
  instant?: boolean;
  maxSeries?: number;
  maxPoints?: number;
}

async function run(query: string, entries: MemEntry[], q: Q, opts: { blockSize?: number; shuffle?: boolean } = {}): Promise<MetricResult> {
  const source = new MemSource(entries, opts);
  const instant = q.instant ?? q.end === undefined;
  return evaluateMetric(
    parseExpr(query) as SampleExpr,
    {
      startNs: at(q.start),
      endNs: at(q.end ?? q.start),
      stepNs: q.step === undefined ? 0n : BigInt(Math.round(q.step * 1000)) * 1_000_000n,
      instant,
      maxSeries: q.maxSeries ?? 500,
      ...(q.maxPoints === undefined ? {} : { maxPoints: q.maxPoints }),
    },
    source,
    stubExtractors,
  );
}

/** Matrix as { '{labels}': [[sec, value], ...] } with seconds relative to T0. */
function matrix(r: MetricResult): Record<string, [number, number][]> {
  if (r.type !== 'matrix') throw new Error(`expected matrix, got ${r.type}`);
  const out: Record<string, [number, number][]> = {};
  for (const s of r.series) out[JSON.stringify(labelsToObject(s.labels))] = s.points.map((p) => [(p.tsMs - T0_MS) / 1000, p.value]);
  return out;
}

/** Vector as an ordered list of [labels, value]. */
function vector(r: MetricResult): [Record<string, string>, number][] {
  if (r.type !== 'vector') throw new Error(`expected vector, got ${r.type}`);
  return r.samples.map((s) => [labelsToObject(s.labels), s.value]);
}

const A = { app: 'a' };

describe('range aggregation windows and steps', () => {
  const entries = [e(A, 10), e(A, 60), e(A, 61), e(A, 120)];
  const cases: { name: string; query: string; q: Q; want: Record<string, [number, number][]> }[] = [
    {
      name: 'window is (t-range, t]: an entry at t-range is excluded, one at t included',
      query: 'count_over_time({app="a"}[1m])',
      q: { start: 60, end: 180, step: 60 },
      want: { '{"app":"a"}': [[60, 2], [120, 2]] },
    },
    {
      name: 'offset shifts the window, not the timestamps',
      query: 'count_over_time({app="a"}[1m] offset 1m)',
      q: { start: 60, end: 180, step: 60 },
      want: { '{"app":"a"}': [[120, 2], [180, 2]] },
    },
    {
      name: 'steps from start while <= end',
      query: 'count_over_time({app="a"}[30s])',
      q: { start: 0, end: 125, step: 30 },
      want: { '{"app":"a"}': [[30, 1], [60, 1], [90, 1], [120, 1]] },
    },
    {
      name: 'step larger than the range skips entries between windows',
      query: 'count_over_time({app="a"}[2s])',
      q: { start: 0, end: 120, step: 60 },
      want: { '{"app":"a"}': [[60, 1], [120, 1]] },
    },
    {
      name: 'rate is count / range seconds',
      query: 'rate({app="a"}[2m])',
      q: { start: 120, end: 120, step: 1 },
      want: { '{"app":"a"}': [[120, 4 / 120]] },
    },
    {
      name: 'negative offset looks ahead',
      query: 'count_over_time({app="a"}[1m] offset -1m)',
      q: { start: 0, end: 60, step: 60 },
      want: { '{"app":"a"}': [[0, 2], [60, 2]] },
    },
  ];
  for (const tc of cases) {
    it(tc.name, async () => {
      expect(matrix(await run(tc.query, entries, tc.q))).toEqual(tc.want);
    });
  }

  it('scans once over [start - range - offset, end - offset]', async () => {
    const source = new MemSource(entries);
    await evaluateMetric(
      parseExpr('count_over_time({app="a"}[1m] offset 30s)') as SampleExpr,
      { startNs: at(100), endNs: at(200), stepNs: 10n * SEC, instant: false, maxSeries: 500 },
      source,
      stubExtractors,
    );
    expect(source.scans).toEqual([{ fromNs: at(10), throughNs: at(170) }]);
  });

  it('series appear and vanish; matrix sorted by labels', async () => {
    const r = await run('count_over_time({app="x"}[30s])', [e({ app: 'x', level: 'info' }, 10), e({ app: 'x', level: 'error' }, 70)], { start: 0, end: 120, step: 30 });
    expect(r.type === 'matrix' && r.series.map((s) => labelsToObject(s.labels)['level'])).toEqual(['error', 'info']);
    expect(matrix(r)).toEqual({ '{"app":"x","level":"error"}': [[90, 1]], '{"app":"x","level":"info"}': [[30, 1]] });
  });

  it('empty data: empty matrix and empty vector', async () => {
    expect(await run('count_over_time({app="none"}[1m])', [e(A, 1)], { start: 0, end: 100, step: 10 })).toEqual({ type: 'matrix', series: [] });
    expect(await run('count_over_time({app="none"}[1m])', [e(A, 1)], { start: 100 })).toEqual({ type: 'vector', samples: [] });
  });

  it('instant query: one sample at start with the window (start - range, start]', async () => {
    const r = await run('bytes_over_time({app="a"}[1m])', [e(A, 40, 'abc'), e(A, 41, 'de'), e(A, 100, 'x')], { start: 100 });
    expect(r).toEqual({ type: 'vector', samples: [{ labels: [{ name: 'app', value: 'a' }], tsMs: ms(100), value: 3 }] });
  });

  it('blocks arriving out of order are sorted per series', async () => {
    const lines = [e(A, 1, 'x=5'), e(A, 2, 'x=7'), e(A, 3, 'x=1'), e(A, 4, 'x=9'), e(A, 5, 'x=2')];
    for (const [q, want] of [
      ['first_over_time({app="a"} | unwrap x [10s])', 5],
      ['last_over_time({app="a"} | unwrap x [10s])', 2],
    ] as const) {
      const r = await run(q, lines, { start: 6 }, { blockSize: 2, shuffle: true });
      expect(vector(r)).toEqual([[A, want]]);
    }
  });
});

describe('unwrapped range aggregations', () => {
  const lines = [e(A, 1, 'x=1'), e(A, 2, 'x=3'), e(A, 3, 'a=b x=2'), e(A, 4, 'x=10 y=1'), e(A, 4.5, 'nothing')];
  const cases: [string, number][] = [
    ['sum_over_time({app="a"} | unwrap x [10s])', 16],
    ['avg_over_time({app="a"} | unwrap x [10s])', 4],
    ['min_over_time({app="a"} | unwrap x [10s])', 1],
    ['max_over_time({app="a"} | unwrap x [10s])', 10],
    ['first_over_time({app="a"} | unwrap x [10s])', 1],
    ['last_over_time({app="a"} | unwrap x [10s])', 10],
    ['stdvar_over_time({app="a"} | unwrap x [10s])', 12.5],
    ['stddev_over_time({app="a"} | unwrap x [10s])', Math.sqrt(12.5)],
    ['quantile_over_time(0.5, {app="a"} | unwrap x [10s])', 2.5],
    ['quantile_over_time(1.5, {app="a"} | unwrap x [10s])', Infinity],
    ['rate({app="a"} | unwrap x [10s])', 1.6],
    // counter 1,3,2,10 with a reset: increase 12 extrapolated to 4.25s of 3s sampled, per 10s.
    ['rate_counter({app="a"} | unwrap x [10s])', 1.7],
  ];
  for (const [q, want] of cases) {
    it(q, async () => {
      const v = vector(await run(q, lines, { start: 5 }));
      expect(v).toHaveLength(1);
      expect(v[0]![1]).toBeCloseTo(want, 12);
    });
  }

  it('a sample extraction error fails the query with Loki message', async () => {
    const bad = [...lines, e(A, 4.6, 'x=abc')];
    const err = await run('sum_over_time({app="a"} | unwrap x [10s])', bad, { start: 5 }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as Error).message).toBe(
      `pipeline error: 'SampleExtractionErr' for series: '{__error__="SampleExtractionErr", __error_details__="bad value", app="a"}'.\n` +
        `Use a label filter to intentionally skip this error. (e.g | __error__!="SampleExtractionErr").\n` +
        `To skip all potential errors you can match empty errors.(e.g __error__="")\n` +
        `The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )\n`,
    );
    expect((err as InvalidError).kind).toBe('invalid');
    // Errors inside a sum still fail (grouping keeps every label of an erroneous sample).
    await expect(run('sum by (app) (sum_over_time({app="a"} | unwrap x [10s]))', bad, { start: 5 })).rejects.toBeInstanceOf(PipelineError);
    // Filtered errors, or errors outside every window, do not.
    expect(vector(await run('sum_over_time({app="a"} | unwrap x | __error__="" [10s])', bad, { start: 5 }))).toEqual([[A, 16]]);
    expect(matrix(await run('sum_over_time({app="a"} | unwrap x [1s])', bad, { start: 2, end: 22, step: 10 }))).toEqual({ '{"app":"a"}': [[2, 3]] });
  });
});

describe('absent_over_time', () => {
  it('1 with the equality matchers when nothing is in the window', async () => {
    const q = 'absent_over_time({app="a", env=~"p.*", job="j", job="k"}[1m])';
    expect(vector(await run(q, [], { start: 100 }))).toEqual([[{ app: 'a' }, 1]]);
    const r = await run('absent_over_time({app="a"}[30s])', [e(A, 10)], { start: 0, end: 90, step: 30 });
    expect(matrix(r)).toEqual({ '{"app":"a"}': [[0, 1], [60, 1], [90, 1]] });
  });
});

describe('vector aggregations', () => {
  const X = (level: string, pod: string) => ({ app: 'x', level, pod });
  const data = [
    e(X('info', '1'), 1, 'x=5'),
    e(X('info', '1'), 2, 'x=7'),
    ...[1, 2, 3, 4].map((s) => e(X('info', '2'), s, `x=${s}`)),
    e(X('error', '1'), 3, 'x=9'),
    e(X('warn', '3'), 1, 'x=3'),
    e(X('warn', '3'), 2, 'x=8'),
  ];
  const U = '{app="x"} | unwrap x [1m]';
  const C = 'count_over_time({app="x", level!="warn"}[1m])';
  const cases: [string, [Record<string, string>, number][]][] = [
    [`sum by (level) (${C})`, [[{ level: 'error' }, 1], [{ level: 'info' }, 6]]],
    [`sum(${C})`, [[{}, 7]]],
    [`sum(${C}) by (level)`, [[{ level: 'error' }, 1], [{ level: 'info' }, 6]]],
    [`sum without (pod) (${C})`, [[{ app: 'x', level: 'error' }, 1], [{ app: 'x', level: 'info' }, 6]]],
    [`avg by (level) (${C})`, [[{ level: 'error' }, 1], [{ level: 'info' }, 3]]],
    [`max(${C})`, [[{}, 4]]],
    [`min(${C})`, [[{}, 1]]],
    [`count(${C})`, [[{}, 3]]],
    [`stdvar(${C})`, [[{}, 14 / 9]]],
    [`stddev(${C})`, [[{}, Math.sqrt(14 / 9)]]],
    [`max_over_time(${U}) by (level)`, [[{ level: 'error' }, 9], [{ level: 'info' }, 7], [{ level: 'warn' }, 8]]],
    [`max_over_time(${U}) by ()`, [[{}, 9]]],
    [`min_over_time(${U}) without (pod, app)`, [[{ level: 'error' }, 9], [{ level: 'info' }, 1], [{ level: 'warn' }, 3]]],
    [`sum by (level) (max_over_time(${U}) by (level, pod))`, [[{ level: 'error' }, 9], [{ level: 'info' }, 11], [{ level: 'warn' }, 8]]],
    [`sum(sum_over_time(${U}))`, [[{}, 9 + 12 + 10 + 11]]],
    // topk/bottomk results are sorted by labels (instant, no sort()).
    [`topk(2, ${C})`, [[X('info', '1'), 2], [X('info', '2'), 4]]],
    [`bottomk(1, ${C})`, [[X('error', '1'), 1]]],
    [`topk by (level) (1, ${C})`, [[X('error', '1'), 1], [X('info', '2'), 4]]],
    // Ties: the smaller label set wins, deterministically.
    [`topk(1, count_over_time({app="x", level=~"info|warn", pod!="2"}[1m]))`, [[X('info', '1'), 2]]],
    [`approx_topk(1, ${C})`, [[X('info', '2'), 4]]],
    // sort/sort_desc keep their order.
    [`sort_desc(${C})`, [[X('info', '2'), 4], [X('info', '1'), 2], [X('error', '1'), 1]]],
    [`sort(${C})`, [[X('error', '1'), 1], [X('info', '1'), 2], [X('info', '2'), 4]]],
    [`sort(${C} * 2)`, [[X('error', '1'), 2], [X('info', '1'), 4], [X('info', '2'), 8]]],
  ];
  for (const [q, want] of cases) {
    it(q, async () => {
      const got = vector(await run(q, data, { start: 10 }));
      expect(got.map(([l]) => l)).toEqual(want.map(([l]) => l));
      got.forEach(([, v], i) => expect(v).toBeCloseTo(want[i]![1], 12));
    });
  }

  it('approx_topk is instant only', async () => {
    await expect(run(`approx_topk(1, ${C})`, data, { start: 10, end: 20, step: 10 })).rejects.toThrow('count min sketches are only supported on instant queries');
  });

  it('sum pushdown gives the same result as a plain sum', async () => {
    const rnd = seededRandom(7);
    const es: MemEntry[] = [];
    for (let i = 0; i < 3000; i++) {
      es.push(e({ app: 'r', level: ['a', 'b', 'c'][Math.floor(rnd() * 3)]!, pod: String(Math.floor(rnd() * 20)) }, Math.floor(rnd() * 600_000) / 1000, 'x'.repeat(Math.floor(rnd() * 50))));
    }
    const q: Q = { start: 60, end: 600, step: 7 };
    for (const op of ['count_over_time', 'bytes_over_time', 'rate']) {
      const pushed = matrix(await run(`sum by (level) (${op}({app="r"}[45s]))`, es, q, { blockSize: 37, shuffle: true }));
      const plain = matrix(await run(`sum by (level) (${op}({app="r"}[45s]) * 1)`, es, q));
      expect(Object.keys(pushed)).toEqual(Object.keys(plain));
      for (const k of Object.keys(plain)) {
        expect(pushed[k]!.map((p) => p[0])).toEqual(plain[k]!.map((p) => p[0]));
        pushed[k]!.forEach((p, i) => expect(p[1]).toBeCloseTo(plain[k]![i]![1], 9));
      }
    }
  });
});

describe('windows against a naive reference', () => {
  it('count_over_time matches a per-step recount for random steps, ranges and offsets', async () => {
    const rnd = seededRandom(11);
    for (let round = 0; round < 30; round++) {
      const es: MemEntry[] = [];
      const n = 1 + Math.floor(rnd() * 300);
      // Whole seconds so that many entries sit exactly on window edges.
      for (let i = 0; i < n; i++) es.push(e({ app: 'n', s: String(Math.floor(rnd() * 3)) }, Math.floor(rnd() * 200)));
      const range = 1 + Math.floor(rnd() * 60);
      const step = 1 + Math.floor(rnd() * 40);
      const offset = Math.floor(rnd() * 30) - 10;
      const start = Math.floor(rnd() * 100);
      const end = start + Math.floor(rnd() * 120);
      const off = offset === 0 ? '' : ` offset ${offset}s`;
      const got = matrix(await run(`count_over_time({app="n"}[${range}s]${off})`, es, { start, end, step }, { blockSize: 1 + Math.floor(rnd() * 20), shuffle: rnd() < 0.5 }));
      const want: Record<string, [number, number][]> = {};
      for (const s of ['0', '1', '2']) {
        const pts: [number, number][] = [];
        for (let t = start; t <= end; t += step) {
          const c = es.filter((x) => x.labels['s'] === s && x.tsNs > at(t - offset - range) && x.tsNs <= at(t - offset)).length;
          if (c > 0) pts.push([t, c]);
        }
        if (pts.length > 0) want[`{"app":"n","s":"${s}"}`] = pts;
      }
      expect(got).toEqual(want);
    }
  });
});

describe('binary operations', () => {
  const X = (level: string, pod: string) => ({ app: 'x', level, pod });
  const data = [e(X('info', '1'), 1), e(X('info', '1'), 2), ...[1, 2, 3, 4].map((s) => e(X('info', '2'), s)), e(X('error', '1'), 3)];
  const C = 'count_over_time({app="x"}[1m])';
  const S = 'sum by (level) (count_over_time({app="x"}[1m]))';
  const E1 = X('error', '1');
  const I1 = X('info', '1');
  const I2 = X('info', '2');
  const cases: [string, [Record<string, string>, number][]][] = [
    [`${C} * 2`, [[E1, 2], [I1, 4], [I2, 8]]],
    [`10 - ${C}`, [[E1, 9], [I1, 8], [I2, 6]]],
    [`${C} - 10`, [[E1, -9], [I1, -8], [I2, -6]]],
    [`2 ^ ${C}`, [[E1, 2], [I1, 4], [I2, 16]]],
    [`${C} % 3`, [[E1, 1], [I1, 2], [I2, 1]]],
    [`${C} / 0`, [[E1, NaN], [I1, NaN], [I2, NaN]]],
    [`${C} % 0`, [[E1, NaN], [I1, NaN], [I2, NaN]]],
    [`-1 / 0 * ${C}`, [[E1, NaN], [I1, NaN], [I2, NaN]]],
    [`${C} > 1`, [[I1, 2], [I2, 4]]],
    [`1 < ${C}`, [[I1, 2], [I2, 4]]],
    [`${C} > bool 1`, [[E1, 0], [I1, 1], [I2, 1]]],
    [`${C} == bool 2`, [[E1, 0], [I1, 1], [I2, 0]]],
    [`${C} != 2`, [[E1, 1], [I2, 4]]],
    [`${C} + ${C}`, [[E1, 2], [I1, 4], [I2, 8]]],
    [`${C} >= ${C} * 2`, []],
    [`${C} < bool ${C} * 2`, [[E1, 1], [I1, 1], [I2, 1]]],
    [`${C} / on (level) group_left ${S}`, [[E1, 1], [I1, 2 / 6], [I2, 4 / 6]]],
    [`${C} / ignoring (app, pod) group_left ${S}`, [[E1, 1], [I1, 2 / 6], [I2, 4 / 6]]],
    [`${S} / on (level) group_right ${C}`, [[E1, 1], [I1, 3], [I2, 1.5]]],
    [
      `${C} * on (level) group_left (team) label_replace(${S}, "team", "t-$1", "level", "(.*)")`,
      [[{ ...E1, team: 't-error' }, 1], [{ ...I1, team: 't-info' }, 12], [{ ...I2, team: 't-info' }, 24]],
    ],
    [`${S} + on (level) ${S}`, [[{ level: 'error' }, 2], [{ level: 'info' }, 12]]],
    [`${C} and ${C} > 1`, [[I1, 2], [I2, 4]]],
    [`${C} unless ${C} > 1`, [[E1, 1]]],
    [`${C} > 3 or ${C} < 2`, [[E1, 1], [I2, 4]]],
    [`${C} and on (level) count_over_time({app="x", level="error"}[1m])`, [[E1, 1]]],
    [`${C} unless on (level) count_over_time({app="none"}[1m])`, [[E1, 1], [I1, 2], [I2, 4]]],
    [`count_over_time({app="none"}[1m]) or vector(0)`, [[{}, 0]]],
    [`vector(1) + vector(1)`, [[{}, 2]]],
    [`vector(3) - 1`, [[{}, 2]]],
  ];
  for (const [q, want] of cases) {
    it(q, async () => {
      const got = vector(await run(q, data, { start: 10 }));
      expect(got.map(([l]) => l)).toEqual(want.map(([l]) => l));
      got.forEach(([, v], i) => (Number.isNaN(want[i]![1]) ? expect(v).toBeNaN() : expect(v).toBeCloseTo(want[i]![1], 12)));
    });
  }

  const errors: [string, string][] = [
    [`${C} / on (level) ${S}`, 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)'],
    [`${S} / on (level) ${C}`, 'found duplicate series on the right hand-side;many-to-many matching not allowed: matching labels must be unique on one side'],
    [`${S} / on (level) group_right ${S} * on() group_left ${C}`, 'found duplicate series on the right hand-side;many-to-many matching not allowed: matching labels must be unique on one side'],
    [`${C} / on (app) group_right ${S}`, 'found duplicate series on the left hand-side;many-to-many matching not allowed: matching labels must be unique on one side'],
    [`${C} + on (level) group_left sum by (level, app) (${C}) * on (app) group_left (level) ${S}`, 'found duplicate series on the right hand-side;many-to-many matching not allowed: matching labels must be unique on one side'],
  ];
  for (const [q, msg] of errors) {
    it(`error: ${q}`, async () => {
      await expect(run(q, data, { start: 10 })).rejects.toThrow(msg);
    });
  }

  it('group_left producing the same labels twice is refused', async () => {
    await expect(run(`label_replace(${C}, "pod", "", "pod", ".*") + on (level) group_left ${S}`, data, { start: 10 })).rejects.toThrow(
      'multiple matches for labels: grouping labels must ensure unique matches',
    );
  });

  const scalars: [string, number][] = [
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['2 ^ 3 ^ 2', 512],
    ['2 > 1', 1],
    ['1 > 2', 0],
    ['1 > bool 2', 0],
    ['1 / 0', NaN],
    ['-1 % 0', NaN],
    ['5 % -3', 2],
    ['-5 % 3', -2],
    ['1 ^ (0 / 0)', 1],
  ];
  for (const [q, want] of scalars) {
    it(`scalar ${q}`, async () => {
      const r = await run(q, [], { start: 10 });
      expect(r.type).toBe('scalar');
      if (r.type === 'scalar') {
        expect(r.tsMs).toBe(ms(10));
        if (Number.isNaN(want)) expect(r.value).toBeNaN();
        else expect(r.value).toBe(want);
      }
    });
  }

  it('literal and vector() range queries give one series per step', async () => {
    const pts = [[0, 3], [30, 3], [60, 3]];
    expect(matrix(await run('1 + 2', [], { start: 0, end: 70, step: 30 }))).toEqual({ '{}': pts });
    expect(matrix(await run('vector(3)', [], { start: 0, end: 70, step: 30 }))).toEqual({ '{}': pts });
    expect(matrix(await run('vector(1) + 2', [], { start: 0, end: 70, step: 30 }))).toEqual({ '{}': pts });
    expect(await run('vector(1) + vector(1)', [], { start: 5 })).toEqual({ type: 'vector', samples: [{ labels: [], tsMs: ms(5), value: 2 }] });
  });

  it('binary operations follow series through steps', async () => {
    const r = await run(`count_over_time({app="x"}[1s]) > bool 0 or vector(0)`, data, { start: 0, end: 5, step: 1 });
    expect(matrix(r)).toEqual({
      '{"app":"x","level":"error","pod":"1"}': [[3, 1]],
      '{"app":"x","level":"info","pod":"1"}': [[1, 1], [2, 1]],
      '{"app":"x","level":"info","pod":"2"}': [[1, 1], [2, 1], [3, 1], [4, 1]],
      // Without on(), vector(0)'s empty label set matches nothing on the left.
      '{}': [[0, 0], [1, 0], [2, 0], [3, 0], [4, 0], [5, 0]],
    });
  });
});

describe('label_replace', () => {
  const data = [e({ app: 'x', level: 'info' }, 1), e({ app: 'x', level: 'error' }, 2)];
  const C = 'count_over_time({app="x"}[1m])';
  const cases: [string, Record<string, string>[]][] = [
    [`label_replace(${C}, "dst", "$1-$2", "level", "(i)(nfo)")`, [{ app: 'x', dst: 'i-nfo', level: 'info' }, { app: 'x', level: 'error' }]],
    [`label_replace(${C}, "dst", "$1", "level", "nf")`, [{ app: 'x', level: 'error' }, { app: 'x', level: 'info' }]],
    [`label_replace(${C}, "dst", "\${name}x$$", "level", "(?P<name>e.*)")`, [{ app: 'x', dst: 'errorx$', level: 'error' }, { app: 'x', level: 'info' }]],
    [`label_replace(${C}, "dst", "$1x", "level", "(.*)")`, [{ app: 'x', level: 'error' }, { app: 'x', level: 'info' }]],
    [`label_replace(${C}, "level", "", "level", "info")`, [{ app: 'x' }, { app: 'x', level: 'error' }]],
    [`label_replace(${C}, "new", "v", "missing", "")`, [{ app: 'x', level: 'error', new: 'v' }, { app: 'x', level: 'info', new: 'v' }]],
  ];
  for (const [q, want] of cases) {
    it(q, async () => {
      expect(vector(await run(q, data, { start: 10 })).map(([l]) => l)).toEqual(want);
    });
  }
});

describe('limits and parameters', () => {
  const data = [e({ app: 'x', p: '1' }, 1), e({ app: 'x', p: '2' }, 2), e({ app: 'x', p: '3' }, 35)];
  const msg =
    'maximum number of series (2) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()';

  it('too many series', async () => {
    await expect(run('count_over_time({app="x"}[1m])', data, { start: 40, maxSeries: 2 })).rejects.toThrow(msg);
    const err = await run('count_over_time({app="x"}[10s])', data, { start: 0, end: 40, step: 10, maxSeries: 2 }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(LimitError);
    expect((err as Error).message).toBe(msg);
    // Two at a time is fine as long as the whole result has two series.
    expect(Object.keys(matrix(await run('sum(count_over_time({app="x"}[10s]))', data, { start: 0, end: 40, step: 10, maxSeries: 1 })))).toEqual(['{}']);
  });

  it('too many points per series', async () => {
    const q = { start: 0, end: 110.01, step: 0.01 };
    await expect(run('count_over_time({app="x"}[1m])', data, q)).rejects.toThrow(
      'exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter',
    );
    await expect(run('count_over_time({app="x"}[1m])', data, { ...q, end: 110 })).resolves.toBeDefined();
    await expect(run('count_over_time({app="x"}[1m])', data, { start: 0, end: 10, step: 1, maxPoints: 5 })).rejects.toThrow('exceeded maximum resolution of 5 points');
  });

  it('zero or negative step', async () => {
    for (const step of [0, -1]) {
      const err = await run('count_over_time({app="x"}[1m])', data, { start: 0, end: 10, step, instant: false }).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(InvalidError);
      expect((err as Error).message).toBe('zero or negative query resolution step widths are not accepted. Try a positive integer');
    }
  });

  it('default step', () => {
    expect(defaultStepNs(at(0), at(3600))).toBe(14n * SEC);
    expect(defaultStepNs(at(0), at(60))).toBe(1n * SEC);
    expect(defaultStepNs(at(0), at(0))).toBe(1n * SEC);
  });
});

describe('extractor factory', () => {
  it('receives the grouping to apply: the range one, a pushed-down sum one, none, or by () for absent', async () => {
    const seen: (Grouping | null | undefined | 'none')[] = [];
    const spy: ExtractorFactory = (range, op, opts) => {
      seen.push(opts === undefined ? 'none' : opts.grouping);
      return stubExtractors(range, op);
    };
    const src = new MemSource([e(A, 1, 'x=1')]);
    const p = { startNs: at(5), endNs: at(5), stepNs: 0n, instant: true, maxSeries: 500 };
    for (const q of [
      'sum by (app) (count_over_time({app="a"}[1m]))',
      'sum(rate({app="a"}[1m]))',
      'max_over_time({app="a"} | unwrap x [1m]) without (pod)',
      'max by (app) (count_over_time({app="a"}[1m]))',
      'sum by (app) (max_over_time({app="a"} | unwrap x [1m]))',
      'absent_over_time({app="a"}[1m])',
    ]) {
      await evaluateMetric(parseExpr(q) as SampleExpr, p, src, spy);
    }
    expect(seen).toEqual([
      { without: false, labels: ['app'] },
      { without: false, labels: [] },
      { without: true, labels: ['pod'] },
      'none',
      'none',
      { without: false, labels: [] },
    ]);
  });
});
