/**
 * AST constructors called by the grammar's postprocessors (logql.ne). They never throw: nearley
 * runs postprocessors on branches that may die later, so semantic checks wait for `validate.ts`.
 * Source offsets are kept in a side table (`positionOf`) instead of on the nodes, so that trees
 * from different texts still compare equal.
 */
import type { MatchType } from '../../model/matcher.js';
import type {
  BinOp,
  BinOpExpr,
  CompareOp,
  Grouping,
  LabelExtraction,
  LabelFilterExpr,
  LabelFilterStage,
  LabelFormat,
  LabelMatcher,
  LineFilterArg,
  LineFilterOp,
  LineFilterStage,
  LogRangeExpr,
  LogSelectorExpr,
  NamedMatcher,
  RangeAggregationExpr,
  RangeOp,
  SampleExpr,
  StageExpr,
  UnwrapConversion,
  UnwrapExpr,
  VectorAggregationExpr,
  VectorMatching,
  VectorOp,
} from './ast.js';
import type { Token } from './lexer.js';
import { parseGoFloat } from './literals.js';

/** A grammar terminal matching any of several token types (`types` feeds error messages). */
export interface TokenClass {
  test: (t: Token) => boolean;
  types: readonly string[];
}

export function tokenClass(types: readonly string[]): TokenClass {
  const set = new Set(types);
  return { test: (t: Token) => set.has(t.type), types };
}

const positions = new WeakMap<object, number>();

/** Source offset recorded for a node, for error messages. */
export function positionOf(node: object): number | undefined {
  return positions.get(node);
}

function at<T extends object>(node: T, offset: number): T {
  positions.set(node, offset);
  return node;
}

/** A NUMBER's value as Go's strconv.ParseFloat reads it (`1_000`, `0x1p-2`); NaN when it does not (validation reports it). */
function goFloat(text: string): number {
  const f = parseGoFloat(text);
  return f.ok ? f.value : NaN;
}

/** Numeric text of NUMBER tokens kept for validation (Loki parses them late, with errors). */
const numberTexts = new WeakMap<object, string>();

/** The NUMBER text a literal/parameter node was built from. */
export function numberTextOf(node: object): string | undefined {
  return numberTexts.get(node);
}

export function matcher(name: Token, op: Token, value: Token): LabelMatcher {
  return at({ kind: 'matcher', name: name.value, type: op.value as MatchType, value: value.value }, name.offset);
}

export function selector(open: Token, matchers: LabelMatcher[] | null, stages: StageExpr[] | null): LogSelectorExpr {
  return at({ kind: 'logSelector', matchers: matchers ?? [], stages: stages ?? [] }, open.offset);
}

export function withStages(sel: LogSelectorExpr, stages: StageExpr[]): LogSelectorExpr {
  return at({ kind: 'logSelector', matchers: sel.matchers, stages }, positions.get(sel) ?? 0);
}

export function lineFilter(op: Token, args: LineFilterArg[]): LineFilterStage {
  return at({ kind: 'lineFilter', op: op.value as LineFilterOp, args }, op.offset);
}

export function lineFilterArg(str: Token, ip: boolean): LineFilterArg {
  return at({ ip, value: str.value }, str.offset);
}

export function extraction(name: Token, expr: Token | null): LabelExtraction {
  return { name: name.value, expression: expr === null ? name.value : expr.value };
}

export function logfmt(flags: Token[] | null, params: LabelExtraction[] | null): StageExpr {
  const f = flags ?? [];
  return {
    kind: 'logfmt',
    strict: f.some((t) => t.value === '--strict'),
    keepEmpty: f.some((t) => t.value === '--keep-empty'),
    params: params ?? [],
  };
}

export function stringStage(kind: 'regexp' | 'pattern' | 'lineFormat', str: Token): StageExpr {
  if (kind === 'lineFormat') return at({ kind, template: str.value }, str.offset);
  return at({ kind, pattern: str.value }, str.offset);
}

export function labelFormat(name: Token, value: Token): LabelFormat {
  return { name: name.value, rename: value.type === 'IDENTIFIER', value: value.value };
}

export function namedMatcher(x: Token | LabelMatcher): NamedMatcher {
  if ('kind' in x) return { name: x.name, matcher: x };
  return { name: x.value, matcher: null };
}

export function labelFilterStage(pipe: Token, filter: LabelFilterExpr): LabelFilterStage {
  return at({ kind: 'labelFilter', filter }, pipe.offset);
}

function compareOp(op: Token): CompareOp {
  return op.type === 'EQ' ? '==' : (op.value as CompareOp);
}

