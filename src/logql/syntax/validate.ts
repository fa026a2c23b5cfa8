/**
 * Loki's semantic checks that run at parse time (ast.go constructors and parser.go validateExpr):
 * regex validity, the non-empty matcher rule, range/vector aggregation parameters, grouping and
 * unwrap rules, literal legs of set operations. Walks the tree in source order and reports the
 * first problem as a ParseError positioned at the offending node.
 */
import type {
  Expr,
  LabelFilterExpr,
  LabelMatcher,
  LogRangeExpr,
  LogSelectorExpr,
  RangeAggregationExpr,
  SampleExpr,
  StageExpr,
  VectorAggregationExpr,
} from './ast.js';
import { numberTextOf, positionOf } from './build.js';
import { parseGoFloat, parseGoInt } from './literals.js';
import { anchoredMatchesEmpty, captureNames, regexError } from './regex.js';

/** Thrown by `validateExpr`; `parse.ts` converts the offset into line/col. */
export class SemanticError extends Error {
  constructor(
    readonly detail: string,
    readonly offset: number,
  ) {
    super(detail);
  }
}

/** Loki's errAtleastOneEqualityMatcherRequired. */
export const ERR_NEED_MATCHER =
  'queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will';

function fail(detail: string, node: object | undefined): never {
  throw new SemanticError(detail, node === undefined ? 0 : (positionOf(node) ?? 0));
}

function checkMatcher(m: LabelMatcher): void {
  if (m.type === '=~' || m.type === '!~') {
    const err = regexError(m.value);
    if (err !== null) fail(err, m);
  }
}

/** Whether a matcher selects series lacking the label (Prometheus `Matches("")`). */
export function matchesEmpty(m: LabelMatcher): boolean {
  switch (m.type) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
      return anchoredMatchesEmpty(m.value);
    case '!~':
      return !anchoredMatchesEmpty(m.value);
  }
}

/** Checks that the regexes of `matchers` compile. */
export function checkMatchers(matchers: readonly LabelMatcher[]): void {
  for (const m of matchers) checkMatcher(m);
}

/** Loki's validateMatchers: at least one matcher must not match the empty value. */
export function checkSelectorMatchers(matchers: readonly LabelMatcher[], node: object): void {
  checkMatchers(matchers);
  if (!matchers.some((m) => !matchesEmpty(m))) fail(ERR_NEED_MATCHER, node);
}

function checkLabelFilter(f: LabelFilterExpr): void {
  switch (f.kind) {
    case 'stringFilter':
      checkMatcher(f.matcher);
      return;
    case 'and':
    case 'or':
      checkLabelFilter(f.left);
      checkLabelFilter(f.right);
      return;
    case 'numberFilter': {
      // Loki reads the number with strconv.ParseFloat when it builds the filter (0x10: invalid).
      const text = numberTextOf(f);
      const v = text === undefined ? null : parseGoFloat(text);
      if (v !== null && !v.ok) fail(`unable to parse literal as a float: ${v.error}`, f);
      return;
    }
    default:
      return;
  }
}

/** Loki's pattern parser rules: at least one named capture, no two captures in a row. */
function patternError(p: string): string | null {
  const parts = p.split(/(<[A-Za-z_][A-Za-z0-9_]*>)/);
  let named = 0;
  let prevCapture: string | null = null;
  for (const part of parts) {
    if (part === '') continue;
    if (/^<[A-Za-z_][A-Za-z0-9_]*>$/.test(part)) {
      if (prevCapture !== null) return `found consecutive capture '${prevCapture}${part}': invalid expression`;
      if (part !== '<_>') named++;
      prevCapture = part;
    } else {
      prevCapture = null;
    }
  }
  if (parts.every((x) => x === '')) return 'syntax error: unexpected $end, expecting IDENTIFIER or LITERAL';
  if (named === 0) return 'at least one capture is required';
  return null;
}

function checkStage(s: StageExpr): void {
  switch (s.kind) {
    case 'lineFilter':
      // Regexes of line filters are checked when the query runs, as in Loki (log/line-filter.ts).
      return;
    case 'labelFilter':
      checkLabelFilter(s.filter);
      return;
    case 'regexp': {
      const err = regexError(s.pattern);
      if (err !== null) fail(`invalid regexp parser: ${err}`, s);
      if (captureNames(s.pattern).length === 0) fail('invalid regexp parser: at least one named capture must be supplied', s);
      return;
    }
    case 'pattern': {
      const err = patternError(s.pattern);
      if (err !== null) fail(`invalid pattern parser: ${err}`, s);
      return;
    }
    case 'drop':
    case 'keep':
      for (const l of s.labels) if (l.matcher !== null) checkMatcher(l.matcher);
      return;
    default:
      return;
  }
}

