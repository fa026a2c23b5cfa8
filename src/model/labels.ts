/**
 * Label sets. A `Labels` value is an array of name/value pairs sorted by name with unique
 * names; every function here keeps that invariant. The canonical text form is Loki's:
 * `{a="1", b="2"}` with Go-style quoted values.
 */
import { FEW_BESIDE_LONG, insertAscending, recordInsertions, sameElements } from '../util/sorted.js';

export interface Label {
  readonly name: string;
  readonly value: string;
}

/** Sorted by name, names unique. */
export type Labels = readonly Label[];

/** Sorts a copy by name. Duplicate names are kept (validation reports them). */
export function sortLabels(labels: readonly Label[]): Label[] {
  return [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Quotes a label value the way Go's strconv.Quote does for printable text. */
export function quoteValue(v: string): string {
  let simple = true;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x7f) {
      simple = false;
      break;
    }
  }
  if (simple) return '"' + v + '"';
  let out = '"';
  for (let i = 0; i < v.length; i++) {
    const ch = v[i]!;
    const c = v.charCodeAt(i);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** `{a="1", b="2"}`; `{}` for no labels. */
export function labelsToString(labels: Labels): string {
  if (labels.length === 0) return '{}';
  // Joined, not concatenated: `+=` builds a rope of ~4 string objects per label that stays
  // in memory as long as the string (an ingester keeps one per stream); join returns a flat one.
  const parts = new Array<string>(labels.length);
  const last = labels.length - 1;
  for (let i = 0; i <= last; i++) {
    const l = labels[i]!;
    parts[i] = (i === 0 ? '{' : '') + l.name + '=' + quoteValue(l.value) + (i === last ? '}' : '');
  }
  return parts.join(', ');
}

/** Labels as a plain object, in sorted order (for JSON responses). */
export function labelsToObject(labels: Labels): Record<string, string> {
  const o: Record<string, string> = {};
  for (const l of labels) o[l.name] = l.value;
  return o;
}

/** A label set as the JSON object a `series` answer holds: `JSON.stringify(labelsToObject(labels))`. */
export function labelsJson(labels: Labels): string {
  return JSON.stringify(labelsToObject(labels));
}

/** Builds sorted labels from an object. */
export function labelsFromObject(o: Record<string, string>): Label[] {
  return sortLabels(Object.entries(o).map(([name, value]) => ({ name, value })));
}

/** Value of `name`, or '' when absent (Prometheus semantics). */
export function labelValue(labels: Labels, name: string): string {
  for (const l of labels) if (l.name === name) return l.value;
  return '';
}

/** True when every label name matches Prometheus' `[a-zA-Z_][a-zA-Z0-9_]*`. */
export function isValidLabelName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
    if (!alpha && !(i > 0 && c >= 48 && c <= 57)) return false;
  }
  return true;
}

const M1 = 0x85ebca6b;
const M2 = 0xc2b2ae35;

function mix(h: number, c: number): number {
  h ^= c;
  h = Math.imul(h, 0x5bd1e995);
  return h ^ (h >>> 15);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, M1);
  h ^= h >>> 13;
  h = Math.imul(h, M2);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A 64-bit fingerprint of a label set as 16 lower-case hex digits. Stable across
 * processes and versions: it names chunks in object storage, so never change it.
 */
export function fingerprint(labels: Labels): string {
  let a = 0x9747b28c;
  let b = 0x2f6b3a91;
  for (const l of labels) {
    const s = l.name;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = mix(a, c);
      b = mix(b ^ 0x55, c + 0x1f3);
    }
    a = mix(a, 0xff);
    b = mix(b, 0x1fe);
    const v = l.value;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      a = mix(a, c);
      b = mix(b ^ 0x55, c + 0x1f3);
    }
    a = mix(a, 0xfe);
    b = mix(b, 0x1fd);
  }
  return hex64(fmix(a), fmix(b ^ a));
}

/** Character codes of the lower-case hex digits. */
const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * `hi` and `lo` (unsigned 32-bit) as 16 hex digits in one flat string: joining two 8-digit
 * halves with `+` makes a rope of three string objects, and every stream keeps its fingerprint.
 */
function hex64(hi: number, lo: number): string {
  const h = HEX_CODES;
  return String.fromCharCode(
    h[hi >>> 28]!, h[(hi >>> 24) & 15]!, h[(hi >>> 20) & 15]!, h[(hi >>> 16) & 15]!,
    h[(hi >>> 12) & 15]!, h[(hi >>> 8) & 15]!, h[(hi >>> 4) & 15]!, h[hi & 15]!,
    h[lo >>> 28]!, h[(lo >>> 24) & 15]!, h[(lo >>> 20) & 15]!, h[(lo >>> 16) & 15]!,
    h[(lo >>> 12) & 15]!, h[(lo >>> 8) & 15]!, h[(lo >>> 4) & 15]!, h[lo & 15]!,
  );
}

const keyCache = new WeakMap<Labels, string>();

