/**
 * Which parts of a metric query shard, and how shard answers merge back exactly.
 *
 * The query-frontend evaluates a metric query with the engine itself, above its range
 * aggregations (the leaves): queriers evaluate each leaf (per time window, per shard of
 * streams) and the frontend merges the leaf answers and runs the engine over them
 * (`evaluateMetric` with a LeafProvider). Everything above the leaves (vector aggregations,
 * binary operations, label_replace, sorting, series limits) is therefore computed by the
 * engine's own code, in the engine's own order, and only the leaf merge must be exact.
 *
 * A leaf is the range aggregation as the engine evaluates it: with the grouping of a parent
 * `sum` pushed into it (Loki's `canInjectVectorGrouping`), so `sum by (level) (rate(...))`
 * returns one series per level from each shard, not one per stream.
 *
 * Merging one output series (one point) that several shards answer:
 *  - count_over_time, bytes_over_time: the sum of the shards' integers, exact (every partial
 *    is an integer below 2^53, checked). `rate` and `bytes_rate` are asked as their counts
 *    (count_over_time, bytes_over_time; `rate` of an unwrap as sum_over_time) and divided by
 *    the range in seconds after the merge, exactly the division the engine makes.
 *  - min_over_time, max_over_time: the engine's own min/max rule (NaN loses), order-free.
 *  - every other op (sum_over_time of floats, avg, stddev, quantile, first/last…): a
 *    float result depends on the order of its samples, so such a leaf shards only when each of
 *    its output series comes from one stream (no grouping, no stage that drops or rewrites
 *    labels: `drop`, `keep`, `label_format`); then every point is computed in one shard, over
 *    the same samples in the same order as unsharded. A point answered twice is a bug: it fails.
 *  - absent_over_time and rate_counter do not shard.
 * (Loki shards count/rate/bytes leaves and sums, averages as sum/count: float sums in another
 * order; Silt keeps the unsharded bits.)
 */
import { canPushSumGrouping, compareLabels, durationSeconds, foldLiterals, Grid, labelsKey, MatrixBuilder, SeriesInfo, type StepMatrix } from '../../logql/engine/index.js';
import { printExpr, type Grouping, type RangeAggregationExpr, type RangeOp, type SampleExpr } from '../../logql/syntax/index.js';
import { SiltError } from '../../errors.js';
import type { Labels } from '../../model/index.js';

/** How the answers of several shards for one point combine. */
export type Combine = 'sum' | 'min' | 'max' | 'single';

/** One range aggregation of a query, as the engine evaluates it. */
export interface Leaf {
  /** Identifies the leaf: printed range aggregation and pushed grouping. */
  readonly key: string;
  readonly expr: RangeAggregationExpr;
  /** Grouping of a parent `sum` pushed into it; undefined: none. */
  readonly pushed: Grouping | null | undefined;
  /** The LogQL a querier runs for it. */
  readonly downstream: string;
  /** Divisor applied after the merge (the range in seconds of a rate asked as its count); 1 otherwise. */
  readonly div: number;
  readonly combine: Combine;
  /** Whether it may be split into shards at all. */
  readonly shardable: boolean;
}

export function leafKey(e: RangeAggregationExpr, pushed: Grouping | null | undefined): string {
  return printExpr(e) + '\u0000' + (pushed === undefined ? '-' : JSON.stringify(pushed));
}

/** The leaves of `expr`, each once, in evaluation order (mirrors the engine's evalNode). */
export function leavesOf(expr: SampleExpr): Leaf[] {
  const out = new Map<string, Leaf>();
  const walk = (e: SampleExpr): void => {
    switch (e.kind) {
      case 'rangeAggregation':
        add(e, undefined);
        return;
      case 'vectorAggregation':
        if (e.op === 'sum' && e.expr.kind === 'rangeAggregation' && canPushSumGrouping(e.expr)) add(e.expr, e.grouping);
        else walk(e.expr);
        return;
      case 'binOp':
        walk(e.lhs);
        walk(e.rhs);
        return;
      case 'labelReplace':
        walk(e.expr);
        return;
      case 'literal':
      case 'vector':
        return;
    }
  };
  const add = (e: RangeAggregationExpr, pushed: Grouping | null | undefined): void => {
    const key = leafKey(e, pushed);
    if (!out.has(key)) out.set(key, makeLeaf(e, pushed, key));
  };
  walk(foldLiterals(expr));
  return [...out.values()];
}

const COUNTS: ReadonlySet<RangeOp> = new Set<RangeOp>(['count_over_time', 'bytes_over_time']);