function checkLogSelector(e: LogSelectorExpr): void {
  checkSelectorMatchers(e.matchers, e);
  for (const s of e.stages) checkStage(s);
}

function checkLogRange(r: LogRangeExpr): void {
  checkLogSelector(r.selector);
  if (r.unwrap !== null) for (const f of r.unwrap.postFilters) checkLabelFilter(f);
}

const GROUPING_OK: ReadonlySet<string> = new Set([
  'avg_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
  'max_over_time',
  'min_over_time',
  'first_over_time',
  'last_over_time',
]);
const UNWRAP_OK: ReadonlySet<string> = new Set([
  'avg_over_time',
  'sum_over_time',
  'max_over_time',
  'min_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
  'rate',
  'rate_counter',
  'absent_over_time',
  'first_over_time',
  'last_over_time',
]);
const NO_UNWRAP_OK: ReadonlySet<string> = new Set(['bytes_over_time', 'bytes_rate', 'count_over_time', 'rate', 'absent_over_time']);

function checkRangeAgg(e: RangeAggregationExpr): void {
  const text = numberTextOf(e);
  if (text !== undefined) {
    if (e.op !== 'quantile_over_time') fail(`parameter ${text} not supported for operation ${e.op}`, e);
    const f = parseGoFloat(text);
    if (!f.ok) fail(`invalid parameter for operation ${e.op}: ${f.error}`, e);
  } else if (e.op === 'quantile_over_time') {
    fail(`parameter required for operation ${e.op}`, e);
  }
  if (e.grouping !== null && !GROUPING_OK.has(e.op)) fail(`grouping not allowed for ${e.op} aggregation`, e);
  if (e.range.unwrap !== null) {
    if (!UNWRAP_OK.has(e.op)) fail(`invalid aggregation ${e.op} with unwrap`, e);
  } else if (!NO_UNWRAP_OK.has(e.op)) {
    fail(`invalid aggregation ${e.op} without unwrap`, e);
  }
  checkLogRange(e.range);
}

function checkVectorAgg(e: VectorAggregationExpr): void {
  const text = numberTextOf(e);
  if (e.op === 'topk' || e.op === 'bottomk' || e.op === 'approx_topk') {
    if (text === undefined) fail(`parameter required for operation ${e.op}`, e);
    const k = parseGoInt(text);
    if (k === null) fail(`invalid parameter ${e.op}(${text},`, e);
    if (k <= 0) fail(`invalid parameter (must be greater than 0) ${e.op}(${text}`, e);
    if (e.op === 'approx_topk' && e.grouping !== null) fail(`grouping not allowed for ${e.op} aggregation`, e);
  } else if (text !== undefined) {
    fail(`unsupported parameter for operation ${e.op}(${text},`, e);
  }
  if ((e.op === 'sort' || e.op === 'sort_desc') && e.grouping !== null && e.grouping.labels.length > 0) {
    fail("sort and sort_desc doesn't allow grouping by ", e);
  }
  checkSample(e.expr);
}

function literalValue(e: SampleExpr, what: 'literal' | 'vectorExpr'): number {
  const text = numberTextOf(e);
  if (text === undefined) return e.kind === 'literal' || e.kind === 'vector' ? e.value : 0;
  const f = parseGoFloat(text);
  if (!f.ok) fail(`unable to parse ${what === 'literal' ? 'literal' : 'vectorExpr'} as a float: ${f.error}`, e);
  return f.value;
}

function checkSample(e: SampleExpr): void {
  switch (e.kind) {
    case 'rangeAggregation':
      checkRangeAgg(e);
      return;
    case 'vectorAggregation':
      checkVectorAgg(e);
      return;
    case 'literal':
      literalValue(e, 'literal');
      return;
    case 'vector':
      literalValue(e, 'vectorExpr');
      return;
    case 'labelReplace': {
      checkSample(e.expr);
      const err = regexError(e.regex);
      if (err !== null) fail(`invalid regex in label_replace: ${err}`, e);
      return;
    }
    case 'binOp': {
      checkSample(e.lhs);
      checkSample(e.rhs);
      if (e.op === 'or' || e.op === 'and' || e.op === 'unless') {
        if (e.lhs.kind === 'literal') {
          fail(`unexpected literal for left leg of logical/set binary operation (${e.op}): ${e.lhs.value.toFixed(6)}`, e);
        }
        if (e.rhs.kind === 'literal') {
          fail(`unexpected literal for right leg of logical/set binary operation (${e.op}): ${e.rhs.value.toFixed(6)}`, e);
        }
      }
      return;
    }
  }
}

/** Runs every parse-time check; throws SemanticError on the first failure. */
export function validateExpr(e: Expr): void {
  if (e.kind === 'logSelector') checkLogSelector(e);
  else checkSample(e);
}
