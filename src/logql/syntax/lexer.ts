/**
 * The LogQL lexer: moo splits the input into raw tokens, then this wrapper applies Loki's
 * context rules (lex.go): keywords are case-insensitive; function names (`rate`, `sum`, `bytes`,
 * `ip`, ...) are keywords only when followed by `(` or `by (`/`without (`; a number glued to
 * duration or byte units becomes DURATION or BYTES; `[...]` is one RANGE token; `--strict` is a
 * PARSER_FLAG; `-5m` is a negative DURATION. It implements nearley's lexer interface and is
 * lazy, so a lexer error surfaces only after every earlier syntax error had its chance.
 */
import moo from 'moo';
import { parseLokiDuration, scanGoNumber, unquoteGo, UnquoteError } from './literals.js';
import { tryParseHumanBytes } from '../../util/go/bytes.js';
import { parsePromDuration } from '../../util/go/duration.js';

/** Token types fed to the grammar. Names follow Loki's yacc tokens where one exists. */
export type TokenType =
  | 'IDENTIFIER'
  | 'STRING'
  | 'NUMBER'
  | 'DURATION'
  | 'BYTES'
  | 'RANGE'
  | 'PARSER_FLAG'
  | 'OPEN_BRACE'
  | 'CLOSE_BRACE'
  | 'OPEN_PARENTHESIS'
  | 'CLOSE_PARENTHESIS'
  | 'CLOSE_BRACKET'
  | 'COMMA'
  | 'DOT'
  | 'EQ'
  | 'NEQ'
  | 'RE'
  | 'NRE'
  | 'NPA'
  | 'PIPE_EXACT'
  | 'PIPE_MATCH'
  | 'PIPE_PATTERN'
  | 'PIPE'
  | 'ADD'
  | 'SUB'
  | 'MUL'
  | 'DIV'
  | 'MOD'
  | 'POW'
  | 'CMP_EQ'
  | 'GT'
  | 'GTE'
  | 'LT'
  | 'LTE'
  | 'BY'
  | 'WITHOUT'
  | 'BOOL'
  | 'OR'
  | 'AND'
  | 'UNLESS'
  | 'ON'
  | 'IGNORING'
  | 'GROUP_LEFT'
  | 'GROUP_RIGHT'
  | 'OFFSET'
  | 'UNWRAP'
  | 'JSON'
  | 'LOGFMT'
  | 'REGEXP'
  | 'UNPACK'
  | 'PATTERN'
  | 'LINE_FMT'
  | 'LABEL_FMT'
  | 'DECOLORIZE'
  | 'DROP'
  | 'KEEP'
  | 'IP'
  | 'LABEL_REPLACE'
  | 'RANGE_OP'
  | 'VECTOR_OP'
  | 'CONV_OP'
  | 'VECTOR';

/** One token. `value` is the decoded value (string contents, lower-cased keyword, ...). */
export class Token {
  constructor(
    readonly type: TokenType,
    /** Decoded value: unquoted string, duration/bytes text, lower-cased function name. */
    readonly value: string,
    /** Source text. */
    readonly text: string,
    /** UTF-16 offset of the first character. */
    readonly offset: number,
    /** Parsed duration (DURATION, RANGE) in ns, else 0n. */
    readonly durationNs: bigint = 0n,
    /** Parsed byte count (BYTES), else 0. */
    readonly bytes: number = 0,
  ) {}
}

export const KEYWORDS: ReadonlyMap<string, TokenType> = new Map<string, TokenType>([
  ['by', 'BY'],
  ['without', 'WITHOUT'],
  ['bool', 'BOOL'],
  ['or', 'OR'],
  ['and', 'AND'],
  ['unless', 'UNLESS'],
  ['on', 'ON'],
  ['ignoring', 'IGNORING'],
  ['group_left', 'GROUP_LEFT'],
  ['group_right', 'GROUP_RIGHT'],
  ['offset', 'OFFSET'],
  ['unwrap', 'UNWRAP'],
  ['json', 'JSON'],
  ['logfmt', 'LOGFMT'],
  ['regexp', 'REGEXP'],
  ['unpack', 'UNPACK'],
  ['pattern', 'PATTERN'],
  ['line_format', 'LINE_FMT'],
  ['label_format', 'LABEL_FMT'],
  ['decolorize', 'DECOLORIZE'],
  ['drop', 'DROP'],
  ['keep', 'KEEP'],
]);

