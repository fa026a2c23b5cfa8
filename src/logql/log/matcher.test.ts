import { describe, expect, it } from 'vitest';
import { ParseError } from '../../errors.js';
import type { MatchType } from '../../model/matcher.js';
import { parseExpr } from '../syntax/parse.js';
import { compileAnchored } from '../syntax/regex.js';
import { compileMatcher, compileSelector, literalAlternatives, literalPrefix } from './matcher.js';
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

  it('agrees with anchored RE2 when a literal prefix short-cuts the regex', () => {
    const patterns = ['app-1.*', 'app-1.+', 'ab*', 'ab+c', 'ab?', 'ab{2}', 'a.b', 'ab.*c', 'ab|ac.*', 'a\\.b.*', 'é.*', '😀+', '😀x.*', 'x(y|z).*', 'ab[cd]', '(?i)ab.*', 'a\nb.*', 'abc.*'];
    const values = ['', 'a', 'ab', 'abb', 'abc', 'abbc', 'ac', 'acx', 'a.b', 'aXb', 'app-1', 'app-10-x', 'app-2', 'é', 'éa', '😀', '😀😀', '😀x', '\uD83D', 'xy', 'xyz', 'AB', 'Abc', 'a\nb\n', 'abc\n'];
    for (const p of patterns) {
      const re = compileAnchored(p);
      for (const v of values) {
        expect(compileMatcher('l', '=~', p).matches(v), `${p} ${v}`).toBe(re.test(v));
        expect(compileMatcher('l', '!~', p).matches(v), `${p} ${v}`).toBe(!re.test(v));
      }
    }
    expect(literalPrefix('app-1.*')).toBe('app-1');
    expect(literalPrefix('ab*')).toBe('a');
    expect(literalPrefix('😀+')).toBe('');
    expect(literalPrefix('a|b.*')).toBe('');
    expect(literalPrefix('(?i)ab')).toBe('');
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
