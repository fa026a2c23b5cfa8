/** Binary search over sorted numeric columns (block timestamps, step bounds). */

/** First index k in [from, to) with a[k] >= x, or `to` when none; `a[from..to)` must be ascending. */
export function lowerBound(a: Float64Array, to: number, x: number, from = 0): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
