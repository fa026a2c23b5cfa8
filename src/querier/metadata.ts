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
import { isMarkedAscending } from '../util/sorted.js';

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

const listBodies = new WeakMap<readonly string[], Buffer>();

/**
 * Loki's answer to `labels` and `label/<name>/values`, `{"status":"success","data":[…]}`, as
 * bytes. For a list marked ascending (never changed after it was made) the bytes are kept with
 * the list: the ingester's and the stored index's lists keep their identity while no value comes
 * or goes, so 100k unchanged pod names are encoded once, not per request (2.6 MB, ~30 ms).
 */
export function labelListBody(list: readonly string[]): Buffer {
  let body = listBodies.get(list);
  if (body === undefined) {
    body = Buffer.from(JSON.stringify({ status: 'success', data: list }));
    if (isMarkedAscending(list)) listBodies.set(list, body);
  }
  return body;
}
