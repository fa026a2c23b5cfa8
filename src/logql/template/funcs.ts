/**
 * The function map: Go text/template builtins plus the functions Loki registers for
 * line_format / label_format (its own, and the sprig subset), with Go/sprig semantics.
 */
import { compileUnanchored, regexError, type Regex, type RegexMatch } from '../syntax/regex.js';
import { GoTime, ZERO_TIME, formatTime, inZone, loadZone, nowTime, parseTime, timeFromUnixSeconds } from './gotime.js';
import type { ExecState } from './types.js';
import { BytesError, parseHumanBytes } from '../../util/go/bytes.js';
import { DurationError, parseDuration } from '../../util/go/duration.js';
import { fmtV, isMap, labelMaps, sprint, sprintf, sprintln, truth, typeName, type Obj } from './values.js';

/** Parameter kinds: string, int, float64, interface{}, time.Time. */
export type Kind = 's' | 'i' | 'f' | 'a' | 't';

export interface FuncSpec {
  readonly params: readonly Kind[];
  readonly variadic?: Kind;
  /** and/or evaluate their arguments lazily. */
  readonly lazy?: 'and' | 'or';
  fn(args: unknown[], st: ExecState): unknown;
}

/** An error raised inside a function; the caller wraps it as `error calling NAME: ...`. */
export class FuncError extends Error {}

// ---- conversions (spf13/cast as used by sprig) ---------------------------------------------

const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;

/** strconv.ParseInt(s, 0, 64); null on error. */
export function parseGoInt(s: string): bigint | null {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(s);
  if (!m) return null;
  let body = m[2]!;
  if (body.includes('_')) {
    if (/__|_$|^_/.test(body.replace(/^0[xXoObB]/, '0'))) return null;
    body = body.replace(/_/g, '');
  }
  if (/^0[0-7]+$/.test(body)) body = '0o' + body.slice(1);
  let v = BigInt(body);
  if (m[1] === '-') v = -v;
  if (v > INT64_MAX || v < INT64_MIN) return null;
  return v;
}

/** strconv.ParseFloat(s, 64); null on error. */
export function parseGoFloat(s: string): number | null {
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    const v = Number(s);
    return Number.isFinite(v) ? v : null;
  }
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  return null;
}

function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === '.') {
      if (foundZero) return s.slice(0, i - 1);
    } else if (c === '0') {
      foundZero = true;
    } else {
      return s;
    }
  }
  return s;
}

function floatToInt64(f: number): bigint {
  if (!Number.isFinite(f)) return INT64_MIN;
  return BigInt.asIntN(64, BigInt(Math.trunc(f)));
}

/** cast.ToInt64 (errors give 0). */
export function toInt64(v: unknown): bigint {
  switch (typeof v) {
    case 'bigint': return v;
    case 'number': return floatToInt64(v);
    case 'boolean': return v ? 1n : 0n;
    case 'string': return parseGoInt(trimZeroDecimal(v)) ?? 0n;
    default: return 0n;
  }
}

/** cast.ToFloat64 (errors give 0). */
export function toFloat64(v: unknown): number {
  switch (typeof v) {
    case 'number': return v;
    case 'bigint': return Number(v);
    case 'boolean': return v ? 1 : 0;
    case 'string': return parseGoFloat(v) ?? 0;
    default: return 0;
  }
}

// ---- decimal arithmetic (shopspring/decimal, as sprig's addf/subf/mulf/divf) ---------------

interface Dec {
  m: bigint;
  e: number;
}

function decOf(x: number): Dec {
  if (!Number.isFinite(x)) throw new FuncError(`Cannot create a Decimal from ${fmtV(x)}`);
  if (x === 0) return { m: 0n, e: 0 };
  const [mant, exp] = x.toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '').replace('-', '');
  const frac = mant.includes('.') ? mant.split('.')[1]!.length : 0;
  return { m: BigInt((x < 0 ? '-' : '') + digits), e: Number(exp) - frac };
}

const pow10 = (n: number): bigint => 10n ** BigInt(n);

