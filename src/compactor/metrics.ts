/**
 * Delete-request metrics under Loki's names (pkg/compactor/deletion/metrics.go), shared by the
 * delete API (received) and the compactor (processed, deleted lines); registered once per
 * registry. The `user` label is the tenant.
 */
import { Counter, type Registry } from 'prom-client';

/** The deletion counters of one registry. */
export class DeletionMetrics {
  readonly received: Counter<'user'>;
  readonly processed: Counter<'user'>;
  readonly deletedLines: Counter<'user'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.received = new Counter({ name: 'loki_compactor_delete_requests_received_total', help: 'Number of delete requests received per user.', labelNames: ['user'], registers });
    this.processed = new Counter({ name: 'loki_compactor_delete_requests_processed_total', help: 'Number of delete requests processed per user.', labelNames: ['user'], registers });
    this.deletedLines = new Counter({ name: 'loki_compactor_deleted_lines', help: 'Number of deleted lines per user.', labelNames: ['user'], registers });
  }
}

const byRegistry = new WeakMap<Registry, DeletionMetrics>();

/** The DeletionMetrics of `registry`, registered on first use. */
export function deletionMetrics(registry: Registry): DeletionMetrics {
  let m = byRegistry.get(registry);
  if (m === undefined) byRegistry.set(registry, (m = new DeletionMetrics(registry)));
  return m;
}
