/**
 * Range aggregations over logs (`count_over_time`, `rate`, unwrapped `*_over_time`, ...).
 *
 * One `source.scan` covers the whole query span (start - range - offset, end - offset].
 * Each selected entry runs through the stream's sample extractor; samples are grouped
 * into series by their labels and stored as (offset from `start - offset` in ns, value)
 * in growable Float64Arrays. Each series is then sorted by time (blocks arrive in no
 * particular order) and swept once with two pointers over the step windows (t - range, t].
 * The additive ops (count_over_time, rate, bytes_*, sum_over_time) skip the storage and
 * sort for series that reach `steps` samples: those accumulate each sample straight into
 * per-step counts and sums of the windows holding it (`Additive`).
 * Aggregations follow Loki's pkg/logql/range_vector.go.
 */
import type { Labels } from '../../model/index.js';
import type { LabelsView, SampleExtractor, StreamSampleExtractor } from '../log/pipeline.js';
import type { BlockVisit, EntrySource } from './source.js';
import type { Grouping, LabelMatcher, RangeAggregationExpr, RangeOp } from '../syntax/ast.js';
import { compareLabels, Grouper, labelsKey, sameLabels, setLabel } from './labels.js';
import { MatrixBuilder, SeriesInfo, StepMatrix } from './matrix.js';
import type { Grid } from './grid.js';
import { PipelineError } from './errors.js';
import type { ExtractorFactory } from './types.js';
import { lowerBound } from '../../util/sorted.js';

const ERROR_LABEL = '__error__';
const PRESERVE_ERROR_LABEL = '__preserve_error__';

/** Samples of one output series, in arrival order until `sort()`. */
class SeriesBuf {
  ts = new Float64Array(16);
  v = new Float64Array(16);
  n = 0;
  /**
   * Accumulator mode (additive ops, see `Additive`): difference array of per-step sample
   * counts (length steps+1) and, unless every value is 1, per-step value sums. Once set,
   * `ts`/`v` are dropped and no longer grow.
   */
  cnt: Float64Array | null = null;
  sum: Float64Array | null = null;
  /** Additive path, error series: first step whose window holds one of its samples. */
  errStep = Infinity;
  /** Start index of every ascending run after the first (blocks append sorted runs). */
  private runs: number[] = [];
  private last = -Infinity;
  constructor(
    readonly labels: Labels,
    /** `__error__` value when the series is an unpreserved pipeline error, else ''. */
    readonly error: string,
  ) {}

  push(t: number, x: number): void {
    if (this.n === this.ts.length) this.grow();
    if (t < this.last) this.runs.push(this.n);
    this.ts[this.n] = t;
    this.v[this.n] = x;
    this.n++;
    this.last = t;
  }

  /** Drops the stored samples (the series switched to accumulators). */
  release(): void {
    this.ts = new Float64Array(0);
    this.v = new Float64Array(0);
    this.n = 0;
    this.runs = [];
    this.last = -Infinity;
  }

  private grow(): void {
    const cap = this.ts.length * 2;
    const ts = new Float64Array(cap);
    ts.set(this.ts);
    const v = new Float64Array(cap);
    v.set(this.v);
    this.ts = ts;
    this.v = v;
  }

  /**
   * Stable sort by time (equal times keep arrival order): bottom-up merges of the ascending
   * runs the blocks appended, O(n log runs) on typed arrays.
   */
  sort(): void {
    if (this.runs.length === 0) return;
    const n = this.n;
    let bounds = [0, ...this.runs, n];
    let ts = this.ts;
    let v = this.v;
    let ts2 = new Float64Array(n);
    let v2 = new Float64Array(n);
    while (bounds.length > 2) {
      const next = [0];
      for (let r = 0; r + 1 < bounds.length; r += 2) {
        const a0 = bounds[r]!;
        const a1 = bounds[r + 1]!;
        const b1 = r + 2 < bounds.length ? bounds[r + 2]! : a1;
        let i = a0;
        let j = a1;
        let o = a0;
        while (i < a1 && j < b1) {
          if (ts[j]! < ts[i]!) {
            ts2[o] = ts[j]!;
            v2[o++] = v[j++]!;
          } else {
            ts2[o] = ts[i]!;
            v2[o++] = v[i++]!;
          }
        }
        while (i < a1) {
          ts2[o] = ts[i]!;
          v2[o++] = v[i++]!;
        }
        while (j < b1) {
          ts2[o] = ts[j]!;
          v2[o++] = v[j++]!;
        }
        next.push(b1);
      }
      bounds = next;
      [ts, ts2] = [ts2, ts];
      [v, v2] = [v2, v];
    }
    this.ts = ts;
    this.v = v;
    this.runs = [];
  }
}

