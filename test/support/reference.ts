/**
 * A brute-force reference for log queries: filter every generated entry naively, sort,
 * limit. The engine's answers are compared against it.
 */
import type { GenEntry } from './genlogs.js';
import { labelKey } from './genlogs.js';

export interface RefQuery {
  /** label name → predicate on the value ('' when absent). */
  labels: Record<string, (v: string) => boolean>;
  /** every predicate must hold for the line */
  line: ((line: string) => boolean)[];
  startNs: bigint;
  endNs: bigint;
  limit: number;
  direction: 'forward' | 'backward';
}

/** Expected `labelsKey|ts|line` rows in result order (global order by ts). */
export function referenceQuery(entries: readonly GenEntry[], q: RefQuery): string[] {
  const hits = entries.filter(
    (e) => e.tsNs >= q.startNs && e.tsNs < q.endNs && Object.entries(q.labels).every(([n, p]) => p(e.labels[n] ?? '')) && q.line.every((p) => p(e.line)),
  );
  hits.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
  if (q.direction === 'backward') hits.reverse();
  return hits.slice(0, q.limit).map((e) => `${labelKey(e.labels)}|${e.tsNs}|${e.line}`);
}

/** Flattens a Loki streams response into rows and checks each stream's own order. */
export function flattenStreams(resp: any, direction: 'forward' | 'backward'): { rows: string[]; ordered: boolean } {
  const rows: string[] = [];
  let ordered = true;
  for (const s of resp.data.result) {
    let prev: bigint | null = null;
    for (const [ts, line] of s.values as [string, string][]) {
      const t = BigInt(ts);
      if (prev !== null && (direction === 'backward' ? t > prev : t < prev)) ordered = false;
      prev = t;
      rows.push(`${labelKey(s.stream)}|${ts}|${line}`);
    }
  }
  return { rows, ordered };
}
