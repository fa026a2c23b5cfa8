/** LogQL metric query engine: instant and range evaluation of sample expressions. */
export { evaluateMetric, defaultStepNs, DEFAULT_MAX_POINTS, type LeafProvider } from './evaluate.js';
// For the query-frontend's shard merge (src/frontend/split/), which evaluates above merged leaves.
export { StepMatrix, MatrixBuilder, SeriesInfo } from './matrix.js';
export { Grid } from './grid.js';
export { foldLiterals } from './binop.js';
export { canPushSumGrouping, durationSeconds } from './range.js';
export { compareLabels, labelsKey } from './labels.js';
export type { EvalParams, MetricResult, MatrixSeries, VectorSample, ExtractorFactory } from './types.js';
export type { EntrySource, BlockVisit } from './source.js';
export { PipelineError, MatchingError } from './errors.js';
export { formatGoFloat, formatPromTimestamp } from './format.js';
