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
import { displayToken, displayType, LexError, type Token } from './lexer.js';
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

/** All parses of `query` (no validation). The grammar is unambiguous: tests assert length <= 1. */
export function parseAll(query: string): Expr[] {
  const parser = new nearley.Parser(compiledGrammar);
  try {
    parser.feed(query);
  } catch (e) {
    const lexErr = lexer.error;
    if (lexErr !== null) throw errorAt(query, lexErr.detail, lexErr.offset);
    if (e instanceof LexError) throw errorAt(query, e.detail, e.offset);
    const token = (e as { token?: Token }).token;
    const offset = token?.offset ?? query.length;
    const current = (parser as unknown as { current: number }).current;
    throw errorAt(query, syntaxError(displayToken(token), expectedTypes(parser, current)), offset);
  }
  const results = parser.results as Expr[];
  if (results.length === 0) {
    const table = (parser as unknown as { table: unknown[] }).table;
    throw errorAt(query, syntaxError('$end', expectedTypes(parser, table.length - 1)), query.length);
  }
  return results;
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
