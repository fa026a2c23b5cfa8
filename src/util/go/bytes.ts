/**
 * Byte sizes, the one home for every dialect Silt reads or prints:
 * - go-humanize `ParseBytes`/`Bytes` (LogQL `10KB` literals, label filters, templates, logcli);
 * - Loki's `flagext.ByteSize` (c2h5oh/datasize after upper-casing: `KB` and `K` are 1024);
 * - Silt's config form (`parseConfigBytes`/`formatConfigBytes`).
 */
import { quote, trimSpace } from './strings.js';

/** Scratch result of `scanHumanBytes`, reused by the caller across calls. */
export class BytesScan {
  /** The byte count (a float64 truncated like Go's `uint64(f)`). */
  bytes = 0;
  /** Go's error text after a failed scan, else ''. */
  error = '';
}

/** Thrown by the throwing parsers here; the message is Go's error text. */
export class BytesError extends SyntaxError {
  override readonly name = 'BytesError';
}

const KI = 1024;
/** go-humanize's bytesSizeTable (lower-case keys). */
const HUMAN_UNITS: ReadonlyMap<string, number> = new Map([
  ['', 1],
  ['b', 1],
  ['k', 1e3],
  ['kb', 1e3],
  ['ki', KI],
  ['kib', KI],
  ['m', 1e6],
  ['mb', 1e6],
  ['mi', KI ** 2],
  ['mib', KI ** 2],
  ['g', 1e9],
  ['gb', 1e9],
  ['gi', KI ** 3],
  ['gib', KI ** 3],
  ['t', 1e12],
  ['tb', 1e12],
  ['ti', KI ** 4],
  ['tib', KI ** 4],
  ['p', 1e15],
  ['pb', 1e15],
  ['pi', KI ** 5],
  ['pib', KI ** 5],
  ['e', 1e18],
  ['eb', 1e18],
  ['ei', KI ** 6],
  ['eib', KI ** 6],
]);

const NON_ASCII_DIGIT = /^\p{Nd}$/u;
const DECIMAL_RE = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)$/;

function fail(out: BytesScan, msg: string): false {
  out.bytes = 0;
  out.error = msg;
  return false;
}

/**
 * go-humanize `ParseBytes` into `out`, without throwing: a number of digits, dots and commas
 * (`1,024`, `1.5`), optional spaces, then a unit of its table, any case (`KB` = 1000, `KiB` =
 * 1024, `k`, `Mi`, `EB`...). Returns false with Go's error text in `out.error`.
 */
export function scanHumanBytes(s: string, out: BytesScan): boolean {
  let i = 0;
  let comma = false;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if ((c >= 48 && c <= 57) || c === 46) i++;
    else if (c === 44) {
      comma = true;
      i++;
    } else if (c >= 0x80) {
      // unicode.IsDigit: other scripts' digits count too (and then fail ParseFloat).
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      if (!NON_ASCII_DIGIT.test(ch)) break;
      i += ch.length;
    } else break;
  }
  const num = comma ? s.slice(0, i).replaceAll(',', '') : s.slice(0, i);
  if (!DECIMAL_RE.test(num)) return fail(out, `strconv.ParseFloat: parsing ${quote(num)}: invalid syntax`);
  const f = Number(num);
  if (f === Infinity) return fail(out, `strconv.ParseFloat: parsing ${quote(num)}: value out of range`);
  const extra = trimSpace(s.slice(i)).toLowerCase();
  const mult = HUMAN_UNITS.get(extra);
  if (mult === undefined) return fail(out, `unhandled size name: ${extra}`);
  const v = f * mult;
  if (v >= 2 ** 64) return fail(out, `too large: ${s}`);
  out.bytes = Math.trunc(v);
  out.error = '';
  return true;
}

const SCRATCH = new BytesScan();

/** go-humanize `ParseBytes`. Throws BytesError with Go's text. */
export function parseHumanBytes(s: string): number {
  if (!scanHumanBytes(s, SCRATCH)) throw new BytesError(SCRATCH.error);
  return SCRATCH.bytes;
}

/** go-humanize `ParseBytes`; null where Go returns an error. */
export function tryParseHumanBytes(s: string): number | null {
  return scanHumanBytes(s, SCRATCH) ? SCRATCH.bytes : null;
}

const SI_SIZES = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
const IEC_SIZES = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** Go's `%.0f`: round half to even (JS `toFixed` rounds half up). */
function fixed0(v: number): string {
  let r = Math.round(v);
  if (r - v === 0.5 && r % 2 !== 0) r -= 1;
  return r.toFixed(0);
}