function decAlign(a: Dec, b: Dec): [bigint, bigint, number] {
  const e = Math.min(a.e, b.e);
  return [a.m * pow10(a.e - e), b.m * pow10(b.e - e), e];
}

const decFloat = (d: Dec): number => Number(`${d.m}e${d.e}`);

function decDiv(a: Dec, b: Dec): Dec {
  if (b.m === 0n) throw new FuncError('decimal division by 0');
  const k = a.e - b.e + 16;
  let num = a.m;
  let den = b.m;
  if (k >= 0) num *= pow10(k);
  else den *= pow10(-k);
  let q = num / den;
  const r = num % den;
  const absR2 = (r < 0n ? -r : r) * 2n;
  const absD = den < 0n ? -den : den;
  if (absR2 >= absD) q += (num < 0n) !== (den < 0n) ? -1n : 1n;
  return { m: q, e: -16 };
}

function decimalOp(first: unknown, rest: readonly unknown[], op: (a: Dec, b: Dec) => Dec): number {
  let acc = decOf(toFloat64(first));
  for (const x of rest) acc = op(acc, decOf(toFloat64(x)));
  return decFloat(acc);
}

// ---- strings -------------------------------------------------------------------------------

/** strings.Trim family: cutset membership by code point. */
function trimCut(s: string, cutset: string, left: boolean, right: boolean): string {
  const set = new Set(cutset);
  const cps = [...s];
  let a = 0;
  let b = cps.length;
  if (left) while (a < b && set.has(cps[a]!)) a++;
  if (right) while (b > a && set.has(cps[b - 1]!)) b--;
  return cps.slice(a, b).join('');
}

const GO_SPACE = /^[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+|[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$/g;
const trimSpace = (s: string): string => s.replace(GO_SPACE, '');

function goReplace(s: string, old: string, nw: string, n: number): string {
  if (n === 0 || old === nw) return s;
  if (old === '') {
    const cps = [...s];
    let out = '';
    let done = 0;
    for (let i = 0; i <= cps.length; i++) {
      if (n < 0 || done < n) {
        out += nw;
        done++;
      }
      if (i < cps.length) out += cps[i];
    }
    return out;
  }
  if (n < 0) return s.split(old).join(nw);
  let out = '';
  let pos = 0;
  for (let k = 0; k < n; k++) {
    const i = s.indexOf(old, pos);
    if (i < 0) break;
    out += s.slice(pos, i) + nw;
    pos = i + old.length;
  }
  return out + s.slice(pos);
}

/** strings.Title: upper-cases letters that begin words. */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const c = prev.codePointAt(0)!;
    let sep: boolean;
    if (c <= 0x7f) sep = !/[A-Za-z0-9_]/.test(prev);
    else if (/[\p{L}\p{Nd}]/u.test(prev)) sep = false;
    else sep = /\s/u.test(prev);
    out += sep ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function runeSlice(s: string, a: number, b?: number): string {
  return [...s].slice(a, b).join('');
}

function runeCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

function substring(start: number, end: number, s: string): string {
  const l = runeCount(s);
  if (end > l) end = l;
  if (start > l) start = l;
  if (start < 0) return end < 0 ? '' : runeSlice(s, 0, end);
  if (end < 0) return runeSlice(s, start);
  if (start > end) return '';
  return runeSlice(s, start, end);
}

function trunc(c: number, s: string): string {
  const l = runeCount(s);
  if (c < 0 && l + c > 0) return runeSlice(s, l + c);
  if (c >= 0 && l > c) return runeSlice(s, 0, c);
  return s;
}

function align(count: number, src: string, left: boolean): string {
  const l = runeCount(src);
  if (count < 0 || count === l) return src;
  const padN = count - l;
  if (padN > 0) return left ? src + ' '.repeat(padN) : ' '.repeat(padN) + src;
  return left ? runeSlice(src, 0, count) : runeSlice(src, l - count);
}

const QUERY_SAFE = /[A-Za-z0-9\-_.~]/;

/** url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (b < 0x80 && QUERY_SAFE.test(c)) out += c;
    else if (b === 0x20) out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** url.QueryUnescape. */
function queryUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) {
        throw new FuncError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      }
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (c === '+') {
      bytes.push(0x20);
    } else {
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUES = new Map<number, number>([...B64_ALPHABET].map((c, i) => [c.charCodeAt(0), i]));

/**
 * Loki's `b64dec`: input whose length is 2 or 3 past a multiple of 4 gets its missing `=`
 * (the length counts line breaks, which the decoder then skips), then Go's
 * `base64.StdEncoding.DecodeString` (non-strict, `\r` and `\n` ignored). On error the result is
 * Go's error text, `illegal base64 data at input byte N`, as Loki returns it.
 */
export function b64dec(v: string): string {
  const raw = Buffer.from(v, 'utf8');
  const rem = raw.length % 4;
  const src = rem === 2 || rem === 3 ? Buffer.concat([raw, Buffer.from('='.repeat(4 - rem))]) : raw;
  const out: number[] = [];
  const illegal = (at: number): string => `illegal base64 data at input byte ${at}`;
  const isNewline = (c: number | undefined): boolean => c === 0x0a || c === 0x0d;
  let si = 0;
  const q = [0, 0, 0, 0];
  while (si < src.length) {
    // One quantum of four characters (Go's decodeQuantum).
    let n = 4;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return Buffer.from(out).toString('utf8');
        return illegal(si - j);
      }
      const c = src[si++]!;
      const d = B64_VALUES.get(c);
      if (d !== undefined) {
        q[j] = d;
        continue;
      }
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== 0x3d /* = */ || j < 2) return illegal(si - 1);
      if (j === 2) {
        while (si < src.length && isNewline(src[si])) si++;
        if (si === src.length) return illegal(src.length);
        if (src[si] !== 0x3d) return illegal(si - 1);
        si++;
      }
      while (si < src.length && isNewline(src[si])) si++;
      if (si < src.length) return illegal(si);
      n = j;
      break;
    }
    const val = (q[0]! << 18) | (q[1]! << 12) | (q[2]! << 6) | q[3]!;
    q[2] = q[3] = 0;
    out.push((val >> 16) & 0xff);
    if (n >= 3) out.push((val >> 8) & 0xff);
    if (n >= 4) out.push(val & 0xff);
  }
  return Buffer.from(out).toString('utf8');
}

