/**
 * Eager, hand-written tokeniser for the fast parser. It yields exactly the tokens of
 * `LogqlLexer` (moo rules plus Loki's context rules, lexer.ts) — the tests compare both on every
 * corpus, generated and fuzzed query — at several times the speed. Any lexer error makes it
 * return null: the caller then runs the nearley path, whose lazy lexer reports errors in Loki's
 * order.
 *
 * Raw token rules, in moo's priority order: whitespace `[ \t\r\n]+`, `#` comments, numbers,
 * `"..."` and backtick strings, operators (longest first), `-`, `[`, identifiers
 * `[\p{L}_][\p{L}\p{Nd}_]*`, then any other code point (an IDENTIFIER, as Go's scanner passes it).
 */
import {
  FUNCTIONS,
  isBytesChar,
  isDurationChar,
  isSpace,
  KEYWORDS,
  LexError,
  LogqlLexer,
  PARSER_FLAGS,
  Token,
  isFunction,
  type TokenType,
} from './lexer.js';
import { parseLokiDuration, scanGoNumber, unquoteGo } from './literals.js';
import { tryParseHumanBytes } from '../../util/go/bytes.js';
import { parsePromDuration, type DurationResult } from '../../util/go/duration.js';

export type { TokenType };
export { Token };

/** moo's `ident` rule, anchored at lastIndex (used when a non-ASCII character is involved). */
const IDENT_RE = /[\p{L}_][\p{L}\p{Nd}_]*/uy;
const LETTER_RE = /\p{L}/u;

/** Small memo of `[...]` range texts: typical queries repeat `[1m]`, `[5m]`, `[$__auto]`... */
const rangeMemo = new Map<string, DurationResult>();
const RANGE_MEMO_MAX = 256;

function promDuration(inner: string): DurationResult {
  let d = rangeMemo.get(inner);
  if (d === undefined) {
    d = parsePromDuration(inner);
    if (rangeMemo.size >= RANGE_MEMO_MAX) rangeMemo.clear();
    rangeMemo.set(inner, d);
  }
  return d;
}

function isIdentStartAscii(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isIdentPartAscii(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
}

/** Signals a lexer error inside `scan`. */
const LEX_FAIL: unique symbol = Symbol('logql scan: lexer error');

/** Characters after `from` accepted by `ok`, stopping at whitespace/EOF (lex.go's tryScan*). */
function scanRun(s: string, from: number, ok: (c: number) => boolean): number {
  let i = from;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (isSpace(c) || !ok(c)) break;
    i++;
  }
  return i;
}

function identToken(s: string, text: string, offset: number): Token {
  const lower = text.toLowerCase();
  const fn = FUNCTIONS.get(lower);
  if (fn !== undefined) {
    if (isFunction(s, offset + text.length)) return new Token(fn, lower, text, offset);
    return new Token('IDENTIFIER', text, text, offset);
  }
  const kw = KEYWORDS.get(lower);
  if (kw !== undefined) return new Token(kw, lower, text, offset);
  return new Token('IDENTIFIER', text, text, offset);
}

/** Appends an operator token; returns its length, by which the caller advances. */
function op(out: Token[], type: TokenType, text: string, offset: number): number {
  out.push(new Token(type, text, text, offset));
  return text.length;
}

