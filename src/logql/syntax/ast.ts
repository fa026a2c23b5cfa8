/**
 * The LogQL abstract syntax tree. Every node is a plain object with a `kind` discriminant, so
 * trees compare with deep equality (round-trip tests) and switch exhaustively.
 *
 * Parentheses are not represented: `(a + b) * c` keeps its shape through the binary tree.
 * Durations are bigint nanoseconds (Go's time.Duration), exact for any Loki input.
 * Nodes carry no source positions; the parser keeps those on the side for its error messages.
 */
import type { MatchType } from '../../model/matcher.js';

/** Any parsed query. */
export type Expr = LogSelectorExpr | SampleExpr;

/** A label matcher as written: `name op "value"` (not compiled; see `log/matcher.ts`). */
export interface LabelMatcher {
  readonly kind: 'matcher';
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
}

/** A log query: a stream selector followed by zero or more pipeline stages. */
export interface LogSelectorExpr {
  readonly kind: 'logSelector';
  /** Stream matchers from `{...}`, in source order (may be empty: `{}` is rejected by validation). */
  readonly matchers: readonly LabelMatcher[];
  /** Pipeline stages in source order. */
  readonly stages: readonly StageExpr[];
}

// ---------------------------------------------------------------------------------------------
// Pipeline stages

export type StageExpr =
  | LineFilterStage
  | JsonParserStage
  | LogfmtParserStage
  | RegexpParserStage
  | PatternParserStage
  | UnpackParserStage
  | LabelFilterStage
  | LineFormatStage
  | LabelFormatStage
  | DecolorizeStage
  | DropLabelsStage
  | KeepLabelsStage;

/** `|=` contains, `!=` not contains, `|~`/`!~` regex, `|>`/`!>` pattern. */
export type LineFilterOp = '|=' | '!=' | '|~' | '!~' | '|>' | '!>';

/** One operand of a line filter: a string, or `ip("pattern")`. */
export interface LineFilterArg {
  readonly ip: boolean;
  readonly value: string;
}

/**
 * A line filter with its `or` alternatives: `|= "a" or "b"`. For the positive ops (`|=`, `|~`, `|>`)
 * a line passes when ANY alternative matches; for the negative ops it passes when NONE matches
 * (Loki's `!= "a" or "b"` means `!= "a" != "b"`).
 */
export interface LineFilterStage {
  readonly kind: 'lineFilter';
  readonly op: LineFilterOp;
  /** At least one element. */
  readonly args: readonly LineFilterArg[];
}

/** `json a="x.y", b` extracts the given paths; `name` is the label, `expression` the JSON path. */
export interface LabelExtraction {
  readonly name: string;
  readonly expression: string;
}

/** `| json` (params empty) or `| json a="path", b`. */
export interface JsonParserStage {
  readonly kind: 'json';
  readonly params: readonly LabelExtraction[];
}

/** `| logfmt [--strict] [--keep-empty] [params]`. */
export interface LogfmtParserStage {
  readonly kind: 'logfmt';
  readonly strict: boolean;
  readonly keepEmpty: boolean;
  readonly params: readonly LabelExtraction[];
}

/** `| regexp "(?P<name>...)"`. */
export interface RegexpParserStage {
  readonly kind: 'regexp';
  readonly pattern: string;
}

/** `| pattern "<ip> - <_>"`. */
export interface PatternParserStage {
  readonly kind: 'pattern';
  readonly pattern: string;
}

/** `| unpack`. */
export interface UnpackParserStage {
  readonly kind: 'unpack';
}

/** `| <label filter expression>`. */
export interface LabelFilterStage {
  readonly kind: 'labelFilter';
  readonly filter: LabelFilterExpr;
}

/** `| line_format "{{.x}}"`. */
export interface LineFormatStage {
  readonly kind: 'lineFormat';
  readonly template: string;
}

/** One `label_format` entry: `dst=src` (rename) or `dst="{{template}}"`. */
export interface LabelFormat {
  readonly name: string;
  readonly rename: boolean;
  /** Source label name when `rename`, template text otherwise. */
  readonly value: string;
}

/** `| label_format a=b, c="{{.d}}"`. */
export interface LabelFormatStage {
  readonly kind: 'labelFormat';
  readonly formats: readonly LabelFormat[];
}

/** `| decolorize`. */
export interface DecolorizeStage {
  readonly kind: 'decolorize';
}

/** One `drop`/`keep` operand: a bare label name (`matcher` null) or a matcher (`name` = its name). */
export interface NamedMatcher {
  readonly name: string;
  readonly matcher: LabelMatcher | null;
}

/** `| drop a, b="c"`. */
export interface DropLabelsStage {
  readonly kind: 'drop';
  readonly labels: readonly NamedMatcher[];
}

/** `| keep a, b="c"`. */
export interface KeepLabelsStage {
  readonly kind: 'keep';
  readonly labels: readonly NamedMatcher[];
}

// ---------------------------------------------------------------------------------------------
// Label filters

export type LabelFilterExpr =
  | StringLabelFilter
  | NumericLabelFilter
  | DurationLabelFilter
  | BytesLabelFilter
  | IpLabelFilter
  | BinaryLabelFilter;

/** Comparison of a label filter. `=` is normalised to `==`. */
export type CompareOp = '==' | '!=' | '>' | '>=' | '<' | '<=';

/** `name op "value"` with a string matcher. */
export interface StringLabelFilter {
  readonly kind: 'stringFilter';
  readonly matcher: LabelMatcher;
}

