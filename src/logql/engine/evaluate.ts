/**
 * Metric query evaluation, instant and range, as Loki 3.x (pkg/logql/engine.go `evalSample`,
 * `JoinSampleVector`; evaluator.go step evaluators). Every node evaluates all steps at once
 * into a step-major StepMatrix; the per-step semantics and orders follow Loki's evaluators.
 */
import { InvalidError } from '../../errors.js';
import type { Labels } from '../../model/index.js';
import type { Grouping, RangeAggregationExpr, SampleExpr } from '../syntax/ast.js';
import { foldLiterals, isSetOp, literalBinOp, setBinOp, vectorBinOp } from './binop.js';
import { ERR_END_BEFORE_START, ERR_ZERO_OR_NEGATIVE_STEP, seriesLimitError, stepTooSmallMessage } from './errors.js';
import { Grid } from './grid.js';
import { evalLabelReplace } from './label-replace.js';
import { compareLabels, NO_LABELS } from './labels.js';
import { MatrixBuilder, SeriesInfo, StepMatrix } from './matrix.js';
import { canPushSumGrouping, evalRangeAggregation } from './range.js';
import type { EntrySource } from './source.js';
import type { EvalParams, ExtractorFactory, MatrixSeries, MetricResult, VectorSample } from './types.js';
import { evalVectorAggregation } from './vector-agg.js';

const NS_PER_SECOND = 1_000_000_000n;
const NS_PER_MS = 1_000_000n;
export const DEFAULT_MAX_POINTS = 11_000;

/** Loki's default step for a range query: max(floor((end-start)/250 s), 1 s) in ns (loghttp `defaultQueryRangeStep`). */
export function defaultStepNs(startNs: bigint, endNs: bigint): bigint {
  const secs = (endNs - startNs) / (250n * NS_PER_SECOND);
  return (secs > 1n ? secs : 1n) * NS_PER_SECOND;
}

interface Ctx {
  grid: Grid;
  source: EntrySource;
  factory: ExtractorFactory;
  leaves: LeafProvider | null;
}

/**
 * Range aggregations already evaluated elsewhere (the query-frontend's merged shard pieces):
 * called instead of scanning for every range aggregation node, with the grouping of a parent
 * `sum` pushed into it (undefined: none), exactly where the engine would evaluate it.
 */
export type LeafProvider = (e: RangeAggregationExpr, pushed: Grouping | null | undefined, grid: Grid) => StepMatrix;

/** Evaluates a metric query. Errors: InvalidError (bad step, pipeline error), LimitError (series). */
export async function evaluateMetric(expr: SampleExpr, params: EvalParams, source: EntrySource, extractors: ExtractorFactory, leaves: LeafProvider | null = null): Promise<MetricResult> {
  const instant = params.instant;
  const startNs = params.startNs;
  if (!instant) {
    if (params.endNs < params.startNs) throw new InvalidError(ERR_END_BEFORE_START);
    if (params.stepNs <= 0n) throw new InvalidError(ERR_ZERO_OR_NEGATIVE_STEP);
    const maxPoints = params.maxPoints ?? DEFAULT_MAX_POINTS;
    if ((params.endNs - params.startNs) / params.stepNs > BigInt(Math.trunc(maxPoints))) throw new InvalidError(stepTooSmallMessage(maxPoints));
  }
  const grid = new Grid(startNs, instant ? startNs : params.endNs, params.stepNs, instant);
  const e = foldLiterals(expr);

  // A bare literal or vector(x) (Loki evalLiteral / evalVector).
  if (e.kind === 'literal' || e.kind === 'vector') {
    const tsMs = Number(startNs / NS_PER_MS);
    if (instant) {
      return e.kind === 'literal' ? { type: 'scalar', tsMs, value: e.value } : { type: 'vector', samples: [{ labels: NO_LABELS, tsMs, value: e.value }] };
    }
    const points: { tsMs: number; value: number }[] = [];
    for (let k = 0; k < grid.steps; k++) points.push({ tsMs: Number(grid.at(k) / NS_PER_MS), value: e.value });
    return { type: 'matrix', series: [{ labels: NO_LABELS, points }] };
  }
  if (!instant && containsOp(e, 'approx_topk')) throw new InvalidError('count min sketches are only supported on instant queries');

  const m = await evalNode(e, { grid, source, factory: extractors, leaves });
  return instant ? toVector(m, params.maxSeries, containsOp(e, 'sort') || containsOp(e, 'sort_desc')) : toMatrix(m, params.maxSeries);
}