export function numberFilter(name: Token, op: Token, lit: SampleExpr): LabelFilterExpr {
  const value = lit.kind === 'literal' ? lit.value : 0;
  const node = at({ kind: 'numberFilter' as const, name: name.value, op: compareOp(op), value }, name.offset);
  const text = numberTexts.get(lit);
  if (text !== undefined) numberTexts.set(node, text);
  return node;
}

export function durationFilter(name: Token, op: Token, d: Token): LabelFilterExpr {
  return at({ kind: 'durationFilter', name: name.value, op: compareOp(op), valueNs: d.durationNs }, name.offset);
}

export function bytesFilter(name: Token, op: Token, b: Token): LabelFilterExpr {
  return at({ kind: 'bytesFilter', name: name.value, op: compareOp(op), valueBytes: b.bytes }, name.offset);
}

export function ipFilter(name: Token, op: Token, pattern: Token): LabelFilterExpr {
  return at({ kind: 'ipFilter', name: name.value, op: op.type === 'EQ' ? '==' : '!=', pattern: pattern.value }, name.offset);
}

/** `name <rest>` of a label filter, `rest` from the grammar's LabelFilterRest. */
export function labelFilterPrimary(name: Token, rest: [Token, Token | SampleExpr, 'string' | 'duration' | 'bytes' | 'number' | 'ip']): LabelFilterExpr {
  const [op, v, kind] = rest;
  switch (kind) {
    case 'string':
      return { kind: 'stringFilter', matcher: matcher(name, op, v as Token) };
    case 'duration':
      return durationFilter(name, op, v as Token);
    case 'bytes':
      return bytesFilter(name, op, v as Token);
    case 'number':
      return numberFilter(name, op, v as SampleExpr);
    case 'ip':
      return ipFilter(name, op, v as Token);
  }
}

/** Separators of a label filter list; null = juxtaposition (an implicit `and`). */
type FilterSep = Token | null;

/**
 * Builds the tree of `f1 sep f2 sep f3 ...` the way Loki's yacc grammar resolves it: `and` binds
 * tighter than `or` (both left-associative), while `,` and juxtaposition have no precedence, so
 * yacc always shifts at them and on any operator after them: `a, b or c` is `a and (b or c)` and
 * `a or b, c` is `a or (b and c)`.
 */
export function labelFilterList(first: LabelFilterExpr, rest: Array<[FilterSep, LabelFilterExpr]>): LabelFilterExpr {
  if (rest.length === 0) return first;
  // Operator-precedence parse over a shift/reduce stack, mirroring yacc's decisions.
  const operands: LabelFilterExpr[] = [first];
  const ops: string[] = [];
  const prec = (op: string): number => (op === 'or' ? 1 : op === 'and' ? 2 : 0);
  const reduce = (): void => {
    const right = operands.pop()!;
    const left = operands.pop()!;
    const op = ops.pop()!;
    operands.push({ kind: op === 'or' ? 'or' : 'and', left, right });
  };
  for (const [sep, f] of rest) {
    const look = sep === null ? ',' : sep.type === 'OR' ? 'or' : sep.type === 'AND' ? 'and' : ',';
    // Reduce only when both the pending rule and the lookahead are and/or with precedence rule >= look.
    while (ops.length > 0) {
      const top = ops[ops.length - 1]!;
      if (prec(top) > 0 && prec(look) > 0 && prec(top) >= prec(look)) reduce();
      else break;
    }
    ops.push(look);
    operands.push(f);
  }
  while (ops.length > 0) reduce();
  return operands[0]!;
}

export function unwrap(id: Token, conv: Token | null): UnwrapExpr {
  return at({ label: id.value, conversion: conv === null ? null : (conv.value as UnwrapConversion), postFilters: [] }, id.offset);
}

export function unwrapFilter(u: UnwrapExpr, f: LabelFilterExpr): UnwrapExpr {
  return at({ label: u.label, conversion: u.conversion, postFilters: [...u.postFilters, f] }, positions.get(u) ?? 0);
}

/** Stages/unwrap pair written before or after the range. */
export type PipeUnwrap = [StageExpr[] | null, UnwrapExpr | null];

export function logRange(sel: LogSelectorExpr, pu: PipeUnwrap | null, range: Token, offset: Token | null): LogRangeExpr {
  const stages = pu?.[0] ?? null;
  const s = stages === null ? sel : withStages(sel, stages);
  return at(
    { kind: 'logRange', selector: s, rangeNs: range.durationNs, offsetNs: offset === null ? 0n : offset.durationNs, unwrap: pu?.[1] ?? null },
    range.offset,
  );
}

