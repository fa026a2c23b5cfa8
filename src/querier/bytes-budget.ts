/**
 * Per-query byte budget (issue #20 goal 4, ADR 0024): Loki's `max_query_bytes_read` and
 * `max_querier_bytes_read` limits with Loki's 400 texts. A query's plan names every chunk it will
 * read before any block is read; its uncompressed bytes are checked against the limits then, so a
 * query over too much data fails at once instead of filling the querier's memory.
 */
import { LimitError } from '../errors.js';
import { formatHumanIBytes } from '../util/go/bytes.js';
import type { ScanPlan } from './sources.js';

/** The two limits of one tenant, in bytes (0: no limit). */
export interface QueryBytesLimits {
  max_query_bytes_read: number;
  max_querier_bytes_read: number;
}

/**
 * The bytes one query may read. A query with several selectors (binary operations) plans each
 * one; the budget adds them up, as Loki's frontend sums the stats of all of a query's selectors.
 */
export class QueryBytesBudget {
  /** Uncompressed bytes planned so far. */
  plannedBytes = 0;

  constructor(private readonly limits: QueryBytesLimits) {}

  /** A budget only when one of the limits is set (null: nothing to check). */
  static of(limits: QueryBytesLimits): QueryBytesBudget | null {
    return limits.max_query_bytes_read > 0 || limits.max_querier_bytes_read > 0 ? new QueryBytesBudget(limits) : null;
  }

  /** Adds a plan's bytes; throws LimitError (400) with Loki's text once a limit is passed. */
  addPlan(plan: ScanPlan): void {
    this.add(planBytes(plan));
  }

  add(bytes: number): void {
    this.plannedBytes += bytes;
    const q = this.plannedBytes;
    const { max_query_bytes_read: perQuery, max_querier_bytes_read: perQuerier } = this.limits;
    // Loki's texts (pkg/querier/queryrange/limits.go, limErrQueryTooManyBytesTmpl and
    // limErrQuerierTooManyBytesTmpl), sizes as go-humanize IBytes.
    if (perQuery > 0 && q > perQuery) {
      throw new LimitError(`the query would read too many bytes (query: ${formatHumanIBytes(q)}, limit: ${formatHumanIBytes(perQuery)}); consider adding more specific stream selectors or reduce the time range of the query`);
    }
    if (perQuerier > 0 && q > perQuerier) {
      throw new LimitError(
        `query too large to execute on a single querier: (query: ${formatHumanIBytes(q)}, limit: ${formatHumanIBytes(perQuerier)}); consider adding more specific stream selectors, reduce the time range of the query, or adjust parallelization settings`,
      );
    }
  }
}

/** Uncompressed bytes a plan reads: stored chunks by their refs, memory parts by their blocks. */
export function planBytes(plan: ScanPlan): number {
  let n = 0;
  for (const r of plan.stored) n += r.uncompressedBytes;
  for (const s of plan.memory)
    for (const p of s.parts) {
      if (p.cut) n += p.cut.uncompressedBytes();
      if (p.head) n += p.head.lines.length;
    }
  return n;
}
