/**
 * Hand-written recursive-descent LogQL parser (precedence climbing for binary operators) over
 * the same tokens as the nearley grammar. It is only a fast path: `logql.ne` stays the
 * specification. For every query the grammar accepts, `fastParse` returns the very AST the
 * grammar's postprocessors build — it calls the same `build.ts` constructors in the same way, so
 * the side tables (source positions, NUMBER texts) used by validation are filled identically.
 * For anything else (syntax or lexer error, or a nesting too deep for the stack) it returns null
 * and `parse.ts` falls back to the nearley path, which produces Loki's error message and position.
 *
 * Every decision below names the grammar rule it mirrors; the differential tests
 * (test/logql/fast-parse.test.ts) check the two parsers agree on corpora, generated and fuzzed input.
 */
import type {
  Expr,
  LabelExtraction,
  LabelFilterExpr,
  LabelFormat,
  LabelMatcher,
  LineFilterArg,
  LogRangeExpr,
  LogSelectorExpr,
  NamedMatcher,
  SampleExpr,
  StageExpr,
  UnwrapExpr,
} from './ast.js';
import * as b from './build.js';
import { scanTokens, type Token, type TokenType } from './scan.js';

/** Thrown (never escapes this module) when the input is not in the grammar. */
const FAIL: unique symbol = Symbol('logql fast parse: no parse');

/** Binding strength of binary operator tokens (`binOpToken`), as `b.binOpPrecedence`. */
const BIN_PREC: Partial<Record<TokenType, number>> = {
  OR: 1,
  AND: 2,
  UNLESS: 2,
  CMP_EQ: 3,
  NEQ: 3,
  GT: 3,
  GTE: 3,
  LT: 3,
  LTE: 3,
  ADD: 4,
  SUB: 4,
  MUL: 5,
  DIV: 5,
  MOD: 5,
  POW: 6,
};
const POW_PREC = 6;

function isMatchOp(t: TokenType | undefined): boolean {
  return t === 'EQ' || t === 'NEQ' || t === 'RE' || t === 'NRE';
}

function isFilterOp(t: TokenType | undefined): boolean {
  return t === 'PIPE_EXACT' || t === 'NEQ' || t === 'PIPE_MATCH' || t === 'NRE' || t === 'PIPE_PATTERN' || t === 'NPA';
}

function isCmpOp(t: TokenType | undefined): boolean {
  return t === 'GT' || t === 'GTE' || t === 'LT' || t === 'LTE' || t === 'NEQ' || t === 'EQ' || t === 'CMP_EQ';
}

class Parser {
  private pos = 0;
  private readonly n: number;

  constructor(private readonly toks: readonly Token[]) {
    this.n = toks.length;
  }

  // -------------------------------------------------------------------------------------------
  // Token helpers

  private peek(): TokenType | undefined {
    return this.toks[this.pos]?.type;
  }

  private peekAt(k: number): TokenType | undefined {
    return this.toks[this.pos + k]?.type;
  }

  private take(): Token {
    const t = this.toks[this.pos];
    if (t === undefined) throw FAIL;
    this.pos++;
    return t;
  }

  private expect(type: TokenType): Token {
    const t = this.toks[this.pos];
    if (t === undefined || t.type !== type) throw FAIL;
    this.pos++;
    return t;
  }

  private accept(type: TokenType): Token | null {
    const t = this.toks[this.pos];
    if (t === undefined || t.type !== type) return null;
    this.pos++;
    return t;
  }

  // -------------------------------------------------------------------------------------------
  // Root -> LogExpr | MetricExpr

  root(): Expr {
    // A LogExpr is `(`* Selector...; a MetricExpr never has `{` right after its leading `(`s
    // (log ranges appear only inside RANGE_OP( ... )).
    let i = this.pos;
    while (this.toks[i]?.type === 'OPEN_PARENTHESIS') i++;
    const e = this.toks[i]?.type === 'OPEN_BRACE' ? this.logExpr() : this.metricExpr();
    if (this.pos !== this.n) throw FAIL;
    return e;
  }

  // -------------------------------------------------------------------------------------------
  // Log queries

  /** LogExpr -> Selector | Selector Pipeline | ( LogExpr ) */
  private logExpr(): LogSelectorExpr {
    if (this.accept('OPEN_PARENTHESIS') !== null) {
      const e = this.logExpr();
      this.expect('CLOSE_PARENTHESIS');
      return e;
    }
    const sel = this.selector();
    const t = this.peek();
    if (t === 'PIPE' || isFilterOp(t)) return b.withStages(sel, this.pipeline());
    return sel;
  }

