/** LogQL metric query engine: instant and range evaluation of sample expressions. */
export { evaluateMetric, defaultStepNs, DEFAULT_MAX_POINTS } from './evaluate.js';
export type { EvalParams, MetricResult, MatrixSeries, VectorSample, ExtractorFactory } from './types.js';
export type { EntrySource, BlockVisit } from './source.js';
export { PipelineError, MatchingError } from './errors.js';
export { formatGoFloat, formatPromTimestamp } from './format.js';
