/**
 * Binary operations as Loki evaluates them (syntax/ast.go `MergeBinOp`, evaluator.go
 * `vectorBinop`, `vectorAnd/Or/Unless`, `LiteralStepEvaluator`): division and modulo by zero
 * give NaN, comparisons filter unless `bool`, literal legs fold at parse time.
 */
import type { Labels } from '../../model/index.js';
import type { BinOp, BinOpExpr, SampleExpr, VectorMatching } from '../syntax/ast.js';
import { dropLabels, getLabel, keepLabels, labelsKey, setLabel } from './labels.js';
import { MatrixBuilder, SeriesInfo, StepMatrix } from './matrix.js';
import { MatchingError } from './errors.js';

export function isComparison(op: BinOp): boolean {
  return op === '==' || op === '!=' || op === '>' || op === '>=' || op === '<' || op === '<=';
}

export function isSetOp(op: BinOp): boolean {
  return op === 'and' || op === 'or' || op === 'unless';
}

/** Go's math.Pow where it differs from `**`: Pow(1, y) = 1 and Pow(-1, ±Inf) = 1. */
function goPow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

/** Arithmetic of two values. */
export function arith(op: BinOp, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return r === 0 ? NaN : l / r;
    case '%':
      return r === 0 ? NaN : l % r; // JS % is C fmod, as Go's math.Mod
    case '^':
      return goPow(l, r);
    default:
      throw new MatchingError(`should never happen: unexpected operation: (${op})`);
  }
}

export function compare(op: BinOp, l: number, r: number): boolean {
  switch (op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '>':
      return l > r;
    case '>=':
      return l >= r;
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    default:
      throw new MatchingError(`should never happen: unexpected operation: (${op})`);
  }
}

/** Two scalars (Loki `reduceBinOp`): comparisons give 1 or 0 whether or not `bool` is written. */
export function scalarBinOp(op: BinOp, l: number, r: number): number {
  return isComparison(op) ? (compare(op, l, r) ? 1 : 0) : arith(op, l, r);
}

/** Folds every binary operation whose legs are both literals, bottom-up (Loki's parser does this). */
export function foldLiterals(e: SampleExpr): SampleExpr {
  switch (e.kind) {
    case 'binOp': {
      const lhs = foldLiterals(e.lhs);
      const rhs = foldLiterals(e.rhs);
      if (lhs.kind === 'literal' && rhs.kind === 'literal' && !isSetOp(e.op)) {
        return { kind: 'literal', value: scalarBinOp(e.op, lhs.value, rhs.value) };
      }
      return lhs === e.lhs && rhs === e.rhs ? e : { ...e, lhs, rhs };
    }
    case 'vectorAggregation': {
      const inner = foldLiterals(e.expr);
      return inner === e.expr ? e : { ...e, expr: inner };
    }
    case 'labelReplace': {
      const inner = foldLiterals(e.expr);
      return inner === e.expr ? e : { ...e, expr: inner };
    }
    default:
      return e;
  }
}

/** A vector with a literal on one side (`literalLeft`: `2 * x`). */
export function literalBinOp(op: BinOp, lit: number, m: StepMatrix, literalLeft: boolean, returnBool: boolean): StepMatrix {
  const b = new MatrixBuilder(m.steps, m.idx.length);
  const cmp = isComparison(op);
  for (let k = 0; k < m.steps; k++) {
    for (let p = m.off[k]!; p < m.off[k + 1]!; p++) {
      const x = m.val[p]!;
      const l = literalLeft ? lit : x;
      const r = literalLeft ? x : lit;
      if (!cmp) b.push(m.idx[p]!, arith(op, l, r));
      else if (returnBool) b.push(m.idx[p]!, compare(op, l, r) ? 1 : 0);
      else if (compare(op, l, r)) b.push(m.idx[p]!, x); // the vector's sample survives unchanged
    }
    b.endStep();
  }
  return b.build(m.series, m.tsMs);
}

const DEFAULT_MATCHING: VectorMatching = { on: false, labels: [], card: 'one-to-one', include: [] };

/** Matching signature id of every series (`on` keeps, `ignoring` drops the listed labels). */
function signatures(series: readonly SeriesInfo[], matching: VectorMatching, ids: Map<string, number>): Int32Array {
  const names = new Set(matching.labels);
  const out = new Int32Array(series.length);
  for (let i = 0; i < series.length; i++) {
    const l = series[i]!.labels;
    const key = matching.on ? labelsKey(keepLabels(l, names)) : names.size === 0 ? series[i]!.key : labelsKey(dropLabels(l, names));
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size;
      ids.set(key, id);
    }
    out[i] = id;
  }
  return out;
}

/** Loki `resultMetric`: labels of a vector-vector result. */
function resultLabels(lhs: Labels, rhs: Labels, m: VectorMatching): Labels {
  let out: Labels = lhs;
  if (m.card === 'one-to-one') {
    const names = new Set(m.labels);
    out = m.on ? keepLabels(lhs, names) : dropLabels(lhs, names);
  }
  for (const n of m.include) out = setLabel(out, n, getLabel(rhs, n));
  return out;
}