function containsOp(e: SampleExpr, op: string): boolean {
  switch (e.kind) {
    case 'vectorAggregation':
      return e.op === op || containsOp(e.expr, op);
    case 'binOp':
      return containsOp(e.lhs, op) || containsOp(e.rhs, op);
    case 'labelReplace':
      return containsOp(e.expr, op);
    default:
      return false;
  }
}

async function evalNode(e: SampleExpr, ctx: Ctx): Promise<StepMatrix> {
  switch (e.kind) {
    case 'rangeAggregation':
      return ctx.leaves ? ctx.leaves(e, undefined, ctx.grid) : evalRangeAggregation(e, ctx.grid, ctx.source, ctx.factory);
    case 'vectorAggregation': {
      // Loki pushes a sum's grouping into the range aggregation's extractor.
      const inner =
        e.op === 'sum' && e.expr.kind === 'rangeAggregation' && canPushSumGrouping(e.expr)
          ? ctx.leaves
            ? ctx.leaves(e.expr, e.grouping, ctx.grid)
            : await evalRangeAggregation(e.expr, ctx.grid, ctx.source, ctx.factory, e.grouping)
          : await evalNode(e.expr, ctx);
      return evalVectorAggregation(e, inner);
    }
    case 'binOp': {
      if (e.lhs.kind === 'literal') return literalBinOp(e.op, e.lhs.value, await evalNode(e.rhs, ctx), true, e.returnBool);
      if (e.rhs.kind === 'literal') return literalBinOp(e.op, e.rhs.value, await evalNode(e.lhs, ctx), false, e.returnBool);
      const L = await evalNode(e.lhs, ctx);
      const R = await evalNode(e.rhs, ctx);
      return isSetOp(e.op) ? setBinOp(e, L, R) : vectorBinOp(e, L, R);
    }
    case 'labelReplace':
      return evalLabelReplace(e, await evalNode(e.expr, ctx));
    case 'vector': {
      const b = new MatrixBuilder(ctx.grid.steps, ctx.grid.steps);
      for (let k = 0; k < ctx.grid.steps; k++) {
        b.push(0, e.value);
        b.endStep();
      }
      return b.build([new SeriesInfo(NO_LABELS)], ctx.grid.vectorTsMs());
    }
    case 'literal':
      throw new InvalidError(`unexpected expr type (literal ${e.value}) where a vector is required`);
  }
}

/** Instant result (Loki JoinSampleVector, instant branch): sorted by labels unless sort/sort_desc decided the order. */
function toVector(m: StepMatrix, maxSeries: number, keepOrder: boolean): MetricResult {
  const p0 = m.off[0]!;
  const p1 = m.off[1]!;
  if (p1 - p0 > maxSeries) throw seriesLimitError(maxSeries);
  const tsMs = m.tsMs[0]!;
  const samples: VectorSample[] = [];
  for (let p = p0; p < p1; p++) samples.push({ labels: m.series[m.idx[p]!]!.labels, tsMs, value: m.val[p]! });
  if (!keepOrder) samples.sort((a, b) => compareLabels(a.labels, b.labels));
  return { type: 'vector', samples };
}

/** Range result (Loki JoinSampleVector): series by labels, at most maxSeries of them, sorted. */
function toMatrix(m: StepMatrix, maxSeries: number): MetricResult {
  if (m.steps > 0 && m.off[1]! - m.off[0]! > maxSeries) throw seriesLimitError(maxSeries);
  const outOf = new Int32Array(m.series.length).fill(-1);
  const byKey = new Map<string, number>();
  const out: MatrixSeries[] = [];
  for (let k = 0; k < m.steps; k++) {
    const tsMs = m.tsMs[k]!;
    for (let p = m.off[k]!; p < m.off[k + 1]!; p++) {
      const si = m.idx[p]!;
      let o = outOf[si]!;
      if (o < 0) {
        const info = m.series[si]!;
        const found = byKey.get(info.key);
        if (found === undefined) {
          if (out.length >= maxSeries) throw seriesLimitError(maxSeries);
          o = out.length;
          byKey.set(info.key, o);
          out.push({ labels: info.labels as Labels, points: [] });
        } else {
          o = found;
        }
        outOf[si] = o;
      }
      out[o]!.points.push({ tsMs, value: m.val[p]! });
    }
  }
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  return { type: 'matrix', series: out };
}
