/**
 * Per-request helpers of the metadata endpoints (labels, label values, series) that keep their
 * cost proportional to the answer at 100k series: merging already sorted lists instead of
 * re-sorting a Set, and caching each series' JSON text on its (long-lived) label array, as its
 * key is (`seriesKey`, model/labels.ts). Ingester streams and cached index segments keep one
 * label array per series for their lifetime, so both strings are built once per series, not
 * once per request. Likewise the answer
 * of `labels` and `label/<name>/values` is kept per list when the list is one that never changes
 * (marked `ascending`, util/sorted.ts, where the sorted union of label lists is too).
 */
import { isInKeyOrder, labelsJson, mergeAllInKeyOrder, seriesJsonOf, seriesKey, type Labels } from '../model/labels.js';
import { forgetInsertions, insertionsOf, isMarkedAscending, type Insertions } from '../util/sorted.js';

const jsonCache = new WeakMap<Labels, string>();
/** Every answer's head and tail around its data array. */
const BODY_HEAD = Buffer.from('{"status":"success","data":[');
const BODY_TAIL = Buffer.from(']}');
const COMMA = Buffer.from(',');

/** `labelsJson(labels)`, cached per label array. */
export function seriesJson(labels: Labels): string {
  let j = jsonCache.get(labels);
  if (j === undefined) {
    j = labelsJson(labels);
    jsonCache.set(labels, j);
  }
  return j;
}

/** Series sorted by their label string, each label set once (the key decides equality). */
export function sortSeries(byKey: Map<string, Labels>): Labels[] {
  const keys = [...byKey.keys()].sort();
  const out = new Array<Labels>(keys.length);
  for (let i = 0; i < keys.length; i++) out[i] = byKey.get(keys[i]!)!;
  return out;
}

/**
 * The label sets of `lists` ordered by label string, each once: Loki's series answer. Lists
 * marked `inKeyOrder` (the store's and the ingester's) are merged as they are, and one such list
 * alone is the answer itself. An unmarked list found in order by one pass (an ingester's answer
 * over gRPC, which keeps the order) is merged too; with any other, every set is keyed and sorted.
 */
export function seriesUnion(lists: readonly (readonly Labels[])[]): readonly Labels[] {
  const some = lists.filter((l) => l.length > 0);
  if (some.length === 0) return [];
  if (!some.every((l) => isInKeyOrder(l) || strictlyInKeyOrder(l))) {
    const byKey = new Map<string, Labels>();
    for (const list of some) for (const l of list) byKey.set(seriesKey(l), l);
    return sortSeries(byKey);
  }
  return mergeAllInKeyOrder(some);
}

/** Whether each label set's string is greater than the one before. */
function strictlyInKeyOrder(list: readonly Labels[]): boolean {
  for (let i = 1; i < list.length; i++) if (!(seriesKey(list[i - 1]!) < seriesKey(list[i]!))) return false;
  return true;
}

/**
 * Loki's series response body, `{"status":"success","data":[{…},…]}`, as bytes from cached
 * per-series JSON (the list's own texts, `withSeriesJson`, when its maker gave them), kept with
 * the list when it is frozen. Each piece is encoded straight into one buffer of the exact size:
 * joining the pieces into a string and encoding that took 5x as long (5k series: 6.8 → 1.3 ms;
 * 100k: 97 → 17 ms, bench/RESULTS.md). A list made by putting a few series into a list whose
 * answer is kept (a pod started: `recordInsertions`) gets that answer with theirs spliced in.
 * The buffer may be shared: do not modify.
 */
export function seriesResponseBody(series: readonly Labels[]): Buffer {
  // A frozen list never changes: its answer is kept with it (the ingester hands out the same
  // frozen list while its streams stay the same; 12.5 MB for 100k series, ~20 ms to make).
  const frozen = Object.isFrozen(series);
  if (frozen) {
    const kept = seriesBodies.get(series);
    if (kept !== undefined) return kept.body;
  }
  const ins = insertionsOf(series);
  let base = ins === undefined ? undefined : seriesBodies.get(ins.base);
  if (base === undefined && ins !== undefined && ins.keepBase && ins.base.length > 0 && Object.isFrozen(ins.base)) {
    // The base lives on (a stored segment's answer beside the few series still in memory):
    // made once, its bytes make this answer and the next ones.
    seriesResponseBody(ins.base);
    base = seriesBodies.get(ins.base);
  }
  let made: ListBody | null = null;
  if (base !== undefined && ins!.base.length > 0 && ins!.base.length + ins!.at.length === series.length) {
    const known = seriesJsonOf(series);
    made = spliced(series.length, ins!, base, (p) => (known !== undefined ? known[p]! : seriesJson(series[p]!)));
  }
  made ??= makeSeriesBody(series);
  if (frozen) {
    seriesBodies.set(series, made);
    // Made: the base list and its bytes need not live on for it.
    forgetInsertions(series);
  }
  return made.body;
}

