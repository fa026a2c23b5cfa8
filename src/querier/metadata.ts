/**
 * Per-request helpers of the metadata endpoints (labels, label values, series) that keep their
 * cost proportional to the answer at 100k series: merging already sorted lists instead of
 * re-sorting a Set, and caching each series' sort key and JSON text on its (long-lived) label
 * array. Ingester streams and cached index segments keep one label array per series for their
 * lifetime, so both strings are built once per series, not once per request. Likewise the answer
 * of `labels` and `label/<name>/values` is kept per list when the list is one that never changes
 * (marked `ascending`, util/sorted.ts, where the sorted union of label lists is too).
 */
import { labelsToObject, labelsToString, type Labels } from '../model/labels.js';
import { insertionsOf, isMarkedAscending, type Insertions } from '../util/sorted.js';

const keyCache = new WeakMap<Labels, string>();
const jsonCache = new WeakMap<Labels, string>();

/** `labelsToString(labels)`, cached per label array (the series' identity and sort key). */
export function seriesKey(labels: Labels): string {
  let k = keyCache.get(labels);
  if (k === undefined) {
    k = labelsToString(labels);
    keyCache.set(labels, k);
  }
  return k;
}

/** `JSON.stringify(labelsToObject(labels))`, cached per label array. */
export function seriesJson(labels: Labels): string {
  let j = jsonCache.get(labels);
  if (j === undefined) {
    j = JSON.stringify(labelsToObject(labels));
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

/** Loki's series response body, `{"status":"success","data":[{…},…]}`, from cached per-series JSON. */
export function seriesResponseJson(series: readonly Labels[]): string {
  const parts = new Array<string>(series.length);
  for (let i = 0; i < series.length; i++) parts[i] = seriesJson(series[i]!);
  return '{"status":"success","data":[' + parts.join(',') + ']}';
}

/** An answer's bytes, and where each value's JSON string starts in them (made when first needed). */
interface ListBody {
  readonly body: Buffer;
  offsets: Int32Array | null;
}

const listBodies = new WeakMap<readonly string[], ListBody>();
const BODY_HEAD = Buffer.from('{"status":"success","data":[');
const BODY_TAIL = Buffer.from(']}');
const COMMA = Buffer.from(',');

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
  const made = (base !== undefined && ins!.base.length > 0 && ins!.base.length + ins!.at.length === list.length ? spliced(list, ins!, base) : null) ?? {
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
 * `list`'s answer from its base's: runs of the base's bytes with the inserted values' JSON
 * between them, or null when the base's bytes do not hold its values (never expected).
 */
function spliced(list: readonly string[], ins: Insertions, base: ListBody): ListBody | null {
  const old = base.body;
  const n = ins.base.length;
  const from = (base.offsets ??= valueOffsets(old, n));
  if (from === null) return null;
  // End (exclusive) of base value j's JSON string: before the next one's comma, or before the tail.
  const endOf = (j: number): number => (j + 1 < n ? from[j + 1]! - 1 : old.length - BODY_TAIL.length);
  const pieces: Buffer[] = [BODY_HEAD];
  const offsets = new Int32Array(list.length);
  let at = BODY_HEAD.length;
  let j = 0;
  let p = 0;
  for (let k = 0; k <= ins.at.length; k++) {
    // Base values up to the next inserted one, as one run of bytes.
    const runEnd = k < ins.at.length ? ins.at[k]! : list.length;
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
      const v = Buffer.from(JSON.stringify(list[p]));
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
