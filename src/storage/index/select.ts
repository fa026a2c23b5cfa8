/**
 * Series selection inside one segment from its postings. Equality matchers intersect posting
 * lists; other matchers scan the values of their label name; matchers that match '' also keep
 * series lacking the label (they are applied as "remove series whose value fails").
 */
import { InvalidError } from '../../errors.js';
import type { Matcher } from '../../model/matcher.js';
import type { Segment } from './segment.js';

/** Memoised `matches` results per matcher, shared by all segments of one query. */
export type MatchMemo = Map<Matcher, Map<string, boolean>>;

/** A matcher prepared once per query. */
export interface PreparedMatcher {
  readonly matcher: Matcher;
  /** `matches('')`: series without the label are selected. */
  readonly matchesEmpty: boolean;
}

/**
 * Orders matchers cheapest and most selective first: equality on a non-empty value, then
 * other matchers that reject '', then the ones that accept ''.
 */
export function prepareMatchers(matchers: readonly Matcher[]): PreparedMatcher[] {
  const rank = (p: PreparedMatcher): number => (p.matchesEmpty ? 2 : p.matcher.type === '=' ? 0 : 1);
  return matchers.map((m) => ({ matcher: m, matchesEmpty: m.matches('') })).sort((a, b) => rank(a) - rank(b));
}

/**
 * Throws InvalidError unless at least one matcher rejects the empty string; a selector made
 * only of empty-matching matchers (`{a=~".*"}`, `{a!="x"}`) would select every series.
 */
export function requireNonEmptyMatcher(matchers: readonly Matcher[]): void {
  for (const m of matchers) if (!m.matches('')) return;
  const shown = matchers.map((m) => `${m.name}${m.type}"${m.value}"`).join(', ');
  throw new InvalidError(
    `queries require at least one regexp or equality matcher that does not match the empty string; {${shown}} does not have one`,
  );
}

function memoFor(memo: MatchMemo, m: Matcher): Map<string, boolean> {
  let byValue = memo.get(m);
  if (byValue === undefined) memo.set(m, (byValue = new Map()));
  return byValue;
}

/** Ascending intersection of two ascending lists. */
export function intersect(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out[n++] = x;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out.subarray(0, n);
}

/**
 * Series numbers of `seg` selected by all matchers, ascending. With no matchers every series
 * is selected. `memo` (shared by the segments of one query) remembers each value's result;
 * without it every value is tested once here, which is cheaper for a single segment.
 */
export function selectSeries(seg: Segment, matchers: readonly PreparedMatcher[], memo: MatchMemo | null): Uint32Array {
  let cand: Uint32Array | undefined;
  for (const { matcher: m, matchesEmpty } of matchers) {
    const byValue = seg.postings.get(m.name);
    if (m.type === '=' && !matchesEmpty) {
      const list = byValue?.get(m.value);
      if (list === undefined) return new Uint32Array(0);
      cand = cand === undefined ? list : intersect(cand, list);
    } else {
      const cache = memo === null ? null : memoFor(memo, m);
      // Mark series whose value passes (for matchers rejecting '') or fails (otherwise).
      const mark = new Uint8Array(seg.seriesCount);
      let marked = 0;
      if (byValue !== undefined) {
        for (const [value, list] of byValue) {
          let ok = cache === null ? undefined : cache.get(value);
          if (ok === undefined) {
            ok = m.matches(value);
            cache?.set(value, ok);
          }
          if (ok === matchesEmpty) continue;
          for (let k = 0; k < list.length; k++) mark[list[k]!] = 1;
          marked += list.length;
        }
      }
      if (!matchesEmpty && marked === 0) return new Uint32Array(0);
      if (matchesEmpty && marked === 0) {
        cand ??= allSeries(seg.seriesCount);
        continue;
      }
      const base = cand ?? allSeries(seg.seriesCount);
      const out = new Uint32Array(base.length);
      let n = 0;
      const keep = matchesEmpty ? 0 : 1;
      for (let k = 0; k < base.length; k++) {
        const s = base[k]!;
        if (mark[s] === keep) out[n++] = s;
      }
      cand = out.subarray(0, n);
    }
    if (cand.length === 0) return cand;
  }
  return cand ?? allSeries(seg.seriesCount);
}

function allSeries(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}
