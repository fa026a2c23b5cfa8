/**
 * LogQL entry points. `parseExpr` = parser + Loki's parse-time checks; every failure is a
 * ParseError with a 1-based line/col and Loki's wording where Loki has one
 * (`syntax error: unexpected IDENTIFIER, expecting STRING`, `literal not terminated`, ...).
 *
 * Parsing tries the hand-written recursive-descent parser first (fast-parse.ts), which builds the
 * same AST as the nearley grammar (logql.ne, the specification); when it finds no parse, the
 * nearley path runs and reports Loki's error. Results are deep-frozen and kept in a small LRU
 * cache keyed by the query text.
 */
import nearley from 'nearley';
import { ParseError } from '../../errors.js';
import type { Expr, LogSelectorExpr } from './ast.js';
import grammar, { lexer } from './grammar.gen.js';
import { fastParse } from './fast-parse.js';
import { displayToken, displayType, FUNCTIONS, KEYWORDS, LexError, type Token } from './lexer.js';
import { checkMatchers, checkSelectorMatchers, SemanticError, validateExpr } from './validate.js';

/** Loki's maxInputSize: longer queries are refused before parsing. */
export const MAX_INPUT_SIZE_BYTES = 5120;

const compiledGrammar = nearley.Grammar.fromCompiled(grammar as unknown as nearley.CompiledRules);

/** 1-based line and column (in code points, like Go's scanner) of a UTF-16 offset. */
export function lineColOf(src: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, src.length);
  for (let i = 0; i < end; i++) {
    if (src.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  let col = 1;
  for (let i = lineStart; i < end; i++) {
    const c = src.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) i++;
    col++;
  }
  return { line, col };
}

function errorAt(src: string, detail: string, offset: number): ParseError {
  const { line, col } = lineColOf(src, offset);
  return new ParseError(detail, line, col);
}

/** Token types in Loki's declaration order, for `expecting A or B` lists. */
const EXPECT_ORDER = [
  'BYTES', 'IDENTIFIER', 'STRING', 'NUMBER', 'PARSER_FLAG', 'DURATION', 'RANGE', 'EQ', 'RE', 'NRE', 'NPA',
  'OPEN_BRACE', 'CLOSE_BRACE', 'CLOSE_BRACKET', 'COMMA', 'DOT', 'PIPE_MATCH', 'PIPE_EXACT', 'PIPE_PATTERN',
  'OPEN_PARENTHESIS', 'CLOSE_PARENTHESIS', 'BY', 'WITHOUT', 'RANGE_OP', 'VECTOR_OP', 'BOOL', 'JSON', 'REGEXP',
  'LOGFMT', 'PIPE', 'LINE_FMT', 'LABEL_FMT', 'UNWRAP', 'CONV_OP', 'VECTOR', 'LABEL_REPLACE', 'UNPACK', 'OFFSET',
  'PATTERN', 'IP', 'ON', 'IGNORING', 'GROUP_LEFT', 'GROUP_RIGHT', 'DECOLORIZE', 'DROP', 'KEEP', 'OR', 'AND',
  'UNLESS', 'CMP_EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'ADD', 'SUB', 'MUL', 'DIV', 'MOD', 'POW',
];

/** Number of yacc tokens a grouped type stands for (RANGE_OP is 15 tokens in Loki). */
const GROUP_SIZE: Readonly<Record<string, number>> = { RANGE_OP: 15, VECTOR_OP: 12, CONV_OP: 3 };

interface NearleyState {
  rule: { symbols: unknown[] };
  dot: number;
}

/** The terminal types the parser could accept in `column`, in Loki's order. */
function expectedTypes(parser: nearley.Parser, column: number): string[] {
  const col = (parser as unknown as { table: Array<{ scannable: NearleyState[] } | undefined> }).table[column];
  if (col === undefined) return [];
  const seen = new Set<string>();
  for (const st of col.scannable) {
    const sym = st.rule.symbols[st.dot] as { type?: string; types?: readonly string[] } | undefined;
    if (sym?.type !== undefined) seen.add(sym.type);
    if (sym?.types !== undefined) for (const t of sym.types) seen.add(t);
  }
  return EXPECT_ORDER.filter((t) => seen.has(t));
}

/** goyacc's message: lists the expected tokens only when there are at most four. */
function syntaxError(unexpected: string, expected: string[]): string {
  let msg = `syntax error: unexpected ${unexpected}`;
  const count = expected.reduce((n, t) => n + (GROUP_SIZE[t] ?? 1), 0);
  if (count > 0 && count <= 4) msg += ', expecting ' + expected.map(displayType).join(' or ');
  return msg;
}

/** Where and why the grammar rejected an input. */
interface SyntaxFailure {
  /** UTF-16 offset the error points at. */
  offset: number;
  detail: string;
  /** A lexer error (bad literal, bad range): reported as it is. */
  lex: boolean;
  /** Index of the token the parser failed on (the token count for `$end`). */
  tokenIndex: number;
}

