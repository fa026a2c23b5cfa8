/** Engine errors with Loki's wording (pkg/logqlmodel/error.go, pkg/loghttp/query.go). */
import { InvalidError, LimitError, SiltError } from '../../errors.js';
import { labelsToString, type Labels } from '../../model/index.js';

/** A sample still carrying `__error__` at the end of a metric query (Loki `PipelineError`, HTTP 400). */
export class PipelineError extends InvalidError {
  readonly errorType: string;
  readonly series: Labels;
  constructor(series: Labels, errorType: string) {
    super(
      `pipeline error: '${errorType}' for series: '${labelsToString(series)}'.\n` +
        `Use a label filter to intentionally skip this error. (e.g | __error__!="${errorType}").\n` +
        `To skip all potential errors you can match empty errors.(e.g __error__="")\n` +
        `The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )\n`,
    );
    this.name = 'PipelineError';
    this.errorType = errorType;
    this.series = series;
  }
}

/** Loki `NewSeriesLimitError`. */
export function seriesLimitError(limit: number): LimitError {
  return new LimitError(
    `maximum number of series (${limit}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()`,
  );
}

export const ERR_ZERO_OR_NEGATIVE_STEP = 'zero or negative query resolution step widths are not accepted. Try a positive integer';
/** Loki's `errStepTooSmall` (11,000 there), with the configured maximum. */
export function stepTooSmallMessage(maxPoints: number): string {
  const n = String(Math.trunc(maxPoints)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `exceeded maximum resolution of ${n} points per time series. Try increasing the value of the step parameter`;
}
export const ERR_END_BEFORE_START = 'end timestamp must not be before or equal to start time';

/**
 * Vector matching failures. Loki returns these as plain errors (HTTP 500), so they are
 * `internal` here too.
 */
export class MatchingError extends SiltError {
  constructor(message: string) {
    super('internal', message);
    this.name = 'MatchingError';
  }
}
