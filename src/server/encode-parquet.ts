/**
 * `query_range` answered as Parquet (Loki's encodeResponseParquetTo in
 * pkg/querier/queryrange/parquet.go): log queries one row per entry, matrix results one row
 * per sample. The row layout lives in util/parquet.ts, shared with `siltcli export`.
 */
import type { MetricResult } from '../logql/engine/index.js';
import { labelsToObject } from '../model/index.js';
import { mergeLabels, type LogQueryResult } from '../querier/querier.js';
import { InvalidError } from '../errors.js';
import { encodeLogsParquet, encodeMetricsParquet, PARQUET_CONTENT_TYPE, type LogColumns, type MetricColumns } from '../util/parquet.js';

export { PARQUET_CONTENT_TYPE };

/** Loki's text when the switch is off (pkg/querier/queryrange/serialize.go). */
export const PARQUET_DISABLED = 'support for Parquet encoded responses is disabled. Enable with -frontend.support-parquet-encoding=true';

/** True when the request asks for Parquet; Loki compares the whole Accept value. */
export function wantsParquet(accept: string | string[] | undefined): boolean {
  return accept === PARQUET_CONTENT_TYPE;
}

/**
 * Log rows: streams in result order, each stream's entries in the query's direction. The
 * labels column holds the stream labels Loki's JSON answer would show (structured metadata
 * and parsed labels merged in), one object shared by the rows of a stream.
 */
export function logsParquet(r: LogQueryResult, direction: 'forward' | 'backward'): Buffer {
  const c: LogColumns = { tsNs: [], labels: [], line: [] };
  const fwd = direction === 'forward';
  for (const s of r.streams) {
    const labels = labelsToObject(mergeLabels(s));
    const entries = s.entries.slice().sort((a, b) => (a.tsNs === b.tsNs ? 0 : (a.tsNs < b.tsNs) === fwd ? -1 : 1));
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      c.tsNs.push(e.tsNs);
      c.labels.push(labels);
      c.line.push(e.line.toString('utf8'));
    }
  }
  return encodeLogsParquet(c);
}

/** Metric rows from a matrix; any other result kind is Loki's user error. */
export function metricsParquet(r: MetricResult): Buffer {
  if (r.type !== 'matrix') throw new InvalidError('request does not support Parquet responses');
  const c: MetricColumns = { tsMs: [], labels: [], value: [] };
  for (const s of r.series) {
    const labels = labelsToObject(s.labels);
    for (const p of s.points) {
      c.tsMs.push(BigInt(p.tsMs));
      c.labels.push(labels);
      c.value.push(p.value);
    }
  }
  return encodeMetricsParquet(c);
}