/** One run of the nearley parser over `query`: its parses, or why it failed (with its state, for diagnosis). */
interface ParserRun {
  parser: nearley.Parser;
  tokens: Token[];
  results: Expr[];
  failure: SyntaxFailure | null;
}

/** `history` keeps every column of the parse table (diagnosis reads earlier ones); parsing drops them otherwise. */
function runParser(query: string, history = false, forceFunctionAt = -1): ParserRun {
  const parser = new nearley.Parser(compiledGrammar, { keepHistory: history });
  lexer.forceFunctionAt = forceFunctionAt;
  try {
    parser.feed(query);
  } catch (e) {
    const tokens = lexer.tokens;
    const lexErr = lexer.error ?? (e instanceof LexError ? e : null);
    if (lexErr !== null) return { parser, tokens, results: [], failure: { offset: lexErr.offset, detail: lexErr.detail, lex: true, tokenIndex: tokens.length } };
    const token = (e as { token?: Token }).token;
    const current = (parser as unknown as { current: number }).current;
    const detail = syntaxError(displayToken(token), expectedTypes(parser, current));
    return { parser, tokens, results: [], failure: { offset: token?.offset ?? query.length, detail, lex: false, tokenIndex: current } };
  } finally {
    lexer.forceFunctionAt = -1;
  }
  const tokens = lexer.tokens;
  const results = parser.results as Expr[];
  if (results.length > 0) return { parser, tokens, results, failure: null };
  const table = (parser as unknown as { table: unknown[] }).table;
  const detail = syntaxError('$end', expectedTypes(parser, table.length - 1));
  return { parser, tokens, results, failure: { offset: query.length, detail, lex: false, tokenIndex: tokens.length } };
}

/** All parses of `query` (no validation). The grammar is unambiguous: tests assert length <= 1. */
export function parseAll(query: string): Expr[] {
  const run = runParser(query);
  if (run.failure === null) return run.results;
  const f = run.failure.lex ? run.failure : diagnose(query, runParser(query, true), run.failure);
  throw errorAt(query, f.detail, f.offset);
}

// ---------------------------------------------------------------------------------------------
// Diagnosis: Loki reports the token where its parser stopped, which is often not where the
// mistake is (`| jsn [1m]` stops at `[1m]`; `sum by level (` stops at `sum`, which the lexer
// took for a label name because no `(` follows). These rules move the error to the offending
// token and suggest the keyword a misspelled word was probably meant to be. Anything they do
// not recognise keeps Loki's position and text.

/** Every LogQL word that is a token of its own: keywords, functions, aggregations, parsers. */
const WORDS: ReadonlyArray<readonly [string, string]> = [...KEYWORDS, ...FUNCTIONS];

/** Edit distance of a and b (insertions, deletions, substitutions and adjacent transpositions each cost 1). */
export function editDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m]!;
}

/** The largest edit distance at which `word` is still suggested for a misspelling. */
function maxDistance(word: string): number {
  return word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
}

/** Keywords the parser would accept at token `column`, nearest to `text` first (only small distances). */
function suggestions(parser: nearley.Parser, column: number, text: string): string[] {
  const expected = new Set(expectedTypes(parser, column));
  const lower = text.toLowerCase();
  const found: Array<[string, number]> = [];
  for (const [word, type] of WORDS) {
    if (!expected.has(type)) continue;
    const d = editDistance(lower, word);
    if (d > 0 && d <= maxDistance(word) && d < lower.length) found.push([word, d]);
  }
  return found.sort((x, y) => x[1] - y[1]).map(([w]) => w);
}

/** Whether `query` parses, or fails past `offset` (the substitution got the parser further). */
function getsPast(query: string, offset: number): boolean {
  const f = runParser(query).failure;
  return f === null || f.offset > offset;
}

/** Binary operator tokens (the grammar's `binOpToken`). */
const BIN_OPS: ReadonlySet<string> = new Set(['OR', 'AND', 'UNLESS', 'CMP_EQ', 'NEQ', 'GT', 'GTE', 'LT', 'LTE', 'ADD', 'SUB', 'MUL', 'DIV', 'MOD', 'POW']);

/** The Go type Loki names for a log expression in a binary operation. */
function goLogType(e: Expr): string {
  return e.kind === 'logSelector' && e.stages.length > 0 ? '*syntax.PipelineExpr' : '*syntax.MatchersExpr';
}

/** The log expression `text` parses to, or null. */
function logExprOf(text: string): Expr | null {
  const r = runParser(text);
  return r.failure === null && r.results[0]?.kind === 'logSelector' ? r.results[0] : null;
}

