import { describe, expect, it } from 'vitest';
import { DurationError, DurationScan, formatDuration, formatDurationMs, formatPromDuration, parseConfigDurationMs, parseDuration, parsePromDuration, scanDuration, tryParseDuration } from './duration.js';

const S = 1_000_000_000n;
const M = 60n * S;
const H = 60n * M;
const MS = 1_000_000n;
const US = 1000n;
const MIN_INT64 = -(1n << 63n);
const MAX_INT64 = (1n << 63n) - 1n;

/** Go's time_test.go parseDurationTests, plus the cases the old copies pinned. */
const PARSE_OK: ReadonlyArray<readonly [string, bigint]> = [
  ['0', 0n],
  ['5s', 5n * S],
  ['30s', 30n * S],
  ['1478s', 1478n * S],
  ['-5s', -5n * S],
  ['+5s', 5n * S],
  ['-0', 0n],
  ['+0', 0n],
  ['5.0s', 5n * S],
  ['5.6s', 5n * S + 600n * MS],
  ['5.s', 5n * S],
  ['.5s', 500n * MS],
  ['1.0s', S],
  ['1.00s', S],
  ['1.004s', S + 4n * MS],
  ['1.0040s', S + 4n * MS],
  ['100.00100s', 100n * S + MS],
  ['10ns', 10n],
  ['11us', 11n * US],
  ['12\u00b5s', 12n * US],
  ['12\u03bcs', 12n * US],
  ['13ms', 13n * MS],
  ['14s', 14n * S],
  ['15m', 15n * M],
  ['16h', 16n * H],
  ['3h30m', 3n * H + 30n * M],
  ['10.5s4m', 4n * M + 10n * S + 500n * MS],
  ['-2m3.4s', -(2n * M + 3n * S + 400n * MS)],
  ['1h2m3s4ms5us6ns', H + 2n * M + 3n * S + 4n * MS + 5n * US + 6n],
  ['39h9m14.425s', 39n * H + 9n * M + 14n * S + 425n * MS],
  ['52763797000ns', 52763797000n],
  // More than nine digits after the point (golang.org/issue/6617): Go scales in float64, so
  // this is exactly 20m, where an exact rational computation gives 19m59.999999999s.
  ['0.3333333333333333333h', 20n * M],
  ['9007199254740993ns', (1n << 53n) + 1n],
  ['9223372036854775807ns', MAX_INT64],
  ['9223372036854775.807us', MAX_INT64],
  ['9223372036s854ms775us807ns', MAX_INT64],
  ['-9223372036854775808ns', MIN_INT64],
  ['-9223372036854775.808us', MIN_INT64],
  ['-9223372036s854ms775us808ns', MIN_INT64],
  ['-2562047h47m16.854775808s', MIN_INT64],
  ['0.100000000000000000000h', 6n * M],
  ['0.830103483285477580700h', 49n * M + 48n * S + 372539827n],
  // Leading zeros are not an overflow.
  ['00000000000000000000001s', S],
  // The old CLI and LogQL cases.
  ['1h', H],
  ['1h30m', 90n * M],
  ['1.5s', 1500n * MS],
  ['250ms', 250n * MS],
  ['10us', 10n * US],
  ['-2m', -2n * M],
  ['1.5h', 90n * M],
  ['500us', 500n * US],
  ['104h', 104n * H],
  ['2501h', 2501n * H], // past 2^53 ns: the exact path
];