/** Range ops whose windows only need the sample count and value sum (no per-sample storage). */
const ADDITIVE_OPS: ReadonlySet<RangeOp> = new Set<RangeOp>(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'sum_over_time']);

/**
 * Internal knobs, for tests: `accumulateAfter` overrides when an additive series switches from
 * sample storage to per-step accumulators (null: once it holds `steps` samples; 0: at once;
 * Infinity: never, i.e. the generic sort-and-sweep path for every op).
 */
export const rangeInternals: { accumulateAfter: number | null } = { accumulateAfter: null };

/**
 * Per-step accumulation for the additive ops. A sample at `rel` belongs to the steps
 * k0..k1 whose windows (lo[k], hi[k]] hold it; counts go into a difference array (O(1) per
 * sample), value sums straight into each window (the sweep's `sumOf` costs the same).
 */
class Additive {
  /** Every sample's value is 1 (count_over_time, rate without unwrap): no sums. */
  readonly unit: boolean;
  /** Series with this many stored samples switch to accumulators. */
  readonly threshold: number;
  k0 = 0;
  k1 = -1;
  constructor(
    e: RangeAggregationExpr,
    private readonly lo: Float64Array,
    private readonly hi: Float64Array,
    private readonly steps: number,
    private readonly stepF: number,
    private readonly rangeF: number,
  ) {
    this.unit = e.op === 'count_over_time' || (e.op === 'rate' && e.range.unwrap === null);
    this.threshold = rangeInternals.accumulateAfter ?? Math.max(16, steps);
  }

  /**
   * Sets k0..k1 to the steps whose windows hold `rel` (k0 > k1: none). The quotients only
   * seed the search; the final bounds use the same comparisons as the sweep.
   */
  locate(rel: number): boolean {
    const steps = this.steps;
    const lo = this.lo;
    const hi = this.hi;
    let k0 = 0;
    let k1 = 0;
    if (this.stepF > 0) {
      k0 = Math.ceil(rel / this.stepF);
      k1 = Math.ceil((rel + this.rangeF) / this.stepF) - 1;
      if (!(k0 >= 0)) k0 = 0;
      else if (k0 > steps) k0 = steps;
      if (!(k1 >= -1)) k1 = -1;
      else if (k1 > steps - 1) k1 = steps - 1;
    }
    // k0: first k with hi[k] >= rel; k1: last k with lo[k] < rel.
    while (k0 > 0 && hi[k0 - 1]! >= rel) k0--;
    while (k0 < steps && hi[k0]! < rel) k0++;
    while (k1 + 1 < steps && lo[k1 + 1]! < rel) k1++;
    while (k1 >= 0 && lo[k1]! >= rel) k1--;
    this.k0 = k0;
    this.k1 = k1;
    return k0 <= k1;
  }

  /** Adds a sample located by the last `locate`. */
  add(s: SeriesBuf, rel: number, x: number): void {
    if (s.error !== '') {
      if (this.k0 < s.errStep) s.errStep = this.k0;
      return;
    }
    if (s.cnt === null) {
      s.push(rel, x);
      if (s.n >= this.threshold) this.convert(s);
      return;
    }
    this.accumulate(s, this.k0, this.k1, x);
  }

  private accumulate(s: SeriesBuf, k0: number, k1: number, x: number): void {
    const cnt = s.cnt!;
    cnt[k0]!++;
    cnt[k1 + 1]!--;
    const sum = s.sum;
    if (sum !== null) for (let k = k0; k <= k1; k++) sum[k]! += x;
  }