function humanateBytes(s: number, base: number, sizes: readonly string[]): string {
  if (s < 10) return `${s} B`;
  const e = Math.floor(Math.log(s) / Math.log(base));
  const suffix = sizes[e]!;
  const val = Math.floor((s / base ** e) * 10 + 0.5) / 10;
  return (val < 10 ? val.toFixed(1) : fixed0(val)) + ' ' + suffix;
}

/** go-humanize `Bytes`, SI units with a space: `7 B`, `523 kB`, `1.2 MB`, `83 MB`. */
export function formatHumanBytes(n: number): string {
  return humanateBytes(n, 1000, SI_SIZES);
}

/** go-humanize `IBytes`, IEC units with a space: `1.0 KiB`, `79 MiB`. */
export function formatHumanIBytes(n: number): string {
  return humanateBytes(n, 1024, IEC_SIZES);
}

const MAX_UINT64 = (1n << 64n) - 1n;
/** datasize's units after lower-casing, as powers of 1024. */
const BYTE_SIZE_UNITS: ReadonlyMap<string, bigint> = new Map([
  ['', 0n], ['b', 0n], ['byte', 0n],
  ['k', 1n], ['kb', 1n], ['kilo', 1n], ['kilobyte', 1n], ['kilobytes', 1n],
  ['m', 2n], ['mb', 2n], ['mega', 2n], ['megabyte', 2n], ['megabytes', 2n],
  ['g', 3n], ['gb', 3n], ['giga', 3n], ['gigabyte', 3n], ['gigabytes', 3n],
  ['t', 4n], ['tb', 4n], ['tera', 4n], ['terabyte', 4n], ['terabytes', 4n],
  ['p', 5n], ['pb', 5n], ['peta', 5n], ['petabyte', 5n], ['petabytes', 5n],
  ['e', 6n], ['eb', 6n],
]);

/**
 * Loki's `flagext.ByteSize.Set` (pkg/util/flagext/bytesize.go): the text upper-cased, then
 * c2h5oh/datasize: an unsigned integer, optional spaces, a unit where `K`/`KB` = 1024 (no
 * `KiB`, no fractions). Throws BytesError with strconv.NumError's text.
 */
export function parseByteSize(text: string): bigint {
  const t = text.toUpperCase();
  let val = 0n;
  let i = 0;
  for (; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) break;
    val = val * 10n + BigInt(c - 48);
    if (val > MAX_UINT64) throw new BytesError(`strconv.UnmarshalText: parsing ${quote(t)}: value out of range`);
  }
  const syntax = (): BytesError => new BytesError(`strconv.UnmarshalText: parsing ${quote(t)}: invalid syntax`);
  if (i === 0 && t.length > 0) throw syntax();
  const pow = BYTE_SIZE_UNITS.get(trimSpace(t.slice(i)).toLowerCase());
  if (pow === undefined) throw syntax();
  const v = val * (1n << (10n * pow));
  if (v > MAX_UINT64) throw new BytesError(`strconv.UnmarshalText: parsing ${quote(t)}: value out of range`);
  return v;
}

/** Loki's `flagext.ByteSize.String` (datasize): the largest 1024-unit that divides, `256KB`, `1MB`, `0B`. */
export function formatByteSize(n: bigint): string {
  if (n === 0n) return '0B';
  const units = ['EB', 'PB', 'TB', 'GB', 'MB', 'KB'];
  for (let k = 0; k < units.length; k++) {
    const mult = 1n << BigInt(10 * (6 - k));
    if (n % mult === 0n) return `${n / mult}${units[k]}`;
  }
  return `${n}B`;
}

/** Silt config units (lower-case): SI `kb`, IEC `kib`, and bare `k`/`m`/`g` as IEC. */
const CONFIG_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};

/**
 * Silt's byte-size syntax for config values: a non-negative number (floored), or a decimal
 * with an optional unit, spaces allowed. `KB` is 1000 and `KiB` 1024 as in go-humanize, but a
 * bare `k`/`m`/`g` is 1024-based (unlike go-humanize; like datasize). Null when malformed.
 */
export function parseConfigBytes(text: string | number): number | null {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? Math.floor(text) : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return null;
  const unit = m[2]!.toLowerCase();
  if (unit === '') return Math.floor(Number(m[1]));
  const mul = CONFIG_UNITS[unit];
  return mul === undefined ? null : Math.floor(Number(m[1]) * mul);
}

/** A byte count exactly, in the largest IEC unit that divides it (`256KiB`, `1536KiB`, `100`). */
export function formatConfigBytes(n: number): string {
  const units: [string, number][] = [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]];
  for (const [u, mul] of units) if (n >= mul && n % mul === 0) return `${n / mul}${u}`;
  return String(n);
}