/** Go's html/template-free HTMLEscapeString. */
function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

/** text/template JSEscapeString. */
function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '\\': out += '\\\\'; break;
      case "'": out += "\\'"; break;
      case '"': out += '\\"'; break;
      case '<': out += '\\u003C'; break;
      case '>': out += '\\u003E'; break;
      case '&': out += '\\u0026'; break;
      case '=': out += '\\u003D'; break;
      default:
        if (c < 0x20) out += '\\u' + c.toString(16).toUpperCase().padStart(4, '0');
        else out += ch;
    }
  }
  return out;
}

/** text/template's evalArgs for html/js/urlquery. */
const argsString = (args: unknown[]): string => (args.length === 1 && typeof args[0] === 'string' ? args[0] : sprint(args));

// ---- regex -----------------------------------------------------------------------------------

const reCache = new Map<string, Regex>();

function regex(pattern: string): Regex {
  let re = reCache.get(pattern);
  if (re) return re;
  const err = regexError(pattern);
  if (err !== null) throw new FuncError(err);
  re = compileUnanchored(pattern);
  if (reCache.size >= 1024) reCache.clear();
  reCache.set(pattern, re);
  return re;
}

/** Calls `each` for successive matches with Go's rule: an empty match abutting the previous match is skipped. */
function forEachMatch(re: Regex, s: string, each: (m: RegexMatch) => void): void {
  let pos = 0;
  let prevEnd = -1;
  while (pos <= s.length) {
    const m = re.exec(s, pos);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    if (end === start && start === prevEnd) {
      // skip this empty match; advance one code point
    } else {
      each(m);
      prevEnd = end;
    }
    if (end > start) pos = end;
    else pos = start + (s.codePointAt(start)! > 0xffff ? 2 : 1);
  }
}

