/**
 * Inverted index of one tenant's in-memory streams: label name → value → the streams carrying
 * that pair (Loki's ingester `index.InvertedIndex`, Prometheus' head postings). It answers
 * stream selection, label names and label values without visiting every stream. Selection is
 * exact by construction: postings only pick candidates, and every candidate is then checked
 * with the matchers themselves (docs/adr/0025-label-postings.md).
 */
import type { Labels } from '../model/labels.js';
import type { Matcher } from '../model/matcher.js';
import { ascending, insertAscending, recordInsertions } from '../util/sorted.js';

/**
 * What the index needs of a stream: its labels and their canonical string (`labelsToString`),
 * which never change while it is indexed, and a slot for its place in the order of those strings.
 */
export interface IndexedStream {
  readonly labels: Labels;
  readonly labelsString: string;
  /** Set by the index: the stream's place among the tenant's streams ordered by `labelsString`. */
  seriesRank: number;
}

/**
 * The streams carrying one `name=value`: the stream itself while it is the only one (a pod name
 * per stream is common, and a Set costs ~300 bytes: issue #20 goal 4), a Set from the second on.
 */
type Posting<T> = T | Set<T>;

/** Number of streams in a posting. */
function postingSize<T>(p: Posting<T>): number {
  return p instanceof Set ? p.size : 1;
}

/** Calls `f` for each stream of a posting until it returns true; whether one did. */
function someOf<T>(p: Posting<T>, f: (s: T) => boolean): boolean {
  if (!(p instanceof Set)) return f(p);
  for (const s of p) if (f(s)) return true;
  return false;
}

/** Values of one label name, with a sorted list maintained incrementally. */
class NameEntry<T> {
  /** Value → streams carrying `name=value`; a value with no stream is removed at once. */
  readonly byValue = new Map<string, Posting<T>>();
  /** Sorted (UTF-16 order, as `Array.prototype.sort`) values, possibly stale: see `sortedValues`. */
  sorted: string[] = [];
  /** Values added since `sorted` was built (unsorted, may hold values also in `sorted`). */
  added: string[] = [];
  /** Values removed since `sorted` was built. */
  removed = 0;
  /** Streams carrying the name. */
  streams = 0;
}

const NO_STRINGS: readonly string[] = Object.freeze([]);

/**
 * Postings of one tenant's streams. Owned by the tenant's stream map (`IndexedStreamMap`), which
 * keeps it in step with stream creation and removal; not safe to change while a visit runs.
 */
export class LabelIndex<T extends IndexedStream> {
  readonly #names = new Map<string, NameEntry<T>>();
  readonly #all = new Set<T>();
  /** Sorted names, or null when a name appeared or disappeared since. */
  #sortedNames: string[] | null = null;
  /**
   * Streams ordered by their label strings (the order of a `series` answer), each knowing its
   * place (`seriesRank`), as of the last `inKeyOrder`; streams indexed since wait in `#orderAdded`.
   */
  #ordered: T[] = [];
  #orderAdded: T[] = [];
  /** Whether a stream in `#ordered` was removed since it was made. */
  #orderRemoved = false;
  #version = 0;
  /** Streams indexed at versions `#addedFrom` + 1, + 2, …: none was dropped since `#addedFrom`. */
  #added: T[] = [];
  #addedFrom = 0;

  /** Number of indexed streams. */
  get size(): number {
    return this.#all.size;
  }

  /**
   * Changes whenever a stream is indexed or dropped: while it stays the same, a selection by the
   * same matchers picks the same streams (their labels never change while they are indexed).
   */
  get version(): number {
    return this.#version;
  }