/** Go's parseDurationErrorTests (the quoted part of the message), plus ours. */
const PARSE_ERR: ReadonlyArray<readonly [string, string]> = [
  ['', 'time: invalid duration ""'],
  ['3', 'time: missing unit in duration "3"'],
  ['-', 'time: invalid duration "-"'],
  ['s', 'time: invalid duration "s"'],
  ['.', 'time: invalid duration "."'],
  ['-.', 'time: invalid duration "-."'],
  ['.s', 'time: invalid duration ".s"'],
  ['+.s', 'time: invalid duration "+.s"'],
  ['1d', 'time: unknown unit "d" in duration "1d"'],
  ['\u0085\u0085', 'time: invalid duration "\\xc2\\x85\\xc2\\x85"'],
  ['\uFFFD', 'time: invalid duration "\\xef\\xbf\\xbd"'],
  ['\uFFFD hello \uFFFD world', 'time: invalid duration "\\xef\\xbf\\xbd hello \\xef\\xbf\\xbd world"'],
  ['9223372036854775810ns', 'time: invalid duration "9223372036854775810ns"'],
  ['9223372036854775808ns', 'time: invalid duration "9223372036854775808ns"'],
  ['-9223372036854775809ns', 'time: invalid duration "-9223372036854775809ns"'],
  ['9223372036854776us', 'time: invalid duration "9223372036854776us"'],
  ['3000000h', 'time: invalid duration "3000000h"'],
  ['9223372036854775.808us', 'time: invalid duration "9223372036854775.808us"'],
  ['9223372036854ms775us808ns', 'time: invalid duration "9223372036854ms775us808ns"'],
  // leadingInt overflows before the unit is looked at.
  ['99999999999999999999x', 'time: invalid duration "99999999999999999999x"'],
  ['5', 'time: missing unit in duration "5"'],
  ['1 h', 'time: unknown unit " h" in duration "1 h"'],
  ['h', 'time: invalid duration "h"'],
  ['1.5\u00b5x', 'time: unknown unit "\\xc2\\xb5x" in duration "1.5\\xc2\\xb5x"'],
  ['a"b', 'time: invalid duration "a\\"b"'],
  [' 1s', 'time: invalid duration " 1s"'],
];

/** Go's time_test.go durationTests for Duration.String. */
const FORMAT: ReadonlyArray<readonly [string, bigint]> = [
  ['0s', 0n],
  ['1ns', 1n],
  ['1.1\u00b5s', 1100n],
  ['2.2ms', 2200n * US],
  ['3.3s', 3300n * MS],
  ['4m5s', 4n * M + 5n * S],
  ['4m5.001s', 4n * M + 5001n * MS],
  ['5h6m7.001s', 5n * H + 6n * M + 7001n * MS],
  ['8m0.000000001s', 8n * M + 1n],
  ['2562047h47m16.854775807s', MAX_INT64],
  ['-2562047h47m16.854775808s', MIN_INT64],
  ['1h0m0s', H],
  ['24h0m0s', 24n * H],
  ['1m30s', 90n * S],
  ['500ms', 500n * MS],
  ['-1.5s', -1500n * MS],
  ['1m0s', M],
];

describe('parseDuration (Go time.ParseDuration)', () => {
  it.each(PARSE_OK)('%s', (s, ns) => {
    expect(parseDuration(s)).toBe(ns);
    expect(tryParseDuration(s)).toBe(ns);
    const out = new DurationScan();
    expect(scanDuration(s, out)).toBe(true);
    expect(out.ns).toBe(Number(ns));
    expect(out.big ?? BigInt(out.ns)).toBe(ns);
  });

  it.each(PARSE_ERR)('%j fails', (s, msg) => {
    expect(() => parseDuration(s)).toThrow(DurationError);
    expect(() => parseDuration(s)).toThrow(msg);
    expect(tryParseDuration(s)).toBeNull();
    const out = new DurationScan();
    expect(scanDuration(s, out)).toBe(false);
    expect(out.error).toBe(msg);
  });

  it('round-trips through formatDuration', () => {
    for (const [, ns] of PARSE_OK) expect(parseDuration(formatDuration(ns))).toBe(ns);
  });

  /** Go's ParseDuration written plainly in bigint, as a reference for the float fast path. */
  function reference(orig: string): bigint | null {
    const units: Record<string, bigint> = { ns: 1n, us: 1000n, '\u00b5s': 1000n, '\u03bcs': 1000n, ms: MS, s: S, m: M, h: H };
    const two63 = 1n << 63n;
    let s = orig;
    let neg = false;
    if (s[0] === '-' || s[0] === '+') {
      neg = s[0] === '-';
      s = s.slice(1);
    }
    if (s === '0') return 0n;
    if (s === '') return null;
    let d = 0n;
    while (s !== '') {
      const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
      if (m[0] === '' || (m[1] === '' && !m[2])) return null;
      const v0 = BigInt(m[1] || '0');
      if (v0 > two63) return null;
      s = s.slice(m[0].length);
      const u = /^[^0-9.]*/.exec(s)![0];
      const unit = units[u];
      if (unit === undefined) return null;
      s = s.slice(u.length);
      if (v0 > two63 / unit) return null;
      let v = v0 * unit;
      let f = 0n;
      let scale = 1;
      for (const ch of m[2] ?? '') {
        if (f > (two63 - 1n) / 10n || f * 10n + BigInt(ch) > two63) break;
        f = f * 10n + BigInt(ch);
        scale *= 10;
      }
      if (f > 0n) v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > two63) return null;
      d += v;
      if (d > two63) return null;
    }
    if (!neg && d > two63 - 1n) return null;
    return neg ? -d : d;
  }

  it('agrees with a plain bigint reference on random inputs', () => {
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pieces = ['0', '1', '9', '12', '.', '.5', '000', '99999', '1234567890123', '92233720368547758', 'ns', 'us', '\u00b5s', 'ms', 's', 'm', 'h', 'd', ''];
    for (let k = 0; k < 20_000; k++) {
      let s = rnd(4) === 0 ? '-' : '';
      const parts = 1 + rnd(4);
      for (let p = 0; p < parts; p++) s += pieces[rnd(pieces.length)]! + pieces[rnd(pieces.length)]! + pieces[10 + rnd(8)]!;
      expect(tryParseDuration(s), s).toBe(reference(s));
    }
  });
});

