/**
 * The reference LogQL evaluator: log queries and metric queries over an in-memory array of
 * entries, written for obviousness, not speed. Metric queries are evaluated step by step like an
 * instant query at every step (Prometheus style): range aggregations look at the samples in the
 * window (t - range - offset, t - offset], then vector aggregations and binary operations work on
 * the resulting instant vectors.
 *
 * Only `parseExpr` (the syntax) is shared with Silt; nothing in src/logql evaluates anything here.
 */
import {
  parseExpr,
  type BinOpExpr,
  type Expr,
  type Grouping,
  type LogRangeExpr,
  type LogSelectorExpr,
  type RangeAggregationExpr,
  type SampleExpr,
  type VectorAggregationExpr,
  type VectorMatching,
} from '../../../src/logql/syntax/index.js';
import { goParseBytes, goParseDuration, goParseFloat, re2ToJs } from './convert.js';
import { ERR_SAMPLE, finalLabels, labelFilterPasses, ReferenceUnsupported, runPipeline, setSampleError, type RefEntry } from './pipeline.js';

export { ReferenceUnsupported };

/** Loki's "pipeline error": a metric query met samples carrying `__error__` (HTTP 400). */
export class PipelineError extends Error {}

/** A query the reference refuses because Loki's answer depends on unspecified order (duplicates in matching...). */
export class ReferenceAmbiguous extends Error {}

export type Labels = ReadonlyMap<string, string>;

/** Canonical key of a label set: sorted `name=value` JSON. */
export function keyOf(labels: Labels | Record<string, string>): string {
  const entries = labels instanceof Map ? [...labels] : Object.entries(labels);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(entries);
}