  /**
   * The streams indexed since `version` when none was dropped since, in the order they came;
   * null when one was, or when that is too long ago to tell (the last ADDED_LOG are known). An
   * answer made at `version` is then the same answer with these streams' part put in.
   */
  addedSince(version: number): readonly T[] | null {
    if (version < this.#addedFrom || version > this.#version) return null;
    return this.#added.slice(version - this.#addedFrom);
  }

  /** Indexes `s` (a no-op when it is already indexed). */
  add(s: T): void {
    if (this.#all.has(s)) return;
    this.#all.add(s);
    this.#version++;
    if (this.#added.length === ADDED_LOG) {
      this.#added = this.#added.slice(ADDED_LOG / 2);
      this.#addedFrom += ADDED_LOG / 2;
    }
    this.#added.push(s);
    this.#orderAdded.push(s);
    // Nobody asked for series for a while: fold the new streams in (and the removed ones out)
    // once they are as many as the ordered ones, so the folds cost O(n log n) in all.
    if (this.#orderAdded.length > Math.max(ADDED_BACKLOG, this.#ordered.length)) this.#order();
    for (const l of s.labels) {
      let e = this.#names.get(l.name);
      if (e === undefined) {
        this.#names.set(l.name, (e = new NameEntry<T>()));
        this.#sortedNames = null;
      }
      const p = e.byValue.get(l.value);
      if (p === undefined) {
        e.byValue.set(l.value, s);
        e.added.push(l.value);
        // Nobody asked for the values for a while (pods come and go): fold the additions in
        // rather than keep every name ever added.
        if (e.added.length > e.sorted.length + ADDED_BACKLOG) sortedValues(e);
      } else if (p instanceof Set) p.add(s);
      else e.byValue.set(l.value, new Set([p, s]));
      e.streams++;
    }
  }

  /** Drops `s` (a no-op when it is not indexed). */
  remove(s: T): void {
    if (!this.#all.delete(s)) return;
    this.#version++;
    this.#forgetAdded();
    this.#orderRemoved = true;
    for (const l of s.labels) {
      const e = this.#names.get(l.name);
      const p = e?.byValue.get(l.value);
      if (e === undefined || p === undefined) continue;
      if (p instanceof Set) {
        if (!p.delete(s)) continue;
        // Back to the stream itself when one is left.
        if (p.size === 1) e.byValue.set(l.value, p.values().next().value as T);
      } else if (p === s) {
        e.byValue.delete(l.value);
        e.removed++;
      } else continue;
      e.streams--;
      if (e.streams === 0) {
        this.#names.delete(l.name);
        this.#sortedNames = null;
      }
    }
  }

  /** Drops every stream. */
  clear(): void {
    this.#version++;
    this.#forgetAdded();
    this.#all.clear();
    this.#names.clear();
    this.#sortedNames = null;
    this.#ordered = [];
    this.#orderAdded = [];
    this.#orderRemoved = false;
  }

  /** After a removal: nothing is known to have been only added before now. */
  #forgetAdded(): void {
    this.#added = [];
    this.#addedFrom = this.#version;
  }

  /**
   * `streams` (distinct indexed streams, as `select` visits them) ordered by their label
   * strings. No string is compared per request: the index keeps every stream's place in that
   * order (brought up to date by a binary search per stream indexed since, and a pass over all
   * after a removal) and sorts the places as numbers. 5k of 100k streams: a sort of 5k integers,
   * not 60k comparisons of label strings.
   */
  inKeyOrder(streams: readonly T[]): T[] {
    const ordered = this.#order();
    if (streams.length === ordered.length) return ordered.slice();
    const ranks = new Uint32Array(streams.length);
    for (let i = 0; i < streams.length; i++) ranks[i] = streams[i]!.seriesRank;
    ranks.sort();
    const out = new Array<T>(ranks.length);
    for (let i = 0; i < ranks.length; i++) out[i] = ordered[ranks[i]!]!;
    return out;
  }

  /** `#ordered` brought up to date, every stream's `seriesRank` its place in it. */
  #order(): T[] {
    if (this.#orderAdded.length === 0 && !this.#orderRemoved) return this.#ordered;
    const all = this.#all;
    const kept = this.#orderRemoved ? this.#ordered.filter((s) => all.has(s)) : this.#ordered;
    const added = this.#orderAdded.filter((s) => all.has(s)).sort(byLabelsString);
    // A binary search per new stream and one copy; a stream removed and indexed again is in both
    // lists (or twice in `added`) and goes in once.
    const out = insertAscending(kept, added, labelsStringOf)?.out ?? kept;
    for (let i = 0; i < out.length; i++) out[i]!.seriesRank = i;
    this.#ordered = out;
    this.#orderAdded = [];
    this.#orderRemoved = false;
    return out;
  }

  /** Every indexed stream, in insertion order. */
  all(): ReadonlySet<T> {
    return this.#all;
  }

  /** Label names carried by at least one stream, sorted. The array is shared: do not modify. */
  names(): readonly string[] {
    this.#sortedNames ??= [...this.#names.keys()].sort();
    return this.#sortedNames;
  }

  /** Values of `name` carried by at least one stream, sorted. The array is shared: do not modify. */
  values(name: string): readonly string[] {
    const e = this.#names.get(name);
    return e === undefined ? NO_STRINGS : sortedValues(e);
  }

  /**
   * Calls `visit` once for every stream matching all matchers (every stream when there are none),
   * in no particular order. Candidates come from the cheapest matcher that rejects '': the
   * smallest equality posting, else the union of the postings of the values a matcher accepts;
   * without such a matcher, every stream. Each candidate is then checked against the other
   * matchers. `visit` must not add or remove streams.
   */
  select(matchers: readonly Matcher[], visit: (s: T) => void): void {
    let base: Matcher | null = null;
    let baseSet: Posting<T> | null = null;
    let scan: Matcher | null = null;
    let scanValues = Infinity;
    for (const m of matchers) {
      if (m.matches('')) continue;
      const e = this.#names.get(m.name);
      // A matcher rejecting '' on a name no stream carries selects nothing.
      if (e === undefined) return;
      if (m.type === '=') {
        const set = e.byValue.get(m.value);
        if (set === undefined) return;
        if (baseSet === null || postingSize(set) < postingSize(baseSet)) {
          base = m;
          baseSet = set;
        }
      } else if (e.byValue.size < scanValues) {
        scan = m;
        scanValues = e.byValue.size;
      }
    }
    if (baseSet !== null) {
      const rest = matchers.filter((m) => m !== base);
      someOf(baseSet, (s) => {
        if (matchesAll(s.labels, rest)) visit(s);
        return false;
      });
      return;
    }
    if (scan !== null) {
      const rest = matchers.filter((m) => m !== scan);
      for (const [value, set] of this.#names.get(scan.name)!.byValue) {
        if (!scan.matches(value)) continue;
        someOf(set, (s) => {
          if (matchesAll(s.labels, rest)) visit(s);
          return false;
        });
      }
      return;
    }
    for (const s of this.#all) if (matchesAll(s.labels, matchers)) visit(s);
  }

  /**
   * Sorted names carried by at least one stream for which `keep` is true. Stops looking at a name
   * at its first kept stream, so with most streams kept this costs about one check per name.
   * A null `keep` keeps every stream.
   */
  namesWhere(keep: ((s: T) => boolean) | null): string[] {
    if (keep === null) return this.names().slice();
    const out: string[] = [];
    for (const name of this.names()) {
      if (anyKept(this.#names.get(name)!.byValue, keep)) out.push(name);
    }
    return out;
  }

  /**
   * Sorted values of `name` carried by at least one stream for which `keep` is true. When every
   * value is kept this is the index's own sorted list (marked `ascending`), the same array until
   * a value comes or goes: shared, do not modify. A null `keep` keeps every stream.
   */
  valuesWhere(name: string, keep: ((s: T) => boolean) | null): readonly string[] {
    const e = this.#names.get(name);
    if (e === undefined) return [];
    const sorted = sortedValues(e);
    if (keep === null) return sorted;
    // Many values (a pod name per stream): looking each value up costs a random map access per
    // value. Visit the streams instead, in their set's order, and drop only the values whose
    // every stream fails `keep`; usually none does and the sorted list is the answer.
    if (e.byValue.size * 8 >= this.#all.size) {
      let failing: Set<string> | null = null;
      for (const s of this.#all) {
        if (keep(s)) continue;
        for (const l of s.labels) if (l.name === name) (failing ??= new Set()).add(l.value);
      }
      if (failing === null) return sorted;
      const dropped = new Set<string>();
      for (const v of failing) if (!someOf(e.byValue.get(v)!, keep)) dropped.add(v);
      return dropped.size === 0 ? sorted : ascending(sorted.filter((v) => !dropped.has(v)));
    }
    // Few values: stop per value at its first stream that is kept.
    const out: string[] = [];
    for (const v of sorted) if (someOf(e.byValue.get(v)!, keep)) out.push(v);
    return out.length === sorted.length ? sorted : ascending(out);
  }
}

function anyKept<T>(byValue: Map<string, Posting<T>>, keep: (s: T) => boolean): boolean {
  for (const p of byValue.values()) if (someOf(p, keep)) return true;
  return false;
}

/** Whether `labels` satisfy every matcher (a missing label reads as ''). */
export function matchesAll(labels: Labels, matchers: readonly Matcher[]): boolean {
  for (let i = 0; i < matchers.length; i++) {
    const m = matchers[i]!;
    let v = '';
    for (let k = 0; k < labels.length; k++) {
      if (labels[k]!.name === m.name) {
        v = labels[k]!.value;
        break;
      }
    }
    if (!m.matches(v)) return false;
  }
  return true;
}

function labelsStringOf(s: IndexedStream): string {
  return s.labelsString;
}

/** Orders streams by their label strings (a series answer's order). */
export function byLabelsString(a: IndexedStream, b: IndexedStream): number {
  return a.labelsString < b.labelsString ? -1 : a.labelsString > b.labelsString ? 1 : 0;
}

/** Streams indexed most recently that `addedSince` knows of (at least half as many). */
const ADDED_LOG = 1024;

/** Up to this many new values are put in place one by one; more are sorted and merged. */
const FEW_ADDED = 16;
/** Additions beyond the sorted list's length that wait for a request before they are folded in. */
const ADDED_BACKLOG = 4096;

/**
 * The entry's sorted values, brought up to date by dropping removed values and merging the sorted
 * additions: O(n + a log a) after `a` additions rather than a full sort, so a tenant whose pods
 * come and go does not re-sort 100k values per request.
 */
function sortedValues<T>(e: NameEntry<T>): string[] {
  if (e.added.length === 0 && e.removed === 0) return e.sorted;
  // A few new values (a pod started since the last request): each goes into a copy at the place
  // a binary search finds (insertAscending). Merging compared every one of 100k values (~30 ms).
  if (e.removed === 0 && e.added.length <= FEW_ADDED) {
    const base = e.sorted;
    const r = insertAscending(base, [...new Set(e.added.filter((v) => e.byValue.has(v)))].sort());
    e.added = [];
    if (r === null) return base;
    e.sorted = ascending(r.out);
    // Where the new values went, for an answer edited from the last one (labelListBody).
    recordInsertions(r.out, base, r.at);
    return r.out;
  }
  const kept = e.removed === 0 ? e.sorted : e.sorted.filter((v) => e.byValue.has(v));
  const added = e.added.filter((v) => e.byValue.has(v)).sort();
  const out = new Array<string>();
  let i = 0;
  let j = 0;
  while (i < kept.length || j < added.length) {
    let v: string;
    if (j >= added.length || (i < kept.length && kept[i]! < added[j]!)) v = kept[i++]!;
    else v = added[j++]!;
    // A value removed and added again can sit in both lists; additions can repeat too.
    if (out.length === 0 || out[out.length - 1] !== v) out.push(v);
  }
  e.sorted = ascending(out);
  e.added = [];
  e.removed = 0;
  return out;
}

/**
 * A map of streams by fingerprint that keeps a LabelIndex of its values: `set` indexes, `delete`
 * and `clear` unindex. Stream creation and removal elsewhere stay plain map operations.
 */
export class IndexedStreamMap<K, T extends IndexedStream> extends Map<K, T> {
  /** The postings of the map's values. */
  readonly index = new LabelIndex<T>();

  override set(key: K, value: T): this {
    // Map's constructor calls set before field initialisers run; it is never given entries here.
    const old = super.get(key);
    if (old !== value) {
      if (old !== undefined) this.index.remove(old);
      this.index.add(value);
    }
    return super.set(key, value);
  }

  override delete(key: K): boolean {
    const old = super.get(key);
    if (old !== undefined) this.index.remove(old);
    return super.delete(key);
  }

  override clear(): void {
    this.index.clear();
    super.clear();
  }
}
