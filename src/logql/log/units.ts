/**
 * Per-line value conversions of label filters and unwrap, with Go's error texts (Loki puts them
 * in `__error_details__`). Float-based: no bigint per line (STYLE §2.3).
 */
import { quoteValue } from '../../model/labels.js';
import { parseGoFloat } from '../syntax/literals.js';

/** Scratch result: `ok` false means `error` holds the message. Reused; read before the next call. */
export class Conversion {
  ok = true;
  value = 0;
  error = '';
  fail(msg: string): false {
    this.ok = false;
    this.value = 0;
    this.error = msg;
    return false;
  }
  done(v: number): true {
    this.ok = true;
    this.value = v;
    this.error = '';
    return true;
  }
}

const FLOAT_RE = /^[+-]?(?:(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9]+)?|0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+)$/;
const SPECIAL_RE = /^[+-]?(?:inf|infinity|nan)$/i;

/** Go strconv.ParseFloat(s, 64). */
export function parseFloatGo(s: string, out: Conversion): boolean {
  if (s.length > 0 && s.length < 32) {
    const c = s.charCodeAt(0);
    // Fast path: plain decimal.
    if ((c >= 48 && c <= 57) || c === 45) {
      const v = +s;
      if (v === v && FLOAT_RE.test(s)) {
        if (!Number.isFinite(v)) return out.fail(`strconv.ParseFloat: parsing ${quoteValue(s)}: value out of range`);
        return out.done(v);
      }
    }
  }
  // Underscores between digits (`1_000`), hex floats (`0x1p-2`): the query literals' reader.
  const f = parseGoFloat(s);
  if (f.ok) return out.done(f.value);
  if (f.error.endsWith('value out of range')) return out.fail(`strconv.ParseFloat: parsing ${quoteValue(s)}: value out of range`);
  if (SPECIAL_RE.test(s)) {
    const l = s.toLowerCase();
    return out.done(l.includes('nan') ? NaN : l[0] === '-' ? -Infinity : Infinity);
  }
  return out.fail(`strconv.ParseFloat: parsing ${quoteValue(s)}: invalid syntax`);
}

/** Go's time.Duration limit (2^63-1 ns) as a float. */
const MAX_DURATION_NS = 2 ** 63;

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go time.ParseDuration; the value is nanoseconds as a float. */
export function parseDurationGo(orig: string, out: Conversion): boolean {
  let s = orig;
  let neg = false;
  const bad = (): false => out.fail(`time: invalid duration ${quoteValue(orig)}`);
  if (s.length > 0 && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return out.done(0);
  if (s === '') return bad();
  let total = 0;
  let i = 0;
  while (i < s.length) {
    const c0 = s.charCodeAt(i);
    if (!(c0 === 46 || (c0 >= 48 && c0 <= 57))) return bad();
    const ps = i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    const pre = i > ps;
    let numEnd = i;
    let post = false;
    if (i < s.length && s[i] === '.') {
      i++;
      const fs = i;
      while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
      post = i > fs;
      numEnd = i;
    }
    if (!pre && !post) return bad();
    // Go adds the integer part times the unit exactly, then int64(fraction * (unit / scale)).
    const dot = s.indexOf('.', ps);
    const intEnd = dot >= 0 && dot < numEnd ? dot : numEnd;
    const intPart = pre ? Number(s.slice(ps, intEnd)) : 0;
    const fracDigits = post ? s.slice(intEnd + 1, numEnd) : '';
    const us = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 46 || (c >= 48 && c <= 57)) break;
      i++;
    }
    if (i === us) return out.fail(`time: missing unit in duration ${quoteValue(orig)}`);
    const unitName = s.slice(us, i);
    const unit = UNIT_NS[unitName];
    if (unit === undefined) return out.fail(`time: unknown unit ${quoteValue(unitName)} in duration ${quoteValue(orig)}`);
    let add = intPart * unit;
    if (fracDigits !== '') {
      const digits = fracDigits.slice(0, 15); // Go stops accumulating before int64 overflow
      add += Math.trunc(Number(digits) * (unit / 10 ** digits.length));
    }
    total += add;
    if (total > MAX_DURATION_NS) return bad();
  }
  return out.done(neg ? -total : total);
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  '': 1,
  kib: 1024,
  ki: 1024,
  kb: 1000,
  k: 1000,
  mib: 1024 ** 2,
  mi: 1024 ** 2,
  mb: 1000 ** 2,
  m: 1000 ** 2,
  gib: 1024 ** 3,
  gi: 1024 ** 3,
  gb: 1000 ** 3,
  g: 1000 ** 3,
  tib: 1024 ** 4,
  ti: 1024 ** 4,
  tb: 1000 ** 4,
  t: 1000 ** 4,
  pib: 1024 ** 5,
  pi: 1024 ** 5,
  pb: 1000 ** 5,
  p: 1000 ** 5,
  eib: 1024 ** 6,
  ei: 1024 ** 6,
  eb: 1000 ** 6,
  e: 1000 ** 6,
};

/** go-humanize ParseBytes: `10KB`, `1.5 MiB`, `42`. */
export function parseBytesHuman(s: string, out: Conversion): boolean {
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 46 || c === 44)) break;
    i++;
  }
  const num = s.slice(0, i).replaceAll(',', '');
  if (!parseFloatGo(num, out)) return false;
  const f = out.value;
  const extra = s.slice(i).trim().toLowerCase();
  const m = BYTE_UNITS[extra];
  if (m === undefined) return out.fail(`unhandled size name: ${extra}`);
  const v = f * m;
  if (v >= 2 ** 64) return out.fail(`too large: ${s}`);
  return out.done(Math.trunc(v));
}
