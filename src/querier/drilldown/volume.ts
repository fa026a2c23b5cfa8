/**
 * `/index/volume` and `/index/volume_range`: line bytes per series (or per label name) of
 * the streams a selector matches, in Loki's Prometheus-style vector/matrix answer
 * (pkg/querier/queryrange/volume.go, seriesvolume). Silt counts the exact bytes of the lines
 * in range rather than Loki's chunk-size estimate, so the figures are exact.
 */
import { InvalidError } from '../../errors.js';
import type { BlockVisit, MatrixSeries, MetricResult } from '../../logql/engine/index.js';
import { parseSelector, type LabelMatcher, type LogSelectorExpr } from '../../logql/syntax/index.js';
import type { Labels } from '../../model/index.js';
import { HIDDEN_LABELS, type DrilldownSource } from './types.js';

/** Loki's default and the accepted `aggregateBy` values. */
export const DEFAULT_VOLUME_LIMIT = 100;
export type VolumeAggregateBy = 'series' | 'labels';

export interface VolumeRequest {
  tenant: string;
  /** A selector (matchers only); `{}` matches every stream. */
  query: string;
  startNs: bigint;
  /** Inclusive. */
  endNs: bigint;
  /** Bucket width; 0 for the instant endpoint (one bucket ending at endNs). */
  stepNs: bigint;
  /** Most series (or label names) per bucket, largest first. */
  limit: number;
  /** Aggregate into these labels only (and require them); empty: the matchers' label names. */
  targetLabels: readonly string[];
  aggregateBy: VolumeAggregateBy;
}

const NS_PER_MS = 1_000_000n;
/** Loki's SplitGap: every bucket but the last ends 1 ms before the next begins. */
const SPLIT_GAP_NS = NS_PER_MS;

function labelsString(ls: Labels): string {
  return '{' + ls.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ') + '}';
}

/** The selector to scan and the label names a series is reduced to (null: all of them). */
function plan(req: VolumeRequest): { selector: LogSelectorExpr; keep: Set<string> | null; hiddenAllowed: Set<string>; matchAny: boolean } {
  const q = req.query.trim();
  const matchAny = q === '{}';
  const matchers: LabelMatcher[] = matchAny ? [] : [...parseSelector(q).matchers];
  const hiddenAllowed = new Set(matchers.map((m) => m.name).filter((n) => HIDDEN_LABELS.includes(n)));
  let keep: Set<string> | null;
  if (req.targetLabels.length > 0) {
    keep = new Set(req.targetLabels);
    const named = new Set(matchers.map((m) => m.name));
    for (const t of req.targetLabels) if (!named.has(t)) matchers.push({ kind: 'matcher', name: t, type: '=~', value: '.+' });
  } else {
    keep = matchAny ? null : new Set(matchers.map((m) => m.name));
  }
  return { selector: { kind: 'logSelector', matchers, stages: [] }, keep, hiddenAllowed, matchAny: matchers.length === 0 };
}