/**
 * Loki's grammar takes a log expression as a leg of a binary operation (`expr: logExpr |
 * metricExpr`, `binOpExpr: expr op expr`) and rejects it once the operation is built:
 * `unexpected type for left leg of binary operation (+): *syntax.MatchersExpr`. Silt's grammar
 * stops at the operator or at the `{`; this gives Loki's error for those inputs: the operation's
 * text, or, where Loki's parser stops after the log expression (`min({a="b"}[5m])`), the token
 * it stops at. Null when the input is not of that kind.
 */
function logOperandFailure(query: string, tokens: readonly Token[], k: number, expected: readonly string[]): SyntaxFailure | null {
  const failed = tokens[k];
  if (failed !== undefined && BIN_OPS.has(failed.type) && k > 0) {
    // `{a="b"} + 1`: everything before the operator is a log expression, the rest an expression.
    const left = logExprOf(query.slice(0, failed.offset));
    if (left === null || runParser(query.slice(failed.offset + failed.text.length)).failure !== null) return null;
    return { offset: tokens[0]!.offset, detail: `unexpected type for left leg of binary operation (${failed.value.toLowerCase()}): ${goLogType(left)}`, lex: false, tokenIndex: 0 };
  }
  if (failed?.type !== 'OPEN_BRACE' || expected.includes('OPEN_BRACE')) return null;
  // A log expression where a metric expression belongs: read as far as it goes.
  const rest = query.slice(failed.offset);
  const sub = runParser(rest);
  const before = tokens[k - 1];
  const rightLeg = before !== undefined && BIN_OPS.has(before.type) ? before.value.toLowerCase() : null;
  if (sub.failure === null) {
    const e = sub.results[0]!;
    if (e.kind !== 'logSelector') return null;
    if (rightLeg !== null) return { offset: failed.offset, detail: `unexpected type for right leg of binary operation (${rightLeg}): ${goLogType(e)}`, lex: false, tokenIndex: k };
    return { offset: query.length, detail: 'syntax error: unexpected $end', lex: false, tokenIndex: tokens.length };
  }
  const f = sub.failure;
  if (f.lex || f.offset === 0) return null;
  const stop = sub.tokens[f.tokenIndex];
  if (stop !== undefined && BIN_OPS.has(stop.type)) {
    const left = logExprOf(rest.slice(0, f.offset));
    if (left === null) return null;
    return { offset: failed.offset, detail: `unexpected type for left leg of binary operation (${stop.value.toLowerCase()}): ${goLogType(left)}`, lex: false, tokenIndex: k };
  }
  if (logExprOf(rest.slice(0, f.offset)) === null) return null;
  // Loki lists no expected tokens here: after a log expression more than four can follow.
  return { offset: failed.offset + f.offset, detail: `syntax error: unexpected ${displayToken(stop)}`, lex: false, tokenIndex: k + f.tokenIndex };
}

function diagnose(query: string, run: ParserRun, failure: SyntaxFailure): SyntaxFailure {
  const { parser, tokens } = run;
  const k = failure.tokenIndex;
  const failed = tokens[k];
  const logOperand = logOperandFailure(query, tokens, k, expectedTypes(parser, k));
  if (logOperand !== null) return logOperand;
  // A function word the lexer took for a label name (no `(` after it): parse again reading it
  // as the function, and report where that parse stops instead.
  if (failed !== undefined && failed.type === 'IDENTIFIER') {
    const fn = FUNCTIONS.get(failed.text.toLowerCase());
    if (fn !== undefined && expectedTypes(parser, k).includes(fn)) {
      const again = runParser(query, false, failed.offset);
      const f = again.failure;
      if (f !== null && !f.lex && f.offset > failed.offset) {
        const at = again.tokens[f.tokenIndex];
        const before = again.tokens[f.tokenIndex - 1];
        if (at?.type === 'IDENTIFIER' && (before?.type === 'BY' || before?.type === 'WITHOUT')) {
          return { ...f, detail: `${f.detail}, did you mean "${before.value} (${at.text})"?` };
        }
        return f;
      }
    }
  }
  // A misspelled keyword: the failing word itself (`count_over_tim(`), or the word just before
  // the failing token (`| jsn [1m]`: `jsn` was read as the start of a label filter).
  for (const i of [k, k - 1]) {
    const t = tokens[i];
    if (t === undefined || t.type !== 'IDENTIFIER') continue;
    for (const word of suggestions(parser, i, t.text)) {
      const fixed = query.slice(0, t.offset) + word + query.slice(t.offset + t.text.length);
      if (getsPast(fixed, failure.offset + word.length - t.text.length)) {
        return { offset: t.offset, detail: `syntax error: unexpected IDENTIFIER "${t.text}", did you mean "${word}"?`, lex: false, tokenIndex: i };
      }
    }
  }
  return failure;
}

