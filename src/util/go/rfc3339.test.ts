import { describe, expect, it } from 'vitest';
import { civilFromDays, daysFromCivil, formatRfc3339, formatRfc3339Nano, parseRfc3339 } from './rfc3339.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S; // 2023-11-14T22:13:20Z

/** Inputs Go's time.Parse(time.RFC3339Nano, ...) accepts, with the instant in ns. */
const PARSE_OK: ReadonlyArray<readonly [string, bigint]> = [
  ['2023-11-14T22:13:20Z', T0],
  ['2023-11-14T22:13:20.123456789Z', T0 + 123_456_789n],
  ['2023-11-14T22:13:20.12Z', T0 + 120_000_000n],
  ['2023-11-14T22:13:20.000000001Z', T0 + 1n],
  ['2023-11-14T23:13:20+01:00', T0],
  ['2023-11-14T21:13:20-01:00', T0],
  ['2023-11-15T03:43:20+05:30', T0],
  ['1970-01-01T00:00:00Z', 0n],
  ['1969-12-31T23:59:59.999999999Z', -1n],
  ['0001-01-01T00:00:00Z', -62135596800n * S],
  ['0000-01-01T00:00:00Z', -62167219200n * S],
  ['9999-12-31T23:59:59Z', 253402300799n * S],
  ['2262-04-11T23:47:16.854775807Z', (1n << 63n) - 1n], // beyond 2^53 ns, exact
  ['2024-02-29T00:00:00Z', 1709164800n * S],
  ['2000-02-29T00:00:00Z', 951782400n * S],
  // More than nine fraction digits: Go keeps the first nine.
  ['2023-11-14T22:13:20.1234567891Z', T0 + 123_456_789n],
  // Go's general layout parser: a comma before the fraction, a one-digit hour, offsets to 24:60.
  ['2023-11-14T22:13:20,5Z', T0 + 500_000_000n],
  ['2023-11-14T2:13:20Z', T0 - 20n * 3600n * S],
  ['2023-11-15T22:13:20+24:00', T0],
  ['2023-11-14T23:13:20+00:60', T0],
];

/** Inputs Go rejects. */
const PARSE_ERR: readonly string[] = [
  '',
  'yesterday',
  '2023-11-14',
  '2023-11-14 22:13:20Z',
  '2023-11-14t22:13:20Z',
  '2023-11-14T22:13:20z',
  '2023-11-14T22:13:20',
  '2023-11-14T22:13:20.Z',
  '2023-11-14T22:13:20+0100',
  '2023-11-14T22:13:20+01',
  '2023-11-14T22:13:20Z07:00',
  '2023-11-14T22:13:20Z ',
  '2023-02-29T00:00:00Z',
  '2023-02-30T00:00:00Z',
  '2023-04-31T00:00:00Z',
  '1900-02-29T00:00:00Z',
  '2023-00-01T00:00:00Z',
  '2023-13-01T00:00:00Z',
  '2023-01-00T00:00:00Z',
  '2023-01-01T24:00:00Z',
  '2023-01-01T00:60:00Z',
  '2023-01-01T23:59:60Z',
  '2010-02-04T21:00:67.012345678-08:00',
  '2023-01-01T00:00:00+25:00',
  '2023-01-01T00:00:00+00:61',
  '0000-01-01T00:00:.0+00:00',
  '+2023-01-01T00:00:00Z',
  '12023-01-01T00:00:00Z',
  '1700000000',
];

describe('parseRfc3339 (Go time.Parse RFC3339/RFC3339Nano)', () => {
  it.each(PARSE_OK)('%s', (s, ns) => expect(parseRfc3339(s)).toBe(ns));
  it.each(PARSE_ERR.map((s) => [s]))('%j fails', (s) => expect(parseRfc3339(s)).toBeNull());
});

describe('formatRfc3339Nano/formatRfc3339 (Go Time.Format)', () => {
  it.each([
    [T0, 0, '2023-11-14T22:13:20Z', '2023-11-14T22:13:20Z'],
    [T0 + 123_456_789n, 0, '2023-11-14T22:13:20.123456789Z', '2023-11-14T22:13:20Z'],
    [T0 + 120_000_000n, 0, '2023-11-14T22:13:20.12Z', '2023-11-14T22:13:20Z'],
    [T0 + 999_999_999n, 0, '2023-11-14T22:13:20.999999999Z', '2023-11-14T22:13:20Z'],
    [T0 + 1n, 3600, '2023-11-14T23:13:20.000000001+01:00', '2023-11-14T23:13:20+01:00'],
    [T0, -5 * 3600 - 1800, '2023-11-14T16:43:20-05:30', '2023-11-14T16:43:20-05:30'],
    [T0, 30, '2023-11-14T22:13:50+00:00', '2023-11-14T22:13:50+00:00'],
    [0n, 0, '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z'],
    [-1n, 0, '1969-12-31T23:59:59.999999999Z', '1969-12-31T23:59:59Z'],
    [-62135596800n * S, 0, '0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z'],
    [-62167219201n * S, 0, '-0001-12-31T23:59:59Z', '-0001-12-31T23:59:59Z'],
    [253402300800n * S, 0, '10000-01-01T00:00:00Z', '10000-01-01T00:00:00Z'],
    [(1n << 63n) - 1n, 0, '2262-04-11T23:47:16.854775807Z', '2262-04-11T23:47:16Z'],
    [-(1n << 63n), 0, '1677-09-21T00:12:43.145224192Z', '1677-09-21T00:12:43Z'],
  ])('%d at %d', (ns, off, nano, plain) => {
    expect(formatRfc3339Nano(ns, off)).toBe(nano);
    expect(formatRfc3339(ns, off)).toBe(plain);
  });

  it('round-trips every accepted instant in every offset', () => {
    for (const [, ns] of PARSE_OK) {
      for (const off of [0, 3600, -9 * 3600 - 1800, 14 * 3600]) {
        // Only years 0..9999 print as four digits, which is all RFC3339 can read back.
        if (ns < -62135596800n * S || ns >= 253370764800n * S) continue;
        expect(parseRfc3339(formatRfc3339Nano(ns, off))).toBe(ns);
      }
    }
  });

  it('civil dates agree with Date for every day of 400 years', () => {
    const bad: number[] = [];
    for (let days = -200 * 366; days < 200 * 366; days++) {
      const d = new Date(days * 86_400_000);
      const c = civilFromDays(days);
      if (c.year !== d.getUTCFullYear() || c.month !== d.getUTCMonth() + 1 || c.day !== d.getUTCDate()) bad.push(days);
      if (daysFromCivil(c.year, c.month, c.day) !== days) bad.push(days);
    }
    expect(bad).toEqual([]);
  });
});