/** Regexp.Expand template syntax: $1, ${1}, $name, ${name}, $$. */
function expand(template: string, m: RegexMatch): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== '$') {
      out += c;
      continue;
    }
    const rest = template.slice(i + 1);
    if (rest[0] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    let used: number;
    const brace = /^\{([A-Za-z0-9_]+)\}/.exec(rest);
    if (brace) {
      name = brace[1]!;
      used = brace[0].length;
    } else {
      const bare = /^[A-Za-z0-9_]+/.exec(rest);
      if (!bare) {
        out += '$';
        continue;
      }
      name = bare[0];
      used = name.length;
    }
    i += used;
    let num = -1;
    if (/^[0-9]+$/.test(name) && !(name.length > 1 && name[0] === '0') && name.length < 9) num = Number(name);
    if (num >= 0) out += m[num] ?? '';
    else out += (m.groups as Record<string, string | undefined> | undefined)?.[name] ?? '';
  }
  return out;
}

function regexReplace(pattern: string, s: string, repl: string, literal: boolean): string {
  const re = regex(pattern);
  let out = '';
  let last = 0;
  forEachMatch(re, s, (m) => {
    out += s.slice(last, m.index) + (literal ? repl : expand(repl, m));
    last = m.index + m[0].length;
  });
  return out + s.slice(last);
}

// ---- humanize / durations ----------------------------------------------------------------------

/** go-humanize ParseBytes, as float64. */
function parseBytes(s: string): number {
  try {
    return parseHumanBytes(s);
  } catch (e) {
    throw e instanceof BytesError ? new FuncError(e.message) : e;
  }
}

/** time.ParseDuration, in seconds (Loki's duration / duration_seconds): Go's Duration.Seconds(). */
function parseDurationSeconds(s: string): number {
  let d: bigint;
  try {
    d = parseDuration(s);
  } catch (e) {
    throw e instanceof DurationError ? new FuncError(e.message) : e;
  }
  return Number(d / 1_000_000_000n) + Number(d % 1_000_000_000n) / 1e9;
}

// ---- time helpers --------------------------------------------------------------------------------

function unixToTime(epoch: string): GoTime {
  const i = parseGoIntDec(epoch);
  if (i === null) throw new FuncError(`unable to parse time '${epoch}': strconv.ParseInt: parsing ${JSON.stringify(epoch)}: invalid syntax`);
  switch (epoch.length) {
    case 5: return timeFromUnixSeconds(i * 86400n);
    case 10: return timeFromUnixSeconds(i);
    case 13: return new GoTime(i * 1_000_000n);
    case 16: return new GoTime(i * 1000n);
    case 19: return new GoTime(i);
    default: throw new FuncError(`unable to parse time '${epoch}': %!w(<nil>)`);
  }
}

/** strconv.ParseInt(s, 10, 64). */
function parseGoIntDec(s: string): bigint | null {
  if (!/^[+-]?[0-9]+$/.test(s)) return null;
  const v = BigInt(s);
  return v > INT64_MAX || v < INT64_MIN ? null : v;
}

const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
};

/** sprig dateInZone with zone "Local" (UTC here). */
function dateFn(layout: string, d: unknown): string {
  let t: GoTime;
  if (d instanceof GoTime) t = d;
  else if (typeof d === 'bigint') t = timeFromUnixSeconds(d);
  else t = nowTime();
  return formatTime(inZone(t, loadZone('UTC')!), layout);
}

// ---- comparison (text/template eq/lt...) --------------------------------------------------------

type BasicKind = 'bool' | 'int' | 'float' | 'string' | 'other';

function basicKind(v: unknown): BasicKind {
  switch (typeof v) {
    case 'boolean': return 'bool';
    case 'bigint': return 'int';
    case 'number': return 'float';
    case 'string': return 'string';
    default: return 'other';
  }
}

function eqOne(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === 'other' || kb === 'other') {
    if (a === null || a === undefined || b === null || b === undefined) {
      if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
      throw new FuncError('incompatible types for comparison');
    }
    if (a instanceof GoTime && b instanceof GoTime) return a.ns === b.ns && a.off === b.off && a.zone === b.zone;
    if (ka !== kb) throw new FuncError('incompatible types for comparison');
    throw new FuncError(`non-comparable type ${fmtV(a)}: ${typeName(a)}`);
  }
  if (ka !== kb) throw new FuncError('incompatible types for comparison');
  return a === b;
}