function checkSize(query: string): void {
  const size = Buffer.byteLength(query, 'utf8');
  if (size >= MAX_INPUT_SIZE_BYTES) throw new ParseError(`input size too long (${size} > ${MAX_INPUT_SIZE_BYTES})`, 1, 1);
}

/** The nearley path: the grammar as written, with Loki's syntax errors. */
function parseNearley(query: string): Expr {
  const results = parseAll(query);
  if (results.length !== 1) throw new Error(`internal error: ambiguous LogQL grammar (${results.length} parses)`);
  return results[0]!;
}

function parseUnvalidated(query: string): Expr {
  checkSize(query);
  return fastParse(query) ?? parseNearley(query);
}

/**
 * Makes a freshly parsed tree immutable, so cached trees can be shared by every caller (the AST
 * types are readonly; this enforces it at run time: a write throws in strict-mode code).
 */
function deepFreeze<T extends object>(node: T): T {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const v: unknown = node[i];
      if (typeof v === 'object' && v !== null) deepFreeze(v);
    }
  } else {
    const o = node as Record<string, unknown>;
    for (const k in o) {
      const v = o[k];
      if (typeof v === 'object' && v !== null) deepFreeze(v);
    }
  }
  return Object.freeze(node);
}

/** A bounded least-recently-used map (Map keeps insertion order; a hit re-inserts). */
class LruCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private capacity: number) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, v: V): void {
    if (this.capacity <= 0) return;
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }

  resize(capacity: number): void {
    this.capacity = capacity;
    while (this.map.size > Math.max(capacity, 0)) this.map.delete(this.map.keys().next().value!);
  }

  get size(): number {
    return this.map.size;
  }
}

/** Default number of parsed queries kept (per entry point). */
export const PARSE_CACHE_SIZE = 1000;

/** Validated trees by query text, one cache per entry point (their checks differ). */
const exprCache = new LruCache<Expr>(PARSE_CACHE_SIZE);
const selectorCache = new LruCache<LogSelectorExpr>(PARSE_CACHE_SIZE);
const rawSelectorCache = new LruCache<LogSelectorExpr>(PARSE_CACHE_SIZE);

/**
 * Sets how many parsed queries each entry point keeps (0 disables caching; benchmarks, tests).
 * Shrinking evicts the least recently used entries.
 */
export function setParseCacheSize(entries: number): void {
  for (const c of [exprCache, selectorCache, rawSelectorCache]) c.resize(entries);
}

/** Entries currently cached by `parseExpr`, `parseSelector(q)` and `parseSelector(q, false)`. */
export function parseCacheSizes(): { expr: number; selector: number; rawSelector: number } {
  return { expr: exprCache.size, selector: selectorCache.size, rawSelector: rawSelectorCache.size };
}

/** The tree the nearley grammar alone gives for `query`, validated; the fast path's oracle (tests). */
export function parseExprNearley(query: string): Expr {
  checkSize(query);
  const expr = parseNearley(query);
  validate(query, expr);
  return deepFreeze(expr);
}

function validate(query: string, expr: Expr): void {
  try {
    validateExpr(expr);
  } catch (e) {
    if (e instanceof SemanticError) throw errorAt(query, e.detail, e.offset);
    throw e;
  }
}

/**
 * Parses and validates a LogQL query (log or metric). Throws ParseError. The result is frozen
 * and may be shared with other callers of the same text.
 */
export function parseExpr(query: string): Expr {
  const hit = exprCache.get(query);
  if (hit !== undefined) return hit;
  const expr = parseUnvalidated(query);
  validate(query, expr);
  exprCache.set(query, deepFreeze(expr));
  return expr;
}

/** Parses a log query (`{...} | ...`); metric queries are rejected. Throws ParseError. */
export function parseLogSelector(query: string): LogSelectorExpr {
  const expr = parseExpr(query);
  if (expr.kind !== 'logSelector') throw new ParseError('only log selector is supported', 1, 1);
  return expr;
}

/**
 * Parses a bare stream selector `{a="b", c=~"d"}` (series `match[]`, label queries) into a
 * LogSelectorExpr without stages. With
 * `validate` (default) at least one matcher must not match the empty value, as in Loki.
 */
export function parseSelector(query: string, validate = true): LogSelectorExpr {
  const cache = validate ? selectorCache : rawSelectorCache;
  const hit = cache.get(query);
  if (hit !== undefined) return hit;
  const expr = parseUnvalidated(query);
  if (expr.kind !== 'logSelector' || expr.stages.length > 0) {
    throw new ParseError('only label matchers is supported', 1, 1);
  }
  try {
    if (validate) checkSelectorMatchers(expr.matchers, expr);
    else checkMatchers(expr.matchers);
  } catch (e) {
    if (e instanceof SemanticError) throw errorAt(query, e.detail, e.offset);
    throw e;
  }
  cache.set(query, deepFreeze(expr));
  return expr;
}