/** Computes the volume answer; `stepNs = 0` gives the instant form. */
export async function computeVolume(src: DrilldownSource, req: VolumeRequest): Promise<MetricResult> {
  if (req.stepNs < 0n) throw new InvalidError('zero or negative query resolution step widths are not accepted. Try a positive integer');
  const { selector, keep, hiddenAllowed, matchAny } = plan(req);
  const bySeries = req.aggregateBy === 'series';
  // Buckets: [alignedStart + k*step, alignedStart + (k+1)*step), the first clipped to start
  // and the last running to end inclusive; the instant form is one bucket.
  const step = req.stepNs;
  const aligned = step > 0n ? req.startNs - (((req.startNs % step) + step) % step) : req.startNs;
  const nBuckets = step > 0n ? Number((req.endNs - aligned + step - 1n) / step) : 1;
  if (nBuckets > 11_000) throw new InvalidError('exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of the step parameter');
  const stepNum = Number(step);
  /** Per bucket: name → bytes. */
  const buckets: Map<string, number>[] = Array.from({ length: Math.max(nBuckets, 0) }, () => new Map());
  const metrics = new Map<string, Labels>();
  /** Reduced series name per stream fingerprint. */
  const names = new Map<string, string[] | null>();
  if (nBuckets <= 0) return { type: 'vector', samples: [] };

  // The index refuses a selector without a non-empty matcher, so `{}` is read as one scan
  // per label name (`{name=~".+"}`), each stream counted in the first scan that meets it.
  const selectors: LogSelectorExpr[] = matchAny
    ? (await src.labelNames(req.tenant, req.startNs, req.endNs)).map((name) => ({ kind: 'logSelector', matchers: [{ kind: 'matcher', name, type: '=~', value: '.+' }], stages: [] }))
    : [selector];
  const done = new Set<string>();
  const seen = new Set<string>();
  const visit = (v: BlockVisit): void => {
    if (done.has(v.fingerprint)) return;
    seen.add(v.fingerprint);
    let target = names.get(v.fingerprint);
    if (target === undefined) {
      target = null;
      if (!v.labels.some((l) => HIDDEN_LABELS.includes(l.name) && !hiddenAllowed.has(l.name))) {
        if (bySeries) {
          const reduced = keep === null ? v.labels : v.labels.filter((l) => keep.has(l.name));
          const name = labelsString(reduced);
          if (!metrics.has(name)) metrics.set(name, reduced);
          target = [name];
        } else {
          target = v.labels.filter((l) => req.targetLabels.length === 0 || keep!.has(l.name)).map((l) => l.name);
          for (const n of target) if (!metrics.has(n)) metrics.set(n, [{ name: n, value: '' }]);
        }
      }
      names.set(v.fingerprint, target);
    }
    if (target === null || target.length === 0) return;
    const { block, lo, hi, sel } = v;
    const off = block.lineOffsets;
    if (step === 0n) {
      let bytes = 0;
      for (let i = lo; i < hi; i++) if (sel[i] === 1) bytes += off[i + 1]! - off[i]!;
      if (bytes > 0) for (const n of target) buckets[0]!.set(n, (buckets[0]!.get(n) ?? 0) + bytes);
      return;
    }
    // ts - aligned as an exact number: a block spans < 2^53 ns and so does any sane range.
    const base = Number(block.baseNs - aligned);
    for (let i = lo; i < hi; i++) {
      if (sel[i] !== 1) continue;
      let k = Math.floor((base + block.tsRel[i]!) / stepNum);
      if (k >= nBuckets) k = nBuckets - 1;
      const m = buckets[k]!;
      const bytes = off[i + 1]! - off[i]!;
      for (const n of target) m.set(n, (m.get(n) ?? 0) + bytes);
    }
  };
  for (const sel of selectors) {
    await src.scanSelector(req.tenant, sel, req.startNs, req.endNs, visit);
    for (const fp of seen) done.add(fp);
  }

  const totals: VolumeBucket[] = [];
  for (let k = 0; k < nBuckets; k++) {
    const m = buckets[k]!;
    if (m.size === 0) continue;
    const endNs = step === 0n || k === nBuckets - 1 ? req.endNs : aligned + BigInt(k + 1) * step - SPLIT_GAP_NS;
    totals.push({ tsMs: Number(endNs / NS_PER_MS), bytes: [...m].map(([name, bytes]) => [name, metrics.get(name)!, bytes]) });
  }
  return volumeResult(totals, req.limit);
}

/** One volume bucket: its timestamp (its end, ms) and the bytes of each series name in it. */
export interface VolumeBucket {
  tsMs: number;
  bytes: [name: string, labels: Labels, bytes: number][];
}

/**
 * Loki's volume answer from per-bucket totals (buckets in time order): each bucket keeps its top
 * `limit` (most bytes, then name); series are ordered by their first point (most bytes, then
 * name); a vector whenever no series has more than one sample. The querier and the
 * query-frontend's merge of split windows both answer through it.
 */
export function volumeResult(buckets: readonly VolumeBucket[], limit: number): MetricResult {
  const series = new Map<string, MatrixSeries>();
  for (const b of buckets) {
    const top = [...b.bytes].sort((x, y) => (x[2] === y[2] ? (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0) : y[2] - x[2])).slice(0, limit);
    for (const [name, labels, value] of top) {
      let s = series.get(name);
      if (!s) series.set(name, (s = { labels, points: [] }));
      s.points.push({ tsMs: b.tsMs, value });
    }
  }
  const sorted = [...series].sort((a, b) => {
    const va = a[1].points[0]!.value;
    const vb = b[1].points[0]!.value;
    return va === vb ? (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) : vb - va;
  });
  if (sorted.every(([, s]) => s.points.length <= 1)) {
    return { type: 'vector', samples: sorted.map(([, s]) => ({ labels: s.labels, tsMs: s.points[0]!.tsMs, value: s.points[0]!.value })) };
  }
  return { type: 'matrix', series: sorted.map(([, s]) => s) };
}
