/**
 * `loki_index_request_duration_seconds{operation, status_code}`: index reads of the querier
 * (`chunk_refs`, `series`, `label_names`, `label_values`, `stats`: Loki's operation names) and
 * index writes of flushes (`index_chunk`), with Loki's status codes (200, or 500 on any error).
 */
import { Histogram, type Registry } from 'prom-client';

/** Loki's `loki_index_request_duration_seconds` buckets: ExponentialBucketsRange(0.005, 100, 12). */
export const INDEX_DURATION_BUCKETS: readonly number[] = Array.from({ length: 12 }, (_, i) => 0.005 * Math.pow(100 / 0.005, i / 11));

/** `loki_index_request_duration_seconds{operation, status_code}` of one registry (flush writes and querier reads share it). */
export function indexRequestDuration(registry: Registry): Histogram<'operation' | 'status_code'> {
  const existing = registry.getSingleMetric('loki_index_request_duration_seconds');
  if (existing !== undefined) return existing as Histogram<'operation' | 'status_code'>;
  return new Histogram({
    name: 'loki_index_request_duration_seconds',
    help: 'Time (in seconds) spent in serving index query requests.',
    labelNames: ['operation', 'status_code'],
    buckets: [...INDEX_DURATION_BUCKETS],
    registers: [registry],
  });
}

/** Times `op` into `h` with Loki's status codes (instrument.ErrorCode: 200, or 500 on any error). */
export async function timeIndexRequest<T>(h: Histogram<'operation' | 'status_code'>, operation: string, op: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    const out = await op();
    h.observe({ operation, status_code: '200' }, (performance.now() - t0) / 1000);
    return out;
  } catch (e) {
    h.observe({ operation, status_code: '500' }, (performance.now() - t0) / 1000);
    throw e;
  }
}
