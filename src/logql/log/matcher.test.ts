import { describe, expect, it } from 'vitest';
import { ParseError } from '../../errors.js';
import type { MatchType } from '../../model/matcher.js';
import { parseExpr } from '../syntax/parse.js';
import { compileAnchored } from '../syntax/regex.js';
import { compileMatcher, compileSelector, literalAlternatives } from './matcher.js';
import { describeUnsupported } from './unsupported.js';

describe('compileMatcher', () => {
  it.each<[MatchType, string, string, boolean]>([
    ['=', 'a', 'a', true],
    ['=', 'a', 'b', false],
    ['!=', 'a', 'a', false],
    ['=~', 'a|b', 'b', true],
    ['=~', 'a|b', 'ab', false],
    ['=~', 'a.*', 'abc', true],
    ['=~', 'b', 'abc', false], // anchored
    ['=~', '.*', '', true],
    ['=~', '.+', '', false],
    ['=~', '.+', 'x', true],
    ['=~', 'a.b', 'a\nb', true], // (?s): dot matches newline, as in Prometheus
    ['!~', 'a|b', 'a', false],
    ['!~', '.*', 'x', false],
    ['!~', 'x.+', 'x', true],
    ['=~', '', '', true],
    ['=~', '(?i)ABC', 'abc', true],
  ])('%s %j on %j', (type, value, input, want) => {
    expect(compileMatcher('l', type, value).matches(input)).toBe(want);
  });

  it('agrees with anchored RE2 on the fast paths', () => {
    for (const p of ['a|b|c', 'foo', '.*', '.+', 'x|', '|']) {
      const re = compileAnchored(p);
      for (const v of ['', 'a', 'b', 'c', 'foo', 'x', 'ab', 'a|b', '\n']) {
        expect(compileMatcher('l', '=~', p).matches(v)).toBe(re.test(v));
        expect(compileMatcher('l', '!~', p).matches(v)).toBe(!re.test(v));
      }
    }
  });

  it('finds literal alternations', () => {
    expect(literalAlternatives('a|b|c')).toEqual(['a', 'b', 'c']);
    expect(literalAlternatives('a.b')).toBeNull();
  });

  it('throws ParseError for invalid regexes', () => {
    expect(() => compileMatcher('l', '=~', '(a')).toThrow(ParseError);
    expect(() => compileMatcher('l', '=~', '(a')).toThrow('error parsing regexp: missing closing ): `(a`');
  });

  it('compiles a selector', () => {
    const ms = compileSelector(parseExpr('sum(rate({a="b", c!~"d"}[1m]))'));
    expect(ms.map((m) => [m.name, m.type, m.value])).toEqual([
      ['a', '=', 'b'],
      ['c', '!~', 'd'],
    ]);
  });
});

describe('describeUnsupported', () => {
  it.each([
    ['{a="b"}', null],
    ['{a="b"} |= "x" != "y" |~ "z" !~ "w" or "v"', null],
    ['{a="b"} | json', null],
    ['{a="b"} |= "x" | logfmt | x="y" | line_format "{{.x}}" | label_format a=b | drop c | keep d | decolorize', null],
    ['{a="b"} | regexp "(?P<x>.)" | pattern "<y> <_>" | unpack', null],
    ['{a="b"} |> "<_>"', null],
    ['{a="b"} |= ip("1.1.1.1")', null],
    ['rate({a="b"}[1m])', 'not implemented yet: metric queries (rate)'],
  ])('%s', (query, want) => {
    expect(describeUnsupported(parseExpr(query))).toBe(want);
  });
});
