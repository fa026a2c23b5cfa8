import { describe, expect, it } from 'vitest';
import { formatTime, parseGoDuration, parseTimeArg } from './time.js';
import { parseFlags, Flags } from './flags.js';
import { humanBytes } from './main.js';
import { labelSetString } from './output.js';

describe('time', () => {
  it.each([
    ['1h', 3_600_000_000_000n],
    ['1h30m', 5_400_000_000_000n],
    ['1.5s', 1_500_000_000n],
    ['250ms', 250_000_000n],
    ['10us', 10_000n],
    ['0', 0n],
    ['-2m', -120_000_000_000n],
  ])('parseGoDuration(%s)', (s, ns) => {
    expect(parseGoDuration(s)).toBe(ns);
  });

  it('rejects what Go rejects', () => {
    for (const s of ['1d', '', 'h', '1 h', '5']) expect(() => parseGoDuration(s)).toThrow(/time: invalid duration/);
  });

  it('formats RFC3339Nano exactly, trimming zeros like Go', () => {
    expect(formatTime(1_700_000_000_123_456_789n, 'UTC')).toBe('2023-11-14T22:13:20.123456789Z');
    expect(formatTime(1_700_000_000_120_000_000n, 'UTC')).toBe('2023-11-14T22:13:20.12Z');
    expect(formatTime(1_700_000_000_000_000_000n, 'UTC')).toBe('2023-11-14T22:13:20Z');
    expect(formatTime(1_700_000_000_999_999_999n, 'UTC', false)).toBe('2023-11-14T22:13:20Z');
    expect(formatTime(1_700_000_000_000_000_001n, 'Local')).toMatch(/^2023-11-1\dT\d\d:\d\d:20\.000000001(Z|[+-]\d\d:\d\d)$/);
  });

  it('parses absolute times without losing nanoseconds', () => {
    expect(parseTimeArg('2023-11-14T22:13:20.123456789Z', 'from')).toBe(1_700_000_000_123_456_789n);
    expect(parseTimeArg('2023-11-14T23:13:20+01:00', 'from')).toBe(1_700_000_000_000_000_000n);
    expect(parseTimeArg('1700000000', 'from')).toBe(1_700_000_000_000_000_000n);
    expect(() => parseTimeArg('yesterday', 'from')).toThrow(/unable to parse time for --from 'yesterday'/);
  });
});

describe('flags', () => {
  const specs = [
    { name: 'limit', kind: 'int', def: '30', help: '' },
    { name: 'quiet', short: 'q', kind: 'bool', def: 'false', help: '' },
    { name: 'output', short: 'o', kind: 'string', def: 'default', values: ['default', 'raw', 'jsonl'], help: '' },
    { name: 'include-label', kind: 'strings', help: '' },
    { name: 'addr', kind: 'string', def: 'http://localhost:3100', env: 'LOKI_ADDR', help: '' },
  ] as const;

  it('long, short, = and space forms, repeats, env and defaults', () => {
    const f = new Flags(parseFlags(['{a="b"}', '--limit=5', '-q', '-o', 'raw', '--include-label', 'x', '--include-label=y'], specs, { LOKI_ADDR: 'http://h:1' }));
    expect(f.args).toEqual(['{a="b"}']);
    expect(f.int('limit')).toBe(5);
    expect(f.bool('quiet')).toBe(true);
    expect(f.str('output')).toBe('raw');
    expect(f.list('include-label')).toEqual(['x', 'y']);
    expect(f.str('addr')).toBe('http://h:1');
    expect(new Flags(parseFlags(['--addr', 'http://z'], specs, { LOKI_ADDR: 'http://h:1' })).str('addr')).toBe('http://z');
    expect(new Flags(parseFlags(['--no-quiet'], specs, {})).bool('quiet')).toBe(false);
  });

  it.each([
    [['--nope'], /unknown long flag '--nope'/],
    [['-x'], /unknown short flag '-x'/],
    [['--limit', 'many'], /strconv.ParseInt: parsing "many"/],
    [['-o', 'xml'], /enum value must be one of default,raw,jsonl, got 'xml'/],
    [['--limit'], /expected argument for flag '--limit'/],
  ])('%j is an error', (argv, re) => {
    expect(() => parseFlags(argv, specs, {})).toThrow(re);
  });
});

describe('formatting', () => {
  it('humanBytes like go-humanize', () => {
    expect(humanBytes(7)).toBe('7B');
    expect(humanBytes(523_000)).toBe('523kB');
    expect(humanBytes(1_234_567)).toBe('1.2MB');
  });

  it('label sets like loghttp.LabelSet.String', () => {
    expect(labelSetString({ b: '2', a: 'x"y' })).toBe('{a="x\\"y", b="2"}');
  });
});
