/**
 * Canonical LogQL text of an AST, Loki-like (`{app="x"} |= "a" | json`, `sum by (a) (rate(...))`).
 * `parseExpr(printExpr(e))` deep-equals `e` for every parsed `e`: strings are re-quoted with Go
 * escapes, durations and bytes print in units the lexer reads back exactly, binary operations get
 * parentheses only where precedence needs them, and nested label-filter `and`/`or` are
 * parenthesised (Loki's comma/juxtaposition rules make unparenthesised chains surprising).
 */
import type {
  BinOpExpr,
  Expr,
  Grouping,
  LabelExtraction,
  LabelFilterExpr,
  LabelMatcher,
  LogRangeExpr,
  LogSelectorExpr,
  NamedMatcher,
  SampleExpr,
  StageExpr,
  UnwrapExpr,
} from './ast.js';
import { formatBytes, formatDuration, formatNumber, goQuote } from './literals.js';
import { binOpPrecedence } from './build.js';

/** Canonical text of any expression. */
export function printExpr(e: Expr): string {
  return e.kind === 'logSelector' ? printLogSelector(e) : printSample(e);
}

export function printMatcher(m: LabelMatcher): string {
  return `${m.name}${m.type}${goQuote(m.value)}`;
}

/** `{a="b", c=~"d"}` */
export function printMatchers(ms: readonly LabelMatcher[]): string {
  return `{${ms.map(printMatcher).join(', ')}}`;
}

export function printLogSelector(e: LogSelectorExpr): string {
  let out = printMatchers(e.matchers);
  for (const s of e.stages) out += ' ' + printStage(s);
  return out;
}

function printExtractions(params: readonly LabelExtraction[]): string {
  return params.map((p) => `${p.name}=${goQuote(p.expression)}`).join(', ');
}

function printNamed(ls: readonly NamedMatcher[]): string {
  return ls.map((l) => (l.matcher === null ? l.name : printMatcher(l.matcher))).join(', ');
}

export function printStage(s: StageExpr): string {
  switch (s.kind) {
    case 'lineFilter':
      return `${s.op} ${s.args.map((a) => (a.ip ? `ip(${goQuote(a.value)})` : goQuote(a.value))).join(' or ')}`;
    case 'json':
      return s.params.length === 0 ? '| json' : `| json ${printExtractions(s.params)}`;
    case 'logfmt': {
      let out = '| logfmt';
      if (s.strict) out += ' --strict';
      if (s.keepEmpty) out += ' --keep-empty';
      if (s.params.length > 0) out += ' ' + printExtractions(s.params);
      return out;
    }
    case 'regexp':
      return `| regexp ${goQuote(s.pattern)}`;
    case 'pattern':
      return `| pattern ${goQuote(s.pattern)}`;
    case 'unpack':
      return '| unpack';
    case 'labelFilter':
      return `| ${printLabelFilter(s.filter, true)}`;
    case 'lineFormat':
      return `| line_format ${goQuote(s.template)}`;
    case 'labelFormat':
      return `| label_format ${s.formats.map((f) => `${f.name}=${f.rename ? f.value : goQuote(f.value)}`).join(', ')}`;
    case 'decolorize':
      return '| decolorize';
    case 'drop':
      return `| drop ${printNamed(s.labels)}`;
    case 'keep':
      return `| keep ${printNamed(s.labels)}`;
  }
}

/** A label filter; nested binary filters are parenthesised. */
export function printLabelFilter(f: LabelFilterExpr, top = false): string {
  switch (f.kind) {
    case 'stringFilter':
      return printMatcher(f.matcher);
    case 'numberFilter':
      return `${f.name} ${f.op} ${printFilterNumber(f.value)}`;
    case 'durationFilter':
      return `${f.name} ${f.op} ${formatDuration(f.valueNs)}`;
    case 'bytesFilter':
      return `${f.name} ${f.op} ${formatBytes(f.valueBytes)}`;
    case 'ipFilter':
      return `${f.name} ${f.op === '==' ? '=' : '!='} ip(${goQuote(f.pattern)})`;
    case 'and':
    case 'or': {
      const inner = `${printLabelFilter(f.left)} ${f.kind} ${printLabelFilter(f.right)}`;
      return top ? inner : `(${inner})`;
    }
  }
}

function printFilterNumber(v: number): string {
  if (v === Infinity) return '1e999';
  if (v === -Infinity) return '-1e999';
  return formatNumber(v);
}

function printGrouping(g: Grouping): string {
  return `${g.without ? 'without' : 'by'} (${g.labels.join(', ')})`;
}

function printUnwrap(u: UnwrapExpr): string {
  let out = u.conversion === null ? `| unwrap ${u.label}` : `| unwrap ${u.conversion}(${u.label})`;
  for (const f of u.postFilters) out += ` | ${printLabelFilter(f, true)}`;
  return out;
}

export function printLogRange(r: LogRangeExpr): string {
  let out = printLogSelector(r.selector);
  if (r.unwrap !== null) out += ' ' + printUnwrap(r.unwrap);
  // `{a="b"}[5m]` like Loki; a space after a pipeline for readability.
  if (r.unwrap !== null || r.selector.stages.length > 0) out += ' ';
  out += `[${formatDuration(r.rangeNs)}]`;
  if (r.offsetNs !== 0n) out += ` offset ${formatDuration(r.offsetNs)}`;
  return out;
}

function printOperand(e: SampleExpr, parentPrec: number, side: 'lhs' | 'rhs', rightAssoc: boolean): string {
  const text = printSample(e);
  if (e.kind !== 'binOp') return text;
  const p = binOpPrecedence(e.op);
  const needs = p < parentPrec || (p === parentPrec && (side === 'rhs') !== rightAssoc);
  return needs ? `(${text})` : text;
}

function printBinOp(e: BinOpExpr): string {
  const p = binOpPrecedence(e.op);
  const pow = e.op === '^';
  let op = e.op as string;
  if (e.returnBool) op += ' bool';
  const m = e.matching;
  if (m !== null) {
    op += ` ${m.on ? 'on' : 'ignoring'} (${m.labels.join(', ')})`;
    if (m.card !== 'one-to-one') {
      op += m.card === 'many-to-one' ? ' group_left' : ' group_right';
      if (m.include.length > 0) op += ` (${m.include.join(', ')})`;
    }
  }
  return `${printOperand(e.lhs, p, 'lhs', pow)} ${op} ${printOperand(e.rhs, p, 'rhs', pow)}`;
}

export function printSample(e: SampleExpr): string {
  switch (e.kind) {
    case 'rangeAggregation': {
      const param = e.param === null ? '' : `${formatNumber(e.param)}, `;
      const g = e.grouping === null ? '' : ' ' + printGrouping(e.grouping);
      return `${e.op}(${param}${printLogRange(e.range)})${g}`;
    }
    case 'vectorAggregation': {
      const g = e.grouping === null ? '' : ' ' + printGrouping(e.grouping) + ' ';
      const param = e.param === null ? '' : `${formatNumber(e.param)}, `;
      return `${e.op}${g}(${param}${printSample(e.expr)})`;
    }
    case 'binOp':
      return printBinOp(e);
    case 'literal':
      return formatNumber(e.value);
    case 'vector':
      return `vector(${formatNumber(e.value)})`;
    case 'labelReplace':
      return `label_replace(${printSample(e.expr)}, ${goQuote(e.dst)}, ${goQuote(e.replacement)}, ${goQuote(e.src)}, ${goQuote(e.regex)})`;
  }
}