/** Words that are tokens only when used as a function (Loki's functionTokens). */
export const FUNCTIONS: ReadonlyMap<string, TokenType> = new Map<string, TokenType>([
  ['rate', 'RANGE_OP'],
  ['rate_counter', 'RANGE_OP'],
  ['count_over_time', 'RANGE_OP'],
  ['bytes_rate', 'RANGE_OP'],
  ['bytes_over_time', 'RANGE_OP'],
  ['avg_over_time', 'RANGE_OP'],
  ['sum_over_time', 'RANGE_OP'],
  ['min_over_time', 'RANGE_OP'],
  ['max_over_time', 'RANGE_OP'],
  ['stdvar_over_time', 'RANGE_OP'],
  ['stddev_over_time', 'RANGE_OP'],
  ['quantile_over_time', 'RANGE_OP'],
  ['first_over_time', 'RANGE_OP'],
  ['last_over_time', 'RANGE_OP'],
  ['absent_over_time', 'RANGE_OP'],
  ['vector', 'VECTOR'],
  ['sum', 'VECTOR_OP'],
  ['avg', 'VECTOR_OP'],
  ['max', 'VECTOR_OP'],
  ['min', 'VECTOR_OP'],
  ['count', 'VECTOR_OP'],
  ['stddev', 'VECTOR_OP'],
  ['stdvar', 'VECTOR_OP'],
  ['bottomk', 'VECTOR_OP'],
  ['topk', 'VECTOR_OP'],
  ['sort', 'VECTOR_OP'],
  ['sort_desc', 'VECTOR_OP'],
  ['approx_topk', 'VECTOR_OP'],
  ['label_replace', 'LABEL_REPLACE'],
  ['bytes', 'CONV_OP'],
  ['duration', 'CONV_OP'],
  ['duration_seconds', 'CONV_OP'],
  ['ip', 'IP'],
]);

export const OPERATORS: ReadonlyMap<string, TokenType> = new Map<string, TokenType>([
  ['!=', 'NEQ'],
  ['=~', 'RE'],
  ['!~', 'NRE'],
  ['!>', 'NPA'],
  ['|=', 'PIPE_EXACT'],
  ['|~', 'PIPE_MATCH'],
  ['|>', 'PIPE_PATTERN'],
  ['==', 'CMP_EQ'],
  ['>=', 'GTE'],
  ['<=', 'LTE'],
  ['{', 'OPEN_BRACE'],
  ['}', 'CLOSE_BRACE'],
  ['(', 'OPEN_PARENTHESIS'],
  [')', 'CLOSE_PARENTHESIS'],
  [']', 'CLOSE_BRACKET'],
  [',', 'COMMA'],
  ['.', 'DOT'],
  ['=', 'EQ'],
  ['|', 'PIPE'],
  ['+', 'ADD'],
  ['*', 'MUL'],
  ['/', 'DIV'],
  ['%', 'MOD'],
  ['^', 'POW'],
  ['>', 'GT'],
  ['<', 'LT'],
]);

const TOKEN_TYPES: ReadonlySet<string> = new Set<string>([
  'IDENTIFIER', 'STRING', 'NUMBER', 'DURATION', 'BYTES', 'RANGE', 'PARSER_FLAG',
  ...OPERATORS.values(), 'SUB', ...KEYWORDS.values(), ...FUNCTIONS.values(),
]);

export const PARSER_FLAGS: ReadonlySet<string> = new Set(['--strict', '--keep-empty']);

const CONV_DISPLAY: Readonly<Record<string, string>> = {
  bytes: 'BYTES_CONV',
  duration: 'DURATION_CONV',
  duration_seconds: 'DURATION_SECONDS_CONV',
};

/** Types displayed by their literal text in Loki's messages (its `tokens` map). */
const LITERAL_DISPLAY: ReadonlySet<TokenType> = new Set<TokenType>([
  ...OPERATORS.values(),
  ...KEYWORDS.values(),
]);

/** Loki's name of a token in `syntax error: unexpected X` messages. */
export function displayToken(t: Token | undefined): string {
  if (t === undefined) return '$end';
  switch (t.type) {
    case 'RANGE_OP':
    case 'VECTOR_OP':
      return t.value.toUpperCase();
    case 'CONV_OP':
      return CONV_DISPLAY[t.value] ?? 'CONV';
    case 'IP':
      return 'ip';
    case 'LABEL_REPLACE':
      return 'label_replace';
    case 'SUB':
      return '-';
    case 'CLOSE_BRACKET':
      return ']';
    default:
      return LITERAL_DISPLAY.has(t.type) ? t.text.toLowerCase() : t.type;
  }
}