function lessThan(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === 'other' || ka === 'bool') throw new FuncError('invalid type for comparison');
  if (kb === 'other' || kb === 'bool') throw new FuncError('invalid type for comparison');
  if (ka !== kb) throw new FuncError('incompatible types for comparison');
  return (a as string) < (b as string);
}

// ---- index / len / slice ---------------------------------------------------------------------------

function lenOf(v: unknown): bigint {
  if (typeof v === 'string') return BigInt(Buffer.byteLength(v, 'utf8'));
  if (Array.isArray(v)) return BigInt(v.length);
  if (isMap(v)) return BigInt(Object.keys(v).length);
  if (v === null || v === undefined) throw new FuncError('len of nil pointer');
  throw new FuncError(`len of type ${typeName(v)}`);
}

function indexOf(item: unknown, indices: readonly unknown[]): unknown {
  let v = item;
  for (const idx of indices) {
    if (v === null || v === undefined) throw new FuncError('index of untyped nil');
    if (Array.isArray(v) || typeof v === 'string') {
      if (typeof idx !== 'bigint') throw new FuncError(`cannot index slice/array with type ${typeName(idx)}`);
      const len = typeof v === 'string' ? Buffer.byteLength(v) : v.length;
      if (idx < 0n || idx >= BigInt(len)) throw new FuncError(`index out of range: ${idx}`);
      v = typeof v === 'string' ? BigInt(Buffer.from(v, 'utf8')[Number(idx)]!) : v[Number(idx)];
    } else if (isMap(v)) {
      if (typeof idx !== 'string') throw new FuncError(`value has type ${typeName(idx)}; should be string`);
      v = Object.prototype.hasOwnProperty.call(v, idx) ? (v as Obj)[idx] : labelMaps.has(v) ? '' : undefined;
    } else {
      throw new FuncError(`can't index item of type ${typeName(v)}`);
    }
  }
  return v;
}

function sliceOf(item: unknown, indices: readonly unknown[]): unknown {
  if (typeof item !== 'string' && !Array.isArray(item)) throw new FuncError(`can't slice item of type ${typeName(item)}`);
  if (indices.length > 3 || (typeof item === 'string' && indices.length > 2)) throw new FuncError(`too many slice indexes: ${indices.length}`);
  const len = item.length;
  const idx = [0, len];
  for (let k = 0; k < indices.length; k++) {
    const x = indices[k];
    if (typeof x !== 'bigint') throw new FuncError(`cannot index slice/array with type ${typeName(x)}`);
    if (x < 0n || x > BigInt(len)) throw new FuncError(`index out of range: ${x}`);
    idx[k] = Number(x);
  }
  if (idx[0]! > idx[1]!) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  return item.slice(idx[0], idx[1]);
}

// ---- the map ----------------------------------------------------------------------------------

const num = (v: unknown): number => Number(v as bigint);
const s1 = (fn: (s: string) => unknown): FuncSpec => ({ params: ['s'], fn: (a) => fn(a[0] as string) });
const s2 = (fn: (a: string, b: string) => unknown): FuncSpec => ({ params: ['s', 's'], fn: (a) => fn(a[0] as string, a[1] as string) });
const cmp = (fn: (a: unknown, b: unknown) => boolean): FuncSpec => ({ params: ['a', 'a'], fn: (a) => fn(a[0], a[1]) });

