/**
 * A Go `time.Time` look-alike for templates: nanoseconds since the Unix epoch plus a zone
 * (fixed offset and abbreviation), Go layout formatting (`2006-01-02 15:04:05`) and parsing.
 * "Local" means UTC here: Silt servers render templates in UTC for reproducible output.
 */

const NS_PER_S = 1_000_000_000n;

/** An instant with the zone it is displayed in. */
export class GoTime {
  constructor(
    /** Nanoseconds since 1970-01-01T00:00:00Z. */
    readonly ns: bigint,
    /** Zone offset, seconds east of UTC. */
    readonly off: number = 0,
    /** Zone abbreviation; empty prints as a numeric offset, like Go's FixedZone(""). */
    readonly zone: string = 'UTC',
  ) {}

  /** Whole seconds since the epoch, floored (Go's Unix()). */
  unix(): bigint {
    const s = this.ns / NS_PER_S;
    return this.ns < 0n && s * NS_PER_S !== this.ns ? s - 1n : s;
  }

  /** Go's `Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`. */
  toString(): string {
    return formatTime(this, '2006-01-02 15:04:05.999999999 -0700 MST');
  }
}

/** Go's zero time, 0001-01-01 00:00:00 UTC. */
export const ZERO_TIME = new GoTime(-62135596800n * NS_PER_S);

export function timeFromUnixSeconds(sec: bigint): GoTime {
  return new GoTime(sec * NS_PER_S);
}

export function nowTime(): GoTime {
  return new GoTime(BigInt(Date.now()) * 1_000_000n);
}

// ---- zones -------------------------------------------------------------------------------

/** A named zone: offset and abbreviation at an instant. */
export interface Zone {
  readonly name: string;
  at(unixSec: number): { off: number; abbr: string };
}

const UTC: Zone = { name: 'UTC', at: () => ({ off: 0, abbr: 'UTC' }) };
const zoneCache = new Map<string, Zone | null>();

function numericAbbr(off: number): string {
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  return sign + pad(h, 2) + (m ? pad(m, 2) : '');
}

/** Resolves an IANA zone name (Go's time.LoadLocation); null when unknown. */
export function loadZone(name: string): Zone | null {
  if (name === '' || name === 'UTC' || name === 'Local') return UTC;
  const hit = zoneCache.get(name);
  if (hit !== undefined) return hit;
  let zone: Zone | null = null;
  try {
    const opts: Intl.DateTimeFormatOptions = {
      timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric', timeZoneName: 'short',
    };
    const us = new Intl.DateTimeFormat('en-US', opts);
    const gb = new Intl.DateTimeFormat('en-GB', opts);
    zone = {
      name,
      at(unixSec: number) {
        const d = new Date(unixSec * 1000);
        const parts = us.formatToParts(d);
        const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? 0);
        let year = get('year');
        if (parts.find((p) => p.type === 'era')?.value === 'BC') year = 1 - year;
        const wall = daysFromCivil(year, get('month'), get('day')) * 86400 + get('hour') * 3600 + get('minute') * 60 + get('second');
        const off = wall - Math.floor(unixSec);
        let abbr = parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
        if (abbr.startsWith('GMT')) {
          abbr = gb.formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? abbr;
          if (abbr.startsWith('GMT') || abbr.startsWith('UTC')) abbr = off === 0 ? 'UTC' : numericAbbr(off);
        }
        return { off, abbr };
      },
    };
    zone.at(0);
  } catch {
    zone = null;
  }
  if (zoneCache.size > 256) zoneCache.clear();
  zoneCache.set(name, zone);
  return zone;
}

/** The instant shown in `zone`. */
export function inZone(t: GoTime, zone: Zone): GoTime {
  const { off, abbr } = zone.at(Number(t.unix()));
  return new GoTime(t.ns, off, abbr);
}

// ---- civil calendar (proleptic Gregorian) ------------------------------------------------

export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [m <= 2 ? y + 1 : y, m, d];
}

interface Civil {
  year: number; month: number; day: number; hour: number; min: number; sec: number; nsec: number; wday: number; yday: number;
}