  /** Replays the stored samples (arrival order) into fresh accumulators. */
  private convert(s: SeriesBuf): void {
    s.cnt = new Float64Array(this.steps + 1);
    if (!this.unit) s.sum = new Float64Array(this.steps);
    const ts = s.ts;
    const v = s.v;
    const n = s.n;
    s.release();
    for (let i = 0; i < n; i++) if (this.locate(ts[i]!)) this.accumulate(s, this.k0, this.k1, v[i]!);
  }
}

/** Per-stream state: its extractor and the series its last sample went to. */
interface StreamState {
  ex: StreamSampleExtractor;
  last: Labels | null;
  lastErr: string;
  series: SeriesBuf | null;
}

/** Go's time.Duration.Seconds(). */
export function durationSeconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}

/** Aggregates window [a, b) of a series; `end` is the window end (same time base as `ts`). */
type WindowAgg = (ts: Float64Array, v: Float64Array, a: number, b: number, end: number) => number;

function sumOf(v: Float64Array, a: number, b: number): number {
  let s = 0;
  for (let i = a; i < b; i++) s += v[i]!;
  return s;
}

/** Loki/Prometheus `extrapolatedRate` with counter resets, per second (times in ns). */
export function counterRate(ts: Float64Array, v: Float64Array, a: number, b: number, end: number, rangeNs: number, rangeSec: number): number {
  const n = b - a;
  if (n < 2) return 0;
  const start = end - rangeNs;
  const first = v[a]!;
  const lastT = ts[b - 1]!;
  const firstT = ts[a]!;
  let delta = v[b - 1]! - first;
  let prev = 0;
  for (let i = a; i < b; i++) {
    const x = v[i]!;
    if (x < prev) delta += prev;
    prev = x;
  }
  let toStart = (firstT - start) / 1e9;
  let toEnd = (end - lastT) / 1e9;
  const sampled = (lastT - firstT) / 1e9;
  const avgStep = sampled / (n - 1);
  const threshold = avgStep * 1.1;
  if (toStart >= threshold) toStart = avgStep / 2;
  let toZero = toStart;
  if (delta > 0 && first >= 0) toZero = sampled * (first / delta);
  if (toZero < toStart) toStart = toZero;
  if (toEnd >= threshold) toEnd = avgStep / 2;
  const interval = sampled + toStart + toEnd;
  return (delta * (interval / sampled)) / rangeSec;
}

/** Loki `Quantile` over a window: ascending with NaN first, linear interpolation. */
export function quantileOf(q: number, v: Float64Array, a: number, b: number): number {
  const n = b - a;
  if (n === 0) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = v.slice(a, b).sort(); // NaN sorts last here, first in Go's `Less`
  let nan = 0;
  while (nan < n && Number.isNaN(sorted[n - 1 - nan]!)) nan++;
  const at = (i: number): number => (i < nan ? NaN : sorted[i - nan]!);
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return at(lower) * (1 - weight) + at(upper) * weight;
}

function windowAgg(e: RangeAggregationExpr): WindowAgg {
  const rangeNs = Number(e.range.rangeNs);
  const rangeSec = durationSeconds(e.range.rangeNs);
  const unwrap = e.range.unwrap !== null;
  switch (e.op) {
    case 'count_over_time':
    case 'absent_over_time':
      return (_t, _v, a, b) => b - a;
    case 'rate':
      return unwrap ? (_t, v, a, b) => sumOf(v, a, b) / rangeSec : (_t, _v, a, b) => (b - a) / rangeSec;
    case 'bytes_rate':
      return (_t, v, a, b) => sumOf(v, a, b) / rangeSec;
    case 'bytes_over_time':
    case 'sum_over_time':
      return (_t, v, a, b) => sumOf(v, a, b);
    case 'rate_counter':
      return (t, v, a, b, end) => counterRate(t, v, a, b, end, rangeNs, rangeSec);
    case 'avg_over_time':
      return (_t, v, a, b) => {
        let mean = 0;
        let count = 0;
        for (let i = a; i < b; i++) {
          const x = v[i]!;
          count++;
          if (mean === Infinity || mean === -Infinity) {
            if ((x === Infinity || x === -Infinity) && mean > 0 === x > 0) continue;
            if (Number.isFinite(x)) continue;
          }
          mean += x / count - mean / count;
        }
        return mean;
      };
    case 'max_over_time':
      return (_t, v, a, b) => {
        let m = v[a]!;
        for (let i = a; i < b; i++) {
          const x = v[i]!;
          if (x > m || Number.isNaN(m)) m = x;
        }
        return m;
      };
    case 'min_over_time':
      return (_t, v, a, b) => {
        let m = v[a]!;
        for (let i = a; i < b; i++) {
          const x = v[i]!;
          if (x < m || Number.isNaN(m)) m = x;
        }
        return m;
      };
    case 'stdvar_over_time':
    case 'stddev_over_time': {
      const dev = e.op === 'stddev_over_time';
      return (_t, v, a, b) => {
        let aux = 0;
        let count = 0;
        let mean = 0;
        for (let i = a; i < b; i++) {
          const x = v[i]!;
          count++;
          const delta = x - mean;
          mean += delta / count;
          aux += delta * (x - mean);
        }
        return dev ? Math.sqrt(aux / count) : aux / count;
      };
    }
    case 'quantile_over_time': {
      const q = e.param ?? NaN;
      return (_t, v, a, b) => quantileOf(q, v, a, b);
    }
    case 'first_over_time':
      return (_t, v, a) => v[a]!;
    case 'last_over_time':
      return (_t, v, _a, b) => v[b - 1]!;
  }
}