describe('formatDuration (Go Duration.String)', () => {
  it.each(FORMAT)('%s', (text, ns) => expect(formatDuration(ns)).toBe(text));

  it.each([
    [0, '0s'],
    [250, '250ms'],
    [90_000, '1m30s'],
    [7_200_000, '2h0m0s'],
    [1.5, '1.5ms'],
    [0.001, '1\u00b5s'],
    [-1000, '-1s'],
  ])('formatDurationMs(%s)', (ms, text) => expect(formatDurationMs(ms)).toBe(text));
});

describe('parsePromDuration (Prometheus model.ParseDuration)', () => {
  it.each([
    ['0', 0n],
    ['0s', 0n],
    ['324ms', 324n * MS],
    ['3s', 3n * S],
    ['5m', 5n * M],
    ['1h', H],
    ['4d', 96n * H],
    ['4d1h', 97n * H],
    ['14d', 14n * 24n * H],
    ['3w', 21n * 24n * H],
    ['1w2d', 9n * 24n * H],
    ['10y', 3650n * 24n * H],
    ['1h30m', 90n * M],
    ['1y1w1d1h1m1s1ms', (365n + 8n) * 24n * H + H + M + S + MS],
  ])('%s', (s, ns) => expect(parsePromDuration(s)).toEqual({ ok: true, ns }));

  it.each([
    ['', 'empty duration string'],
    ['1', 'not a valid duration string: "1"'],
    ['1.5h', 'unknown unit "." in duration "1.5h"'],
    ['-1h', 'not a valid duration string: "-1h"'],
    ['1m1h', 'not a valid duration string: "1m1h"'],
    ['1h1h', 'not a valid duration string: "1h1h"'],
    ['1us', 'unknown unit "us" in duration "1us"'],
    ['h', 'not a valid duration string: "h"'],
    ['300y', 'duration out of range'],
    ['292y25w', 'duration out of range'],
    ['99999999999999999999s', 'not a valid duration string: "99999999999999999999s"'],
  ])('%j fails', (s, error) => expect(parsePromDuration(s)).toEqual({ ok: false, error }));
});

describe('formatPromDuration (Prometheus model.Duration.String)', () => {
  it.each([
    [0n, '0s'],
    [999_999n, '0s'],
    [MS, '1ms'],
    [S, '1s'],
    [90n * S, '1m30s'],
    [H, '1h'],
    [721n * H, '30d1h'],
    [90n * 24n * H, '90d'],
    [14n * 24n * H, '2w'],
    [365n * 24n * H, '1y'],
    [(365n + 7n) * 24n * H, '372d'],
    [-H, '-1h'],
    [24n * H + MS, '1d1ms'],
  ])('%d → %s', (ns, text) => {
    expect(formatPromDuration(ns)).toBe(text);
    if (ns >= MS && ns % MS === 0n) expect(parsePromDuration(text)).toEqual({ ok: true, ns });
  });
});

describe('parseConfigDurationMs (Silt config and HTTP parameters)', () => {
  it.each([
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1y', 31_536_000_000],
    ['0', 0],
    ['1.5s', 1500],
    ['1us', 0.001],
    ['-5m', -300_000],
    [' 5m ', 300_000],
    ['1s1h', 3_601_000],
    ['5', null],
    ['', null],
    ['1x', null],
    ['+1s', null],
    ['.5s', null],
    ['1.s', null],
  ])('%j', (s, ms) => expect(parseConfigDurationMs(s)).toBe(ms));
});