function makeLeaf(e: RangeAggregationExpr, pushed: Grouping | null | undefined, key: string): Leaf {
  let op: RangeOp = e.op;
  let div = 1;
  if (op === 'rate') {
    op = e.range.unwrap === null ? 'count_over_time' : 'sum_over_time';
    div = durationSeconds(e.range.rangeNs);
  } else if (op === 'bytes_rate') {
    op = 'bytes_over_time';
    div = durationSeconds(e.range.rangeNs);
  }
  const combine: Combine = COUNTS.has(op) ? 'sum' : op === 'min_over_time' ? 'min' : op === 'max_over_time' ? 'max' : 'single';
  const shardable = op !== 'absent_over_time' && op !== 'rate_counter' && (combine !== 'single' || (e.grouping === null && pushed === undefined && !rewritesLabels(e)));
  const inner: RangeAggregationExpr = { ...e, op };
  const down: SampleExpr = pushed === undefined ? inner : { kind: 'vectorAggregation', op: 'sum', param: null, expr: inner, grouping: pushed };
  return { key, expr: e, pushed, downstream: printExpr(down), div, combine, shardable };
}

/** A stage that can make two streams' samples one series (so one series may span shards). */
function rewritesLabels(e: RangeAggregationExpr): boolean {
  return e.range.selector.stages.some((s) => s.kind === 'drop' || s.kind === 'keep' || s.kind === 'labelFormat');
}

/** One series of a piece's answer: labels in order, points in time order. */
export interface PieceSeries {
  readonly labels: Labels;
  readonly points: readonly { readonly tsMs: number; readonly value: number }[];
}

/** Thrown when shards' answers cannot be merged exactly (a point of a 'single' leaf answered twice). */
export class ShardMergeError extends SiltError {
  constructor(message: string) {
    super('internal', message);
    this.name = 'ShardMergeError';
  }
}

/**
 * Merges the shard answers of one leaf over one grid (a window of the query) into the
 * StepMatrix the engine would have computed for it.
 */
export class LeafMerge {
  readonly #leaf: Leaf;
  readonly #tsMs: Float64Array;
  readonly #stepOf = new Map<number, number>();
  readonly #series = new Map<string, { labels: Labels; val: Float64Array; has: Uint8Array }>();

  constructor(leaf: Leaf, grid: Grid) {
    this.#leaf = leaf;
    // The engine stamps a range aggregation's points with its offset-adjusted times.
    this.#tsMs = grid.tsMs(leaf.expr.range.offsetNs);
    for (let k = 0; k < this.#tsMs.length; k++) this.#stepOf.set(this.#tsMs[k]!, k);
  }

  /** Adds one shard's answer (the series of one piece). */
  add(series: readonly PieceSeries[]): void {
    const steps = this.#tsMs.length;
    const combine = this.#leaf.combine;
    for (const s of series) {
      const key = labelsKey(s.labels);
      let acc = this.#series.get(key);
      if (!acc) this.#series.set(key, (acc = { labels: s.labels, val: new Float64Array(steps), has: new Uint8Array(steps) }));
      for (const p of s.points) {
        const k = this.#stepOf.get(p.tsMs);
        if (k === undefined) throw new ShardMergeError(`shard answer has a point at ${p.tsMs} ms, off the query's grid`);
        const x = p.value;
        if (acc.has[k] === 0) {
          acc.has[k] = 1;
          acc.val[k] = x;
          continue;
        }
        const m = acc.val[k]!;
        switch (combine) {
          case 'sum':
            if (!Number.isSafeInteger(m) || !Number.isSafeInteger(x) || !Number.isSafeInteger(m + x)) throw new ShardMergeError(`count partials ${m} and ${x} are not exact integers`);
            acc.val[k] = m + x;
            break;
          case 'max':
            if (x > m || Number.isNaN(m)) acc.val[k] = x;
            break;
          case 'min':
            if (x < m || Number.isNaN(m)) acc.val[k] = x;
            break;
          case 'single':
            throw new ShardMergeError(`series ${key} answered by two shards at ${p.tsMs} ms`);
        }
      }
    }
  }

  /** The merged leaf: series in label order (as the engine sorts a range aggregation's output). */
  matrix(): StepMatrix {
    const all = [...this.#series.values()].sort((a, b) => compareLabels(a.labels, b.labels));
    const steps = this.#tsMs.length;
    const b = new MatrixBuilder(steps, 16);
    const div = this.#leaf.div;
    for (let k = 0; k < steps; k++) {
      for (let i = 0; i < all.length; i++) {
        const s = all[i]!;
        if (s.has[k] === 1) b.push(i, div === 1 ? s.val[k]! : s.val[k]! / div);
      }
      b.endStep();
    }
    return b.build(
      all.map((s) => new SeriesInfo(s.labels)),
      this.#tsMs,
    );
  }
}