/** Loki's name of a token type in `expecting A or B` messages. */
export function displayType(type: string): string {
  for (const [text, t] of OPERATORS) if (t === type) return text;
  for (const [text, t] of KEYWORDS) if (t === type) return text;
  switch (type) {
    case 'SUB':
      return '-';
    case 'IP':
      return 'ip';
    case 'LABEL_REPLACE':
      return 'label_replace';
    case 'CONV_OP':
      return 'BYTES_CONV or DURATION_CONV or DURATION_SECONDS_CONV';
    default:
      return type;
  }
}

/** A lexer error; the parser turns it into a ParseError at `offset`. */
export class LexError extends Error {
  constructor(
    readonly detail: string,
    readonly offset: number,
  ) {
    super(detail);
  }
}

const mooLexer = moo.compile({
  ws: { match: /[ \t\r\n]+/u, lineBreaks: true },
  comment: /#[^\n]*/u,
  number:
    /0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?|0[bBoO][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]+)?|\.[0-9][0-9_]*(?:[eE][+-]?[0-9_]+)?/u,
  string: /"(?:[^"\\\n]|\\[^\n])*"/u,
  badString: /"(?:[^"\\\n]|\\[^\n])*/u,
  raw: { match: /`[^`]*`/u, lineBreaks: true },
  badRaw: { match: /`[^`]*/u, lineBreaks: true },
  op: ['!=', '=~', '!~', '!>', '|=', '|~', '|>', '==', '>=', '<=', '{', '}', '(', ')', ']', ',', '.', '=', '|', '+', '*', '/', '%', '^', '>', '<'],
  minus: '-',
  lbrack: '[',
  ident: /[\p{L}_][\p{L}\p{Nd}_]*/u,
  other: { match: /[^]/u, lineBreaks: true },
});

/** moo's Lexer exposes its cursor as `index`; we move it after scanning ahead ourselves. */
interface MooCursor {
  index: number;
}

export function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

export function isDurationChar(c: number): boolean {
  // digits, '.', and n u µ m s h d w y
  return (c >= 48 && c <= 57) || c === 46 || c === 110 || c === 117 || c === 0xb5 || c === 109 || c === 115 || c === 104 || c === 100 || c === 119 || c === 121;
}

export function isBytesChar(c: number): boolean {
  // digits, '.', and B i k K M G T P
  return (c >= 48 && c <= 57) || c === 46 || c === 66 || c === 105 || c === 107 || c === 75 || c === 77 || c === 71 || c === 84 || c === 80;
}

/** A nearley-compatible lexer over one query string. Not reentrant: one parse at a time. */
export class LogqlLexer {
  private src = '';
  /** The first lexer error of the current input, kept because nearley rewraps thrown errors. */
  error: LexError | null = null;
  /** Every token handed to the parser for the current input, in order (for error diagnosis). */
  tokens: Token[] = [];
  /**
   * Offset of a word to read as the function it names even without a `(` after it, or -1.
   * Error diagnosis sets it to find where `sum by level (` really goes wrong.
   */
  forceFunctionAt = -1;

  reset(chunk: string, _state?: unknown): void {
    this.src = chunk;
    this.error = null;
    this.tokens = [];
    mooLexer.reset(chunk);
  }

  save(): undefined {
    return undefined;
  }

  /** nearley asks whether `%name` is a token type; other names are TokenClass symbols. */
  has(type: string): boolean {
    return TOKEN_TYPES.has(type);
  }

  formatError(token: Token, message: string): string {
    return `${message} at ${token?.offset ?? this.src.length}`;
  }

  /** Offset where the input ends (the position of `$end`). */
  get endOffset(): number {
    return this.src.length;
  }

  next(): Token | undefined {
    const t = this.scan();
    if (t !== undefined) this.tokens.push(t);
    return t;
  }

  private scan(): Token | undefined {
    for (;;) {
      const t = mooLexer.next();
      if (t === undefined) return undefined;
      switch (t.type) {
        case 'ws':
        case 'comment':
          continue;
        case 'number':
          return this.number(t.offset);
        case 'string':
        case 'raw':
          return this.string(t.text, t.offset);
        case 'badString':
        case 'badRaw':
          return this.fail('literal not terminated', t.offset);
        case 'op':
          return new Token(OPERATORS.get(t.text)!, t.text, t.text, t.offset);
        case 'minus':
          return this.minus(t.offset);
        case 'lbrack':
          return this.range(t.offset);
        case 'ident':
          return this.ident(t.text, t.offset);
        default:
          if (t.text === "'") return this.fail('invalid char literal', t.offset);
          if (t.text === '\\') return this.fail('invalid char escape', t.offset);
          // Go's scanner hands unknown characters through; Loki calls them IDENTIFIER.
          return new Token('IDENTIFIER', t.text, t.text, t.offset);
      }
    }
  }

  private fail(detail: string, offset: number): never {
    const e = new LexError(detail, offset);
    this.error ??= e;
    throw e;
  }

  private moveTo(index: number): void {
    (mooLexer as unknown as MooCursor).index = index;
  }

  /** Characters after `from` accepted by `ok`, stopping at whitespace/EOF (lex.go's tryScan*). */
  private scanRun(from: number, ok: (c: number) => boolean): number {
    let i = from;
    const s = this.src;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (isSpace(c) || !ok(c)) break;
      i++;
    }
    return i;
  }

  private number(offset: number): Token {
    // moo finds where a number starts; Loki's scanner rules say where it ends and what is wrong.
    const g = scanGoNumber(this.src, offset);
    if (g.error !== null) return this.fail(g.error, offset);
    const end = g.end;
    const text = this.src.slice(offset, end);
    this.moveTo(end);
    const dEnd = this.scanRun(end, isDurationChar);
    if (dEnd > end) {
      const full = this.src.slice(offset, dEnd);
      const ns = parseLokiDuration(full);
      if (ns !== null) {
        this.moveTo(dEnd);
        return new Token('DURATION', full, full, offset, ns);
      }
    }
    const bEnd = this.scanRun(end, isBytesChar);
    if (bEnd > end) {
      const full = this.src.slice(offset, bEnd);
      const b = tryParseHumanBytes(full);
      if (b !== null) {
        this.moveTo(bEnd);
        return new Token('BYTES', full, full, offset, 0n, b);
      }
    }
    return new Token('NUMBER', text, text, offset);
  }

  private string(text: string, offset: number): Token {
    try {
      return new Token('STRING', unquoteGo(text), text, offset);
    } catch (e) {
      if (e instanceof UnquoteError) return this.fail(e.message, offset);
      throw e;
    }
  }

  private minus(offset: number): Token {
    const s = this.src;
    if (s.charCodeAt(offset + 1) === 45) {
      let i = offset + 1;
      while (i < s.length && (/\p{L}/u.test(s[i]!) || s[i] === '-')) i++;
      const flag = s.slice(offset, i);
      if (PARSER_FLAGS.has(flag)) {
        this.moveTo(i);
        return new Token('PARSER_FLAG', flag, flag, offset);
      }
    }
    const dEnd = this.scanRun(offset + 1, isDurationChar);
    if (dEnd > offset + 1) {
      const full = s.slice(offset, dEnd);
      const ns = parseLokiDuration(full);
      if (ns !== null) {
        this.moveTo(dEnd);
        return new Token('DURATION', full, full, offset, ns);
      }
    }
    return new Token('SUB', '-', '-', offset);
  }

  private range(offset: number): Token {
    const close = this.src.indexOf(']', offset + 1);
    if (close < 0) return this.fail("missing closing ']' in duration", offset);
    const inner = this.src.slice(offset + 1, close);
    const d = parsePromDuration(inner);
    if (!d.ok) return this.fail(d.error, offset);
    this.moveTo(close + 1);
    return new Token('RANGE', inner, this.src.slice(offset, close + 1), offset, d.ns);
  }

  private ident(text: string, offset: number): Token {
    const lower = text.toLowerCase();
    const fn = FUNCTIONS.get(lower);
    if (fn !== undefined) {
      if (offset === this.forceFunctionAt || isFunction(this.src, offset + text.length)) return new Token(fn, lower, text, offset);
      return new Token('IDENTIFIER', text, text, offset);
    }
    const kw = KEYWORDS.get(lower);
    if (kw !== undefined) return new Token(kw, lower, text, offset);
    return new Token('IDENTIFIER', text, text, offset);
  }

}

/** lex.go isFunction: next non-space is `(`, or `by`/`without` then spaces then `(`. */
export function isFunction(s: string, from: number): boolean {
  let i = from;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  if (s[i] === '(') return true;
  let kwLen = 0;
  if (s.slice(i, i + 2).toLowerCase() === 'by') kwLen = 2;
  else if (s.slice(i, i + 7).toLowerCase() === 'without') kwLen = 7;
  if (kwLen === 0) return false;
  i += kwLen;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return s[i] === '(';
}