/**
 * `labelsToString(labels)`, cached per label array: the series' identity and the order of a
 * series answer. Ingester streams and cached index segments keep one label array per series for
 * their lifetime, so the string is built once per series, not once per request.
 */
export function seriesKey(labels: Labels): string {
  let k = keyCache.get(labels);
  if (k === undefined) {
    k = labelsToString(labels);
    keyCache.set(labels, k);
  }
  return k;
}

const keyOrdered = new WeakSet<readonly Labels[]>();

/**
 * Marks a list of label sets as ordered by `labelsToString` with no set twice, as a `series`
 * answer is; its maker promises not to change it. Returns the list.
 */
export function markInKeyOrder<T extends readonly Labels[]>(list: T): T {
  keyOrdered.add(list);
  return list;
}

/** Whether `list` was marked by `markInKeyOrder`. */
export function isInKeyOrder(list: readonly Labels[]): boolean {
  return keyOrdered.has(list);
}

const listJson = new WeakMap<readonly Labels[], readonly string[]>();

/**
 * Gives a series list the `labelsJson` text of each of its label sets, kept by its maker (the
 * ingester keeps it on each stream): a series answer then finds them with one look-up for the
 * list, not one per series (a per-series cache look-up was ~30 % of a 100k-series answer).
 * Returns the list.
 */
export function withSeriesJson<T extends readonly Labels[]>(list: T, json: readonly string[]): T {
  if (json.length !== list.length) throw new RangeError(`${json.length} JSON texts for ${list.length} series`);
  listJson.set(list, json);
  return list;
}

/** The texts given to `list` by `withSeriesJson`, if any. */
export function seriesJsonOf(list: readonly Labels[]): readonly string[] | undefined {
  return listJson.get(list);
}

/** Two lists in key order (`markInKeyOrder`) as one, a label set in both once; marked too. */
export function mergeInKeyOrder(a: readonly Labels[], b: readonly Labels[]): Labels[] {
  const out = new Array<Labels>();
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ka = seriesKey(a[i]!);
    const kb = seriesKey(b[j]!);
    if (ka <= kb) {
      out.push(a[i++]!);
      if (ka === kb) j++;
    } else out.push(b[j++]!);
  }
  for (; i < a.length; i++) out.push(a[i]!);
  for (; j < b.length; j++) out.push(b[j]!);
  return markInKeyOrder(out);
}

/**
 * Lists in key order as one (see `mergeInKeyOrder`), merged in pairs, then pairs of those, so
 * each label set is compared ~log(lists) times however many lists there are (a day's segments
 * before compaction can be many); a few label sets beside one long list are put into it instead
 * (`recordInsertions`). One list is returned as it is. The merge of frozen lists
 * (answers their makers keep and hand out again: the ingester's, a stored segment's) is frozen
 * and kept with the first of them, so the same lists asked again give the same list (and the
 * answer's bytes kept with it) without a merge.
 */
export function mergeAllInKeyOrder(lists: readonly (readonly Labels[])[]): readonly Labels[] {
  if (lists.length === 0) return markInKeyOrder([]);
  if (lists.length === 1) return lists[0]!;
  const frozen = lists.every((l) => Object.isFrozen(l));
  if (frozen) {
    const kept = frozenMerges.get(lists[0]!);
    if (kept !== undefined && sameElements(kept.lists, lists)) return kept.merged;
  }
  // One long list and a few label sets besides (a stored day's 100k series and the streams
  // started since its flush): the few go in where a binary search puts them, one copy of the
  // long list, recorded so the answer's bytes can be the long list's with theirs spliced in.
  let big = 0;
  let others = 0;
  for (let i = 1; i < lists.length; i++) if (lists[i]!.length > lists[big]!.length) big = i;
  for (let i = 0; i < lists.length; i++) if (i !== big) others += lists[i]!.length;
  let merged: readonly Labels[];
  if (others * FEW_BESIDE_LONG <= lists[big]!.length) {
    const long = lists[big]!;
    const r = insertAscending(long, pairwise(lists.filter((_, i) => i !== big)), seriesKey);
    if (r === null) merged = long;
    else {
      merged = markInKeyOrder(r.out);
      // A frozen long list lives on (kept by its maker): its answer is worth making once.
      recordInsertions(r.out, long, r.at, Object.isFrozen(long));
    }
  } else merged = pairwise(lists);
  if (frozen) frozenMerges.set(lists[0]!, { lists: [...lists], merged: Object.freeze(merged) });
  return merged;
}

/** Lists merged in pairs, then pairs of those. */
function pairwise(lists: readonly (readonly Labels[])[]): readonly Labels[] {
  let level: (readonly Labels[])[] = [...lists];
  while (level.length > 1) {
    const next: (readonly Labels[])[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? mergeInKeyOrder(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

/** The last merge of frozen lists, by the first of them (see `mergeAllInKeyOrder`). */
const frozenMerges = new WeakMap<readonly Labels[], { readonly lists: readonly (readonly Labels[])[]; readonly merged: readonly Labels[] }>();
