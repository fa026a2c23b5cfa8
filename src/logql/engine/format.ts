/** Number formatting of Loki's metric responses (Go strconv / Prometheus model). */

/** Expands JS exponent notation (`1e+21`, `1.5e-7`) to plain decimal digits. */
function plainDecimal(s: string): string {
  const e = s.indexOf('e');
  if (e < 0) return s;
  let mant = s.slice(0, e);
  const exp = Number(s.slice(e + 1));
  let sign = '';
  if (mant[0] === '-') {
    sign = '-';
    mant = mant.slice(1);
  }
  const dot = mant.indexOf('.');
  const digits = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  const point = (dot < 0 ? mant.length : dot) + exp; // position of the decimal point in `digits`
  if (point <= 0) return sign + '0.' + '0'.repeat(-point) + digits;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return sign + digits.slice(0, point) + '.' + digits.slice(point);
}

/**
 * Go's `strconv.FormatFloat(v, 'f', -1, 64)` as Prometheus' `SampleValue.String()` uses it,
 * plus its specials: "NaN", "+Inf", "-Inf"; negative zero prints "-0".
 */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  return plainDecimal(String(v));
}

/** Prometheus `model.Time.String()`: unix seconds with up to 3 decimals (e.g. 1700000000.5). */
export function formatPromTimestamp(tsMs: number): string {
  return formatGoFloat(tsMs / 1000);
}
