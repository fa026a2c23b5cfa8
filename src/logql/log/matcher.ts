/**
 * Compiled label matchers (stream selectors, label filters, drop/keep). Regexes are fully
 * anchored with `.` matching newlines, as Prometheus compiles them (`^(?s:v)$`), and run on RE2.
 * Fast paths skip RE2 for `.*`, `.+`, plain literals and literal alternations `a|b|c`.
 */
import { ParseError } from '../../errors.js';
import type { Matcher, MatchType } from '../../model/matcher.js';
import type { Expr, LabelMatcher, LogSelectorExpr } from '../syntax/ast.js';
import { compileAnchored, regexError } from '../syntax/regex.js';

const META = /[\\.+*?()|[\]{}^$]/;

/** The literal alternatives of `a|b|c` when every branch is a plain literal; null otherwise. */
export function literalAlternatives(pattern: string): string[] | null {
  const parts = pattern.split('|');
  for (const p of parts) if (META.test(p)) return null;
  return parts;
}

class EqualMatcher implements Matcher {
  constructor(
    readonly name: string,
    readonly type: MatchType,
    readonly value: string,
    private readonly negate: boolean,
  ) {}
  matches(v: string): boolean {
    return (v === this.value) !== this.negate;
  }
}

class SetMatcher implements Matcher {
  private readonly set: ReadonlySet<string>;
  constructor(
    readonly name: string,
    readonly type: MatchType,
    readonly value: string,
    values: readonly string[],
    private readonly negate: boolean,
  ) {
    this.set = new Set(values);
  }
  matches(v: string): boolean {
    return this.set.has(v) !== this.negate;
  }
}

class AnyMatcher implements Matcher {
  constructor(
    readonly name: string,
    readonly type: MatchType,
    readonly value: string,
    /** true: `.+` (non-empty only). */
    private readonly nonEmpty: boolean,
    private readonly negate: boolean,
  ) {}
  matches(v: string): boolean {
    return (this.nonEmpty ? v.length > 0 : true) !== this.negate;
  }
}

/**
 * The literal text every match of the anchored `pattern` starts with ('' when unknown), as
 * Prometheus' FastRegexMatcher finds it: the leading run of non-meta characters, less its last
 * character when a quantifier follows. Patterns holding `|` anywhere get '' (an alternation
 * could sit at the top level).
 */
export function literalPrefix(pattern: string): string {
  if (pattern.includes('|')) return '';
  let n = 0;
  while (n < pattern.length && !META.test(pattern[n]!)) n++;
  const next = pattern[n];
  if (next === '*' || next === '+' || next === '?' || next === '{') n--;
  // Never end inside a surrogate pair.
  if (n > 0 && n < pattern.length && /[\uD800-\uDBFF]/.test(pattern[n - 1]!)) n--;
  return n > 0 ? pattern.slice(0, n) : '';
}

class RegexMatcher implements Matcher {
  private readonly re: ReturnType<typeof compileAnchored>;
  /** Every match starts with it: values without it are rejected before RE2 runs. */
  private readonly prefix: string;
  /** The pattern is `prefix.*`: a match is exactly a value starting with the prefix. */
  private readonly prefixOnly: boolean;
  constructor(
    readonly name: string,
    readonly type: MatchType,
    readonly value: string,
    private readonly negate: boolean,
  ) {
    this.re = compileAnchored(value);
    this.prefix = literalPrefix(value);
    this.prefixOnly = this.prefix !== '' && value === this.prefix + '.*';
  }
  matches(v: string): boolean {
    if (this.prefix !== '' && !v.startsWith(this.prefix)) return this.negate;
    if (this.prefixOnly) return !this.negate;
    return this.re.test(v) !== this.negate;
  }
}

/** Compiles one matcher. Throws ParseError (Go's regexp wording) for an invalid regex. */
export function compileMatcher(name: string, type: MatchType, value: string): Matcher {
  switch (type) {
    case '=':
      return new EqualMatcher(name, type, value, false);
    case '!=':
      return new EqualMatcher(name, type, value, true);
    case '=~':
    case '!~': {
      const negate = type === '!~';
      if (value === '.*') return new AnyMatcher(name, type, value, false, negate);
      if (value === '.+') return new AnyMatcher(name, type, value, true, negate);
      const alts = literalAlternatives(value);
      if (alts !== null) {
        return alts.length === 1 ? new EqualMatcher(name, type, value, negate) : new SetMatcher(name, type, value, alts, negate);
      }
      const err = regexError(value);
      if (err !== null) throw new ParseError(err, 0, 0);
      return new RegexMatcher(name, type, value, negate);
    }
  }
}

/** Compiles AST matchers. */
export function compileMatchers(ms: readonly LabelMatcher[]): Matcher[] {
  return ms.map((m) => compileMatcher(m.name, m.type, m.value));
}

/** The first log selector of an expression, in source order (metric queries have at least one). */
export function firstLogSelector(expr: Expr): LogSelectorExpr | null {
  switch (expr.kind) {
    case 'logSelector':
      return expr;
    case 'rangeAggregation':
      return expr.range.selector;
    case 'vectorAggregation':
    case 'labelReplace':
      return firstLogSelector(expr.expr);
    case 'binOp':
      return firstLogSelector(expr.lhs) ?? firstLogSelector(expr.rhs);
    default:
      return null;
  }
}

/** The compiled stream matchers of a log query (of its first selector for a metric query). */
export function compileSelector(expr: Expr): Matcher[] {
  const sel = firstLogSelector(expr);
  return sel === null ? [] : compileMatchers(sel.matchers);
}

/** Alias of compileSelector, the name the querier imports. */
export const selectorMatchers = compileSelector;