export const FUNCS: ReadonlyMap<string, FuncSpec> = new Map<string, FuncSpec>([
  // text/template builtins
  ['and', { params: ['a'], variadic: 'a', lazy: 'and', fn: () => undefined }],
  ['or', { params: ['a'], variadic: 'a', lazy: 'or', fn: () => undefined }],
  ['not', { params: ['a'], fn: (a) => !truth(a[0]) }],
  ['len', { params: ['a'], fn: (a) => lenOf(a[0]) }],
  ['index', { params: ['a'], variadic: 'a', fn: (a) => indexOf(a[0], a.slice(1)) }],
  ['slice', { params: ['a'], variadic: 'a', fn: (a) => sliceOf(a[0], a.slice(1)) }],
  ['print', { params: [], variadic: 'a', fn: (a) => sprint(a) }],
  ['printf', { params: ['s'], variadic: 'a', fn: (a) => sprintf(a[0] as string, a.slice(1)) }],
  ['println', { params: [], variadic: 'a', fn: (a) => sprintln(a) }],
  ['html', { params: [], variadic: 'a', fn: (a) => htmlEscape(argsString(a)) }],
  ['js', { params: [], variadic: 'a', fn: (a) => jsEscape(argsString(a)) }],
  ['urlquery', { params: [], variadic: 'a', fn: (a) => queryEscape(argsString(a)) }],
  ['eq', {
    params: ['a'], variadic: 'a',
    fn: (a) => {
      if (a.length < 2) throw new FuncError('missing argument for comparison');
      for (let i = 1; i < a.length; i++) if (eqOne(a[0], a[i])) return true;
      return false;
    },
  }],
  ['ne', cmp((a, b) => !eqOne(a, b))],
  ['lt', cmp((a, b) => lessThan(a, b))],
  ['le', cmp((a, b) => lessThan(a, b) || eqOne(a, b))],
  ['gt', cmp((a, b) => !lessThan(a, b) && !eqOne(a, b))],
  ['ge', cmp((a, b) => !lessThan(a, b))],

  // Loki's own (deprecated Go strings funcs first)
  ['ToLower', s1((s) => s.toLowerCase())],
  ['ToUpper', s1((s) => s.toUpperCase())],
  ['Replace', { params: ['s', 's', 's', 'i'], fn: (a) => goReplace(a[0] as string, a[1] as string, a[2] as string, num(a[3])) }],
  ['Trim', s2((s, cut) => trimCut(s, cut, true, true))],
  ['TrimLeft', s2((s, cut) => trimCut(s, cut, true, false))],
  ['TrimRight', s2((s, cut) => trimCut(s, cut, false, true))],
  ['TrimPrefix', s2((s, p) => (s.startsWith(p) ? s.slice(p.length) : s))],
  ['TrimSuffix', s2((s, p) => (p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s))],
  ['TrimSpace', s1(trimSpace)],
  ['regexReplaceAll', { params: ['s', 's', 's'], fn: (a) => regexReplace(a[0] as string, a[1] as string, a[2] as string, false) }],
  ['regexReplaceAllLiteral', { params: ['s', 's', 's'], fn: (a) => regexReplace(a[0] as string, a[1] as string, a[2] as string, true) }],
  ['count', s2((pattern, s) => {
    let n = 0n;
    forEachMatch(regex(pattern), s, () => n++);
    return n;
  })],
  ['urldecode', s1(queryUnescape)],
  ['urlencode', s1(queryEscape)],
  ['bytes', s1(parseBytes)],
  ['duration', s1(parseDurationSeconds)],
  ['duration_seconds', s1(parseDurationSeconds)],
  ['unixEpochMillis', { params: ['t'], fn: (a) => floorDiv((a[0] as GoTime).ns, 1_000_000n).toString() }],
  ['unixEpochNanos', { params: ['t'], fn: (a) => (a[0] as GoTime).ns.toString() }],
  ['toDateInZone', {
    params: ['s', 's', 's'],
    fn: (a) => parseTime(a[0] as string, a[2] as string, loadZone(a[1] as string) ?? loadZone('UTC')!) ?? ZERO_TIME,
  }],
  ['unixToTime', s1(unixToTime)],
  ['alignLeft', { params: ['i', 's'], fn: (a) => align(num(a[0]), a[1] as string, true) }],
  ['alignRight', { params: ['i', 's'], fn: (a) => align(num(a[0]), a[1] as string, false) }],

  // sprig subset
  ['b64enc', s1((s) => Buffer.from(s, 'utf8').toString('base64'))],
  ['b64dec', s1(b64dec)],
  ['lower', s1((s) => s.toLowerCase())],
  ['upper', s1((s) => s.toUpperCase())],
  ['title', s1(title)],
  ['trunc', { params: ['i', 's'], fn: (a) => trunc(num(a[0]), a[1] as string) }],
  ['substr', { params: ['i', 'i', 's'], fn: (a) => substring(num(a[0]), num(a[1]), a[2] as string) }],
  ['contains', s2((sub, s) => s.includes(sub))],
  ['hasPrefix', s2((p, s) => s.startsWith(p))],
  ['hasSuffix', s2((p, s) => s.endsWith(p))],
  ['indent', { params: ['i', 's'], fn: (a) => indent(num(a[0]), a[1] as string) }],
  ['nindent', { params: ['i', 's'], fn: (a) => '\n' + indent(num(a[0]), a[1] as string) }],
  ['replace', { params: ['s', 's', 's'], fn: (a) => goReplace(a[2] as string, a[0] as string, a[1] as string, -1) }],
  ['repeat', {
    params: ['i', 's'],
    fn: (a) => {
      const n = num(a[0]);
      if (n < 0) throw new FuncError('strings: negative Repeat count');
      return (a[1] as string).repeat(n);
    },
  }],
  ['trim', s1(trimSpace)],
  ['trimAll', s2((cut, s) => trimCut(s, cut, true, true))],
  ['trimSuffix', s2((suf, s) => (suf !== '' && s.endsWith(suf) ? s.slice(0, s.length - suf.length) : s))],
  ['trimPrefix', s2((pre, s) => (s.startsWith(pre) ? s.slice(pre.length) : s))],
  ['int', { params: ['a'], fn: (a) => toInt64(a[0]) }],
  ['float64', { params: ['a'], fn: (a) => toFloat64(a[0]) }],
  ['add', { params: [], variadic: 'a', fn: (a) => BigInt.asIntN(64, a.reduce<bigint>((acc, x) => acc + toInt64(x), 0n)) }],
  ['sub', { params: ['a', 'a'], fn: (a) => BigInt.asIntN(64, toInt64(a[0]) - toInt64(a[1])) }],
  ['mul', { params: ['a'], variadic: 'a', fn: (a) => BigInt.asIntN(64, a.slice(1).reduce<bigint>((acc, x) => acc * toInt64(x), toInt64(a[0]))) }],
  ['div', {
    params: ['a', 'a'],
    fn: (a) => {
      const d = toInt64(a[1]);
      if (d === 0n) throw new FuncError('runtime error: integer divide by zero');
      return BigInt.asIntN(64, toInt64(a[0]) / d);
    },
  }],
  ['mod', {
    params: ['a', 'a'],
    fn: (a) => {
      const d = toInt64(a[1]);
      if (d === 0n) throw new FuncError('runtime error: integer divide by zero');
      return toInt64(a[0]) % d;
    },
  }],
  ['addf', { params: [], variadic: 'a', fn: (a) => decimalOp(0, a, (x, y) => { const [p, q, e] = decAlign(x, y); return { m: p + q, e }; }) }],
  ['subf', { params: ['a'], variadic: 'a', fn: (a) => decimalOp(a[0], a.slice(1), (x, y) => { const [p, q, e] = decAlign(x, y); return { m: p - q, e }; }) }],
  ['mulf', { params: ['a'], variadic: 'a', fn: (a) => decimalOp(a[0], a.slice(1), (x, y) => ({ m: x.m * y.m, e: x.e + y.e })) }],
  ['divf', { params: ['a'], variadic: 'a', fn: (a) => decimalOp(a[0], a.slice(1), decDiv) }],
  ['max', { params: ['a'], variadic: 'a', fn: (a) => a.slice(1).reduce<bigint>((m, x) => { const v = toInt64(x); return v > m ? v : m; }, toInt64(a[0])) }],
  ['min', { params: ['a'], variadic: 'a', fn: (a) => a.slice(1).reduce<bigint>((m, x) => { const v = toInt64(x); return v < m ? v : m; }, toInt64(a[0])) }],
  ['maxf', { params: ['a'], variadic: 'a', fn: (a) => a.slice(1).reduce<number>((m, x) => goMax(m, toFloat64(x)), toFloat64(a[0])) }],
  ['minf', { params: ['a'], variadic: 'a', fn: (a) => a.slice(1).reduce<number>((m, x) => goMin(m, toFloat64(x)), toFloat64(a[0])) }],
  ['ceil', { params: ['a'], fn: (a) => Math.ceil(toFloat64(a[0])) }],
  ['floor', { params: ['a'], fn: (a) => Math.floor(toFloat64(a[0])) }],
  ['round', {
    params: ['a', 'i'], variadic: 'f',
    fn: (a) => {
      const roundOn = a.length > 2 ? (a[2] as number) : 0.5;
      const val = toFloat64(a[0]);
      const pow = Math.pow(10, num(a[1]));
      const digit = pow * val;
      const frac = digit - Math.trunc(digit);
      return (frac >= roundOn ? Math.ceil(digit) : Math.floor(digit)) / pow;
    },
  }],
  ['fromJson', s1((s) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return null;
    }
  })],
  ['date', { params: ['s', 'a'], fn: (a) => dateFn(a[0] as string, a[1]) }],
  ['toDate', s2((layout, s) => parseTime(layout, s, loadZone('UTC')!) ?? ZERO_TIME)],
  ['now', { params: [], fn: () => nowTime() }],
  ['unixEpoch', { params: ['t'], fn: (a) => (a[0] as GoTime).unix().toString() }],
  ['default', {
    params: ['a'], variadic: 'a',
    fn: (a) => (a.length < 2 || !truth(a[1]) ? a[0] : a[1]),
  }],

  // per-entry values
  ['__line__', { params: [], fn: (_a, st) => st.ctx.line }],
  ['__timestamp__', { params: [], fn: (_a, st) => new GoTime(st.ctx.tsNs) }],
]);

