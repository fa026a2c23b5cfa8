/**
 * Vector aggregations (`sum avg min max count stddev stdvar topk bottomk sort sort_desc`),
 * step by step as Loki's VectorAggEvaluator (pkg/logql/evaluator.go). Group membership is
 * computed once per input series since a series' labels never change.
 */
import type { VectorAggregationExpr } from '../syntax/ast.js';
import { Grouper } from './labels.js';
import { MatrixBuilder, SeriesInfo, StepMatrix } from './matrix.js';

/** Group index of every input series, and the groups' labels (in first-seen order). */
function groupSeries(m: StepMatrix, g: Grouper): { of: Int32Array; groups: SeriesInfo[] } {
  const of = new Int32Array(m.series.length);
  const byKey = new Map<string, number>();
  const groups: SeriesInfo[] = [];
  for (let i = 0; i < m.series.length; i++) {
    const info = new SeriesInfo(g.apply(m.series[i]!.labels));
    let gi = byKey.get(info.key);
    if (gi === undefined) {
      gi = groups.length;
      byKey.set(info.key, gi);
      groups.push(info);
    }
    of[i] = gi;
  }
  return { of, groups };
}

export function evalVectorAggregation(e: VectorAggregationExpr, m: StepMatrix): StepMatrix {
  const op = e.op === 'approx_topk' ? 'topk' : e.op;
  const grouper = Grouper.of(e.grouping);
  const { of, groups } = groupSeries(m, grouper);
  if (op === 'topk' || op === 'bottomk' || op === 'sort' || op === 'sort_desc') return selectByValue(op, e.param ?? 0, m, of, groups.length);

  const G = groups.length;
  const value = new Float64Array(G);
  const mean = new Float64Array(G);
  const count = new Float64Array(G);
  const stamp = new Int32Array(G).fill(-1);
  const touched: number[] = [];
  const b = new MatrixBuilder(m.steps, m.idx.length);
  for (let k = 0; k < m.steps; k++) {
    touched.length = 0;
    for (let p = m.off[k]!; p < m.off[k + 1]!; p++) {
      const gi = of[m.idx[p]!]!;
      const x = m.val[p]!;
      if (stamp[gi] !== k) {
        stamp[gi] = k;
        touched.push(gi);
        value[gi] = op === 'stddev' || op === 'stdvar' ? 0 : x;
        mean[gi] = x;
        count[gi] = 1;
        continue;
      }
      switch (op) {
        case 'sum':
          value[gi]! += x;
          break;
        case 'avg': {
          const c = ++count[gi]!;
          const mu = mean[gi]!;
          if (mu === Infinity || mu === -Infinity) {
            // Loki keeps an infinite mean unless an opposite infinity or NaN arrives.
            if ((x === Infinity || x === -Infinity) && mu > 0 === x > 0) break;
            if (Number.isFinite(x)) break;
          }
          mean[gi] = mu + (x - mu) / c;
          break;
        }
        case 'max':
          if (value[gi]! < x || Number.isNaN(value[gi]!)) value[gi] = x;
          break;
        case 'min':
          if (value[gi]! > x || Number.isNaN(value[gi]!)) value[gi] = x;
          break;
        case 'count':
          count[gi]!++;
          break;
        case 'stddev':
        case 'stdvar': {
          const c = ++count[gi]!;
          const delta = x - mean[gi]!;
          mean[gi]! += delta / c;
          value[gi]! += delta * (x - mean[gi]!);
          break;
        }
      }
    }
    for (const gi of touched) {
      let out: number;
      switch (op) {
        case 'avg':
          out = mean[gi]!;
          break;
        case 'count':
          out = count[gi]!;
          break;
        case 'stddev':
          out = Math.sqrt(value[gi]! / count[gi]!);
          break;
        case 'stdvar':
          out = value[gi]! / count[gi]!;
          break;
        default:
          out = value[gi]!;
      }
      b.push(gi, out);
    }
    b.endStep();
  }
  return b.build(groups, m.tsMs);
}

/**
 * topk/bottomk (k per group) and sort/sort_desc (whole group): the output keeps the input
 * series. Order within a group: topk/sort_desc descending, bottomk/sort ascending, NaN last
 * (Loki's heaps treat NaN as the weakest value). Equal values keep input order (inputs are in
 * label order), so ties resolve deterministically; Loki's resolution depends on map order.
 */
function selectByValue(op: 'topk' | 'bottomk' | 'sort' | 'sort_desc', k: number, m: StepMatrix, of: Int32Array, groupCount: number): StepMatrix {
  const desc = op === 'topk' || op === 'sort_desc';
  const limit = op === 'topk' || op === 'bottomk' ? k : Infinity;
  const b = new MatrixBuilder(m.steps, m.idx.length);
  const members: number[][] = Array.from({ length: groupCount }, () => []);
  const order: number[] = [];
  const val = m.val;
  const cmp = (p: number, q: number): number => {
    const x = val[p]!;
    const y = val[q]!;
    const xn = Number.isNaN(x);
    const yn = Number.isNaN(y);
    if (xn || yn) return xn === yn ? p - q : xn ? 1 : -1;
    if (x !== y) return desc ? (x > y ? -1 : 1) : x < y ? -1 : 1;
    return p - q;
  };
  for (let s = 0; s < m.steps; s++) {
    order.length = 0;
    for (let p = m.off[s]!; p < m.off[s + 1]!; p++) {
      const gi = of[m.idx[p]!]!;
      if (members[gi]!.length === 0) order.push(gi);
      members[gi]!.push(p);
    }
    for (const gi of order) {
      const ps = members[gi]!;
      ps.sort(cmp);
      const n = Math.min(ps.length, limit);
      for (let i = 0; i < n; i++) b.push(m.idx[ps[i]!]!, val[ps[i]!]!);
      ps.length = 0;
    }
    b.endStep();
  }
  return b.build(m.series, m.tsMs);
}

