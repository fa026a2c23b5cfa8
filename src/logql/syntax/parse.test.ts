import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../errors.js';
import type { Expr } from './ast.js';
import { editDistance, PARSE_CACHE_SIZE, parseAll, parseExpr, parseSelector, setParseCacheSize } from './parse.js';
import { printExpr } from './printer.js';
import { seededRandom } from '../../util/random.js';

const corpus = (name: string): string[] => {
  const text = readFileSync(new URL(`../../../test/logql/${name}`, import.meta.url), 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
};

function parseError(q: string): ParseError {
  try {
    parseExpr(q);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error(`expected a ParseError for ${JSON.stringify(q)}`);
}

describe('valid corpus', () => {
  const valid = corpus('corpus-valid.txt');
  it('has at least 150 queries', () => expect(valid.length).toBeGreaterThanOrEqual(150));
  it.each(valid.map((q) => [q]))('%s', (q) => {
    expect(parseAll(q)).toHaveLength(1);
    const e = parseExpr(q);
    const printed = printExpr(e);
    const again = parseExpr(printed);
    expect(again).toEqual(e);
    expect(printExpr(again)).toBe(printed);
  });
});

describe('invalid corpus', () => {
  const invalid = corpus('corpus-invalid.txt');
  it('has at least 60 queries', () => expect(invalid.length).toBeGreaterThanOrEqual(60));
  it.each(invalid.map((q) => [q]))('%j', (q) => {
    const err = parseError(q);
    expect(err.line).toBeGreaterThanOrEqual(1);
    expect(err.col).toBeGreaterThanOrEqual(1);
    expect(err.message).toMatch(/^parse error at line \d+, col \d+: /);
  });
});

describe('Loki error messages', () => {
  it.each([
    ['{foo="bar', 1, 6, 'literal not terminated'],
    ['{foo="bar"', 1, 11, 'syntax error: unexpected $end, expecting } or ,'],
    ['{foo="bar"} |~', 1, 15, 'syntax error: unexpected $end, expecting STRING or ip'],
    ['{foo="bar"} foo', 1, 13, 'syntax error: unexpected IDENTIFIER'],
    ['|= "x"', 1, 1, 'syntax error: unexpected |='],
    ['{app="foo"}\n| json\n| foo=', 3, 7, 'syntax error: unexpected $end'],
    [
      '{app=~".*"}',
      1,
      1,
      'queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will',
    ],
    ['{app=~"(abc"}', 1, 2, 'error parsing regexp: missing closing ): `(abc`'],
    ['count_over_time({app="foo"}[1.5h])', 1, 28, 'unknown unit "." in duration "1.5h"'],
    ['count_over_time({app="foo"}[5x])', 1, 28, 'unknown unit "x" in duration "5x"'],
    ['count_over_time({app="foo"}[5m', 1, 28, "missing closing ']' in duration"],
    ['sum_over_time({app="foo"}[5m])', 1, 1, 'invalid aggregation sum_over_time without unwrap'],
    ['count_over_time({app="foo"} | unwrap x [5m])', 1, 1, 'invalid aggregation count_over_time with unwrap'],
    ['rate({app="foo"}[5m]) by (a)', 1, 1, 'grouping not allowed for rate aggregation'],
    ['quantile_over_time({app="foo"} | unwrap x [5m])', 1, 1, 'parameter required for operation quantile_over_time'],
    ['rate(0.5, {app="foo"}[5m])', 1, 1, 'parameter 0.5 not supported for operation rate'],
    ['topk(rate({app="foo"}[5m]))', 1, 1, 'parameter required for operation topk'],
    ['topk(0, rate({app="foo"}[5m]))', 1, 1, 'invalid parameter (must be greater than 0) topk(0'],
    ['topk(1.5, rate({app="foo"}[5m]))', 1, 1, 'invalid parameter topk(1.5,'],
    ['sum(5, rate({app="foo"}[5m]))', 1, 1, 'unsupported parameter for operation sum(5,'],
    ['sort by (a) (rate({app="foo"}[5m]))', 1, 1, "sort and sort_desc doesn't allow grouping by "],
    ['approx_topk by (a) (5, rate({app="foo"}[5m]))', 1, 1, 'grouping not allowed for approx_topk aggregation'],
    ['1 and rate({app="foo"}[5m])', 1, 3, 'unexpected literal for left leg of logical/set binary operation (and): 1.000000'],
    ['label_replace(rate({app="foo"}[5m]), "d", "$1", "s", "(.*")', 1, 1, 'invalid regex in label_replace: error parsing regexp: missing closing ): `(.*`'],
    ['vector(1e999)', 1, 1, 'unable to parse vectorExpr as a float: strconv.ParseFloat: parsing "1e999": value out of range'],
    ['{app="foo"} | regexp "abc"', 1, 22, 'invalid regexp parser: at least one named capture must be supplied'],
  ])('%j', (q, line, col, detail) => {
    const err = parseError(q);
    expect(err.detail).toBe(detail);
    expect([err.line, err.col]).toEqual([line, col]);
  });

  it('refuses oversized input like Loki', () => {
    const q = `{app="${'x'.repeat(6000)}"}`;
    expect(parseError(q).detail).toBe(`input size too long (${q.length} > 5120)`);
  });
});

describe('AST shapes', () => {
  const lf = (q: string): unknown => {
    const e = parseExpr(`{a="b"} | ${q}`);
    if (e.kind !== 'logSelector') throw new Error('not a log query');
    const s = e.stages[0]!;
    if (s.kind !== 'labelFilter') throw new Error('not a label filter');
    return printExpr({ kind: 'logSelector', matchers: [], stages: [s] });
  };

  it('groups label filters like yacc', () => {
    expect(lf('x="1" and y="2" or z="3"')).toBe('{} | (x="1" and y="2") or z="3"');
    expect(lf('x="1" or y="2" and z="3"')).toBe('{} | x="1" or (y="2" and z="3")');
    expect(lf('x="1", y="2" or z="3"')).toBe('{} | x="1" and (y="2" or z="3")');
    expect(lf('x="1" or y="2", z="3"')).toBe('{} | x="1" or (y="2" and z="3")');
    expect(lf('x="1" y="2" z="3"')).toBe('{} | x="1" and (y="2" and z="3")');
  });

  it('gives binary operators Loki precedence and associativity', () => {
    const p = (q: string): string => {
      const e = parseExpr(q);
      const show = (x: Expr): string => (x.kind === 'binOp' ? `(${show(x.lhs)} ${x.op} ${show(x.rhs)})` : printExpr(x));
      return show(e);
    };
    expect(p('1 + 2 * 3')).toBe('(1 + (2 * 3))');
    expect(p('1 - 2 - 3')).toBe('((1 - 2) - 3)');
    expect(p('2 ^ 3 ^ 2')).toBe('(2 ^ (3 ^ 2))');
    expect(p('vector(1) or vector(2) and vector(3)')).toBe('(vector(1) or (vector(2) and vector(3)))');
    expect(p('1 + 1 > 1 * 2')).toBe('((1 + 1) > (1 * 2))');
    expect(p('vector(1) and vector(2) unless vector(3)')).toBe('((vector(1) and vector(2)) unless vector(3))');
  });

  it('keeps durations exact', () => {
    const e = parseExpr('count_over_time({a="b"}[1y] offset -1500ns)');
    expect(e.kind === 'rangeAggregation' && [e.range.rangeNs, e.range.offsetNs]).toEqual([365n * 24n * 3600n * 1_000_000_000n, -1500n]);
  });

  it('applies `or` alternatives to the preceding line filter', () => {
    const e = parseExpr('{a="b"} != "x" or "y" |= "z"');
    expect(e.kind === 'logSelector' && e.stages).toEqual([
      { kind: 'lineFilter', op: '!=', args: [{ ip: false, value: 'x' }, { ip: false, value: 'y' }] },
      { kind: 'lineFilter', op: '|=', args: [{ ip: false, value: 'z' }] },
    ]);
  });

  it('reads `drop a != "x"` as a matcher, like yacc', () => {
    const e = parseExpr('{a="b"} | drop a != "x"');
    expect(e.kind === 'logSelector' && e.stages).toEqual([
      { kind: 'drop', labels: [{ name: 'a', matcher: { kind: 'matcher', name: 'a', type: '!=', value: 'x' } }] },
    ]);
  });

  it('treats function names as identifiers unless called', () => {
    expect(parseExpr('{rate="x", sum="y"} | bytes > 1 | ip="z"')).toMatchObject({ kind: 'logSelector' });
  });
});

describe('parseSelector', () => {
  it('returns stream matchers', () => {
    expect(parseSelector('{a="b", c=~"d.*"}').matchers).toEqual([
      { kind: 'matcher', name: 'a', type: '=', value: 'b' },
      { kind: 'matcher', name: 'c', type: '=~', value: 'd.*' },
    ]);
  });
  it('rejects pipelines and metric queries', () => {
    expect(() => parseSelector('{a="b"} |= "x"')).toThrow(ParseError);
    expect(() => parseSelector('rate({a="b"}[1m])')).toThrow('only label matchers is supported');
  });
  it('validates unless told not to', () => {
    expect(() => parseSelector('{a=~".*"}')).toThrow(ParseError);
    expect(parseSelector('{a=~".*"}', false).matchers).toHaveLength(1);
  });
});

const rng = seededRandom;

describe('fuzz', () => {
  const valid = corpus('corpus-valid.txt');
  const alphabet = ['{', '}', '(', ')', '[', ']', '"', '`', '|', '=', '~', '!', '>', '<', ',', ' ', '-', '+', '*', '/', '^', '%', '#', '\n', '\\', 'a', 'x', '5', '0', '.', 'm', 's', 'h', 'B', 'K', 'i', 'é', '𝄞', 'sum', 'rate', 'by', 'or', 'and', 'json', 'unwrap', 'bool', 'on', 'offset', 'ip', '--strict', '[5m]'];

  function check(q: string): void {
    let e: Expr;
    try {
      e = parseExpr(q);
    } catch (err) {
      if (!(err instanceof ParseError)) throw new Error(`non-ParseError for ${JSON.stringify(q)}: ${String(err)}`);
      expect(err.line).toBeGreaterThanOrEqual(1);
      return;
    }
    expect(parseAll(q)).toHaveLength(1);
    expect(parseExpr(printExpr(e))).toEqual(e);
  }

  it('never crashes or hangs on random token soup', () => {
    const r = rng(42);
    for (let i = 0; i < 3000; i++) {
      let q = '';
      const len = Math.floor(r() * 30);
      for (let j = 0; j < len; j++) q += alphabet[Math.floor(r() * alphabet.length)];
      check(q);
    }
  });

  it('never crashes on mutated valid queries', () => {
    const r = rng(7);
    for (let i = 0; i < 3000; i++) {
      const base = valid[Math.floor(r() * valid.length)]!;
      const pos = Math.floor(r() * (base.length + 1));
      const op = r();
      let q: string;
      if (op < 0.33) q = base.slice(0, pos) + base.slice(pos + 1);
      else if (op < 0.66) q = base.slice(0, pos) + alphabet[Math.floor(r() * alphabet.length)] + base.slice(pos);
      else q = base.slice(0, pos);
      check(q);
    }
  });

  it('never crashes on random bytes', () => {
    const r = rng(1);
    for (let i = 0; i < 1000; i++) {
      let q = '';
      const len = Math.floor(r() * 40);
      for (let j = 0; j < len; j++) q += String.fromCharCode(Math.floor(r() * 0x3000));
      check(q);
    }
  });
});

describe('throughput', () => {
  it('parses typical Grafana queries (figure printed; more in test/logql/parse-throughput.ts)', () => {
    const q = 'sum by (level) (count_over_time({app="x", env=~"prod|dev"} |= "err" | json | level="error" [5m]))';
    let best = 0;
    setParseCacheSize(0);
    try {
      for (let round = 0; round < 5; round++) {
        const n = 3000;
        const t0 = performance.now();
        for (let i = 0; i < n; i++) parseExpr(q);
        best = Math.max(best, n / ((performance.now() - t0) / 1000));
      }
    } finally {
      setParseCacheSize(PARSE_CACHE_SIZE);
    }
    console.log(`logql parse throughput (no cache): ${Math.round(best)} queries/s`);
    expect(best).toBeGreaterThan(1000);
  });
});

describe('errors that point at the mistake', () => {
  // Loki stops at the token after the mistake (`[1m]`, or `sum` read as a label name); these
  // point at the mistake itself, in Loki's `parse error at line L, col C:` form.
  it.each([
    ['count_over_time({app="x"} | jsn [1m])', 29, 'syntax error: unexpected IDENTIFIER "jsn", did you mean "json"?'],
    ['sum by (level) (count_over_time({app="x"} | jsn [1m]))', 45, 'syntax error: unexpected IDENTIFIER "jsn", did you mean "json"?'],
    ['{a="b"} | jsno | x="y"', 11, 'syntax error: unexpected IDENTIFIER "jsno", did you mean "json"?'],
    ['{a="b"} |= "x" | lgofmt | level="error"', 18, 'syntax error: unexpected IDENTIFIER "lgofmt", did you mean "logfmt"?'],
    ['{a="b"} | line_fromat "{{.a}}"', 11, 'syntax error: unexpected IDENTIFIER "line_fromat", did you mean "line_format"?'],
    ['sum(count_over_time({a="b"} | unwarp x [1m]))', 31, 'syntax error: unexpected IDENTIFIER "unwarp", did you mean "unwrap"?'],
    ['count_over_tim({app="x"}[1m])', 1, 'syntax error: unexpected IDENTIFIER "count_over_tim", did you mean "count_over_time"?'],
    ['summ by (a) (rate({a="b"}[1m]))', 1, 'syntax error: unexpected IDENTIFIER "summ", did you mean "sum"?'],
    ['sum(rat({a="b"}[1m]))', 5, 'syntax error: unexpected IDENTIFIER "rat", did you mean "rate"?'],
    ['sum(rate({a="b"}[1m])) bi (x)', 24, 'syntax error: unexpected IDENTIFIER "bi", did you mean "by"?'],
    ['sum by level (count_over_time({app="x"}[1m]))', 8, 'syntax error: unexpected IDENTIFIER, expecting (, did you mean "by (level)"?'],
    ['max without level (rate({a="b"}[1m]))', 13, 'syntax error: unexpected IDENTIFIER, expecting (, did you mean "without (level)"?'],
    ['rate {app="x"}[1m]', 6, 'syntax error: unexpected {, expecting ('],
    ['rate', 5, 'syntax error: unexpected $end, expecting ('],
  ])('%s', (q, col, detail) => {
    const err = parseError(q);
    expect([err.line, err.col, err.detail]).toEqual([1, col, detail]);
  });

  it.each([
    // Too far from any keyword, or a keyword that would not parse there either: Loki's error.
    ['{a="b"} | foo [1m]', 15, 'syntax error: unexpected RANGE'],
    ['{a="b"} | unwarp x', 18, 'syntax error: unexpected IDENTIFIER'],
    ['xyzzy({a="b"}[1m])', 1, 'syntax error: unexpected IDENTIFIER'],
    ['{a="b"} | level="x" foo', 24, 'syntax error: unexpected $end'],
  ])('keeps Loki\'s error for %s', (q, col, detail) => {
    const err = parseError(q);
    expect([err.col, err.detail]).toEqual([col, detail]);
  });
});

describe('editDistance', () => {
  it.each([
    ['', 'abc', 3],
    ['json', 'json', 0],
    ['jsn', 'json', 1],
    ['jsno', 'json', 1],
    ['kitten', 'sitting', 3],
    ['count_over_tim', 'count_over_time', 1],
  ])('%s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('number literals as Loki reads them (its Go scanner, then strconv.ParseFloat)', () => {
  const value = (q: string): number => {
    const e = parseExpr(q);
    if (e.kind !== 'vector') throw new Error(`not a vector: ${q}`);
    return e.value;
  };
  it.each([
    ['vector(1_000)', 1000],
    ['vector(1_23.50_0_0e+1_2)', 1.235e14],
    ['vector(0x1p-2)', 0.25],
    ['vector(0X1.8P1)', 3],
    ['vector(0x_1p4)', 16],
    ['vector(0777)', 777],
    ['vector(08.5)', 8.5],
    ['vector(.5e-1)', 0.05],
    ['vector(1.)', 1],
  ])('%s is %d', (q, v) => expect(value(q)).toBe(v));

  it.each([
    // The scanner's complaints, at the literal.
    ['vector(08)', 8, "invalid digit '8' in octal literal"],
    ['vector(1__0)', 8, "'_' must separate successive digits"],
    ['vector(1_)', 8, "'_' must separate successive digits"],
    ['vector(1e)', 8, 'exponent has no digits'],
    ['vector(0x)', 8, 'hexadecimal literal has no digits'],
    ['vector(0x1.8)', 8, "hexadecimal mantissa requires a 'p' exponent"],
    ['vector(0o7e1)', 8, "'e' exponent requires decimal mantissa"],
    ['vector(0o1.5)', 8, 'invalid radix point in octal literal'],
    // Scanned fine, but not a float to strconv.ParseFloat.
    ['vector(0x10)', 1, 'unable to parse vectorExpr as a float: strconv.ParseFloat: parsing "0x10": invalid syntax'],
    ['vector(0b01)', 1, 'unable to parse vectorExpr as a float: strconv.ParseFloat: parsing "0b01": invalid syntax'],
    ['vector(0o17)', 1, 'unable to parse vectorExpr as a float: strconv.ParseFloat: parsing "0o17": invalid syntax'],
    ['vector(0x1p2000)', 1, 'unable to parse vectorExpr as a float: strconv.ParseFloat: parsing "0x1p2000": value out of range'],
    ['{a="b"} | x > 0x10', 11, 'unable to parse literal as a float: strconv.ParseFloat: parsing "0x10": invalid syntax'],
    // `0b` is a prefix only before 0 or 1: `0b2` is 0, then the word b2.
    ['vector(0b2)', 9, 'syntax error: unexpected IDENTIFIER, expecting )'],
  ])('%s fails', (q, col, detail) => {
    const err = parseError(q);
    expect([err.col, err.detail]).toEqual([col, detail]);
  });
});