/** Appends the tokens of `s` to `out`; throws LEX_FAIL on a lexer error. */
function scan(s: string, out: Token[]): void {
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    const start = i;
    switch (c) {
      case 32:
      case 9:
      case 13:
      case 10:
        i++;
        continue;
      case 35: {
        // # comment to end of line
        const nl = s.indexOf('\n', i);
        i = nl < 0 ? n : nl;
        continue;
      }
      case 34: {
        // "..." with escapes; a newline or EOF before the closing quote is an error
        i++;
        for (;;) {
          if (i >= n) throw LEX_FAIL;
          const d = s.charCodeAt(i);
          if (d === 34) break;
          if (d === 10) throw LEX_FAIL;
          if (d === 92) {
            if (i + 1 >= n || s.charCodeAt(i + 1) === 10) throw LEX_FAIL;
            i += 2;
          } else {
            i++;
          }
        }
        i++;
        const text = s.slice(start, i);
        let value: string;
        try {
          value = unquoteGo(text);
        } catch {
          throw LEX_FAIL;
        }
        out.push(new Token('STRING', value, text, start));
        continue;
      }
      case 96: {
        // `raw`
        const close = s.indexOf('`', i + 1);
        if (close < 0) throw LEX_FAIL;
        i = close + 1;
        const text = s.slice(start, i);
        let value: string;
        try {
          value = unquoteGo(text);
        } catch {
          throw LEX_FAIL;
        }
        out.push(new Token('STRING', value, text, start));
        continue;
      }
      case 33: {
        // != =~ !~ !>, else `!` is an unknown character
        const d = s.charCodeAt(i + 1);
        if (d === 61) i += op(out, 'NEQ', '!=', start);
        else if (d === 126) i += op(out, 'NRE', '!~', start);
        else if (d === 62) i += op(out, 'NPA', '!>', start);
        else i += op(out, 'IDENTIFIER', '!', start);
        continue;
      }
      case 61: {
        const d = s.charCodeAt(i + 1);
        if (d === 126) i += op(out, 'RE', '=~', start);
        else if (d === 61) i += op(out, 'CMP_EQ', '==', start);
        else i += op(out, 'EQ', '=', start);
        continue;
      }
      case 124: {
        const d = s.charCodeAt(i + 1);
        if (d === 61) i += op(out, 'PIPE_EXACT', '|=', start);
        else if (d === 126) i += op(out, 'PIPE_MATCH', '|~', start);
        else if (d === 62) i += op(out, 'PIPE_PATTERN', '|>', start);
        else i += op(out, 'PIPE', '|', start);
        continue;
      }
      case 62:
        i += s.charCodeAt(i + 1) === 61 ? op(out, 'GTE', '>=', start) : op(out, 'GT', '>', start);
        continue;
      case 60:
        i += s.charCodeAt(i + 1) === 61 ? op(out, 'LTE', '<=', start) : op(out, 'LT', '<', start);
        continue;
      case 123:
        i += op(out, 'OPEN_BRACE', '{', start);
        continue;
      case 125:
        i += op(out, 'CLOSE_BRACE', '}', start);
        continue;
      case 40:
        i += op(out, 'OPEN_PARENTHESIS', '(', start);
        continue;
      case 41:
        i += op(out, 'CLOSE_PARENTHESIS', ')', start);
        continue;
      case 93:
        i += op(out, 'CLOSE_BRACKET', ']', start);
        continue;
      case 44:
        i += op(out, 'COMMA', ',', start);
        continue;
      case 43:
        i += op(out, 'ADD', '+', start);
        continue;
      case 42:
        i += op(out, 'MUL', '*', start);
        continue;
      case 47:
        i += op(out, 'DIV', '/', start);
        continue;
      case 37:
        i += op(out, 'MOD', '%', start);
        continue;
      case 94:
        i += op(out, 'POW', '^', start);
        continue;
      case 45:
        i = minus(s, start, out);
        continue;
      case 91: {
        // [range]
        const close = s.indexOf(']', start + 1);
        if (close < 0) throw LEX_FAIL;
        const inner = s.slice(start + 1, close);
        const d = promDuration(inner);
        if (!d.ok) throw LEX_FAIL;
        i = close + 1;
        out.push(new Token('RANGE', inner, s.slice(start, i), start, d.ns));
        continue;
      }
      case 46:
        // `.5` is a number, a lone `.` is DOT
        if (i + 1 < n && s.charCodeAt(i + 1) >= 48 && s.charCodeAt(i + 1) <= 57) {
          i = number(s, start, out);
        } else {
          i += op(out, 'DOT', '.', start);
        }
        continue;
      case 39: // '
      case 92: // \
        throw LEX_FAIL;
      default:
        break;
    }
    if (c >= 48 && c <= 57) {
      i = number(s, start, out);
      continue;
    }
    if (isIdentStartAscii(c)) {
      i++;
      while (i < n && isIdentPartAscii(s.charCodeAt(i))) i++;
      if (i < n && s.charCodeAt(i) >= 128) i = identEnd(s, start);
      out.push(identToken(s, s.slice(start, i), start));
      continue;
    }
    if (c >= 128) {
      IDENT_RE.lastIndex = start;
      if (IDENT_RE.test(s)) {
        i = IDENT_RE.lastIndex;
        out.push(identToken(s, s.slice(start, i), start));
        continue;
      }
    }
    // Any other code point: Go's scanner hands it through and Loki calls it IDENTIFIER.
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
    const text = s.slice(start, i);
    out.push(new Token('IDENTIFIER', text, text, start));
  }
}

