/** Public shapes of the metric engine. */
import type { Labels } from '../../model/index.js';
import type { SampleExtractor } from '../log/pipeline.js';
import type { Grouping, LogRangeExpr, RangeOp } from '../syntax/ast.js';

export interface EvalParams {
  /** First evaluation time (ns). */
  startNs: bigint;
  /** Last evaluation time (ns); equal to startNs for an instant query. */
  endNs: bigint;
  /** Resolution of a range query (ns); ignored for an instant query. */
  stepNs: bigint;
  /** Instant query at startNs === endNs. */
  instant: boolean;
  /** max_query_series (Loki default 500): more series in the result is a LimitError. */
  maxSeries: number;
  /** Most points per series of a range query (Loki: 11000). */
  maxPoints?: number;
}

export interface MatrixSeries {
  labels: Labels;
  points: { tsMs: number; value: number }[];
}

export interface VectorSample {
  labels: Labels;
  tsMs: number;
  value: number;
}

export type MetricResult =
  | { type: 'matrix'; series: MatrixSeries[] }
  | { type: 'vector'; samples: VectorSample[] }
  | { type: 'scalar'; tsMs: number; value: number };

/**
 * Builds the sample extractor of one range aggregation (`compileSampleExtractor` in `log/`).
 * `opts.grouping` is the by/without to apply to sample labels (the range aggregation's own, or
 * a parent sum's pushed down as Loki does); when absent, all labels. The engine re-applies the
 * grouping itself (idempotent), so an extractor may ignore it.
 */
export type ExtractorFactory = (range: LogRangeExpr, op: RangeOp, opts?: { grouping?: Grouping | null }) => SampleExtractor;
