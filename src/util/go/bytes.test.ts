import { describe, expect, it } from 'vitest';
import { BytesError, BytesScan, formatByteSize, formatConfigBytes, formatHumanBytes, formatHumanIBytes, parseByteSize, parseConfigBytes, parseHumanBytes, scanHumanBytes, tryParseHumanBytes } from './bytes.js';

/** go-humanize bytes_test.go TestByteParsing, plus the cases the old copies pinned. */
const HUMAN_OK: ReadonlyArray<readonly [string, number]> = [
  ['42', 42],
  ['42MB', 42000000],
  ['42mib', 44040192],
  ['42 mib', 44040192],
  ['42MiB', 44040192],
  ['42 MiB', 44040192],
  ['15 EB', 15e18],
  ['15 EiB', 15 * 1024 ** 6],
  ['42 M', 42000000],
  ['42 Mi', 44040192],
  ['42mb', 42000000],
  ['42 Mb', 42000000],
  ['1,005.03 MB', 1005030000],
  ['1,005.03 MiB', 1053850337],
  ['0.5kb', 500],
  ['1.5 KiB', 1536],
  ['1,024 b', 1024],
  ['1MB', 1000000],
  ['10KB', 10000],
  ['1MiB', 1048576],
  ['12.', 12],
  ['.5k', 500],
  ['1kb ', 1000],
  ['1\u00a0kb', 1000], // Go's TrimSpace takes NBSP
  ['2.9999999 b', 2],
];

const HUMAN_ERR: ReadonlyArray<readonly [string, string]> = [
  ['', 'strconv.ParseFloat: parsing "": invalid syntax'],
  ['B', 'strconv.ParseFloat: parsing "": invalid syntax'],
  [' 1kb', 'strconv.ParseFloat: parsing "": invalid syntax'],
  ['1.2.3kb', 'strconv.ParseFloat: parsing "1.2.3": invalid syntax'],
  ['.kb', 'strconv.ParseFloat: parsing ".": invalid syntax'],
  ['12 zz', 'unhandled size name: zz'],
  ['42 ZB', 'unhandled size name: zb'],
  ['1e3', 'unhandled size name: e3'],
  ['-1kb', 'strconv.ParseFloat: parsing "": invalid syntax'],
  ['20000000 EB', 'too large: 20000000 EB'],
  ['1' + '0'.repeat(400), `strconv.ParseFloat: parsing "1${'0'.repeat(400)}": value out of range`],
  ['\u0661kb', 'strconv.ParseFloat: parsing "\u0661": invalid syntax'], // unicode.IsDigit, then ParseFloat
  ['1\ufeffkb', 'unhandled size name: \ufeffkb'], // not Go space
];

describe('parseHumanBytes (go-humanize ParseBytes)', () => {
  it.each(HUMAN_OK)('%j', (s, n) => {
    expect(parseHumanBytes(s)).toBe(n);
    expect(tryParseHumanBytes(s)).toBe(n);
  });

  it.each(HUMAN_ERR)('%j fails', (s, msg) => {
    expect(() => parseHumanBytes(s)).toThrow(BytesError);
    expect(() => parseHumanBytes(s)).toThrow(msg);
    expect(tryParseHumanBytes(s)).toBeNull();
    const out = new BytesScan();
    expect(scanHumanBytes(s, out)).toBe(false);
    expect(out.error).toBe(msg);
  });
});

describe('formatHumanBytes (go-humanize Bytes/IBytes)', () => {
  it.each([
    [0, '0 B'],
    [7, '7 B'],
    [9, '9 B'],
    [10, '10 B'],
    [523_000, '523 kB'],
    [1_234_567, '1.2 MB'],
    [82_854_982, '83 MB'],
    [1_000_000, '1.0 MB'],
    [999_999, '1000 kB'],
    [1e9, '1.0 GB'],
    [1e18, '1.0 EB'],
    // %.0f rounds half to even, as Go's fmt does.
    [12_500, '12 kB'],
    [13_500, '14 kB'],
    [312_500, '312 kB'],
  ])('Bytes(%d)', (n, text) => expect(formatHumanBytes(n)).toBe(text));

  it.each([
    [1024, '1.0 KiB'],
    [82_854_982, '79 MiB'],
    [5, '5 B'],
  ])('IBytes(%d)', (n, text) => expect(formatHumanIBytes(n)).toBe(text));
});

describe('parseByteSize/formatByteSize (Loki flagext.ByteSize, c2h5oh/datasize)', () => {
  it.each([
    ['0', 0n],
    ['', 0n],
    ['42', 42n],
    ['42b', 42n],
    ['1KB', 1024n],
    ['1kb', 1024n],
    ['1k', 1024n],
    ['1 MB', 1048576n],
    ['1mb', 1048576n],
    ['2 megabytes', 2097152n],
    ['1GB', 1024n ** 3n],
    ['1TB', 1024n ** 4n],
    ['1PB', 1024n ** 5n],
    ['15EB', 15n * 1024n ** 6n],
    ['18446744073709551615', 18446744073709551615n],
  ])('%j', (s, n) => expect(parseByteSize(s)).toBe(n));

  it.each([
    ['1KiB', 'strconv.UnmarshalText: parsing "1KIB": invalid syntax'],
    ['1.5MB', 'strconv.UnmarshalText: parsing "1.5MB": invalid syntax'],
    ['MB', 'strconv.UnmarshalText: parsing "MB": invalid syntax'],
    ['-1', 'strconv.UnmarshalText: parsing "-1": invalid syntax'],
    ['16EB', 'strconv.UnmarshalText: parsing "16EB": value out of range'],
    ['18446744073709551616', 'strconv.UnmarshalText: parsing "18446744073709551616": value out of range'],
  ])('%j fails', (s, msg) => expect(() => parseByteSize(s)).toThrow(msg));

  it.each([
    [0n, '0B'],
    [1n, '1B'],
    [1023n, '1023B'],
    [1024n, '1KB'],
    [1536n, '1536B'],
    [262144n, '256KB'],
    [1048576n, '1MB'],
    [3n * 1024n ** 3n, '3GB'],
    [1024n ** 6n, '1EB'],
  ])('String(%d)', (n, text) => {
    expect(formatByteSize(n)).toBe(text);
    expect(parseByteSize(text)).toBe(n);
  });
});

describe('parseConfigBytes/formatConfigBytes (Silt config)', () => {
  it.each([
    ['256KB', 256_000],
    ['1MiB', 1_048_576],
    ['1.5MB', 1_500_000],
    ['42', 42],
    ['1XB', null],
    ['1k', 1024],
    ['2m', 2 * 1024 ** 2],
    ['1g', 1024 ** 3],
    [' 1 KiB ', 1024],
    ['1.9', 1],
    ['-1', null],
    [42.7, 42],
    [-1, null],
    [Infinity, null],
    ['1PB', null],
  ])('%j', (s, n) => expect(parseConfigBytes(s)).toBe(n));

  it.each([
    [0, '0'],
    [100, '100'],
    [262_144, '256KiB'],
    [1_572_864, '1536KiB'],
    [1_048_576, '1MiB'],
    [1024 ** 3, '1GiB'],
    [1000, '1000'],
  ])('formatConfigBytes(%d)', (n, text) => {
    expect(formatConfigBytes(n)).toBe(text);
    expect(parseConfigBytes(text)).toBe(n);
  });
});