  /** Selector -> { Matchers } | { } */
  private selector(): LogSelectorExpr {
    const open = this.expect('OPEN_BRACE');
    if (this.accept('CLOSE_BRACE') !== null) return b.selector(open, null, null);
    const ms: LabelMatcher[] = [this.matcher()];
    while (this.accept('COMMA') !== null) ms.push(this.matcher());
    this.expect('CLOSE_BRACE');
    return b.selector(open, ms, null);
  }

  /** Matcher -> IDENTIFIER matchOp STRING */
  private matcher(): LabelMatcher {
    const name = this.expect('IDENTIFIER');
    const op = this.take();
    if (!isMatchOp(op.type)) throw FAIL;
    return b.matcher(name, op, this.expect('STRING'));
  }

  /**
   * Pipeline -> Stage+ (at least one: callers check the first token). Stops before `| unwrap`,
   * which belongs to Unwrap in a log range (and is an error elsewhere).
   */
  private pipeline(): StageExpr[] {
    const stages: StageExpr[] = [];
    for (;;) {
      const t = this.peek();
      let stage: StageExpr;
      if (isFilterOp(t)) {
        stage = this.lineFilter();
        // pipelineAppend: after a bare `drop a`/`keep a`, yacc reads `a != ...`/`a !~ ...` as a
        // matcher; the line-filter reading is rejected (here the matcher reading already failed).
        if (stage.kind === 'lineFilter' && (stage.op === '!=' || stage.op === '!~') && stages.length > 0) {
          const prev = stages[stages.length - 1]!;
          if ((prev.kind === 'drop' || prev.kind === 'keep') && prev.labels[prev.labels.length - 1]!.matcher === null) throw FAIL;
        }
      } else if (t === 'PIPE' && this.peekAt(1) !== 'UNWRAP') {
        stage = this.pipeStage();
      } else {
        break;
      }
      stages.push(stage);
    }
    if (stages.length === 0) throw FAIL;
    return stages;
  }

  /** LineFilter -> filterOp FilterArg | LineFilter OR FilterArg */
  private lineFilter(): StageExpr {
    const op = this.take();
    const args: LineFilterArg[] = [this.filterArg()];
    while (this.accept('OR') !== null) args.push(this.filterArg());
    return b.lineFilter(op, args);
  }

  /** FilterArg -> STRING | IP ( STRING ) */
  private filterArg(): LineFilterArg {
    const s = this.accept('STRING');
    if (s !== null) return b.lineFilterArg(s, false);
    this.expect('IP');
    this.expect('OPEN_PARENTHESIS');
    const str = this.expect('STRING');
    this.expect('CLOSE_PARENTHESIS');
    return b.lineFilterArg(str, true);
  }

  /** Stage -> PIPE PipeBody; PipeBody -> PipeStage | LabelFilter */
  private pipeStage(): StageExpr {
    const pipe = this.expect('PIPE');
    const t = this.take();
    switch (t.type) {
      case 'JSON':
        if (this.peek() === 'IDENTIFIER') return { kind: 'json', params: this.extractions() };
        return { kind: 'json', params: [] };
      case 'LOGFMT': {
        let flags: Token[] | null = null;
        for (let f = this.accept('PARSER_FLAG'); f !== null; f = this.accept('PARSER_FLAG')) (flags ??= []).push(f);
        return b.logfmt(flags, this.peek() === 'IDENTIFIER' ? this.extractions() : null);
      }
      case 'REGEXP':
        return b.stringStage('regexp', this.expect('STRING'));
      case 'PATTERN':
        return b.stringStage('pattern', this.expect('STRING'));
      case 'UNPACK':
        return { kind: 'unpack' };
      case 'LINE_FMT':
        return b.stringStage('lineFormat', this.expect('STRING'));
      case 'LABEL_FMT':
        return { kind: 'labelFormat', formats: this.labelFormats() };
      case 'DECOLORIZE':
        return { kind: 'decolorize' };
      case 'DROP':
        return { kind: 'drop', labels: this.namedMatchers() };
      case 'KEEP':
        return { kind: 'keep', labels: this.namedMatchers() };
      case 'IDENTIFIER':
      case 'OPEN_PARENTHESIS':
        this.pos--;
        return b.labelFilterStage(pipe, this.labelFilter());
      default:
        throw FAIL;
    }
  }

