/**
 * Comparing Silt's HTTP answers with the reference: log results as a multiset of
 * (labels, ts, line) plus per-stream order; metric results series by series with a relative
 * tolerance of 1e-9 (NaN equals NaN); topk/bottomk tie-tolerantly.
 */
import { DETAILS } from './pipeline.js';
import { keyOf, type MatrixSeries, type RefMetricResult, type RefStream } from './evaluate.js';

/** Normalises a label set for comparison: empty values dropped, error details reduced to presence. */
export function normLabels(labels: Record<string, string>): string {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (v === '') continue;
    out[k] = k === '__error_details__' ? DETAILS : v;
  }
  return keyOf(out);
}

/** Flattened rows `labels|ts|line`, sorted, and whether every stream is in `direction` order. */
export function logRows(streams: ReadonlyArray<{ stream: Record<string, string>; values: ReadonlyArray<readonly [string, string]> }>, direction: 'forward' | 'backward'): { rows: string[]; ordered: boolean } {
  const rows: string[] = [];
  let ordered = true;
  for (const s of streams) {
    const k = normLabels(s.stream);
    let prev: bigint | null = null;
    for (const [ts, line] of s.values) {
      const t = BigInt(ts);
      if (prev !== null && (direction === 'backward' ? t > prev : t < prev)) ordered = false;
      prev = t;
      rows.push(`${k}|${ts}|${line}`);
    }
  }
  rows.sort();
  return { rows, ordered };
}

export function refLogRows(streams: readonly RefStream[]): string[] {
  return logRows(streams, 'forward').rows;
}

/** Parses a Prometheus/Loki sample value string. */
export function parseValue(v: string): number {
  if (v === 'NaN') return NaN;
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

export function close(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-300);
}

/** series key → (ts ms → value). */
export type SeriesMap = Map<string, Map<number, number>>;

export function siltSeries(data: any): SeriesMap {
  const out: SeriesMap = new Map();
  const add = (metric: Record<string, string>, ts: number, v: string): void => {
    const k = normLabels(metric);
    if (!out.has(k)) out.set(k, new Map());
    out.get(k)!.set(Math.round(ts * 1000), parseValue(v));
  };
  if (data.resultType === 'matrix') for (const s of data.result) for (const [ts, v] of s.values) add(s.metric, ts, v);
  else if (data.resultType === 'vector') for (const s of data.result) add(s.metric, s.value[0], s.value[1]);
  else if (data.resultType === 'scalar') add({}, data.result[0], data.result[1]);
  return out;
}

export function refSeries(r: RefMetricResult): SeriesMap {
  const out: SeriesMap = new Map();
  const add = (metric: Record<string, string>, tNs: bigint, v: number): void => {
    const k = normLabels(metric);
    if (!out.has(k)) out.set(k, new Map());
    out.get(k)!.set(Number(tNs / 1_000_000n), v);
  };
  if (r.resultType === 'matrix') for (const s of r.result as MatrixSeries[]) for (const [t, v] of s.values) add(s.metric, t, v);
  else if (r.resultType === 'vector') for (const s of r.result) add(s.metric, s.value[0], s.value[1]);
  else add({}, r.result[0], r.result[1]);
  return out;
}

/** Differences between two series maps (empty when equal), at most `max` lines. */
export function diffSeries(got: SeriesMap, want: SeriesMap, max = 10): string[] {
  const out: string[] = [];
  for (const [k, pts] of want) {
    const g = got.get(k);
    if (!g) {
      out.push(`missing series ${k} (${pts.size} points)`);
      continue;
    }
    for (const [t, v] of pts) {
      const gv = g.get(t);
      if (gv === undefined) out.push(`${k} @${t}: missing, want ${v}`);
      else if (!close(gv, v)) out.push(`${k} @${t}: got ${gv}, want ${v}`);
    }
    for (const [t, v] of g) if (!pts.has(t)) out.push(`${k} @${t}: unexpected ${v}`);
  }
  for (const [k, pts] of got) if (!want.has(k)) out.push(`unexpected series ${k} (${pts.size} points)`);
  return out.slice(0, max);
}

/**
 * topk/bottomk with possible ties: per step, the sorted values must equal the reference's, and
 * every returned (series, step, value) must exist with that value in the aggregated input.
 */
export function diffTopk(got: SeriesMap, want: SeriesMap, input: SeriesMap, max = 10): string[] {
  const out: string[] = [];
  const byStep = (m: SeriesMap): Map<number, number[]> => {
    const r = new Map<number, number[]>();
    for (const pts of m.values()) for (const [t, v] of pts) r.set(t, [...(r.get(t) ?? []), v]);
    for (const vs of r.values()) vs.sort((a, b) => a - b);
    return r;
  };
  const gs = byStep(got);
  const ws = byStep(want);
  for (const t of new Set([...gs.keys(), ...ws.keys()])) {
    const g = gs.get(t) ?? [];
    const w = ws.get(t) ?? [];
    if (g.length !== w.length || g.some((v, i) => !close(v, w[i]!))) out.push(`@${t}: values ${JSON.stringify(g)}, want ${JSON.stringify(w)}`);
  }
  for (const [k, pts] of got) {
    for (const [t, v] of pts) {
      const iv = input.get(k)?.get(t);
      if (iv === undefined || !close(iv, v)) out.push(`${k} @${t}: ${v} is not an input sample (${iv})`);
    }
  }
  return out.slice(0, max);
}
