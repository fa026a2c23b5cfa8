/** Sorted sequences: binary search over numeric columns (block timestamps, step bounds), unions of sorted string lists (label names and values), and list equality. */

/** Whether two lists hold the same elements (`===`) in the same order. */
export function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

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

/**
 * First index k >= from of `a` (ascending, by `key` when given) with a[k] (its key) >= v, or
 * `a.length` when none.
 */
export function lowerBoundString(a: readonly string[], v: string, from?: number): number;
export function lowerBoundString<T>(a: readonly T[], v: string, from: number, key: (x: T) => string): number;
export function lowerBoundString<T>(a: readonly T[], v: string, from = 0, key?: (x: T) => string): number {
  let lo = from;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = key === undefined ? (a[mid] as string) : key(a[mid]!);
    if (k < v) lo = mid + 1;
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

/** Whether `a` was marked by `ascending` (built ascending and never changed afterwards). */
export function isMarkedAscending(a: readonly string[]): boolean {
  return knownAscending.has(a);
}

/** How a list was made from another: the other list and the indices (ascending) of the items it lacks. */
export interface Insertions<T = string> {
  readonly base: readonly T[];
  readonly at: readonly number[];
  /**
   * The base lives on (a cached segment's list, a remembered union): its answer is worth making
   * for this list's sake if nobody asked for it yet. Otherwise (a list the ingester replaced)
   * only an answer already made is used.
   */
  readonly keepBase: boolean;
}

const insertions = new WeakMap<readonly unknown[], Insertions<unknown>>();

/**
 * Records that `list` (marked ascending, or a series list in key order) is `base` with items put
 * in at indices `at` (ascending, indices of `list`), so an answer built for `base` can be edited
 * into one for `list` (`labelListBody`, `seriesResponseBody`); `keepBase` as in `Insertions`.
 * `base`'s own record is dropped: only one step is kept, so a list never holds a chain of its
 * predecessors.
 */
export function recordInsertions<T>(list: readonly T[], base: readonly T[], at: readonly number[], keepBase = false): void {
  insertions.delete(base);
  insertions.set(list, { base, at, keepBase });
}

/** The record `recordInsertions` made for `list`, if any. */
export function insertionsOf<T>(list: readonly T[]): Insertions<T> | undefined {
  return insertions.get(list) as Insertions<T> | undefined;
}

/** Forgets `list`'s record (its answer is made: the base is no longer needed for it). */
export function forgetInsertions(list: readonly unknown[]): void {
  insertions.delete(list);
}

/**
 * `base` with `at.length` items put in: the result's item at index `at[k]` (ascending) is
 * `item(k)`, the others are `base`'s in order.
 */
export function insertAt<T>(base: readonly T[], at: readonly number[], item: (k: number) => T): T[] {
  const out = new Array<T>(base.length + at.length);
  let j = 0;
  let k = 0;
  for (let i = 0; i < out.length; i++) out[i] = k < at.length && at[k] === i ? item(k++) : base[j++]!;
  return out;
}

/** The empty list, marked ascending and frozen. */
export const NO_STRINGS: readonly string[] = ascending(Object.freeze([] as string[]));

/** A union (`unionOfAscending`, `mergeAllInKeyOrder`) puts the other lists into the longest when they hold at most this fraction of it. */
export const FEW_BESIDE_LONG = 16;

/** The last union made of each first list: the lists it was made of (by identity) and the answer. */
const unions = new WeakMap<readonly string[], { lists: readonly (readonly string[])[]; out: readonly string[] }>();

/**
 * The union of marked (`ascending`) lists, itself marked. Marked lists never change, so the same
 * lists (by identity) give the same answer: a single non-empty list is returned as it is, and
 * the last union made from a given first list is kept and returned again while the lists are the
 * same. An unchanged 100k-value list then keeps its identity from the ingester or the stored
 * index to the HTTP answer, whose JSON is kept per list (`labelListBody`, querier/metadata.ts).
 * Shared: do not modify the result.
 */
export function unionOfAscending(lists: readonly (readonly string[])[]): readonly string[] {
  const some = lists.filter((l) => l.length > 0);
  if (some.length === 0) return NO_STRINGS;
  if (some.length === 1) return some[0]!;
  const memo = unions.get(some[0]!);
  if (memo !== undefined && sameElements(memo.lists, some)) return memo.out;
  // One long list and a few values besides (100k stored pod names and the pods started since
  // the last flush): the few are put into the long one by binary search, and the answer is
  // recorded as the long list with insertions, so its bytes can be spliced (labelListBody).
  let big = 0;
  for (let i = 1; i < some.length; i++) if (some[i]!.length > some[big]!.length) big = i;
  const rest = some.filter((_, i) => i !== big);
  let few: readonly string[] = rest[0]!;
  for (let i = 1; i < rest.length; i++) few = mergeSortedUnique(few, rest[i]!);
  let out: readonly string[];
  if (few.length * FEW_BESIDE_LONG <= some[big]!.length) out = insertInto(some[big]!, few);
  else {
    let merged = mergeSortedUnique(some[0]!, some[1]!);
    for (let i = 2; i < some.length; i++) merged = mergeSortedUnique(merged, some[i]!);
    out = ascending(merged);
  }
  unions.set(some[0]!, { lists: some, out });
  return out;
}

/**
 * `long` with the values of `few` it lacks put in (both strictly ascending): `long` itself when
 * it has them all, else a new marked list recorded as `long` with insertions (the long list
 * lives on: a cached segment's, so its answer is worth keeping).
 */
function insertInto(long: readonly string[], few: readonly string[]): readonly string[] {
  const r = insertAscending(long, few);
  if (r === null) return long;
  insertions.set(r.out, { base: long, at: r.at, keepBase: true });
  return ascending(r.out);
}

/**
 * `long` with the values of `few` it lacks put in (both ascending, by `key` when given: then
 * items whose keys are compared), and the indices in the result where they went; null when
 * `long` has them all. A value of `few` equal to the one put in just before is left out too. A
 * binary search per value of `few` and one copy of `long`: no string of `long` is compared but
 * the ~log n each search touches.
 */
export function insertAscending(long: readonly string[], few: readonly string[]): { out: string[]; at: number[] } | null;
export function insertAscending<T>(long: readonly T[], few: readonly T[], key: (x: T) => string): { out: T[]; at: number[] } | null;
export function insertAscending<T>(long: readonly T[], few: readonly T[], key?: (x: T) => string): { out: T[]; at: number[] } | null {
  const keyOf = key ?? ((x: T): string => x as string);
  const pos: number[] = [];
  const put: T[] = [];
  let from = 0;
  let last: string | undefined;
  for (const v of few) {
    const k = keyOf(v);
    from = lowerBoundString(long, k, from, keyOf);
    if ((from < long.length && keyOf(long[from]!) === k) || k === last) continue;
    pos.push(from);
    put.push(v);
    last = k;
  }
  if (put.length === 0) return null;
  const out = new Array<T>(long.length + put.length);
  const at = new Array<number>(put.length);
  let o = 0;
  let j = 0;
  for (let k = 0; k < put.length; k++) {
    for (const end = pos[k]!; j < end; j++) out[o++] = long[j]!;
    at[k] = o;
    out[o++] = put[k]!;
  }
  for (; j < long.length; j++) out[o++] = long[j]!;
  return { out, at };
}

/**
 * The sorted union (default `Array.prototype.sort` order) of two string lists. When both are
 * marked ascending, as the store and the ingester return them, see `unionOfAscending`; when both
 * are ascending, one linear merge; otherwise a Set and a sort. Shared: do not modify the result.
 */
export function sortedUnion(a: readonly string[], b: readonly string[]): readonly string[] {
  if ((a.length === 0 || knownAscending.has(a)) && (b.length === 0 || knownAscending.has(b))) return unionOfAscending([a, b]);
  if (!strictlyAscending(a) || !strictlyAscending(b)) return ascending([...new Set([...a, ...b])].sort());
  return ascending(mergeSortedUnique(a, b));
}
