/**
 * Object-store operation metrics under the names Loki's Thanos-based object clients export
 * (`objstore.WrapWithMetrics` with the `loki_` prefix), for every backend (S3, filesystem,
 * memory), so the mixin's "Loki / Object Store" dashboard works:
 * `loki_objstore_bucket_operations_total`, `loki_objstore_bucket_operation_failures_total`,
 * `loki_objstore_bucket_operation_duration_seconds` (labels `bucket`, `operation`) and
 * `loki_objstore_bucket_last_successful_upload_time`. Operations use Thanos' names: `get`,
 * `get_range`, `upload`, `delete`, `iter` (list). As in Thanos, a read of a missing object and
 * a read the caller aborted are not failures.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { SiltError } from '../errors.js';
import type { ListResult, ObjectClient, ReadOptions } from './object-client.js';

/** Thanos objstore's operation duration buckets, seconds. */
const DURATION_BUCKETS = [0.001, 0.01, 0.1, 0.3, 0.6, 1, 3, 6, 9, 20, 30, 60, 90, 120];

type Op = 'get' | 'get_range' | 'upload' | 'delete' | 'iter';
const OPS: readonly Op[] = ['get', 'get_range', 'upload', 'delete', 'iter'];

/** The metrics, registered once per registry. */
class ObjstoreMetrics {
  readonly ops: Counter<'bucket' | 'operation'>;
  readonly failures: Counter<'bucket' | 'operation'>;
  readonly duration: Histogram<'bucket' | 'operation'>;
  readonly lastUpload: Gauge<'bucket'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.ops = new Counter({ name: 'loki_objstore_bucket_operations_total', help: 'Total number of all attempted operations against a bucket.', labelNames: ['bucket', 'operation'], registers });
    this.failures = new Counter({
      name: 'loki_objstore_bucket_operation_failures_total',
      help: 'Total number of operations against a bucket that failed, but were not expected to fail in certain way from caller perspective.',
      labelNames: ['bucket', 'operation'],
      registers,
    });
    this.duration = new Histogram({
      name: 'loki_objstore_bucket_operation_duration_seconds',
      help: 'Duration of successful operations against the remote bucket.',
      labelNames: ['bucket', 'operation'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.lastUpload = new Gauge({ name: 'loki_objstore_bucket_last_successful_upload_time', help: 'Second timestamp of the last successful upload to the bucket.', labelNames: ['bucket'], registers });
  }
}

const byRegistry = new WeakMap<Registry, ObjstoreMetrics>();

/** Wraps an ObjectClient and counts and times its operations. */
export class InstrumentedObjectClient implements ObjectClient {
  readonly #m: ObjstoreMetrics;
  readonly #bucket: string;

  constructor(
    /** The client measured. */
    readonly inner: ObjectClient,
    registry: Registry,
    /** The `bucket` label: the S3 bucket, or the filesystem directory. */
    bucket: string,
  ) {
    let m = byRegistry.get(registry);
    if (m === undefined) byRegistry.set(registry, (m = new ObjstoreMetrics(registry)));
    this.#m = m;
    this.#bucket = bucket;
    // Thanos initialises every operation's series, so dashboards show zeros before the first call.
    for (const operation of OPS) {
      m.ops.inc({ bucket, operation }, 0);
      m.failures.inc({ bucket, operation }, 0);
    }
  }

  async #run<T>(operation: Op, signal: AbortSignal | undefined, op: () => Promise<T>): Promise<T> {
    const labels = { bucket: this.#bucket, operation };
    this.#m.ops.inc(labels);
    const t0 = performance.now();
    try {
      const out = await op();
      this.#m.duration.observe(labels, (performance.now() - t0) / 1000);
      return out;
    } catch (e) {
      const expected = (e instanceof SiltError && e.kind === 'not_found') || signal?.aborted === true;
      if (!expected) this.#m.failures.inc(labels);
      throw e;
    }
  }

  get(key: string, opts?: ReadOptions): Promise<Buffer> {
    return this.#run('get', opts?.signal, () => this.inner.get(key, opts));
  }
  getRange(key: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    return this.#run('get_range', opts?.signal, () => this.inner.getRange(key, offset, length, opts));
  }
  async put(key: string, body: Buffer): Promise<void> {
    await this.#run('upload', undefined, () => this.inner.put(key, body));
    this.#m.lastUpload.set({ bucket: this.#bucket }, Date.now() / 1000);
  }
  list(prefix: string, delimiter?: string, opts?: ReadOptions): Promise<ListResult> {
    return this.#run('iter', opts?.signal, () => this.inner.list(prefix, delimiter, opts));
  }
  delete(key: string): Promise<void> {
    return this.#run('delete', undefined, () => this.inner.delete(key));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