const seriesBodies = new WeakMap<readonly Labels[], ListBody>();

function makeSeriesBody(series: readonly Labels[]): ListBody {
  const known = seriesJsonOf(series);
  const parts = new Array<string>(series.length);
  let size = BODY_HEAD.length + BODY_TAIL.length + Math.max(0, series.length - 1);
  for (let i = 0; i < series.length; i++) {
    const j = known !== undefined ? known[i]! : seriesJson(series[i]!);
    parts[i] = j;
    size += Buffer.byteLength(j);
  }
  const body = Buffer.allocUnsafe(size);
  const offsets = new Int32Array(parts.length);
  let at = BODY_HEAD.copy(body, 0);
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) body[at++] = 0x2c;
    offsets[i] = at;
    at += body.write(parts[i]!, at, 'utf8');
  }
  BODY_TAIL.copy(body, at);
  return { body, offsets };
}

/** An answer's bytes, and where each value's JSON string starts in them (made when first needed). */
interface ListBody {
  readonly body: Buffer;
  offsets: Int32Array | null;
}

const listBodies = new WeakMap<readonly string[], ListBody>();

/**
 * Loki's answer to `labels` and `label/<name>/values`, `{"status":"success","data":[…]}`, as
 * bytes. For a list marked ascending (never changed after it was made) the bytes are kept with
 * the list: the ingester's and the stored index's lists keep their identity while no value comes
 * or goes, so 100k unchanged pod names are encoded once, not per request (2.6 MB, ~30 ms). A
 * list the ingester made by putting a few values into one whose answer is kept (a pod started,
 * `recordInsertions`) gets that answer with the new values spliced in, not a new encoding.
 */
export function labelListBody(list: readonly string[]): Buffer {
  const kept = listBodies.get(list);
  if (kept !== undefined) return kept.body;
  if (!isMarkedAscending(list)) return Buffer.from(JSON.stringify({ status: 'success', data: list }));
  const ins = insertionsOf(list);
  let base = ins === undefined ? undefined : listBodies.get(ins.base);
  if (base === undefined && ins !== undefined && ins.keepBase && ins.base.length > 0) {
    labelListBody(ins.base);
    base = listBodies.get(ins.base);
  }
  const made = (base !== undefined && ins!.base.length > 0 && ins!.base.length + ins!.at.length === list.length ? spliced(list.length, ins!, base, (p) => JSON.stringify(list[p])) : null) ?? {
    body: Buffer.from(JSON.stringify({ status: 'success', data: list })),
    offsets: null,
  };
  listBodies.set(list, made);
  return made.body;
}

/** Start of each value's JSON string in `body` (a label-list answer): one pass over its bytes. */
function valueOffsets(body: Buffer, n: number): Int32Array | null {
  const out = new Int32Array(n);
  let k = 0;
  let inString = false;
  let escaped = false;
  for (let i = BODY_HEAD.length, end = body.length - BODY_TAIL.length; i < end; i++) {
    const c = body[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      if (k === n) return null;
      out[k++] = i;
      inString = true;
    }
  }
  return k === n ? out : null;
}

/**
 * The answer of a list of `length` items from its base's (`ins`): runs of the base's bytes with the
 * JSON of the inserted items (`text(p)` for the item at index p) between them, or null when the
 * base's bytes do not hold its items (never expected).
 */
function spliced<T>(length: number, ins: Insertions<T>, base: ListBody, text: (p: number) => string): ListBody | null {
  const old = base.body;
  const n = ins.base.length;
  const from = (base.offsets ??= valueOffsets(old, n));
  if (from === null) return null;
  // End (exclusive) of base item j's JSON: before the next one's comma, or before the tail.
  const endOf = (j: number): number => (j + 1 < n ? from[j + 1]! - 1 : old.length - BODY_TAIL.length);
  const pieces: Buffer[] = [BODY_HEAD];
  const offsets = new Int32Array(length);
  let at = BODY_HEAD.length;
  let j = 0;
  let p = 0;
  for (let k = 0; k <= ins.at.length; k++) {
    // Base items up to the next inserted one, as one run of bytes.
    const runEnd = k < ins.at.length ? ins.at[k]! : length;
    const len = runEnd - p;
    if (len > 0) {
      const start = from[j]!;
      if (p > 0) {
        pieces.push(COMMA);
        at++;
      }
      const shift = at - start;
      for (let i = 0; i < len; i++) offsets[p + i] = from[j + i]! + shift;
      const run = old.subarray(start, endOf(j + len - 1));
      pieces.push(run);
      at += run.length;
      j += len;
      p += len;
    }
    if (k < ins.at.length) {
      const v = Buffer.from(text(p));
      if (p > 0) {
        pieces.push(COMMA);
        at++;
      }
      offsets[p] = at;
      pieces.push(v);
      at += v.length;
      p++;
    }
  }
  pieces.push(BODY_TAIL);
  return { body: Buffer.concat(pieces), offsets };
}