function civil(t: GoTime): Civil {
  const total = t.ns + BigInt(t.off) * NS_PER_S;
  let secs = total / NS_PER_S;
  let nsec = total % NS_PER_S;
  if (nsec < 0n) {
    nsec += NS_PER_S;
    secs -= 1n;
  }
  const s = Number(secs);
  const days = Math.floor(s / 86400);
  const rem = s - days * 86400;
  const [year, month, day] = civilFromDays(days);
  return {
    year, month, day,
    hour: Math.floor(rem / 3600), min: Math.floor((rem % 3600) / 60), sec: rem % 60, nsec: Number(nsec),
    wday: (((days + 4) % 7) + 7) % 7,
    yday: days - daysFromCivil(year, 1, 1) + 1,
  };
}

// ---- layouts -----------------------------------------------------------------------------

const LONG_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

type Std =
  | 'LongMonth' | 'Month' | 'NumMonth' | 'ZeroMonth' | 'LongWeekDay' | 'WeekDay' | 'Day' | 'UnderDay' | 'ZeroDay'
  | 'UnderYearDay' | 'ZeroYearDay' | 'Hour' | 'Hour12' | 'ZeroHour12' | 'Minute' | 'ZeroMinute' | 'Second' | 'ZeroSecond'
  | 'LongYear' | 'Year' | 'PM' | 'pm' | 'TZ'
  | 'ISO8601TZ' | 'ISO8601SecondsTZ' | 'ISO8601ShortTZ' | 'ISO8601ColonTZ' | 'ISO8601ColonSecondsTZ'
  | 'NumTZ' | 'NumSecondsTz' | 'NumShortTZ' | 'NumColonTZ' | 'NumColonSecondsTZ'
  | 'Frac0' | 'Frac9';

type Chunk = string | { std: Std; n: number; sep: string };

const isDigitAt = (s: string, i: number): boolean => i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57;

const PREFIXED: ReadonlyArray<readonly [string, Std]> = [
  ['January', 'LongMonth'], ['Jan', 'Month'], ['Monday', 'LongWeekDay'], ['Mon', 'WeekDay'], ['MST', 'TZ'],
  ['002', 'ZeroYearDay'], ['01', 'ZeroMonth'], ['02', 'ZeroDay'], ['03', 'ZeroHour12'], ['04', 'ZeroMinute'], ['05', 'ZeroSecond'], ['06', 'Year'],
  ['15', 'Hour'], ['1', 'NumMonth'], ['2006', 'LongYear'], ['2', 'Day'], ['__2', 'UnderYearDay'], ['_2', 'UnderDay'],
  ['3', 'Hour12'], ['4', 'Minute'], ['5', 'Second'], ['PM', 'PM'], ['pm', 'pm'],
  ['-07:00:00', 'NumColonSecondsTZ'], ['-070000', 'NumSecondsTz'], ['-07:00', 'NumColonTZ'], ['-0700', 'NumTZ'], ['-07', 'NumShortTZ'],
  ['Z07:00:00', 'ISO8601ColonSecondsTZ'], ['Z070000', 'ISO8601SecondsTZ'], ['Z07:00', 'ISO8601ColonTZ'], ['Z0700', 'ISO8601TZ'], ['Z07', 'ISO8601ShortTZ'],
];

const layoutCache = new Map<string, Chunk[]>();

/** Splits a Go layout into literal text and standard chunks (own scanner over Go's rules). */
function layoutChunks(layout: string): Chunk[] {
  const hit = layoutCache.get(layout);
  if (hit) return hit;
  const out: Chunk[] = [];
  let lit = '';
  let i = 0;
  outer: while (i < layout.length) {
    const c = layout[i]!;
    if ((c === '.' || c === ',') && (layout[i + 1] === '0' || layout[i + 1] === '9')) {
      const ch = layout[i + 1]!;
      let j = i + 1;
      while (j < layout.length && layout[j] === ch) j++;
      if (!isDigitAt(layout, j)) {
        if (lit) out.push(lit);
        lit = '';
        out.push({ std: ch === '0' ? 'Frac0' : 'Frac9', n: j - i - 1, sep: c });
        i = j;
        continue;
      }
    }
    for (const [p, std] of PREFIXED) {
      if (!layout.startsWith(p, i)) continue;
      // Go: "Jan"/"Mon" must not be followed by a lower-case letter ("Janet" is literal).
      if ((std === 'Month' || std === 'WeekDay') && /[a-z]/.test(layout[i + p.length] ?? '')) continue;
      if (std === 'UnderDay' && layout.startsWith('_2006', i)) {
        lit += '_';
        i += 1;
        continue outer;
      }
      if (lit) out.push(lit);
      lit = '';
      out.push({ std, n: 0, sep: '' });
      i += p.length;
      continue outer;
    }
    lit += c;
    i++;
  }
  if (lit) out.push(lit);
  if (layoutCache.size > 512) layoutCache.clear();
  layoutCache.set(layout, out);
  return out;
}