/** Arithmetic or comparison of two vectors. */
export function vectorBinOp(e: BinOpExpr, L: StepMatrix, R: StepMatrix): StepMatrix {
  const matching = e.matching ?? DEFAULT_MATCHING;
  const oneToMany = matching.card === 'one-to-many';
  // For one-to-many the roles swap: `a` is the "many" side whose samples are looked up.
  const A = oneToMany ? R : L;
  const B = oneToMany ? L : R;
  const ids = new Map<string, number>();
  const aSig = signatures(A.series, matching, ids);
  const bSig = signatures(B.series, matching, ids);
  const nSig = ids.size;
  const bStamp = new Int32Array(nSig).fill(-1);
  const bPos = new Int32Array(nSig);
  const matchedStamp = new Int32Array(nSig).fill(-1);
  const inserted = new Map<number, Set<number>>();
  const pairOut = new Map<number, number>();
  const outByKey = new Map<string, number>();
  const outSeries: SeriesInfo[] = [];
  const nB = B.series.length;
  const cmp = isComparison(e.op);
  const b = new MatrixBuilder(L.steps, Math.min(A.idx.length, B.idx.length));
  const steps = Math.min(A.steps, B.steps);

  for (let k = 0; k < steps; k++) {
    for (let q = B.off[k]!; q < B.off[k + 1]!; q++) {
      const sig = bSig[B.idx[q]!]!;
      if (bStamp[sig] === k) {
        throw new MatchingError(
          `found duplicate series on the ${oneToMany ? 'left' : 'right'} hand-side;many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      bStamp[sig] = k;
      bPos[sig] = q;
    }
    if (matching.card !== 'one-to-one') inserted.clear();
    for (let p = A.off[k]!; p < A.off[k + 1]!; p++) {
      const ai = A.idx[p]!;
      const sig = aSig[ai]!;
      if (bStamp[sig] !== k) continue;
      const q = bPos[sig]!;
      const bi = B.idx[q]!;
      const pairKey = ai * nB + bi;
      let out = pairOut.get(pairKey);
      if (out === undefined) {
        const info = new SeriesInfo(resultLabels(A.series[ai]!.labels, B.series[bi]!.labels, matching));
        out = outByKey.get(info.key);
        if (out === undefined) {
          out = outSeries.length;
          outByKey.set(info.key, out);
          outSeries.push(info);
        }
        pairOut.set(pairKey, out);
      }
      if (matching.card === 'one-to-one') {
        if (matchedStamp[sig] === k) throw new MatchingError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        matchedStamp[sig] = k;
      } else {
        let set = inserted.get(sig);
        if (set === undefined) inserted.set(sig, (set = new Set()));
        else if (set.has(out)) throw new MatchingError('multiple matches for labels: grouping labels must ensure unique matches');
        set.add(out);
      }
      const lv = oneToMany ? B.val[q]! : A.val[p]!;
      const rv = oneToMany ? A.val[p]! : B.val[q]!;
      if (!cmp) b.push(out, arith(e.op, lv, rv));
      else if (e.returnBool) b.push(out, compare(e.op, lv, rv) ? 1 : 0);
      else if (compare(e.op, lv, rv)) b.push(out, lv);
    }
    b.endStep();
  }
  return b.build(outSeries, L.tsMs);
}

/** `and`, `or`, `unless` with optional on/ignoring (cardinality is not checked, as in Loki). */
export function setBinOp(e: BinOpExpr, L: StepMatrix, R: StepMatrix): StepMatrix {
  const matching = e.matching ?? DEFAULT_MATCHING;
  const ids = new Map<string, number>();
  const lSig = signatures(L.series, matching, ids);
  const rSig = signatures(R.series, matching, ids);
  const stamp = new Int32Array(ids.size).fill(-1);
  const steps = Math.min(L.steps, R.steps);
  const b = new MatrixBuilder(L.steps, L.idx.length + (e.op === 'or' ? R.idx.length : 0));
  const nL = L.series.length;
  for (let k = 0; k < steps; k++) {
    const l0 = L.off[k]!;
    const l1 = L.off[k + 1]!;
    const r0 = R.off[k]!;
    const r1 = R.off[k + 1]!;
    const lEmpty = l0 === l1;
    const rEmpty = r0 === r1;
    if (e.op === 'or') {
      for (let p = l0; p < l1; p++) {
        b.push(L.idx[p]!, L.val[p]!);
        stamp[lSig[L.idx[p]!]!] = k;
      }
      for (let q = r0; q < r1; q++) if (lEmpty || stamp[rSig[R.idx[q]!]!] !== k) b.push(nL + R.idx[q]!, R.val[q]!);
    } else if (e.op === 'and') {
      if (!lEmpty && !rEmpty) {
        for (let q = r0; q < r1; q++) stamp[rSig[R.idx[q]!]!] = k;
        for (let p = l0; p < l1; p++) if (stamp[lSig[L.idx[p]!]!] === k) b.push(L.idx[p]!, L.val[p]!);
      }
    } else {
      for (let q = r0; q < r1; q++) stamp[rSig[R.idx[q]!]!] = k;
      for (let p = l0; p < l1; p++) if (rEmpty || stamp[lSig[L.idx[p]!]!] !== k) b.push(L.idx[p]!, L.val[p]!);
    }
    b.endStep();
  }
  const series = e.op === 'or' ? [...L.series, ...R.series] : L.series;
  return b.build(series, L.tsMs);
}

