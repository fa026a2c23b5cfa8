/**
 * Durations, the one home for every dialect Silt reads or prints:
 * - Go's `time.ParseDuration` and `time.Duration.String` exactly (int64 ns as bigint), with Go's
 *   error texts; `scanDuration` is the same parser for hot loops, float below 2^53 ns;
 * - Prometheus' `model.ParseDuration` (`1d`, `2w`, `1y`: integers, units biggest first);
 * - Silt's lenient config/HTTP form (`parseConfigDurationMs`): both of the above and more.
 */
import { quote, timeQuote } from './strings.js';

/** Go's time.Duration limit, 2^63 (one past the largest positive value). */
const TWO_63 = 1n << 63n;
const MAX_INT64 = TWO_63 - 1n;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const NS_PER_SECOND = 1_000_000_000n;
/** Exact powers of ten, as Go's `scale *= 10` builds them. */
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Thrown by `parseDuration`; the message is Go's error text. */
export class DurationError extends SyntaxError {
  override readonly name = 'DurationError';
}

/** Scratch result of `scanDuration`, reused by the caller across calls. */
export class DurationScan {
  /** The value in ns as a float64: exact while |value| ≤ 2^53 ns (about 104 days). */
  ns = 0;
  /** The exact value when it is beyond 2^53 ns, else null (then `BigInt(ns)` is exact). */
  big: bigint | null = null;
  /** Go's error text after a failed scan, else ''. */
  error = '';
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** ns per unit of Go's unitMap; 0 for an unknown unit. */
function goUnitNs(u: string): number {
  switch (u) {
    case 'ns':
      return 1;
    case 'us':
    case '\u00b5s': // micro sign
    case '\u03bcs': // Greek mu
      return 1e3;
    case 'ms':
      return 1e6;
    case 's':
      return 1e9;
    case 'm':
      return 60e9;
    case 'h':
      return 3600e9;
    default:
      return 0;
  }
}

function fail(out: DurationScan, msg: string): false {
  out.ns = 0;
  out.big = null;
  out.error = msg;
  return false;
}

const invalid = (orig: string): string => 'time: invalid duration ' + timeQuote(orig);

/**
 * Go's `uint64(float64(f) * (float64(unit) / scale))` for the fraction digits `s[a:b]`, where
 * `leadingFraction` keeps digits while the integer f stays ≤ 2^63 and scale counts them.
 */
function fractionNs(s: string, a: number, b: number, unit: number): number {
  if (b - a <= 15) {
    const f = Number(s.slice(a, b));
    return f > 0 ? Math.trunc(f * (unit / POW10[b - a]!)) : 0;
  }
  let x = 0n;
  let scale = 1;
  let overflow = false;
  for (let i = a; i < b && !overflow; i++) {
    if (x > MAX_INT64 / 10n) {
      overflow = true;
      break;
    }
    const y = x * 10n + BigInt(s.charCodeAt(i) - 48);
    if (y > TWO_63) {
      overflow = true;
      break;
    }
    x = y;
    scale *= 10;
  }
  return x > 0n ? Math.trunc(Number(x) * (unit / scale)) : 0;
}

/**
 * Go's `time.ParseDuration` into `out`, without throwing: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`
 * with units ns, us (µs, μs), ms, s, m, h. Float arithmetic while the value stays below 2^53 ns;
 * bigint only past that. Returns false with Go's error text in `out.error`.
 */
export function scanDuration(orig: string, out: DurationScan): boolean {
  const n = orig.length;
  let i = 0;
  let neg = false;
  if (n > 0) {
    const c0 = orig.charCodeAt(0);
    if (c0 === 45 || c0 === 43) {
      neg = c0 === 45;
      i = 1;
    }
  }
  if (n - i === 1 && orig.charCodeAt(i) === 48) {
    out.ns = 0;
    out.big = null;
    out.error = '';
    return true;
  }
  if (i === n) return fail(out, invalid(orig));
  let d = 0;
  let dBig: bigint | null = null;
  while (i < n) {
    let c = orig.charCodeAt(i);
    if (!(c === 46 || isDigit(c))) return fail(out, invalid(orig));
    // [0-9]*: exact as a number up to 15 digits; longer ones are checked against 2^63 as Go does.
    const ps = i;
    let v = 0;
    while (i < n && isDigit((c = orig.charCodeAt(i)))) {
      v = v * 10 + (c - 48);
      i++;
    }
    const intDigits = i - ps;
    let vBig: bigint | null = null;
    if (intDigits > 15) {
      vBig = BigInt(orig.slice(ps, i));
      if (vBig > TWO_63) return fail(out, invalid(orig));
    }
    // (\.[0-9]*)?
    let fs = i;
    let fe = i;
    if (i < n && orig.charCodeAt(i) === 46) {
      i++;
      fs = i;
      while (i < n && isDigit(orig.charCodeAt(i))) i++;
      fe = i;
    }
    if (intDigits === 0 && fe === fs) return fail(out, invalid(orig));
    // The unit: everything up to the next digit or dot.
    const us = i;
    while (i < n) {
      c = orig.charCodeAt(i);
      if (c === 46 || isDigit(c)) break;
      i++;
    }
    if (i === us) return fail(out, 'time: missing unit in duration ' + timeQuote(orig));
    const u = orig.slice(us, i);
    const unit = goUnitNs(u);
    if (unit === 0) return fail(out, 'time: unknown unit ' + timeQuote(u) + ' in duration ' + timeQuote(orig));
    const frac = fe > fs ? fractionNs(orig, fs, fe, unit) : 0;
    if (dBig === null && vBig === null && v <= MAX_SAFE / unit) {
      const sum = d + v * unit + frac;
      if (sum <= MAX_SAFE) {
        d = sum;
        continue;
      }
    }
    // Slow path, Go's uint64 checks: v > 2^63/unit, v+frac > 2^63, d > 2^63.
    const ub = BigInt(unit);
    let vb = vBig ?? BigInt(v);
    if (vb > TWO_63 / ub) return fail(out, invalid(orig));
    vb = vb * ub + BigInt(frac);
    if (vb > TWO_63) return fail(out, invalid(orig));
    dBig = (dBig ?? BigInt(d)) + vb;
    if (dBig > TWO_63) return fail(out, invalid(orig));
  }
  out.error = '';
  if (dBig === null) {
    out.ns = neg && d !== 0 ? -d : d;
    out.big = null;
    return true;
  }
  if (!neg && dBig > MAX_INT64) return fail(out, invalid(orig));
  const r = neg ? -dBig : dBig;
  out.ns = Number(r);
  out.big = r >= -MAX_SAFE && r <= MAX_SAFE ? null : r;
  return true;
}

const SCRATCH = new DurationScan();

/** Go's `time.ParseDuration`, in ns. Throws DurationError with Go's text. */
export function parseDuration(s: string): bigint {
  if (!scanDuration(s, SCRATCH)) throw new DurationError(SCRATCH.error);
  return SCRATCH.big ?? BigInt(SCRATCH.ns);
}

/** Go's `time.ParseDuration`, in ns; null where Go returns an error. */
export function tryParseDuration(s: string): bigint | null {
  if (!scanDuration(s, SCRATCH)) return null;
  return SCRATCH.big ?? BigInt(SCRATCH.ns);
}

/** `v / 10^prec` with its fraction: `"1.5"`, `"12"` (trailing zeros and a bare dot dropped). */
function withFraction(v: bigint, prec: number): string {
  if (prec === 0) return v.toString();
  const p = 10n ** BigInt(prec);
  const frac = v % p;
  const whole = (v / p).toString();
  if (frac === 0n) return whole;
  return whole + '.' + frac.toString().padStart(prec, '0').replace(/0+$/, '');
}

/**
 * Go's `time.Duration.String`: `1h2m3.5s`, `1m0s`, `1.5ms`, `2µs`, `0s`, `-1h0m0s`. Takes any
 * bigint; Go's own input range is int64.
 */
export function formatDuration(ns: bigint): string {
  const neg = ns < 0n;
  const u = neg ? -ns : ns;
  let out: string;
  if (u < NS_PER_SECOND) {
    if (u === 0n) return '0s';
    if (u < 1000n) out = withFraction(u, 0) + 'ns';
    else if (u < 1_000_000n) out = withFraction(u, 3) + '\u00b5s';
    else out = withFraction(u, 6) + 'ms';
  } else {
    out = withFraction(u % (60n * NS_PER_SECOND), 9) + 's';
    const minutes = u / (60n * NS_PER_SECOND);
    if (minutes > 0n) {
      out = `${minutes % 60n}m` + out;
      const hours = minutes / 60n;
      if (hours > 0n) out = `${hours}h` + out;
    }
  }
  return neg ? '-' + out : out;
}

/** `formatDuration` of a millisecond count (fractions of a ms rounded to the ns). */
export function formatDurationMs(ms: number): string {
  return formatDuration(Number.isInteger(ms) ? BigInt(ms) * 1_000_000n : BigInt(Math.round(ms * 1e6)));
}

/** Result of a non-throwing parse: ns, or Go's error text. */
export type DurationResult = { ok: true; ns: bigint } | { ok: false; error: string };

/** Prometheus units in the order they must appear, in ns. */
const PROM_UNITS: ReadonlyArray<readonly [string, bigint]> = [
  ['y', 365n * 24n * 3600n * NS_PER_SECOND],
  ['w', 7n * 24n * 3600n * NS_PER_SECOND],
  ['d', 24n * 3600n * NS_PER_SECOND],
  ['h', 3600n * NS_PER_SECOND],
  ['m', 60n * NS_PER_SECOND],
  ['s', NS_PER_SECOND],
  ['ms', 1_000_000n],
];

const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * Prometheus' `model.ParseDuration` (prometheus/common model/time.go): integers with units y, w,
 * d, h, m, s, ms, each at most once and biggest first; no sign, no fractions; `0` alone is zero.
 */
export function parsePromDuration(s: string): DurationResult {
  if (s === '0') return { ok: true, ns: 0n };
  if (s === '') return { ok: false, error: 'empty duration string' };
  const bad: DurationResult = { ok: false, error: `not a valid duration string: ${quote(s)}` };
  let i = 0;
  let total = 0n;
  let lastUnit = -1;
  while (i < s.length) {
    if (!isDigit(s.charCodeAt(i))) return bad;
    const start = i;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    const v = BigInt(s.slice(start, i));
    if (v > MAX_UINT64) return bad; // strconv.ParseUint fails
    const ustart = i;
    while (i < s.length && !isDigit(s.charCodeAt(i))) i++;
    if (i === ustart) return bad;
    const u = s.slice(ustart, i);
    const idx = PROM_UNITS.findIndex((x) => x[0] === u);
    if (idx < 0) return { ok: false, error: `unknown unit ${quote(u)} in duration ${quote(s)}` };
    if (idx <= lastUnit) return bad;
    lastUnit = idx;
    const mult = PROM_UNITS[idx]![1];
    if (v > TWO_63 / mult) return { ok: false, error: 'duration out of range' };
    total += v * mult;
    if (total > MAX_INT64) return { ok: false, error: 'duration out of range' };
  }
  return { ok: true, ns: total };
}

/**
 * Prometheus' `model.Duration.String`: whole ms in units y, w, d, h, m, s, ms, with y and w only
 * when they divide exactly (`90d`, not `12w6d`); `0s` for zero; sub-ms parts dropped.
 */
export function formatPromDuration(ns: bigint): string {
  let ms = ns / 1_000_000n;
  if (ms === 0n) return '0s';
  let sign = '';
  if (ms < 0n) {
    sign = '-';
    ms = -ms;
  }
  let r = '';
  for (let i = 0; i < PROM_UNITS.length; i++) {
    const [unit, multNs] = PROM_UNITS[i]!;
    const mult = multNs / 1_000_000n;
    if (i < 2 && ms % mult !== 0n) continue; // y and w only when exact
    const v = ms / mult;
    if (v > 0n) {
      r += `${v}${unit}`;
      ms -= v * mult;
    }
  }
  return sign + r;
}

/** ms per unit of the lenient form. */
const CONFIG_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  '\u00b5s': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const CONFIG_PART_RE = /^(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h|d|w|y)/;

/**
 * Silt's duration syntax for config values and HTTP parameters, in ms (a float; `1us` is 0.001):
 * surrounding spaces ignored, an optional `-`, then one or more `<decimal><unit>` parts in any
 * order with Go's units (not `μs`) plus Prometheus' d, w and y; `0` alone is zero. It accepts
 * every Prometheus duration and every Go one written with a leading digit. Null when malformed.
 */
export function parseConfigDurationMs(text: string): number | null {
  const s = text.trim();
  if (s === '0') return 0;
  if (s.length === 0) return null;
  let rest = s;
  let neg = false;
  if (rest.startsWith('-')) {
    neg = true;
    rest = rest.slice(1);
  }
  let total = 0;
  while (rest.length > 0) {
    const m = CONFIG_PART_RE.exec(rest);
    if (!m) return null;
    total += Number(m[1]) * CONFIG_UNITS_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return neg ? -total : total;
}