function pad(n: number, w: number): string {
  const s = String(Math.abs(n));
  return (n < 0 ? '-' : '') + (s.length >= w ? s : '0'.repeat(w - s.length) + s);
}

function fmtTZ(off: number, std: Std): string {
  if (std.startsWith('ISO') && off === 0) return 'Z';
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const h = pad(Math.floor(a / 3600), 2);
  const m = pad(Math.floor((a % 3600) / 60), 2);
  const s = pad(a % 60, 2);
  switch (std) {
    case 'ISO8601ShortTZ': case 'NumShortTZ': return sign + h;
    case 'ISO8601ColonTZ': case 'NumColonTZ': return `${sign}${h}:${m}`;
    case 'ISO8601SecondsTZ': case 'NumSecondsTz': return sign + h + m + s;
    case 'ISO8601ColonSecondsTZ': case 'NumColonSecondsTZ': return `${sign}${h}:${m}:${s}`;
    default: return sign + h + m;
  }
}

/** Go's `Time.Format(layout)`. */
export function formatTime(t: GoTime, layout: string): string {
  const c = civil(t);
  let out = '';
  for (const ch of layoutChunks(layout)) {
    if (typeof ch === 'string') {
      out += ch;
      continue;
    }
    switch (ch.std) {
      case 'LongYear': out += c.year < 0 ? '-' + pad(-c.year, 4) : pad(c.year, 4); break;
      case 'Year': out += pad(((c.year % 100) + 100) % 100, 2); break;
      case 'LongMonth': out += LONG_MONTHS[c.month - 1]; break;
      case 'Month': out += LONG_MONTHS[c.month - 1]!.slice(0, 3); break;
      case 'NumMonth': out += c.month; break;
      case 'ZeroMonth': out += pad(c.month, 2); break;
      case 'LongWeekDay': out += LONG_DAYS[c.wday]; break;
      case 'WeekDay': out += LONG_DAYS[c.wday]!.slice(0, 3); break;
      case 'Day': out += c.day; break;
      case 'UnderDay': out += (c.day < 10 ? ' ' : '') + c.day; break;
      case 'ZeroDay': out += pad(c.day, 2); break;
      case 'UnderYearDay': out += String(c.yday).padStart(3, ' '); break;
      case 'ZeroYearDay': out += pad(c.yday, 3); break;
      case 'Hour': out += pad(c.hour, 2); break;
      case 'Hour12': out += c.hour % 12 === 0 ? 12 : c.hour % 12; break;
      case 'ZeroHour12': out += pad(c.hour % 12 === 0 ? 12 : c.hour % 12, 2); break;
      case 'Minute': out += c.min; break;
      case 'ZeroMinute': out += pad(c.min, 2); break;
      case 'Second': out += c.sec; break;
      case 'ZeroSecond': out += pad(c.sec, 2); break;
      case 'PM': out += c.hour >= 12 ? 'PM' : 'AM'; break;
      case 'pm': out += c.hour >= 12 ? 'pm' : 'am'; break;
      case 'TZ': out += t.zone !== '' ? t.zone : fmtTZ(t.off, 'NumTZ'); break;
      case 'Frac0': out += ch.sep + pad(c.nsec, 9).slice(0, ch.n); break;
      case 'Frac9': {
        let digits = pad(c.nsec, 9).slice(0, ch.n);
        digits = digits.replace(/0+$/, '');
        if (digits) out += ch.sep + digits;
        break;
      }
      default: out += fmtTZ(t.off, ch.std);
    }
  }
  return out;
}