/** Range ops whose per-series results a parent `sum` may group at extraction (Loki `canInjectVectorGrouping`). */
const SUM_PUSHDOWN_OPS: ReadonlySet<RangeOp> = new Set<RangeOp>(['bytes_over_time', 'bytes_rate', 'sum_over_time', 'rate', 'count_over_time']);

export function canPushSumGrouping(e: RangeAggregationExpr): boolean {
  return e.grouping === null && SUM_PUSHDOWN_OPS.has(e.op);
}

/**
 * Labels of absent_over_time's sample: the selector's equality matchers, minus any name that
 * also has another matcher (Loki `absentLabels`).
 */
export function absentLabels(matchers: readonly LabelMatcher[]): Labels {
  const set = new Map<string, string>();
  const drop = new Set<string>();
  for (const m of matchers) {
    if (m.name === '__name__') continue;
    if (m.type === '=' && !set.has(m.name)) set.set(m.name, m.value);
    else drop.add(m.name);
  }
  for (const n of drop) set.delete(n);
  return [...set].map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Evaluates one range aggregation on the grid. `pushed` is the grouping of a parent `sum`
 * applied at extraction (undefined when none).
 */
export async function evalRangeAggregation(
  e: RangeAggregationExpr,
  grid: Grid,
  source: EntrySource,
  factory: ExtractorFactory,
  pushed?: Grouping | null,
): Promise<StepMatrix> {
  const range = e.range;
  const offset = range.offsetNs;
  const base = grid.startNs - offset;
  const fromNs = grid.startNs - range.rangeNs - offset;
  const throughNs = grid.endNs - offset;
  const { lo, hi } = grid.bounds(range.rangeNs);
  const steps = grid.steps;
  const isAbsent = e.op === 'absent_over_time';

  // Output labels: the range grouping, else a pushed-down sum grouping, else all labels
  // (absent_over_time: none). Loki `RangeAggregationExpr.extractor(override)`.
  let grouping: Grouping | undefined;
  if (isAbsent) grouping = { without: false, labels: [] };
  else if (e.grouping !== null) grouping = e.grouping;
  else if (pushed !== undefined) grouping = pushed ?? { without: false, labels: [] };
  const grouper = grouping === undefined ? null : Grouper.of(grouping);
  const extractor: SampleExtractor = grouping === undefined ? factory(range, e.op) : factory(range, e.op, { grouping });
  const streams = new Map<string, StreamState>();
  const byKey = new Map<string, SeriesBuf>();
  const all: SeriesBuf[] = [];

  const resolve = (lv: LabelsView, ls: Labels, err: string): SeriesBuf => {
    let out: Labels;
    let errorType = '';
    if (err !== '') {
      // Loki's GroupedLabels keeps every label of a sample in error.
      out = ls.some((l) => l.name === ERROR_LABEL) ? ls : setLabel(ls, ERROR_LABEL, err);
      if (lv.get(PRESERVE_ERROR_LABEL) !== 'true') errorType = err;
    } else {
      out = grouper === null ? ls : grouper.apply(ls);
    }
    const key = labelsKey(out);
    let s = byKey.get(key);
    if (s === undefined) {
      s = new SeriesBuf(out === ls ? ls.slice() : out, errorType);
      byKey.set(key, s);
      all.push(s);
    }
    return s;
  };

  // With step > range some entries fall in no window: skip them before extraction.
  const gaps = steps > 1 && grid.stepNs > range.rangeNs;
  const stepF = Number(grid.stepNs);
  // Only integer samples (counts, bytes) accumulate: an unwrapped float sum in arrival order
  // would depend on the grid (a series switches once it holds `steps` samples), so a point's
  // bits would differ between a query and its split windows (results cache, query-frontend).
  const add = ADDITIVE_OPS.has(e.op) && range.unwrap === null && rangeInternals.accumulateAfter !== Infinity ? new Additive(e, lo, hi, steps, stepF, Number(range.rangeNs)) : null;
  const inSomeWindow = (rel: number): boolean => {
    const k0 = Math.ceil(rel / stepF);
    for (let k = k0 - 1; k <= k0 + 1; k++) {
      if (k >= 0 && k < steps && rel > lo[k]! && rel <= hi[k]!) return true;
    }
    return false;
  };

  const visit = (v: BlockVisit): void => {
    let st = streams.get(v.fingerprint);
    if (st === undefined) {
      st = { ex: extractor.forStream(v.labels), last: null, lastErr: '', series: null };
      streams.set(v.fingerprint, st);
    }
    const ex = st.ex;
    const block = v.block;
    const tsRel = block.tsRel;
    const offs = block.lineOffsets;
    const lines = block.lines;
    const sel = v.sel;
    const bBase = block.baseNs;
    const blockRel = Number(bBase - base);
    for (let i = v.lo; i < v.hi; i++) {
      if (sel[i] === 0) continue;
      const r = tsRel[i]!;
      const rel = blockRel + r;
      if (add !== null) {
        if (!add.locate(rel)) continue;
      } else if (gaps && !inSomeWindow(rel)) continue;
      const s = ex.process(bBase + BigInt(r), lines.subarray(offs[i]!, offs[i + 1]!), block.metadata(i));
      if (s === null) continue;
      const lv = s.labels;
      const ls = lv.labels();
      const err = lv.error();
      let series = st.series;
      if (series === null || err !== st.lastErr || !sameLabels(ls, st.last!)) {
        series = resolve(lv, ls, err);
        st.series = series;
        st.last = ls.slice();
        st.lastErr = err;
      }
      if (add !== null) add.add(series, rel, s.value);
      else series.push(rel, s.value);
    }
  };
  await source.scan(range.selector, fromNs, throughNs, visit);

  // Unpreserved errors inside any window fail the query (Loki RangeVectorEvaluator.Next).
  let errStep = steps;
  let errSeries: SeriesBuf | null = null;
  const good: SeriesBuf[] = [];
  for (const s of all) {
    s.sort();
    if (s.error === '') {
      good.push(s);
      continue;
    }
    const k = add !== null ? s.errStep : firstNonEmptyStep(s, lo, hi, steps);
    if (k < errStep) {
      errStep = k;
      errSeries = s;
    }
  }
  if (errSeries !== null) throw new PipelineError(errSeries.labels, errSeries.error);

  const tsMs = grid.tsMs(offset);
  if (isAbsent) {
    const any = new Uint8Array(steps);
    for (const s of good) markNonEmpty(s, lo, hi, steps, any);
    const b = new MatrixBuilder(steps);
    for (let k = 0; k < steps; k++) {
      if (any[k] === 0) b.push(0, 1);
      b.endStep();
    }
    return b.build([new SeriesInfo(absentLabels(range.selector.matchers))], tsMs);
  }

  good.sort((x, y) => compareLabels(x.labels, y.labels));
  const div = e.op === 'rate' || e.op === 'bytes_rate' ? durationSeconds(range.rangeNs) : 1;
  return sweep(good, windowAgg(e), lo, hi, steps, tsMs, div);
}

/** First index i ≥ from with ts[i] > x (ts ascending). */
function upper(ts: Float64Array, from: number, n: number, x: number): number {
  let l = from;
  let h = n;
  while (l < h) {
    const m = (l + h) >>> 1;
    if (ts[m]! <= x) l = m + 1;
    else h = m;
  }
  return l;
}


/**
 * Calls `fn(k, a, b)` for every step whose window (lo[k], hi[k]] holds samples [a, b) of the
 * sorted series. Two pointers; empty stretches are skipped by binary search.
 */
function forWindows(s: SeriesBuf, lo: Float64Array, hi: Float64Array, steps: number, fn: (k: number, a: number, b: number) => boolean): void {
  const ts = s.ts;
  const n = s.n;
  let a = 0;
  let b = 0;
  for (let k = 0; k < steps; k++) {
    const h = hi[k]!;
    const l = lo[k]!;
    if (b < n && ts[b]! <= h) b = ts[n - 1]! <= h ? n : upper(ts, b, n, h);
    if (a < b && ts[a]! <= l) a = upper(ts, a, b, l);
    if (b > a) {
      if (!fn(k, a, b)) return;
      continue;
    }
    a = b;
    if (b >= n) return;
    // Nothing in this window: jump to the first step whose window can reach ts[b].
    const next = lowerBound(hi, steps, ts[b]!, k + 1);
    k = next - 1;
  }
}

function firstNonEmptyStep(s: SeriesBuf, lo: Float64Array, hi: Float64Array, steps: number): number {
  let found = steps;
  forWindows(s, lo, hi, steps, (k) => {
    found = k;
    return false;
  });
  return found;
}

function markNonEmpty(s: SeriesBuf, lo: Float64Array, hi: Float64Array, steps: number, any: Uint8Array): void {
  forWindows(s, lo, hi, steps, (k) => {
    any[k] = 1;
    return true;
  });
}

/**
 * Aggregates every series over every window and lays the points out step-major. Series in
 * accumulator mode read their per-step count/sum (divided by `div`: the range in seconds for rates, else 1).
 */
function sweep(series: SeriesBuf[], agg: WindowAgg, lo: Float64Array, hi: Float64Array, steps: number, tsMs: Float64Array, div: number): StepMatrix {
  // Series-major pass into flat arrays, then a stable counting sort by step.
  let cap = 1024;
  let ks = new Int32Array(cap);
  let ss = new Int32Array(cap);
  let vs = new Float64Array(cap);
  let n = 0;
  const counts = new Int32Array(steps + 1);
  for (let si = 0; si < series.length; si++) {
    const s = series[si]!;
    const ts = s.ts;
    const v = s.v;
    const emit = (k: number, x: number): void => {
      if (n === cap) {
        cap *= 2;
        const nk = new Int32Array(cap);
        nk.set(ks);
        ks = nk;
        const ns = new Int32Array(cap);
        ns.set(ss);
        ss = ns;
        const nv = new Float64Array(cap);
        nv.set(vs);
        vs = nv;
      }
      ks[n] = k;
      ss[n] = si;
      vs[n] = x;
      counts[k + 1]!++;
      n++;
    };
    const cnt = s.cnt;
    if (cnt !== null) {
      const sum = s.sum;
      let c = 0;
      for (let k = 0; k < steps; k++) {
        c += cnt[k]!;
        if (c === 0) continue;
        const x = sum === null ? c : sum[k]!;
        emit(k, x / div);
      }
      continue;
    }
    forWindows(s, lo, hi, steps, (k, a, b) => {
      emit(k, agg(ts, v, a, b, hi[k]!));
      return true;
    });
  }
  const off = new Int32Array(steps + 1);
  for (let k = 0; k < steps; k++) off[k + 1] = off[k]! + counts[k + 1]!;
  const pos = off.slice(0, steps);
  const idx = new Int32Array(n);
  const val = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = pos[ks[i]!]!++;
    idx[p] = ss[i]!;
    val[p] = vs[i]!;
  }
  const infos = series.map((s) => new SeriesInfo(s.labels));
  return new StepMatrix(steps, infos, off, idx, val, tsMs);
}

