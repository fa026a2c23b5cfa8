/**
 * Naive re-implementations of the Go conversions LogQL relies on (strconv.ParseFloat,
 * time.ParseDuration, humanize.ParseBytes, RE2 → JS regex). Written independently of Silt's
 * src/ so the reference cannot share a bug with the engine under test.
 */

/** Go's strconv.ParseFloat(s, 64) for decimal input (no hex floats, no underscores). */
export function goParseFloat(s: string): number | null {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return null;
  return Number(s);
}

/** The message Go prints for a failed ParseFloat. */
export function parseFloatError(s: string): string {
  return `strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`;
}

const UNIT_NS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in (float) nanoseconds; null when invalid. */
export function goParseDuration(s: string): number | null {
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return null;
  let total = 0;
  while (rest !== '') {
    const m = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) return null;
    const unit = UNIT_NS[m[3]!]!;
    // Go: integer part times unit exactly, plus int64(fraction * (unit / 10^digits)).
    total += Number(m[1] || '0') * unit;
    const frac = (m[2] ?? '').slice(0, 15);
    if (frac !== '') total += Math.trunc(Number(frac) * (unit / 10 ** frac.length));
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  ki: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  mi: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
  gi: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  tib: 1024 ** 4,
  ti: 1024 ** 4,
};

/** go-humanize ParseBytes: `10KB` = 10000, `10KiB` = 10240, `1.5 MB`; null when invalid. */
export function goParseBytes(s: string): number | null {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*$/.exec(s);
  if (!m) return null;
  const mult = BYTE_UNITS[m[2]!.toLowerCase()];
  if (mult === undefined) return null;
  return Math.trunc(Number(m[1]) * mult);
}

/**
 * Translates the RE2 subset the corpus uses into a JS RegExp: a leading `(?i)` becomes the `i`
 * flag, `(?P<name>` becomes `(?<name>`. Anything else JS does not share with RE2 (lookarounds,
 * backreferences, possessive quantifiers) is simply not generated.
 */
const regexCache = new Map<string, RegExp>();

export function re2ToJs(re: string, anchored: boolean): RegExp {
  const key = `${anchored ? 'A' : 'U'}${re}`;
  let cached = regexCache.get(key);
  if (cached === undefined) regexCache.set(key, (cached = compileRe2(re, anchored)));
  // exec() on a non-global regex keeps no state, so sharing the object is safe.
  return cached;
}

function compileRe2(re: string, anchored: boolean): RegExp {
  let src = re;
  let flags = '';
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    if (lead[1]!.includes('i')) flags += 'i';
    if (lead[1]!.includes('s')) flags += 's';
    src = src.slice(lead[0].length);
  }
  src = src.replace(/\(\?P</g, '(?<');
  return new RegExp(anchored ? `^(?:${src})$` : src, flags);
}