export function grouping(kw: Token, labels: Token[] | null): Grouping {
  return at({ without: kw.type === 'WITHOUT', labels: (labels ?? []).map((t) => t.value) }, kw.offset);
}

export function rangeAgg(op: Token, param: Token | null, range: LogRangeExpr, g: Grouping | null): RangeAggregationExpr {
  const node: RangeAggregationExpr = at(
    { kind: 'rangeAggregation', op: op.value as RangeOp, param: param === null ? null : goFloat(param.value), range, grouping: g },
    op.offset,
  );
  if (param !== null) numberTexts.set(node, param.value);
  return node;
}

export function vectorAgg(op: Token, param: Token | null, expr: SampleExpr, g: Grouping | null): VectorAggregationExpr {
  const node: VectorAggregationExpr = at(
    { kind: 'vectorAggregation', op: op.value as VectorOp, param: param === null ? null : Number(param.value), expr, grouping: g },
    op.offset,
  );
  if (param !== null) numberTexts.set(node, param.value);
  return node;
}

export function literal(sign: Token | null, num: Token): SampleExpr {
  const n = goFloat(num.value);
  const node = at({ kind: 'literal' as const, value: sign !== null && sign.type === 'SUB' ? -n : n }, (sign ?? num).offset);
  numberTexts.set(node, num.value);
  return node;
}

export function vector(kw: Token, num: Token): SampleExpr {
  const node = at({ kind: 'vector' as const, value: goFloat(num.value) }, kw.offset);
  numberTexts.set(node, num.value);
  return node;
}

export function labelReplace(kw: Token, expr: SampleExpr, dst: Token, rep: Token, src: Token, regex: Token): SampleExpr {
  return at({ kind: 'labelReplace', expr, dst: dst.value, replacement: rep.value, src: src.value, regex: regex.value }, kw.offset);
}

/** Parsed `bool` / `on(...)` / `group_left(...)` modifiers of a binary operation. */
export interface BinMod {
  returnBool: boolean;
  matching: VectorMatching | null;
}

export function binMod(boolTok: Token | null, matching: VectorMatching | null): BinMod {
  return { returnBool: boolTok !== null, matching };
}

export function onIgnoring(kw: Token, labels: Token[] | null, group: [Token, Token[] | null] | null): VectorMatching {
  let card: VectorMatching['card'] = 'one-to-one';
  if (group !== null) card = group[0].type === 'GROUP_LEFT' ? 'many-to-one' : 'one-to-many';
  return {
    on: kw.type === 'ON',
    labels: (labels ?? []).map((t) => t.value),
    card,
    include: (group?.[1] ?? []).map((t) => t.value),
  };
}

export function binOp(lhs: SampleExpr, op: Token, mod: BinMod, rhs: SampleExpr): BinOpExpr {
  return at({ kind: 'binOp', op: op.value.toLowerCase() as BinOp, lhs, rhs, returnBool: mod.returnBool, matching: mod.matching }, op.offset);
}

/** Binding strength of binary operators (Loki's %left/%right order; higher binds tighter). */
export function binOpPrecedence(op: string): number {
  switch (op) {
    case 'or':
      return 1;
    case 'and':
    case 'unless':
      return 2;
    case '==':
    case '!=':
    case '>':
    case '>=':
    case '<':
    case '<=':
      return 3;
    case '+':
    case '-':
      return 4;
    case '*':
    case '/':
    case '%':
      return 5;
    default:
      return 6; // ^
  }
}

/** Shapes `e0 op1 e1 op2 e2 ...` by precedence; all operators are left-associative except `^`. */
export function binChain(first: SampleExpr, rest: Array<[Token, BinMod, SampleExpr]>): SampleExpr {
  if (rest.length === 0) return first;
  const operands: SampleExpr[] = [first];
  const ops: Array<[Token, BinMod]> = [];
  const reduce = (): void => {
    const rhs = operands.pop()!;
    const lhs = operands.pop()!;
    const [op, mod] = ops.pop()!;
    operands.push(binOp(lhs, op, mod, rhs));
  };
  for (const [op, mod, e] of rest) {
    const p = binOpPrecedence(op.value.toLowerCase());
    while (ops.length > 0) {
      const tp = binOpPrecedence(ops[ops.length - 1]![0].value.toLowerCase());
      if (tp > p || (tp === p && p !== 6)) reduce();
      else break;
    }
    ops.push([op, mod]);
    operands.push(e);
  }
  while (ops.length > 0) reduce();
  return operands[0]!;
}