/** Go's `time.ParseInLocation(layout, value, loc)`; null on any parse error. */
export function parseTime(layout: string, value: string, loc: Zone): GoTime | null {
  let v = value;
  let year = 0, month = -1, day = -1, yday = -1, hour = 0, min = 0, sec = 0, nsec = 0;
  let pm = false, am = false;
  let zoneOff: number | null = null;
  let zoneName = '';
  const chunks = layoutChunks(layout);
  const getnum = (fixed: boolean): number | null => {
    if (!isDigitAt(v, 0)) return null;
    if (!isDigitAt(v, 1)) {
      if (fixed) return null;
      const n = v.charCodeAt(0) - 48;
      v = v.slice(1);
      return n;
    }
    const n = (v.charCodeAt(0) - 48) * 10 + v.charCodeAt(1) - 48;
    v = v.slice(2);
    return n;
  };
  const lookup = (names: readonly string[], len: number): number => {
    for (let k = 0; k < names.length; k++) {
      const nm = len ? names[k]!.slice(0, len) : names[k]!;
      if (v.length >= nm.length && v.slice(0, nm.length).toLowerCase() === nm.toLowerCase()) {
        v = v.slice(nm.length);
        return k;
      }
    }
    return -1;
  };
  const fracDigits = (): boolean => {
    let j = 1;
    while (isDigitAt(v, j)) j++;
    const digits = v.slice(1, j);
    nsec = Number((digits + '000000000').slice(0, 9));
    v = v.slice(j);
    return true;
  };
  for (let ci = 0; ci < chunks.length; ci++) {
    const ch = chunks[ci]!;
    if (typeof ch === 'string') {
      // Go's skip(): runs of spaces in the layout match runs of spaces in the value.
      let p = ch;
      while (p.length > 0) {
        if (p[0] === ' ') {
          if (v.length > 0 && v[0] !== ' ') return null;
          p = p.replace(/^ +/, '');
          v = v.replace(/^ +/, '');
          continue;
        }
        if (v.length === 0 || v[0] !== p[0]) return null;
        p = p.slice(1);
        v = v.slice(1);
      }
      continue;
    }
    let n: number | null;
    switch (ch.std) {
      case 'Year':
        if (v.length < 2) return null;
        n = getnum(true);
        if (n === null) return null;
        year = n >= 69 ? 1900 + n : 2000 + n;
        break;
      case 'LongYear':
        if (v.length < 4 || !/^\d{4}/.test(v)) return null;
        year = Number(v.slice(0, 4));
        v = v.slice(4);
        break;
      case 'Month': case 'LongMonth':
        month = lookup(LONG_MONTHS, ch.std === 'Month' ? 3 : 0) + 1;
        if (month <= 0) return null;
        break;
      case 'NumMonth': case 'ZeroMonth':
        n = getnum(ch.std === 'ZeroMonth');
        if (n === null || n <= 0 || n > 12) return null;
        month = n;
        break;
      case 'WeekDay': case 'LongWeekDay':
        if (lookup(LONG_DAYS, ch.std === 'WeekDay' ? 3 : 0) < 0) return null;
        break;
      case 'Day': case 'UnderDay': case 'ZeroDay':
        if (ch.std === 'UnderDay' && v[0] === ' ') v = v.slice(1);
        n = getnum(ch.std === 'ZeroDay');
        if (n === null) return null;
        day = n;
        break;
      case 'UnderYearDay': case 'ZeroYearDay': {
        for (let k = 0; k < 2 && ch.std === 'UnderYearDay' && v[0] === ' '; k++) v = v.slice(1);
        const m = /^\d{1,3}/.exec(v);
        if (!m || (ch.std === 'ZeroYearDay' && m[0].length !== 3)) return null;
        yday = Number(m[0]);
        v = v.slice(m[0].length);
        if (yday < 1 || yday > 366) return null;
        break;
      }
      case 'Hour':
        n = getnum(false);
        if (n === null || n > 23) return null;
        hour = n;
        break;
      case 'Hour12': case 'ZeroHour12':
        n = getnum(ch.std === 'ZeroHour12');
        if (n === null || n > 12) return null;
        hour = n;
        break;
      case 'Minute': case 'ZeroMinute':
        n = getnum(ch.std === 'ZeroMinute');
        if (n === null || n > 59) return null;
        min = n;
        break;
      case 'Second': case 'ZeroSecond': {
        n = getnum(ch.std === 'ZeroSecond');
        if (n === null || n > 59) return null;
        sec = n;
        // Fractional seconds after the seconds field are accepted even if the layout has none.
        const next = chunks[ci + 1];
        if (v.length >= 2 && (v[0] === '.' || v[0] === ',') && isDigitAt(v, 1) && !(typeof next === 'object' && (next.std === 'Frac0' || next.std === 'Frac9'))) {
          fracDigits();
        }
        break;
      }
      case 'PM': case 'pm': {
        const p = v.slice(0, 2);
        const want = ch.std === 'PM' ? ['PM', 'AM'] : ['pm', 'am'];
        if (p === want[0]) pm = true;
        else if (p === want[1]) am = true;
        else return null;
        v = v.slice(2);
        break;
      }
      case 'TZ': {
        if (v.startsWith('UTC')) {
          zoneOff = 0;
          zoneName = 'UTC';
          v = v.slice(3);
          break;
        }
        const m = /^(GMT[+-]\d{1,2}|[A-Z][A-Za-z]{2,4})/.exec(v);
        if (!m) return null;
        zoneName = m[0];
        v = v.slice(m[0].length);
        break;
      }
      case 'Frac0': {
        if (v.length < ch.n + 1 || v[0] !== ch.sep) return null;
        const digits = v.slice(1, ch.n + 1);
        if (!/^\d*$/.test(digits)) return null;
        nsec = Number((digits + '000000000').slice(0, 9));
        v = v.slice(ch.n + 1);
        break;
      }
      case 'Frac9':
        if (v.length < 2 || !(v[0] === '.' || v[0] === ',') || !isDigitAt(v, 1)) break;
        fracDigits();
        break;
      default: {
        // numeric zones
        if (ch.std.startsWith('ISO') && v[0] === 'Z') {
          v = v.slice(1);
          zoneOff = 0;
          zoneName = 'UTC';
          break;
        }
        const colon = ch.std.includes('Colon');
        const withSec = ch.std.includes('Second') || ch.std === 'NumSecondsTz';
        const short = ch.std.includes('Short');
        const re = short ? /^([+-])(\d\d)/ : colon ? (withSec ? /^([+-])(\d\d):(\d\d):(\d\d)/ : /^([+-])(\d\d):(\d\d)/) : withSec ? /^([+-])(\d\d)(\d\d)(\d\d)/ : /^([+-])(\d\d)(\d\d)/;
        const m = re.exec(v);
        if (!m) return null;
        const hh = Number(m[2]), mm = Number(m[3] ?? 0), ss = Number(m[4] ?? 0);
        if (hh > 24 || mm > 60 || ss > 60) return null;
        zoneOff = (hh * 3600 + mm * 60 + ss) * (m[1] === '-' ? -1 : 1);
        v = v.slice(m[0].length);
      }
    }
  }
  if (v.length > 0) return null;
  if (pm && hour < 12) hour += 12;
  else if (am && hour === 12) hour = 0;
  if (yday >= 0) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    if (yday > (leap ? 366 : 365)) return null;
    const [, m, d] = civilFromDays(daysFromCivil(year, 1, 1) + yday - 1);
    if ((month >= 0 && month !== m) || (day >= 0 && day !== d)) return null;
    month = m;
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  const [, mChk, dChk] = civilFromDays(daysFromCivil(year, month, day));
  if (mChk !== month || dChk !== day) return null;
  const wall = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
  const mk = (unixSec: number, off: number, zone: string): GoTime => new GoTime(BigInt(unixSec) * NS_PER_S + BigInt(nsec), off, zone);
  if (zoneOff !== null) {
    const utc = wall - zoneOff;
    const local = loc.at(utc);
    if (local.off === zoneOff && (zoneName === '' || zoneName === local.abbr)) return mk(utc, local.off, local.abbr);
    return mk(utc, zoneOff, zoneName);
  }
  if (zoneName !== '') {
    const guess = loc.at(wall);
    if (guess.abbr === zoneName) {
      const utc = wall - guess.off;
      return mk(utc, guess.off, guess.abbr);
    }
    let off = 0;
    if (zoneName.length > 3 && zoneName.startsWith('GMT')) off = Number(zoneName.slice(3)) * 3600;
    return mk(wall - off, off, zoneName);
  }
  // Wall time in `loc`: resolve the offset in two steps, like Go's Date().
  let utc = wall - loc.at(wall).off;
  const z = loc.at(utc);
  utc = wall - z.off;
  const z2 = loc.at(utc);
  return mk(utc, z2.off, z2.abbr);
}
