/**
 * RFC3339 times as Go reads and writes them: `time.Parse(time.RFC3339Nano, s)` (which accepts
 * exactly what `time.RFC3339` does) and `Time.Format(time.RFC3339Nano / time.RFC3339)`. Instants
 * are bigint ns since the Unix epoch, never passing through a float, so no precision is lost.
 */

const NS_PER_SECOND = 1_000_000_000n;

/**
 * What Go's RFC3339 parse accepts: its fast path (parseRFC3339) or, failing that, the general
 * layout parser, which also takes a one-digit hour, a comma before the fraction and offsets up
 * to 24:60. Any number of fraction digits (only the first nine count). `T` and `Z` upper case.
 */
const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day count since 1970-01-01 (Hinnant's civil_from_days). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/**
 * Go's `time.Parse(time.RFC3339Nano, s)` (or `time.RFC3339`: they accept the same inputs) as
 * ns since the epoch; null where Go returns an error (bad field, day past the month's end,
 * hour 24, second 60, trailing text).
 */
export function parseRfc3339(s: string): bigint | null {
  const m = RFC3339_RE.exec(s);
  if (m === null) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const min = Number(m[5]);
  const sec = Number(m[6]);
  if (month < 1 || month > 12) return null;
  const dim = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day < 1 || day > dim || hour > 23 || min > 59 || sec > 59) return null;
  let offsetSec = 0;
  if (m[8] !== undefined) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 24 || om > 60) return null;
    offsetSec = (oh * 60 + om) * 60 * (m[8] === '-' ? -1 : 1);
  }
  const unixSec = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offsetSec;
  const frac = m[7] === undefined ? 0n : BigInt((m[7].length > 9 ? m[7].slice(0, 9) : m[7]).padEnd(9, '0'));
  return BigInt(unixSec) * NS_PER_SECOND + frac;
}

const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/** Go's appendInt(b, year, 4): at least four digits, a `-` before negative years. */
function year4(y: number): string {
  return y < 0 ? '-' + String(-y).padStart(4, '0') : String(y).padStart(4, '0');
}

function format(tsNs: bigint, offsetSec: number, nano: boolean): string {
  let sec = tsNs / NS_PER_SECOND;
  let frac = tsNs % NS_PER_SECOND;
  if (frac < 0n) {
    frac += NS_PER_SECOND;
    sec -= 1n;
  }
  const local = Number(sec) + offsetSec;
  const days = Math.floor(local / 86400);
  const secOfDay = local - days * 86400;
  const { year, month, day } = civilFromDays(days);
  let out = `${year4(year)}-${pad2(month)}-${pad2(day)}T${pad2(Math.floor(secOfDay / 3600))}:${pad2(Math.floor((secOfDay % 3600) / 60))}:${pad2(secOfDay % 60)}`;
  if (nano && frac !== 0n) out += '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  // Z07:00: `Z` for a zero offset; else ±hh:mm of the offset in whole minutes.
  if (offsetSec === 0) return out + 'Z';
  let zone = Math.trunc(offsetSec / 60);
  let sign = '+';
  if (zone < 0) {
    sign = '-';
    zone = -zone;
  }
  return out + sign + pad2(Math.floor(zone / 60)) + ':' + pad2(zone % 60);
}

/**
 * Go's `Time.Format(time.RFC3339Nano)`: `2006-01-02T15:04:05.999999999Z07:00`, the fraction
 * without trailing zeros (none when zero), in the zone `offsetSec` east of UTC (0: `Z`).
 */
export function formatRfc3339Nano(tsNs: bigint, offsetSec = 0): string {
  return format(tsNs, offsetSec, true);
}

/** Go's `Time.Format(time.RFC3339)`: like `formatRfc3339Nano` with the fraction dropped (floored). */
export function formatRfc3339(tsNs: bigint, offsetSec = 0): string {
  return format(tsNs, offsetSec, false);
}