  /** Extractions -> Extraction (, Extraction)*; Extraction -> IDENTIFIER [= STRING] */
  private extractions(): LabelExtraction[] {
    const out: LabelExtraction[] = [];
    do {
      const name = this.expect('IDENTIFIER');
      out.push(b.extraction(name, this.accept('EQ') !== null ? this.expect('STRING') : null));
    } while (this.accept('COMMA') !== null);
    return out;
  }

  /** LabelFormats -> LabelFormat (, LabelFormat)*; LabelFormat -> IDENTIFIER = (IDENTIFIER | STRING) */
  private labelFormats(): LabelFormat[] {
    const out: LabelFormat[] = [];
    do {
      const name = this.expect('IDENTIFIER');
      this.expect('EQ');
      const v = this.take();
      if (v.type !== 'IDENTIFIER' && v.type !== 'STRING') throw FAIL;
      out.push(b.labelFormat(name, v));
    } while (this.accept('COMMA') !== null);
    return out;
  }

  /** NamedMatchers -> NamedMatcher (, NamedMatcher)*; NamedMatcher -> IDENTIFIER | Matcher */
  private namedMatchers(): NamedMatcher[] {
    const out: NamedMatcher[] = [];
    do {
      const name = this.expect('IDENTIFIER');
      if (isMatchOp(this.peek()) && this.peekAt(1) === 'STRING') {
        const op = this.take();
        out.push(b.namedMatcher(b.matcher(name, op, this.take())));
      } else {
        out.push(b.namedMatcher(name));
      }
    } while (this.accept('COMMA') !== null);
    return out;
  }

  /** LabelFilter -> LabelFilterPrimary LabelFilterTail*; Tail -> filterSep Primary | Primary */
  private labelFilter(): LabelFilterExpr {
    const first = this.labelFilterPrimary();
    let rest: Array<[Token | null, LabelFilterExpr]> | null = null;
    for (;;) {
      const t = this.peek();
      if (t === 'AND' || t === 'OR' || t === 'COMMA') {
        const sep = this.take();
        (rest ??= []).push([sep, this.labelFilterPrimary()]);
      } else if (t === 'IDENTIFIER' || t === 'OPEN_PARENTHESIS') {
        (rest ??= []).push([null, this.labelFilterPrimary()]);
      } else {
        break;
      }
    }
    return rest === null ? first : b.labelFilterList(first, rest);
  }

