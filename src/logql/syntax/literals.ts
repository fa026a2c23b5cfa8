/**
 * Literal values of LogQL, decoded the way Loki decodes them:
 * - durations: Prometheus `model.ParseDuration` first (`1d`, `1h30m`, ordered units, integers),
 *   then Go `time.ParseDuration` (`1.5h`, `-5m`, `500us`); ranges `[..]` accept only the former;
 * - bytes: go-humanize `ParseBytes` (`10KB` = 10000, `1MiB` = 1048576);
 * - strings: Go double-quoted literals with escapes, and backtick raw strings.
 * The duration and byte parsers themselves live in `util/go`; here are LogQL's choices on top.
 */
import { GO_CHAR_ESCAPES } from '../../util/go-escapes.js';
import { parsePromDuration, tryParseDuration } from '../../util/go/duration.js';

const NS_PER_MS = 1_000_000n;

/** Prometheus duration units, biggest first, in nanoseconds (for the canonical printer). */
const PROM_UNITS: ReadonlyArray<readonly [string, bigint]> = [
  ['y', 365n * 24n * 3600n * 1_000_000_000n],
  ['w', 7n * 24n * 3600n * 1_000_000_000n],
  ['d', 24n * 3600n * 1_000_000_000n],
  ['h', 3600n * 1_000_000_000n],
  ['m', 60n * 1_000_000_000n],
  ['s', 1_000_000_000n],
  ['ms', NS_PER_MS],
];

/** Loki's lexer duration: Prometheus style first, then Go style; null when neither reads it. */
export function parseLokiDuration(s: string): bigint | null {
  const p = parsePromDuration(s);
  if (p.ok) return p.ns;
  return tryParseDuration(s);
}

/**
 * Canonical text of a duration that both parsers above read back exactly: Prometheus units for
 * whole positive milliseconds (`1d`, `1h30m`, `500ms`), Go units otherwise (`-1h30m`, `1500ns`).
 * This is the printer's own form, not Go's `Duration.String` (that is `util/go` formatDuration).
 */
export function formatDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  if (ns > 0n && ns % NS_PER_MS === 0n) {
    let rest = ns;
    let out = '';
    for (const [u, mult] of PROM_UNITS) {
      if (rest >= mult) {
        out += `${rest / mult}${u}`;
        rest %= mult;
      }
    }
    return out;
  }
  const neg = ns < 0n;
  let rest = neg ? -ns : ns;
  let out = '';
  const goUnits: ReadonlyArray<readonly [string, bigint]> = [
    ['h', 3_600_000_000_000n],
    ['m', 60_000_000_000n],
    ['s', 1_000_000_000n],
    ['ms', NS_PER_MS],
    ['us', 1000n],
    ['ns', 1n],
  ];
  for (const [u, mult] of goUnits) {
    if (rest >= mult) {
      out += `${rest / mult}${u}`;
      rest %= mult;
    }
  }
  return (neg ? '-' : '') + out;
}

/** Canonical text of a byte count that go-humanize `ParseBytes` reads back exactly. */
export function formatBytes(n: number): string {
  return `${n}B`;
}

function isDecimalDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isHexDigit(c: string | undefined): boolean {
  return c !== undefined && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

function lowerAscii(c: string | undefined): string {
  return c === undefined ? '' : c >= 'A' && c <= 'Z' ? c.toLowerCase() : c;
}

function literalName(prefix: string): string {
  return prefix === 'x' ? 'hexadecimal literal' : prefix === 'o' || prefix === '0' ? 'octal literal' : prefix === 'b' ? 'binary literal' : 'decimal literal';
}

/** Go's `%q` of a rune; only digits and `e`/`E` get here. */
function quoteRune(c: string): string {
  return `'${c}'`;
}

/** Index of the first misplaced `_` in a number literal, or -1 (Go's text/scanner invalidSep). */
function invalidSeparator(x: string): number {
  let x1 = ' ';
  let d = '.';
  let i = 0;
  if (x.length >= 2 && x[0] === '0') {
    x1 = lowerAscii(x[1]);
    if (x1 === 'x' || x1 === 'o' || x1 === 'b') {
      d = '0';
      i = 2;
    }
  }
  for (; i < x.length; i++) {
    const p = d;
    d = x[i]!;
    if (d === '_') {
      if (p !== '0') return i;
    } else if (isDecimalDigit(d) || (x1 === 'x' && isHexDigit(d))) {
      d = '0';
    } else {
      if (p === '_') return i - 1;
      d = '.';
    }
  }
  return d === '_' ? x.length - 1 : -1;
}

/**
 * Scans the number literal at `start` (a digit, or `.` before a digit) as Loki's query scanner
 * does (pkg/logql/syntax/query_scanner.go, Go's text/scanner with two changes: `0b` is a prefix
 * only before 0 or 1, and `p` is an exponent only after `0x`). Returns where it ends and the
 * scanner's first complaint (`'_' must separate successive digits`, `invalid digit '8' in octal
 * literal`, `hexadecimal mantissa requires a 'p' exponent`, ...), which Loki reports as the parse
 * error, at the literal.
 */
export function scanGoNumber(s: string, start: number): { end: number; error: string | null } {
  let i = start;
  let error: string | null = null;
  const complain = (m: string): void => {
    error ??= m;
  };
  let base = 10;
  let prefix = '';
  let digsep = 0;
  let invalid = '';
  let float = false;
  const digits = (b: number, track: boolean): void => {
    for (;;) {
      const c = s[i];
      if (c === '_') digsep |= 2;
      else if (b <= 10 ? isDecimalDigit(c) : isHexDigit(c)) {
        digsep |= 1;
        if (track && b <= 10 && c!.charCodeAt(0) >= 48 + b && invalid === '') invalid = c!;
      } else return;
      i++;
    }
  };
  let seenDot = s[i] === '.';
  if (seenDot) {
    i++;
  } else {
    if (s[i] === '0') {
      i++;
      const l = lowerAscii(s[i]);
      if (l === 'x') {
        i++;
        base = 16;
        prefix = 'x';
      } else if (l === 'o') {
        i++;
        base = 8;
        prefix = 'o';
      } else if (l === 'b' && (s[i + 1] === '0' || s[i + 1] === '1')) {
        i++;
        base = 2;
        prefix = 'b';
      } else {
        base = 8;
        prefix = '0';
        digsep = 1;
      }
    }
    digits(base, true);
    if (s[i] === '.') {
      i++;
      seenDot = true;
    }
  }
  if (seenDot) {
    float = true;
    if (prefix === 'o' || prefix === 'b') complain(`invalid radix point in ${literalName(prefix)}`);
    digits(base, true);
  }
  if ((digsep & 1) === 0) complain(`${literalName(prefix)} has no digits`);
  const e = lowerAscii(s[i]);
  if (e === 'e' || (e === 'p' && prefix === 'x')) {
    if (e === 'e' && prefix !== '' && prefix !== '0') complain(`${quoteRune(s[i]!)} exponent requires decimal mantissa`);
    i++;
    float = true;
    if (s[i] === '+' || s[i] === '-') i++;
    const before = digsep;
    digsep = 0;
    digits(10, false);
    if ((digsep & 1) === 0) complain('exponent has no digits');
    digsep |= before;
  } else if (prefix === 'x' && float) {
    complain("hexadecimal mantissa requires a 'p' exponent");
  }
  if (!float && invalid !== '') complain(`invalid digit ${quoteRune(invalid)} in ${literalName(prefix)}`);
  if ((digsep & 2) !== 0 && invalidSeparator(s.slice(start, i)) >= 0) complain("'_' must separate successive digits");
  return { end: i, error };
}

/** Whether `_` separators in a number are where Go's strconv accepts them (its underscoreOK). */
function underscoresOk(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s[0] === '+' || s[0] === '-') s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && ['b', 'o', 'x'].includes(lowerAscii(s[1]))) {
    i = 2;
    saw = '0';
    hex = lowerAscii(s[1]) === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (isDecimalDigit(c) || (hex && isHexDigit(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** The value of a hexadecimal float `0x<mantissa>p<exp>` (digits only, no `_`), rounded to a double. */
function hexFloatValue(mant: string, exp: number): number {
  const dot = mant.indexOf('.');
  const digits = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  const fracDigits = dot < 0 ? 0 : mant.length - dot - 1;
  let m = BigInt('0x' + (digits === '' ? '0' : digits));
  if (m === 0n) return 0;
  let e = exp - 4 * fracDigits;
  // Keep 64 significant bits plus a sticky bit, so one rounding (Number of a BigInt) is exact.
  const bits = m.toString(2).length;
  if (bits > 64) {
    const drop = BigInt(bits - 64);
    const sticky = (m & ((1n << drop) - 1n)) !== 0n ? 1n : 0n;
    m = (m >> drop) | sticky;
    e += bits - 64;
  }
  return Number(m) * 2 ** e;
}

/**
 * Parses a number the way Go's `strconv.ParseFloat(s, 64)` does: decimal or hexadecimal
 * (`0x1p-2`, which needs its `p` exponent) mantissas, `_` between digits; `0b`/`0o` prefixes
 * and a hex mantissa without exponent are syntax errors. Returns the number or strconv's text.
 */
export function parseGoFloat(s: string): { ok: true; value: number } | { ok: false; error: string } {
  const syntax = { ok: false as const, error: `strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax` };
  let i = 0;
  if (s[0] === '+' || s[0] === '-') i++;
  const hex = s[i] === '0' && lowerAscii(s[i + 1]) === 'x' && i + 2 < s.length;
  if (hex) i += 2;
  const mantStart = i;
  let sawDot = false;
  let sawDigits = false;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (c === '_') continue;
    if (c === '.') {
      if (sawDot) break;
      sawDot = true;
      continue;
    }
    if (hex ? isHexDigit(c) : isDecimalDigit(c)) {
      sawDigits = true;
      continue;
    }
    break;
  }
  if (!sawDigits) return syntax;
  const mant = s.slice(mantStart, i);
  let exp = 0;
  if (lowerAscii(s[i]) === (hex ? 'p' : 'e')) {
    i++;
    let sign = 1;
    if (s[i] === '+' || s[i] === '-') sign = s[i++] === '-' ? -1 : 1;
    if (!isDecimalDigit(s[i])) return syntax;
    let e = 0;
    for (; i < s.length && (isDecimalDigit(s[i]) || s[i] === '_'); i++) if (s[i] !== '_' && e < 100000) e = e * 10 + Number(s[i]);
    exp = sign * e;
  } else if (hex) {
    return syntax;
  }
  if (i !== s.length) return syntax;
  if (s.includes('_') && !underscoresOk(s)) return syntax;
  const neg = s[0] === '-';
  let v = hex ? hexFloatValue(mant.replaceAll('_', ''), exp) : Number(s.slice(neg || s[0] === '+' ? 1 : 0).replaceAll('_', ''));
  if (neg) v = -v;
  if (!Number.isFinite(v)) return { ok: false, error: `strconv.ParseFloat: parsing ${goQuote(s)}: value out of range` };
  return { ok: true, value: v };
}

/** Go strconv.Atoi for a NUMBER token; the error text is not used by callers. */
export function parseGoInt(s: string): number | null {
  if (!/^[0-9]+$/.test(s)) return null;
  const v = Number(s);
  return Number.isSafeInteger(v) ? v : null;
}

/** Go `%q`/strconv.Quote-compatible quoting (JSON escapes are a subset of Go's). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Canonical text of a number: shortest round-trip form, `-0` kept. */
export function formatNumber(v: number): string {
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/** Error of `unquoteGo`: the Go scanner's wording. */
export class UnquoteError extends Error {}

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (!(n >= 0xdc00 && n <= 0xdfff)) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/**
 * Decodes a complete string token (with its quotes). Throws UnquoteError with Go's wording.
 * Fast path: no backslash and valid UTF-16.
 */
export function unquoteGo(tok: string): string {
  const body = tok.slice(1, -1);
  if (hasLoneSurrogate(body)) throw new UnquoteError('invalid UTF-8 rune');
  if (tok[0] === '`') return body.replaceAll('\r', '');
  if (body.indexOf('\\') < 0) return body;
  const bytes: number[] = [];
  const pushString = (str: string): void => {
    for (const b of Buffer.from(str, 'utf8')) bytes.push(b);
  };
  let i = 0;
  while (i < body.length) {
    const j = body.indexOf('\\', i);
    if (j < 0) {
      pushString(body.slice(i));
      break;
    }
    if (j > i) pushString(body.slice(i, j));
    const e = body[j + 1];
    if (e === undefined) throw new UnquoteError('invalid char escape');
    // A string literal also takes \" (a rune literal would take \' instead).
    const simple = e === '"' ? '"' : GO_CHAR_ESCAPES[e];
    if (simple !== undefined) {
      bytes.push(simple.charCodeAt(0));
      i = j + 2;
      continue;
    }
    if (e >= '0' && e <= '7') {
      const oct = body.slice(j + 1, j + 4);
      if (!/^[0-7]{3}$/.test(oct)) throw new UnquoteError('invalid char escape');
      const v = parseInt(oct, 8);
      if (v > 255) throw new UnquoteError('invalid char escape');
      bytes.push(v);
      i = j + 4;
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen === 0) throw new UnquoteError('invalid char escape');
    const hex = body.slice(j + 2, j + 2 + hexLen);
    if (hex.length !== hexLen || !/^[0-9a-fA-F]+$/.test(hex)) throw new UnquoteError('invalid char escape');
    const v = parseInt(hex, 16);
    if (e === 'x') {
      bytes.push(v);
    } else {
      if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new UnquoteError('invalid char escape');
      pushString(String.fromCodePoint(v));
    }
    i = j + 2 + hexLen;
  }
  const buf = Buffer.from(bytes);
  const out = buf.toString('utf8');
  // Invalid UTF-8 from \x or octal escapes cannot be represented in a JS string.
  if (!Buffer.from(out, 'utf8').equals(buf)) throw new UnquoteError('invalid UTF-8 rune');
  return out;
}
