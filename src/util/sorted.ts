/** Sorted sequences: binary search over numeric columns (block timestamps, step bounds), unions of sorted string lists (label names and values). */

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

/** Lists their makers built strictly ascending (see `ascending`). */
const knownAscending = new WeakSet<readonly string[]>();

/**
 * Records that `a` was built strictly ascending, in the default sort order, and returns it: its
 * maker sorted it or merged sorted lists. `sortedUnion` then need not check it, which at 100k
 * label values is ~20 ms per request (the values are slices of label strings all over the heap).
 * Lists from the network are not marked and are checked. The list must not change afterwards.
 */
export function ascending<T extends readonly string[]>(a: T): T {
  knownAscending.add(a);
  return a;
}

/** Whether `a` is strictly ascending in `Array.prototype.sort`'s default order (UTF-16 code units). */
function strictlyAscending(a: readonly string[]): boolean {
  if (knownAscending.has(a)) return true;
  for (let i = 1; i < a.length; i++) if (!(a[i - 1]! < a[i]!)) return false;
  return true;
}

/**
 * The union of two strictly ascending string lists, ascending, each string once: one linear
 * merge. The caller guarantees the order (`sortedUnion` checks it); a new array either way.
 */
export function mergeSortedUnique(a: readonly string[], b: readonly string[]): string[] {
  if (b.length === 0) return a.slice();
  if (a.length === 0) return b.slice();
  const out = new Array<string>();
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/**
 * The sorted union (default `Array.prototype.sort` order) of two string lists. When both are
 * strictly ascending, as the store and the ingester return them, this is one linear merge;
 * otherwise a Set and a sort.
 */
export function sortedUnion(a: readonly string[], b: readonly string[]): string[] {
  if (!strictlyAscending(a) || !strictlyAscending(b)) return ascending([...new Set([...a, ...b])].sort());
  return ascending(mergeSortedUnique(a, b));
}