function indent(spaces: number, v: string): string {
  if (spaces < 0) throw new FuncError('strings: negative Repeat count');
  const pad = ' '.repeat(spaces);
  return pad + v.split('\n').join('\n' + pad);
}

function goMax(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.max(a, b);
}

function goMin(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.min(a, b);
}

/** Methods callable on a time value (`__timestamp__.Unix`, `(now).Format "..."`). */
export const TIME_METHODS: ReadonlyMap<string, { params: readonly Kind[]; fn: (t: GoTime, args: unknown[]) => unknown }> = new Map([
  ['Unix', { params: [], fn: (t: GoTime) => t.unix() }],
  ['UnixMilli', { params: [], fn: (t: GoTime) => floorDiv(t.ns, 1_000_000n) }],
  ['UnixMicro', { params: [], fn: (t: GoTime) => floorDiv(t.ns, 1000n) }],
  ['UnixNano', { params: [], fn: (t: GoTime) => t.ns }],
  ['Format', { params: ['s'] as Kind[], fn: (t: GoTime, a: unknown[]) => formatTime(t, a[0] as string) }],
  ['String', { params: [], fn: (t: GoTime) => t.toString() }],
  ['UTC', { params: [], fn: (t: GoTime) => new GoTime(t.ns) }],
  ['Local', { params: [], fn: (t: GoTime) => new GoTime(t.ns) }],
  ['IsZero', { params: [], fn: (t: GoTime) => t.ns === ZERO_TIME.ns }],
  ['Year', { params: [], fn: (t: GoTime) => BigInt(formatTime(t, '2006')) }],
  ['Month', { params: [], fn: (t: GoTime) => formatTime(t, 'January') }],
  ['Day', { params: [], fn: (t: GoTime) => BigInt(formatTime(t, '2')) }],
  ['Hour', { params: [], fn: (t: GoTime) => BigInt(formatTime(t, '15')) }],
  ['Minute', { params: [], fn: (t: GoTime) => BigInt(formatTime(t, '4')) }],
  ['Second', { params: [], fn: (t: GoTime) => BigInt(formatTime(t, '5')) }],
  ['Nanosecond', { params: [], fn: (t: GoTime) => ((t.ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n }],
  ['Weekday', { params: [], fn: (t: GoTime) => formatTime(t, 'Monday') }],
  ['YearDay', { params: [], fn: (t: GoTime) => BigInt(formatTime(t, '002')) }],
]);