  /** LabelFilterPrimary -> IDENTIFIER LabelFilterRest | ( LabelFilter ) */
  private labelFilterPrimary(): LabelFilterExpr {
    if (this.accept('OPEN_PARENTHESIS') !== null) {
      const f = this.labelFilter();
      this.expect('CLOSE_PARENTHESIS');
      return f;
    }
    const name = this.expect('IDENTIFIER');
    const op = this.take();
    const opType = op.type;
    const v = this.take();
    switch (v.type) {
      case 'STRING':
        if (!isMatchOp(opType)) throw FAIL;
        return b.labelFilterPrimary(name, [op, v, 'string']);
      case 'DURATION':
        if (!isCmpOp(opType)) throw FAIL;
        return b.labelFilterPrimary(name, [op, v, 'duration']);
      case 'BYTES':
        if (!isCmpOp(opType)) throw FAIL;
        return b.labelFilterPrimary(name, [op, v, 'bytes']);
      case 'NUMBER':
        if (!isCmpOp(opType)) throw FAIL;
        return b.labelFilterPrimary(name, [op, b.literal(null, v), 'number']);
      case 'ADD':
      case 'SUB':
        if (!isCmpOp(opType)) throw FAIL;
        return b.labelFilterPrimary(name, [op, b.literal(v, this.expect('NUMBER')), 'number']);
      case 'IP': {
        if (opType !== 'EQ' && opType !== 'NEQ') throw FAIL;
        this.expect('OPEN_PARENTHESIS');
        const str = this.expect('STRING');
        this.expect('CLOSE_PARENTHESIS');
        return b.labelFilterPrimary(name, [op, str, 'ip']);
      }
      default:
        throw FAIL;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Range vectors

  /** Unwrap -> PIPE UNWRAP IDENTIFIER | PIPE UNWRAP CONV_OP ( IDENTIFIER ) | Unwrap PIPE LabelFilter */
  private unwrap(): UnwrapExpr {
    this.expect('PIPE');
    this.expect('UNWRAP');
    let u: UnwrapExpr;
    const conv = this.accept('CONV_OP');
    if (conv !== null) {
      this.expect('OPEN_PARENTHESIS');
      const id = this.expect('IDENTIFIER');
      this.expect('CLOSE_PARENTHESIS');
      u = b.unwrap(id, conv);
    } else {
      u = b.unwrap(this.expect('IDENTIFIER'), null);
    }
    while (this.accept('PIPE') !== null) u = b.unwrapFilter(u, this.labelFilter());
    return u;
  }

  /** PipeUnwrap -> Pipeline | Unwrap | Pipeline Unwrap; null when neither is there. */
  private pipeUnwrap(): b.PipeUnwrap | null {
    const t = this.peek();
    let stages: StageExpr[] | null = null;
    if (isFilterOp(t) || (t === 'PIPE' && this.peekAt(1) !== 'UNWRAP')) stages = this.pipeline();
    let u: UnwrapExpr | null = null;
    if (this.peek() === 'PIPE' && this.peekAt(1) === 'UNWRAP') u = this.unwrap();
    if (stages === null && u === null) return null;
    return [stages, u];
  }

  /** Offset -> OFFSET DURATION (optional) */
  private offset(): Token | null {
    if (this.accept('OFFSET') === null) return null;
    return this.expect('DURATION');
  }

  /**
   * LogRange -> Selector PipeUnwrap? RANGE Offset?
   *           | Selector RANGE Offset? PipeUnwrap
   *           | ( Selector PipeUnwrap? ) RANGE Offset?
   *           | ( Selector ) RANGE Offset? Unwrap
   *           | ( LogRange )
   */
  private logRange(): LogRangeExpr {
    if (this.accept('OPEN_PARENTHESIS') === null) {
      const sel = this.selector();
      if (this.peek() === 'RANGE') return this.rangeAfterSelector(sel);
      const pu = this.pipeUnwrap();
      if (pu === null) throw FAIL;
      const range = this.expect('RANGE');
      return b.logRange(sel, pu, range, this.offset());
    }
    if (this.peek() === 'OPEN_PARENTHESIS') {
      // ( LogRange ) around a parenthesised LogRange: a Selector never starts with `(`.
      const r = this.logRange();
      this.expect('CLOSE_PARENTHESIS');
      return r;
    }
    const sel = this.selector();
    const t = this.peek();
    if (t === 'CLOSE_PARENTHESIS') {
      // ( Selector ) RANGE Offset? [Unwrap]
      this.pos++;
      const range = this.expect('RANGE');
      const off = this.offset();
      if (this.peek() === 'PIPE') return b.logRange(sel, [null, this.unwrap()], range, off);
      return b.logRange(sel, null, range, off);
    }
    if (t === 'RANGE') {
      // ( LogRange ) with `Selector RANGE ...` inside.
      const r = this.rangeAfterSelector(sel);
      this.expect('CLOSE_PARENTHESIS');
      return r;
    }
    const pu = this.pipeUnwrap();
    if (pu === null) throw FAIL;
    if (this.accept('CLOSE_PARENTHESIS') !== null) {
      // ( Selector PipeUnwrap ) RANGE Offset?
      const range = this.expect('RANGE');
      return b.logRange(sel, pu, range, this.offset());
    }
    // ( LogRange ) with `Selector PipeUnwrap RANGE Offset?` inside.
    const range = this.expect('RANGE');
    const r = b.logRange(sel, pu, range, this.offset());
    this.expect('CLOSE_PARENTHESIS');
    return r;
  }

  /** `Selector RANGE Offset? [PipeUnwrap]` once the selector is read and RANGE is next. */
  private rangeAfterSelector(sel: LogSelectorExpr): LogRangeExpr {
    const range = this.expect('RANGE');
    const off = this.offset();
    return b.logRange(sel, this.pipeUnwrap(), range, off);
  }

  // -------------------------------------------------------------------------------------------
  // Metric queries

  /** MetricExpr -> Primary (binOpToken BinMod Primary)*, shaped by precedence climbing. */
  private metricExpr(): SampleExpr {
    return this.binary(1);
  }

  private binary(minPrec: number): SampleExpr {
    let lhs = this.primary();
    for (;;) {
      const t = this.toks[this.pos];
      if (t === undefined) return lhs;
      const p = BIN_PREC[t.type];
      if (p === undefined || p < minPrec) return lhs;
      this.pos++;
      const mod = this.binMod();
      // All operators are left-associative except `^`.
      const rhs = this.binary(p === POW_PREC ? p : p + 1);
      lhs = b.binOp(lhs, t, mod, rhs);
    }
  }

  /** BinMod -> BOOL? OnIgnoring?; OnIgnoring -> onOrIgnoring ( Labels? ) GroupMod? */
  private binMod(): b.BinMod {
    const boolTok = this.accept('BOOL');
    const t = this.peek();
    if (t !== 'ON' && t !== 'IGNORING') return b.binMod(boolTok, null);
    const kw = this.take();
    this.expect('OPEN_PARENTHESIS');
    const labels = this.labels();
    this.expect('CLOSE_PARENTHESIS');
    let group: [Token, Token[] | null] | null = null;
    const g = this.peek();
    if (g === 'GROUP_LEFT' || g === 'GROUP_RIGHT') {
      const side = this.take();
      // GroupMod -> groupSide ( Labels? ): a Primary never starts with `( IDENTIFIER` or `( )`.
      const next = this.peekAt(1);
      if (this.peek() === 'OPEN_PARENTHESIS' && (next === 'IDENTIFIER' || next === 'CLOSE_PARENTHESIS')) {
        this.pos++;
        const include = this.labels();
        this.expect('CLOSE_PARENTHESIS');
        group = [side, include];
      } else {
        group = [side, null];
      }
    }
    return b.binMod(boolTok, b.onIgnoring(kw, labels, group));
  }

  /** Labels? -> IDENTIFIER (, IDENTIFIER)*, null when absent. */
  private labels(): Token[] | null {
    const first = this.accept('IDENTIFIER');
    if (first === null) return null;
    const out = [first];
    while (this.accept('COMMA') !== null) out.push(this.expect('IDENTIFIER'));
    return out;
  }

  /** Grouping? -> byOrWithout ( Labels? ) */
  private grouping(): ReturnType<typeof b.grouping> | null {
    const t = this.peek();
    if (t !== 'BY' && t !== 'WITHOUT') return null;
    const kw = this.take();
    this.expect('OPEN_PARENTHESIS');
    const labels = this.labels();
    this.expect('CLOSE_PARENTHESIS');
    return b.grouping(kw, labels);
  }

  private primary(): SampleExpr {
    const t = this.take();
    switch (t.type) {
      case 'RANGE_OP': {
        // RangeAggregation -> RANGE_OP ( [NUMBER ,] LogRange ) Grouping?
        this.expect('OPEN_PARENTHESIS');
        let param: Token | null = null;
        if (this.peek() === 'NUMBER') {
          param = this.take();
          this.expect('COMMA');
        }
        const range = this.logRange();
        this.expect('CLOSE_PARENTHESIS');
        return b.rangeAgg(t, param, range, this.grouping());
      }
      case 'VECTOR_OP': {
        // VectorAggregation -> VECTOR_OP ( VectorArgs ) Grouping? | VECTOR_OP Grouping ( VectorArgs )
        const before = this.grouping();
        this.expect('OPEN_PARENTHESIS');
        let param: Token | null = null;
        if (this.peek() === 'NUMBER' && this.peekAt(1) === 'COMMA') {
          param = this.take();
          this.pos++;
        }
        const expr = this.metricExpr();
        this.expect('CLOSE_PARENTHESIS');
        return b.vectorAgg(t, param, expr, before ?? this.grouping());
      }
      case 'NUMBER':
        return b.literal(null, t);
      case 'ADD':
      case 'SUB':
        return b.literal(t, this.expect('NUMBER'));
      case 'LABEL_REPLACE': {
        this.expect('OPEN_PARENTHESIS');
        const expr = this.metricExpr();
        this.expect('COMMA');
        const dst = this.expect('STRING');
        this.expect('COMMA');
        const rep = this.expect('STRING');
        this.expect('COMMA');
        const src = this.expect('STRING');
        this.expect('COMMA');
        const regex = this.expect('STRING');
        this.expect('CLOSE_PARENTHESIS');
        return b.labelReplace(t, expr, dst, rep, src, regex);
      }
      case 'VECTOR': {
        this.expect('OPEN_PARENTHESIS');
        const num = this.expect('NUMBER');
        this.expect('CLOSE_PARENTHESIS');
        return b.vector(t, num);
      }
      case 'OPEN_PARENTHESIS': {
        const e = this.metricExpr();
        this.expect('CLOSE_PARENTHESIS');
        return e;
      }
      default:
        throw FAIL;
    }
  }
}

/**
 * Parses `query` without validation. Returns null when the input is not in the grammar (the
 * caller then asks the nearley parser for Loki's error) — or when the fast path cannot tell,
 * e.g. nesting deep enough to exhaust the stack.
 */
export function fastParse(query: string): Expr | null {
  const toks = scanTokens(query);
  if (toks === null) return null;
  try {
    return new Parser(toks).root();
  } catch (e) {
    if (e === FAIL || e instanceof RangeError) return null;
    throw e;
  }
}