function identEnd(s: string, start: number): number {
  IDENT_RE.lastIndex = start;
  IDENT_RE.test(s);
  return IDENT_RE.lastIndex;
}

/** A NUMBER, or DURATION/BYTES when units follow (lexer.ts `number`). Returns the end offset. */
function number(s: string, offset: number, out: Token[]): number {
  const g = scanGoNumber(s, offset);
  if (g.error !== null) throw LEX_FAIL;
  const end = g.end;
  const dEnd = scanRun(s, end, isDurationChar);
  if (dEnd > end) {
    const full = s.slice(offset, dEnd);
    const ns = parseLokiDuration(full);
    if (ns !== null) {
      out.push(new Token('DURATION', full, full, offset, ns));
      return dEnd;
    }
  }
  const bEnd = scanRun(s, end, isBytesChar);
  if (bEnd > end) {
    const full = s.slice(offset, bEnd);
    const v = tryParseHumanBytes(full);
    if (v !== null) {
      out.push(new Token('BYTES', full, full, offset, 0n, v));
      return bEnd;
    }
  }
  const text = s.slice(offset, end);
  out.push(new Token('NUMBER', text, text, offset));
  return end;
}

/** `--strict`-style flags, negative durations, else SUB (lexer.ts `minus`). Returns the end offset. */
function minus(s: string, offset: number, out: Token[]): number {
  if (s.charCodeAt(offset + 1) === 45) {
    let i = offset + 1;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 45 || (c >= 97 && c <= 122) || (c >= 65 && c <= 90)) continue;
      if (c >= 128 && LETTER_RE.test(s[i]!)) continue;
      break;
    }
    const flag = s.slice(offset, i);
    if (PARSER_FLAGS.has(flag)) {
      out.push(new Token('PARSER_FLAG', flag, flag, offset));
      return i;
    }
  }
  const dEnd = scanRun(s, offset + 1, isDurationChar);
  if (dEnd > offset + 1) {
    const full = s.slice(offset, dEnd);
    const ns = parseLokiDuration(full);
    if (ns !== null) {
      out.push(new Token('DURATION', full, full, offset, ns));
      return dEnd;
    }
  }
  out.push(new Token('SUB', '-', '-', offset));
  return offset + 1;
}

/** All tokens of `src`, or null on a lexer error. */
export function scanTokens(src: string): Token[] | null {
  const out: Token[] = [];
  try {
    scan(src, out);
  } catch (e) {
    if (e === LEX_FAIL) return null;
    throw e;
  }
  return out;
}

const mooLexer = new LogqlLexer();

/** The tokens of the nearley path's lexer (moo), or null on a lexer error; for tests. */
export function scanTokensMoo(src: string): Token[] | null {
  mooLexer.reset(src);
  const out: Token[] = [];
  try {
    for (let t = mooLexer.next(); t !== undefined; t = mooLexer.next()) out.push(t);
  } catch (e) {
    if (e instanceof LexError) return null;
    throw e;
  }
  return out;
}