export function toObject(labels: Labels): Record<string, string> {
  return Object.fromEntries([...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// ---------------------------------------------------------------------------------------------
// Log queries

export interface LogParams {
  startNs: bigint;
  /** Exclusive, as in Loki's log queries. */
  endNs: bigint;
  limit: number;
  direction: 'forward' | 'backward';
}

export interface RefStream {
  stream: Record<string, string>;
  /** [ts ns, line] in the direction's order. */
  values: Array<[string, string]>;
}

export function evalLogQuery(entries: readonly RefEntry[], sel: LogSelectorExpr, p: LogParams): RefStream[] {
  const hits: Array<{ labels: Labels; tsNs: bigint; line: string }> = [];
  for (const e of entries) {
    if (e.tsNs < p.startNs || e.tsNs >= p.endNs) continue;
    const s = runPipeline(sel, e);
    if (s === null) continue;
    hits.push({ labels: finalLabels(s), tsNs: e.tsNs, line: s.line });
  }
  hits.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
  if (p.direction === 'backward') hits.reverse();
  const streams = new Map<string, RefStream>();
  for (const h of hits.slice(0, p.limit)) {
    const k = keyOf(h.labels);
    let st = streams.get(k);
    if (!st) streams.set(k, (st = { stream: toObject(h.labels), values: [] }));
    st.values.push([h.tsNs.toString(), h.line]);
  }
  return [...streams.values()];
}

// ---------------------------------------------------------------------------------------------
// Samples

interface Sample {
  tsNs: bigint;
  value: number;
  labels: Labels;
  key: string;
  error: boolean;
}

function applyGrouping(labels: Map<string, string>, g: Grouping): Map<string, string> {
  if (g.without) {
    const out = new Map(labels);
    for (const n of g.labels) out.delete(n);
    return out;
  }
  const out = new Map<string, string>();
  for (const n of g.labels) {
    const v = labels.get(n);
    if (v !== undefined) out.set(n, v);
  }
  return out;
}

function convertUnwrapped(v: string, conv: LogRangeExpr['unwrap'] & object): number | null {
  switch (conv.conversion) {
    case null:
      return goParseFloat(v);
    case 'duration':
    case 'duration_seconds': {
      const ns = goParseDuration(v);
      return ns === null ? null : ns / 1e9;
    }
    case 'bytes':
      return goParseBytes(v);
  }
}

/** Every sample a range aggregation's log range extracts, over all entries (time-sorted). */
function extractSamples(entries: readonly RefEntry[], agg: RangeAggregationExpr): Sample[] {
  const r = agg.range;
  const out: Sample[] = [];
  const bytes = agg.op === 'bytes_over_time' || agg.op === 'bytes_rate';
  for (const e of entries) {
    const s = runPipeline(r.selector, e);
    if (s === null) continue;
    let value: number;
    let grouping: Grouping | null = agg.grouping;
    if (r.unwrap !== null) {
      const u = r.unwrap;
      const raw = s.labels.get(u.label) ?? '';
      // An absent or empty unwrapped label yields no sample (loki#6713).
      if (raw === '') continue;
      const v = convertUnwrapped(raw, u);
      if (v === null) {
        setSampleError(s, ERR_SAMPLE);
        value = 0;
      } else value = v;
      if (!u.postFilters.every((f) => labelFilterPasses(f, s))) continue;
      // The unwrapped label is always removed (by `without`, or by not being in `by`).
      grouping = grouping === null || grouping.without ? { without: true, labels: [...(grouping?.labels ?? []), u.label] } : grouping;
    } else {
      value = bytes ? Buffer.byteLength(s.line, 'utf8') : 1;
    }
    const full = finalLabels(s);
    const error = s.err !== '';
    // With an error the labels are not grouped, so the error surfaces.
    const labels = grouping !== null && !error ? applyGrouping(full, grouping) : full;
    out.push({ tsNs: e.tsNs, value, labels, key: keyOf(labels), error });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Instant vectors

export interface VSample {
  labels: Labels;
  value: number;
}

type Value = { t: 'vector'; v: VSample[] } | { t: 'scalar'; v: number };

/** Prometheus' quantile (linear interpolation between closest ranks). */
export function quantile(q: number, values: readonly number[]): number {
  if (values.length === 0) return NaN;
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = q * (sorted.length - 1);
  const lo = Math.max(0, Math.floor(rank));
  const hi = Math.min(sorted.length - 1, lo + 1);
  const w = rank - Math.floor(rank);
  return sorted[lo]! * (1 - w) + sorted[hi]! * w;
}

function mean(vs: readonly number[]): number {
  return vs.reduce((a, b) => a + b, 0) / vs.length;
}

function variance(vs: readonly number[]): number {
  const m = mean(vs);
  return vs.reduce((a, b) => a + (b - m) * (b - m), 0) / vs.length;
}

function rangeFn(agg: RangeAggregationExpr, samples: readonly Sample[], rangeSec: number): number {
  const vs = samples.map((s) => s.value);
  switch (agg.op) {
    case 'count_over_time':
      return vs.length;
    case 'rate':
      return agg.range.unwrap === null ? vs.length / rangeSec : vs.reduce((a, b) => a + b, 0) / rangeSec;
    case 'bytes_over_time':
    case 'sum_over_time':
      return vs.reduce((a, b) => a + b, 0);
    case 'bytes_rate':
      return vs.reduce((a, b) => a + b, 0) / rangeSec;
    case 'avg_over_time':
      return mean(vs);
    case 'min_over_time':
      return vs.reduce((a, b) => (Number.isNaN(a) || b < a ? b : a));
    case 'max_over_time':
      return vs.reduce((a, b) => (Number.isNaN(a) || b > a ? b : a));
    case 'stdvar_over_time':
      return variance(vs);
    case 'stddev_over_time':
      return Math.sqrt(variance(vs));
    case 'quantile_over_time':
      return quantile(agg.param!, vs);
    case 'first_over_time':
      return vs[0]!;
    case 'last_over_time':
      return vs[vs.length - 1]!;
    case 'rate_counter':
    case 'absent_over_time':
      throw new ReferenceUnsupported(agg.op);
  }
}

/** Labels `absent_over_time` reports: the selector's equality matchers (a name used twice is dropped). */
function absentLabels(sel: LogSelectorExpr): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Set<string>();
  for (const m of sel.matchers) {
    if (m.type === '=' && !seen.has(m.name)) out.set(m.name, m.value);
    else out.delete(m.name);
    seen.add(m.name);
  }
  return out;
}

const ARITH = new Set(['+', '-', '*', '/', '%', '^']);
const CMP = new Set(['==', '!=', '>', '>=', '<', '<=']);

function arith(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0 ? NaN : a / b; // Loki guards division by zero with NaN (evaluator.go mergeBinOp)
    case '%':
      return b === 0 ? NaN : a % b; // likewise; otherwise Go's math.Mod: sign of the dividend, like JS
    case '^':
      return Math.pow(a, b);
  }
  throw new Error(op);
}

function cmp(op: string, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
  throw new Error(op);
}

function signature(labels: Labels, m: VectorMatching | null): string {
  if (m === null) return keyOf(labels);
  const out = new Map<string, string>();
  for (const [n, v] of labels) if (m.on ? m.labels.includes(n) : !m.labels.includes(n)) out.set(n, v);
  return keyOf(out);
}

function resultLabels(lhs: Labels, m: VectorMatching | null): Labels {
  if (m === null) return lhs;
  const out = new Map<string, string>();
  for (const [n, v] of lhs) if (m.on ? m.labels.includes(n) : !m.labels.includes(n)) out.set(n, v);
  return out;
}

/** The evaluator over one data set; caches extracted samples per range aggregation node. */
export class Evaluator {
  private readonly samples = new Map<RangeAggregationExpr, Sample[]>();

  constructor(private readonly entries: readonly RefEntry[]) {}

  private samplesOf(agg: RangeAggregationExpr): Sample[] {
    let s = this.samples.get(agg);
    if (!s) this.samples.set(agg, (s = extractSamples(this.entries, agg)));
    return s;
  }

  private rangeAt(agg: RangeAggregationExpr, tNs: bigint): VSample[] {
    const r = agg.range;
    const hi = tNs - r.offsetNs;
    const lo = hi - r.rangeNs;
    const inWindow = this.samplesOf(agg).filter((s) => s.tsNs > lo && s.tsNs <= hi);
    if (agg.op === 'absent_over_time') return inWindow.length === 0 ? [{ labels: absentLabels(r.selector), value: 1 }] : [];
    if (inWindow.some((s) => s.error)) throw new PipelineError('pipeline error: a sample carries __error__');
    const groups = new Map<string, Sample[]>();
    for (const s of inWindow) {
      const g = groups.get(s.key);
      if (g) g.push(s);
      else groups.set(s.key, [s]);
    }
    const rangeSec = Number(r.rangeNs) / 1e9;
    return [...groups.values()].map((g) => ({ labels: g[0]!.labels, value: rangeFn(agg, g, rangeSec) }));
  }

  private vectorAgg(e: VectorAggregationExpr, tNs: bigint): VSample[] {
    const inner = this.vector(e.expr, tNs);
    const g: Grouping = e.grouping ?? { without: false, labels: [] };
    const groups = new Map<string, { labels: Labels; members: VSample[] }>();
    for (const s of inner) {
      const labels = applyGrouping(new Map(s.labels), g);
      const k = keyOf(labels);
      const grp = groups.get(k);
      if (grp) grp.members.push(s);
      else groups.set(k, { labels, members: [s] });
    }
    const out: VSample[] = [];
    for (const { labels, members } of groups.values()) {
      const vs = members.map((m) => m.value);
      switch (e.op) {
        case 'sum':
          out.push({ labels, value: vs.reduce((a, b) => a + b, 0) });
          break;
        case 'avg':
          out.push({ labels, value: mean(vs) });
          break;
        case 'count':
          out.push({ labels, value: vs.length });
          break;
        case 'min':
          out.push({ labels, value: vs.reduce((a, b) => (Number.isNaN(a) || b < a ? b : a)) });
          break;
        case 'max':
          out.push({ labels, value: vs.reduce((a, b) => (Number.isNaN(a) || b > a ? b : a)) });
          break;
        case 'stddev':
          out.push({ labels, value: Math.sqrt(variance(vs)) });
          break;
        case 'stdvar':
          out.push({ labels, value: variance(vs) });
          break;
        case 'topk':
        case 'bottomk': {
          // Ties at the k-th place are resolved arbitrarily by Loki: the conformance test
          // compares topk results tie-tolerantly (see compare.ts).
          const sorted = [...members].sort((a, b) => (e.op === 'topk' ? b.value - a.value : a.value - b.value));
          out.push(...sorted.slice(0, e.param!));
          break;
        }
        case 'sort':
        case 'sort_desc':
          out.push(...members);
          break;
        case 'approx_topk':
          throw new ReferenceUnsupported('approx_topk');
      }
    }
    return out;
  }

  private binOp(e: BinOpExpr, tNs: bigint): Value {
    const l = this.eval(e.lhs, tNs);
    const r = this.eval(e.rhs, tNs);
    const op = e.op;
    if (l.t === 'scalar' && r.t === 'scalar') {
      if (ARITH.has(op)) return { t: 'scalar', v: arith(op, l.v, r.v) };
      if (CMP.has(op)) return { t: 'scalar', v: cmp(op, l.v, r.v) ? 1 : 0 };
      throw new ReferenceUnsupported(`set operation ${op} on scalars`);
    }
    if (l.t === 'scalar' || r.t === 'scalar') {
      const vec = l.t === 'vector' ? l.v : (r as { v: VSample[] }).v;
      const out: VSample[] = [];
      for (const s of vec) {
        const a = l.t === 'scalar' ? l.v : s.value;
        const b = r.t === 'scalar' ? r.v : s.value;
        if (ARITH.has(op)) out.push({ labels: s.labels, value: arith(op, a, b) });
        else if (CMP.has(op)) {
          const ok = cmp(op, a, b);
          if (e.returnBool) out.push({ labels: s.labels, value: ok ? 1 : 0 });
          else if (ok) out.push({ labels: s.labels, value: s.value });
        } else throw new ReferenceUnsupported(`set operation ${op} with a scalar`);
      }
      return { t: 'vector', v: out };
    }
    const m = e.matching;
    if (m !== null && m.card !== 'one-to-one') throw new ReferenceUnsupported('group_left/group_right');
    const lv = l.v;
    const rv = r.v;
    const rsigs = new Map<string, VSample[]>();
    for (const s of rv) {
      const k = signature(s.labels, m);
      rsigs.set(k, [...(rsigs.get(k) ?? []), s]);
    }
    if (op === 'and') return { t: 'vector', v: lv.filter((s) => rsigs.has(signature(s.labels, m))) };
    if (op === 'unless') return { t: 'vector', v: lv.filter((s) => !rsigs.has(signature(s.labels, m))) };
    if (op === 'or') {
      const lsigs = new Set(lv.map((s) => signature(s.labels, m)));
      return { t: 'vector', v: [...lv, ...rv.filter((s) => !lsigs.has(signature(s.labels, m)))] };
    }
    const out: VSample[] = [];
    const lseen = new Set<string>();
    for (const s of lv) {
      const k = signature(s.labels, m);
      const match = rsigs.get(k);
      if (!match) continue;
      if (match.length > 1) throw new ReferenceAmbiguous('duplicate series on the right-hand side');
      if (lseen.has(k)) throw new ReferenceAmbiguous('many-to-one matching must be explicit');
      lseen.add(k);
      const b = match[0]!.value;
      const labels = resultLabels(s.labels, m);
      if (ARITH.has(op)) out.push({ labels, value: arith(op, s.value, b) });
      else {
        const ok = cmp(op, s.value, b);
        if (e.returnBool) out.push({ labels, value: ok ? 1 : 0 });
        else if (ok) out.push({ labels, value: s.value });
      }
    }
    return { t: 'vector', v: out };
  }

  private vector(e: SampleExpr, tNs: bigint): VSample[] {
    const v = this.eval(e, tNs);
    if (v.t !== 'vector') throw new ReferenceUnsupported('scalar where a vector is expected');
    return v.v;
  }

  /** Evaluates a sample expression at one instant. */
  eval(e: SampleExpr, tNs: bigint): Value {
    switch (e.kind) {
      case 'literal':
        return { t: 'scalar', v: e.value };
      case 'vector':
        return { t: 'vector', v: [{ labels: new Map(), value: e.value }] };
      case 'rangeAggregation':
        return { t: 'vector', v: this.rangeAt(e, tNs) };
      case 'vectorAggregation':
        return { t: 'vector', v: this.vectorAgg(e, tNs) };
      case 'binOp':
        return this.binOp(e, tNs);
      case 'labelReplace': {
        const re = re2ToJs(e.regex, true);
        const out = this.vector(e.expr, tNs).map((s) => {
          const m = re.exec(s.labels.get(e.src) ?? '');
          if (!m) return s;
          const val = e.replacement.replace(/\$(\d+|\{(\w+)\}|[A-Za-z_]\w*)/g, (_all, a: string, braced: string | undefined) => {
            const name = braced ?? a;
            const g = /^\d+$/.test(name) ? m[Number(name)] : m.groups?.[name];
            return g ?? '';
          });
          const labels = new Map(s.labels);
          if (val === '') labels.delete(e.dst);
          else labels.set(e.dst, val);
          return { labels, value: s.value };
        });
        return { t: 'vector', v: out };
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Query entry points in Loki's result shapes

export interface MatrixSeries {
  metric: Record<string, string>;
  /** [ts ns, value] ascending. */
  values: Array<[bigint, number]>;
}

export type RefMetricResult =
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'vector'; result: Array<{ metric: Record<string, string>; value: [bigint, number] }> }
  | { resultType: 'scalar'; result: [bigint, number] };

/** Parses a query and returns its AST (Silt's parser; only the syntax is shared). */
export function parse(query: string): Expr {
  return parseExpr(query);
}

/** query_range of a metric query: steps start, start+step, ... <= end. */
export function evalRangeQuery(entries: readonly RefEntry[], expr: SampleExpr, startNs: bigint, endNs: bigint, stepNs: bigint): RefMetricResult {
  const ev = new Evaluator(entries);
  const series = new Map<string, MatrixSeries>();
  for (let t = startNs; t <= endNs; t += stepNs) {
    const v = ev.eval(expr, t);
    const samples = v.t === 'scalar' ? [{ labels: new Map<string, string>(), value: v.v }] : v.v;
    for (const s of samples) {
      const k = keyOf(s.labels);
      let ser = series.get(k);
      if (!ser) series.set(k, (ser = { metric: toObject(s.labels), values: [] }));
      if (ser.values.length > 0 && ser.values[ser.values.length - 1]![0] === t) throw new ReferenceAmbiguous(`duplicate series ${k} at one step`);
      ser.values.push([t, s.value]);
    }
  }
  return { resultType: 'matrix', result: [...series.values()] };
}

/** An instant query at `tNs`. */
export function evalInstantQuery(entries: readonly RefEntry[], expr: SampleExpr, tNs: bigint): RefMetricResult {
  const v = new Evaluator(entries).eval(expr, tNs);
  if (v.t === 'scalar') return { resultType: 'scalar', result: [tNs, v.v] };
  const seen = new Set<string>();
  for (const s of v.v) {
    const k = keyOf(s.labels);
    if (seen.has(k)) throw new ReferenceAmbiguous(`duplicate series ${k}`);
    seen.add(k);
  }
  return { resultType: 'vector', result: v.v.map((s) => ({ metric: toObject(s.labels), value: [tNs, s.value] })) };
}
