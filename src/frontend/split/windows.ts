/**
 * Time splitting, the one implementation every splitting user shares (the metric planner, the
 * log and metadata planners and the results cache).
 *
 * Metric queries are cut into step windows: a query's evaluation points are `start + k*step`;
 * the span is cut at multiples of the split interval (aligned to the epoch, as Loki's
 * `split_queries_by_interval`) and each window's points are evaluated as a subquery with the
 * same start phase and step, so every point is computed exactly as the unsplit query computes it.
 * Log and metadata queries are cut into plain time ranges at the same kind of boundaries.
 */
import { seriesLimitError } from '../../logql/engine/errors.js';
import type { MatrixSeries } from '../../logql/engine/index.js';
import { compareLabels } from '../../logql/engine/labels.js';
import { labelsToString } from '../../model/index.js';

/** The points of one window of a step-split query. */
export interface StepWindow {
  /** First and last evaluation point of the query inside the window (inclusive, on its grid). */
  readonly firstNs: bigint;
  readonly lastNs: bigint;
  /** The window: `[startNs, startNs + interval)`, aligned to the interval. */
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** The query holds every grid point of its phase in the window (a cacheable window). */
  readonly complete: boolean;
}

/**
 * The evaluation points of a range query (start, end inclusive, step) cut at multiples of
 * `intervalNs`; windows without points are left out. `intervalNs <= 0` or `step >= interval`:
 * one window holding every point.
 */
export function stepWindows(startNs: bigint, endNs: bigint, stepNs: bigint, intervalNs: bigint): StepWindow[] {
  if (endNs < startNs || stepNs <= 0n) return [];
  const lastPoint = startNs + ((endNs - startNs) / stepNs) * stepNs;
  if (intervalNs <= 0n || stepNs >= intervalNs) return [{ firstNs: startNs, lastNs: lastPoint, startNs, endNs: lastPoint + 1n, complete: false }];
  const phase = mod(startNs, stepNs);
  const out: StepWindow[] = [];
  let ws = startNs - mod(startNs, intervalNs);
  while (ws <= lastPoint) {
    const we = ws + intervalNs; // exclusive
    // First point >= ws and last point < we, both on the query's grid.
    const first = ws <= startNs ? startNs : startNs + ceilDiv(ws - startNs, stepNs) * stepNs;
    const lastCand = startNs + ((we - 1n - startNs) / stepNs) * stepNs;
    const last = lastCand > lastPoint ? lastPoint : lastCand;
    if (first <= last) {
      const gridFirst = ws + mod(phase - ws, stepNs);
      const gridLast = we - 1n - mod(we - 1n - phase, stepNs);
      out.push({ firstNs: first, lastNs: last, startNs: ws, endNs: we, complete: startNs <= gridFirst && lastPoint >= gridLast });
    }
    ws = we;
  }
  return out;
}

/** A time range `[startNs, endNs)`. */
export interface TimeWindow {
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/**
 * `[startNs, endNs)` cut at multiples of `intervalNs`, oldest first; one window when
 * `intervalNs <= 0`. Empty for an empty range.
 */
export function timeWindows(startNs: bigint, endNs: bigint, intervalNs: bigint): TimeWindow[] {
  if (endNs <= startNs) return [];
  if (intervalNs <= 0n) return [{ startNs, endNs }];
  const out: TimeWindow[] = [];
  let s = startNs;
  while (s < endNs) {
    const boundary = s - mod(s, intervalNs) + intervalNs;
    const e = boundary < endNs ? boundary : endNs;
    out.push({ startNs: s, endNs: e });
    s = e;
  }
  return out;
}

export function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return a <= 0n ? -(-a / b) : (a + b - 1n) / b;
}

/** Joins the windows' matrices (in time order) by series labels, sorted as the engine sorts. */
export function joinWindows(parts: readonly MatrixSeries[][], maxSeries: number): MatrixSeries[] {
  const byKey = new Map<string, MatrixSeries>();
  for (const part of parts) {
    for (const s of part) {
      const k = labelsToString(s.labels);
      const cur = byKey.get(k);
      if (cur === undefined) {
        if (byKey.size >= maxSeries) throw seriesLimitError(maxSeries);
        byKey.set(k, { labels: s.labels, points: [...s.points] });
      } else for (const p of s.points) cur.points.push(p);
    }
  }
  return [...byKey.values()].sort((a, b) => compareLabels(a.labels, b.labels));
}