/** `name op 1.5` */
export interface NumericLabelFilter {
  readonly kind: 'numberFilter';
  readonly name: string;
  readonly op: CompareOp;
  readonly value: number;
}

/** `name op 1m30s` */
export interface DurationLabelFilter {
  readonly kind: 'durationFilter';
  readonly name: string;
  readonly op: CompareOp;
  readonly valueNs: bigint;
}

/** `name op 10KB` */
export interface BytesLabelFilter {
  readonly kind: 'bytesFilter';
  readonly name: string;
  readonly op: CompareOp;
  readonly valueBytes: number;
}

/** `name = ip("192.168.0.0/16")` / `name != ip(...)` */
export interface IpLabelFilter {
  readonly kind: 'ipFilter';
  readonly name: string;
  readonly op: '==' | '!=';
  readonly pattern: string;
}

/** `a and b` (also written `a, b` or `a b`) and `a or b`. */
export interface BinaryLabelFilter {
  readonly kind: 'and' | 'or';
  readonly left: LabelFilterExpr;
  readonly right: LabelFilterExpr;
}

// ---------------------------------------------------------------------------------------------
// Metric (sample) expressions

export type SampleExpr =
  | RangeAggregationExpr
  | VectorAggregationExpr
  | BinOpExpr
  | LiteralExpr
  | VectorExpr
  | LabelReplaceExpr;

export const RANGE_OPS = [
  'count_over_time',
  'rate',
  'rate_counter',
  'bytes_over_time',
  'bytes_rate',
  'avg_over_time',
  'sum_over_time',
  'min_over_time',
  'max_over_time',
  'stdvar_over_time',
  'stddev_over_time',
  'quantile_over_time',
  'first_over_time',
  'last_over_time',
  'absent_over_time',
] as const;
export type RangeOp = (typeof RANGE_OPS)[number];

export const VECTOR_OPS = [
  'sum',
  'avg',
  'count',
  'max',
  'min',
  'stddev',
  'stdvar',
  'bottomk',
  'topk',
  'sort',
  'sort_desc',
  'approx_topk',
] as const;
export type VectorOp = (typeof VECTOR_OPS)[number];

/** `| unwrap` conversion; null = plain number. */
export type UnwrapConversion = 'bytes' | 'duration' | 'duration_seconds';

/** `| unwrap [conv(]label[)] | post-filter...` */
export interface UnwrapExpr {
  readonly label: string;
  readonly conversion: UnwrapConversion | null;
  /** Label filters applied after unwrapping (each was `| filter`). */
  readonly postFilters: readonly LabelFilterExpr[];
}

/** `{...} |pipeline [| unwrap x] [range] [offset o]` — the argument of a range aggregation. */
export interface LogRangeExpr {
  readonly kind: 'logRange';
  readonly selector: LogSelectorExpr;
  readonly rangeNs: bigint;
  /** 0n when absent. May be negative. */
  readonly offsetNs: bigint;
  readonly unwrap: UnwrapExpr | null;
}

/** `by (a, b)` / `without (a)`. */
export interface Grouping {
  readonly without: boolean;
  readonly labels: readonly string[];
}

/** `rate({...}[5m])`, `quantile_over_time(0.99, ...) by (x)`. */
export interface RangeAggregationExpr {
  readonly kind: 'rangeAggregation';
  readonly op: RangeOp;
  /** Only quantile_over_time has one. */
  readonly param: number | null;
  readonly range: LogRangeExpr;
  readonly grouping: Grouping | null;
}

/** `sum by (x) (...)`, `topk(5, ...)`. */
export interface VectorAggregationExpr {
  readonly kind: 'vectorAggregation';
  readonly op: VectorOp;
  /** k of topk/bottomk/approx_topk (a positive integer); null otherwise. */
  readonly param: number | null;
  readonly expr: SampleExpr;
  /** null when no by/without was written (Loki treats that as `by ()`). */
  readonly grouping: Grouping | null;
}

export type BinOp =
  | 'or'
  | 'and'
  | 'unless'
  | '=='
  | '!='
  | '>'
  | '>='
  | '<'
  | '<='
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^';

/** Vector matching of a binary operation: `on(...)`/`ignoring(...)` with optional group_x. */
export interface VectorMatching {
  /** true for `on`, false for `ignoring`. */
  readonly on: boolean;
  readonly labels: readonly string[];
  readonly card: 'one-to-one' | 'many-to-one' | 'one-to-many';
  /** Labels of `group_left(...)`/`group_right(...)`; empty otherwise. */
  readonly include: readonly string[];
}

/** `lhs op [bool] [on|ignoring (...) [group_left|group_right (...)]] rhs`. */
export interface BinOpExpr {
  readonly kind: 'binOp';
  readonly op: BinOp;
  readonly lhs: SampleExpr;
  readonly rhs: SampleExpr;
  readonly returnBool: boolean;
  readonly matching: VectorMatching | null;
}

/** A number: `1`, `-2.5`, `1e3`. */
export interface LiteralExpr {
  readonly kind: 'literal';
  readonly value: number;
}

/** `vector(1)`. */
export interface VectorExpr {
  readonly kind: 'vector';
  readonly value: number;
}

/** `label_replace(expr, "dst", "replacement", "src", "regex")`. */
export interface LabelReplaceExpr {
  readonly kind: 'labelReplace';
  readonly expr: SampleExpr;
  readonly dst: string;
  readonly replacement: string;
  readonly src: string;
  readonly regex: string;
}

/** True for log queries (`{...} | ...`), false for metric queries. */
export function isLogSelectorExpr(e: Expr): e is LogSelectorExpr {
  return e.kind === 'logSelector';
}
