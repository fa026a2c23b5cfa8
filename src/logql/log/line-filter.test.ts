import { describe, expect, it } from 'vitest';
import type { Expr, LineFilterOp, LogSelectorExpr, RangeAggregationExpr, VectorAggregationExpr } from '../syntax/ast.js';
import { parseExpr } from '../syntax/parse.js';
import { printExpr } from '../syntax/printer.js';
import { compileTemplate } from '../template/index.js';
import { compilePipeline, compileSampleExtractor } from './compile.js';
import { compileUnanchored } from '../syntax/regex.js';
import { tokenHash } from '../../chunk/bloom.js';
import { compileLineFilters, requiredBlockProbe } from './line-filter.js';
import { seededRandom } from '../../util/random.js';

const rng = seededRandom;

interface Block {
  lines: string[];
  buf: Buffer;
  offsets: Int32Array;
}

/** Packs lines like a decoded block; `pad` bytes before the first line test non-zero offsets. */
function pack(lines: string[], pad = 0): Block {
  const parts = lines.map((l) => Buffer.from(l, 'utf8'));
  const buf = Buffer.concat([Buffer.alloc(pad, 0x41), ...parts]);
  const offsets = new Int32Array(lines.length + 1);
  let off = pad;
  for (let i = 0; i < parts.length; i++) {
    offsets[i] = off;
    off += parts[i]!.length;
  }
  offsets[lines.length] = off;
  return { lines, buf, offsets };
}

function run(query: string, block: Block, initial?: Uint8Array): number[] {
  const expr = parseExpr(query) as LogSelectorExpr;
  const f = compileLineFilters(expr);
  const n = block.lines.length;
  const sel = initial ? Uint8Array.from(initial) : new Uint8Array(n).fill(1);
  f?.apply(block.buf, block.offsets, n, sel);
  return Array.from(sel);
}

/** The naive reference: per line, string includes / RE2 test, alternatives per Loki semantics. */
function naive(op: LineFilterOp, args: string[], line: string): boolean {
  const one = (a: string): boolean => (op === '|=' || op === '!=' ? line.includes(a) : compileUnanchored(a).test(line));
  const any = args.some(one);
  return op === '|=' || op === '|~' ? any : !any;
}

const q = (s: string): string => JSON.stringify(s);

describe('compileLineFilters', () => {
  it('returns null without line filters and for metric queries', () => {
    expect(compileLineFilters(parseExpr('{a="b"}'))).toBeNull();
    expect(compileLineFilters(parseExpr('{a="b"} | json'))).toBeNull();
    expect(compileLineFilters(parseExpr('rate({a="b"} |= "x" [1m])'))).toBeNull();
  });

  it('filters contains / not contains', () => {
    const b = pack(['foo error bar', '', 'ok', 'error', 'xerrorx']);
    expect(run('{a="b"} |= "error"', b)).toEqual([1, 0, 0, 1, 1]);
    expect(run('{a="b"} != "error"', b)).toEqual([0, 1, 1, 0, 0]);
    expect(run('{a="b"} |= "error" != "x"', b)).toEqual([1, 0, 0, 1, 0]);
  });

  it('does not count hits that straddle two lines', () => {
    const b = pack(['abc', 'def', 'cd', 'xab', 'cx']);
    expect(run('{a="b"} |= "cd"', b)).toEqual([0, 0, 1, 0, 0]);
    expect(run('{a="b"} |= "abc"', b)).toEqual([1, 0, 0, 0, 0]);
  });

  it('only clears selection bytes', () => {
    const b = pack(['error', 'error', 'ok']);
    expect(run('{a="b"} |= "error"', b, Uint8Array.from([0, 1, 1]))).toEqual([0, 1, 0]);
    expect(run('{a="b"} != "error"', b, Uint8Array.from([1, 1, 0]))).toEqual([0, 0, 0]);
  });

  it('handles non-zero first offsets', () => {
    const b = pack(['xx', 'yAy'], 3);
    expect(run('{a="b"} |= "A"', b)).toEqual([0, 1]);
  });

  it('treats empty needles like Loki', () => {
    const b = pack(['a', '']);
    expect(run('{a="b"} |= ""', b)).toEqual([1, 1]);
    expect(run('{a="b"} != ""', b)).toEqual([0, 0]);
  });

  it('simplifies regexes to literals and case-insensitive literals', () => {
    const b = pack(['Foo', 'fOO bar', 'baz', 'a.b', 'axb']);
    expect(run('{a="b"} |~ "foo"', b)).toEqual([0, 0, 0, 0, 0]);
    expect(run('{a="b"} |~ "(?i)foo"', b)).toEqual([1, 1, 0, 0, 0]);
    expect(run('{a="b"} |~ "bar|baz"', b)).toEqual([0, 1, 1, 0, 0]);
    expect(run('{a="b"} |~ "a\\\\.b"', b)).toEqual([0, 0, 0, 1, 0]);
    expect(run('{a="b"} |~ "a.b"', b)).toEqual([0, 0, 0, 1, 1]);
    expect(run('{a="b"} !~ "(?i)FOO|baz"', b)).toEqual([0, 0, 0, 1, 1]);
  });

  it('applies `or` alternatives', () => {
    const b = pack(['a', 'b', 'c']);
    expect(run('{x="y"} |= "a" or "b"', b)).toEqual([1, 1, 0]);
    expect(run('{x="y"} != "a" or "b"', b)).toEqual([0, 0, 1]);
  });

  it('filters pattern and ip() operands per line', () => {
    const b = pack(['GET /a 200', 'x', 'from 10.1.2.3 ok', 'from 192.168.0.1', 'POST /b 500']);
    expect(run('{a="b"} |> "<_> /<_> <_>"', b)).toEqual([1, 0, 0, 0, 1]);
    expect(run('{a="b"} !> "<_> /<_> <_>"', b)).toEqual([0, 1, 1, 1, 0]);
    expect(run('{a="b"} |= ip("10.0.0.0/8")', b)).toEqual([0, 0, 1, 0, 0]);
    expect(run('{a="b"} != ip("10.0.0.0/8") or ip("192.168.0.1")', b)).toEqual([1, 1, 0, 0, 1]);
  });

  it('stops at stages that rewrite the line', () => {
    const b = pack(['a', 'b']);
    expect(run('{x="y"} |= "a" | line_format "b" |= "b"', b)).toEqual([1, 0]);
  });

  describe('differential against per-line includes / RE2', () => {
    const alphabet = ['a', 'b', 'c', 'ab', 'abc', ' ', 'é', '日本', '𝄞', 'K', 'k', 'S', 'ſ', '\u212a', '.', '\t', 'A', 'B'];
    const needles = ['a', 'ab', 'abc', 'ba', 'é', '日本', 'c a', '𝄞', 'bb', 'zz', 'aB', 'k', 's'];
    // The second row has required literals (RegexMatcher searches the block for them first).
    const regexes = ['a.c', 'ab+', '^ab', 'c$', '[é日]', '(?i)ab', '(?i)k', '(?i)s', 'a|b', '(?i)AB|c', 'b{2,}', 'a\\.', '\\s',
      'ab+c', 'a[bc]ab', 'b.a|ca', 'zz|ab\\.', '\\bab?c', 'c(a|b)ab', 'a b*c', ' .c|é', '(?i)a.b', '(?i)ab+c|kb', '(?i)s.a', '(?i)[a-c]ab'];

    function randomBlock(r: () => number): Block {
      const n = Math.floor(r() * 40);
      const lines: string[] = [];
      for (let i = 0; i < n; i++) {
        const len = r() < 0.2 ? 0 : Math.floor(r() * 8);
        let l = '';
        for (let j = 0; j < len; j++) l += alphabet[Math.floor(r() * alphabet.length)];
        lines.push(l);
      }
      return pack(lines, Math.floor(r() * 3));
    }

    it('matches for random blocks, ops and alternatives', () => {
      const r = rng(12345);
      const ops: LineFilterOp[] = ['|=', '!=', '|~', '!~'];
      for (let iter = 0; iter < 1500; iter++) {
        const block = randomBlock(r);
        const op = ops[Math.floor(r() * ops.length)]!;
        const pool = op === '|=' || op === '!=' ? needles : [...regexes, ...needles];
        const nargs = 1 + Math.floor(r() * 2);
        const args: string[] = [];
        for (let i = 0; i < nargs; i++) args.push(pool[Math.floor(r() * pool.length)]!);
        const query = `{a="b"} ${op} ${args.map(q).join(' or ')}`;
        const initial = new Uint8Array(block.lines.length);
        for (let i = 0; i < initial.length; i++) initial[i] = r() < 0.9 ? 1 : 0;
        const got = run(query, block, initial);
        const want = block.lines.map((l, i) => (initial[i] === 1 && naive(op, args, l) ? 1 : 0));
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          throw new Error(`mismatch for ${query} on ${JSON.stringify(block.lines)}: got ${got}, want ${want}`);
        }
      }
    });
  });

  it('scans a large block quickly when the needle is absent (figure printed)', () => {
    const line = 'level=info msg="request served" path=/api/v1/push status=200 duration=12ms\n';
    const n = 20000;
    const b = pack(Array.from({ length: n }, () => line));
    const f = compileLineFilters(parseExpr('{a="b"} |= "panic: runtime error"'))!;
    const sel = new Uint8Array(n);
    let bestMBs = 0;
    for (let round = 0; round < 5; round++) {
      sel.fill(1);
      const t0 = performance.now();
      for (let i = 0; i < 10; i++) f.apply(b.buf, b.offsets, n, sel);
      const sec = (performance.now() - t0) / 1000;
      bestMBs = Math.max(bestMBs, (b.buf.length * 10) / sec / 1e6);
    }
    console.log(`absent-needle block scan: ${Math.round(bestMBs)} MB/s`);
    expect(sel.every((x) => x === 0)).toBe(true);
  });
});

describe('requiredBlockProbe tokens', () => {
  const h = (t: string): number => tokenHash(Buffer.from(t), 0, Buffer.byteLength(t));
  const cases: { name: string; query: string; want: string[] }[] = [
    { name: 'interior tokens only', query: '{a="b"} |= "no such token anywhere"', want: ['such', 'token'] },
    { name: 'underscore separates', query: '{a="b"} |= "ERR_BITFLIP_99A6"', want: ['BITFLIP'] },
    { name: 'separators at both needle ends', query: '{a="b"} |= " timeout "', want: ['timeout'] },
    { name: 'a single token may be part of a longer one', query: '{a="b"} |= "timeout"', want: [] },
    { name: 'two tokens, both touch the ends', query: '{a="b"} |= "conn reset"', want: [] },
    { name: 'empty needle', query: '{a="b"} |= ""', want: [] },
    { name: 'only separators', query: '{a="b"} |= " -- "', want: [] },
    { name: 'punctuation', query: '{a="b"} |= "level=error msg=\\"x"', want: ['error', 'msg'] },
    { name: 'non-ASCII bytes separate', query: '{a="b"} |= "héllo wörld"', want: ['llo', 'w'] },
    { name: 'case-sensitive', query: '{a="b"} |= "x Error y"', want: ['Error'] },
    { name: 'deduplicated over stages', query: '{a="b"} |= "a foo b" |= "c foo d bar e"', want: ['foo', 'd', 'bar'] },
    { name: 'or alternatives give nothing for that stage', query: '{a="b"} |= "a foo b" or "c bar d" |= "x baz y"', want: ['baz'] },
    { name: 'negative filters give nothing', query: '{a="b"} != "a foo b" !~ "a bar b"', want: [] },
    { name: 'literal regex', query: '{a="b"} |~ "a foo\\\\.bar b"', want: ['foo', 'bar'] },
    { name: 'case-insensitive regex gives nothing', query: '{a="b"} |~ "(?i)a foo b"', want: [] },
    { name: 'regex alternatives give nothing', query: '{a="b"} |~ "a foo b|c bar d"', want: [] },
    { name: 'a regex whose required literals hold no bounded token gives nothing', query: '{a="b"} |~ "a fo+ b"', want: [] },
    { name: 'a regex of one alternative: the tokens of its longest required literal', query: '{a="b"} |~ "level=error [a-z]+ msg"', want: ['error'] },
    { name: 'a regex of several alternatives gives nothing', query: '{a="b"} |~ "level=error [a-z]+|x foo y"', want: [] },
    { name: 'filters after line_format are not used', query: '{a="b"} |= "a foo b" | line_format "{{.x}}" |= "a bar b"', want: ['foo'] },
    { name: 'filters after a parser are used', query: '{a="b"} | logfmt |= "a foo b"', want: ['foo'] },
    { name: 'metric queries give nothing', query: 'count_over_time({a="b"} |= "a foo b" [1m])', want: [] },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(Array.from(requiredBlockProbe(parseExpr(tc.query)).tokens)).toEqual(tc.want.map(h));
    });
  }
});

describe('lines that are not JSON objects, before `| json | __error__=""`', () => {
  // Lines of every shape the parser meets: objects (also after JSON whitespace, also broken
  // ones, which the filter must keep for the parser to judge), arrays, strings, numbers,
  // logfmt, empty, whitespace only, and other whitespace bytes the parser does not skip.
  const shapes = ['{"level":"info","a":1}', ' \t\r\n{"level":"warn"}', '{"level":', '{}', '[1,2]', '"s"', '12', 'level=info a=b', '', '   ', '\u000b{"a":1}', '\u00a0{"a":1}', ' x {"a":1}', '{"a":{"b":[1,{"c":2}]},"level":"error"}', '{"level":"info"}}', '{"a":"\\u00e9"} trailing'];
  const rnd = rng(7);
  const lines = Array.from({ length: 3000 }, () => {
    const s = shapes[Math.floor(rnd() * shapes.length)]!;
    return rnd() < 0.2 ? s + ' tok' : s;
  });
  const block = pack(lines, 3);
  const labels = [{ name: 'app', value: 'x' }];

  /** The range aggregation of a query (inside a vector aggregation or not), or null for a log query. */
  function rangeOf(e: Expr): RangeAggregationExpr | null {
    if (e.kind === 'logSelector') return null;
    if (e.kind === 'vectorAggregation') return rangeOf((e as VectorAggregationExpr).expr);
    return e as RangeAggregationExpr;
  }
  function selectorOf(query: string): LogSelectorExpr {
    const e = parseExpr(query);
    return rangeOf(e)?.range.selector ?? (e as LogSelectorExpr);
  }

  /** Lines a full per-line run of the query keeps, the line filters included (nothing prefiltered). */
  function kept(query: string): number[] {
    const range = rangeOf(parseExpr(query));
    if (range === null) {
      const p = compilePipeline(selectorOf(query), { template: compileTemplate }).forStream(labels);
      return lines.map((l) => (p.process(0n, Buffer.from(l, 'utf8'), []) === null ? 0 : 1));
    }
    const ex = compileSampleExtractor(range.range, 'count_over_time', { template: compileTemplate, grouping: { without: false, labels: ['level'] } }).forStream(labels);
    return lines.map((l) => (ex.process(0n, Buffer.from(l, 'utf8'), []) === null ? 0 : 1));
  }

  it.each([
    '{app="x"} | json | __error__=""',
    '{app="x"} |= "tok" | json | __error__=""',
    '{app="x"} != "tok" | json | __error__="" | level="info"',
    '{app="x"} | json | __error__="" and level!="debug"',
    '{app="x"} | json | level!="debug" and __error__=""',
    'sum by (level) (count_over_time({app="x"} | json | __error__="" [1m]))',
    'count_over_time({app="x"} |= "level" | json | __error__="" [1m])',
  ])('%s: drops exactly non-objects, never a line the pipeline keeps', (query) => {
    const selector = selectorOf(query);
    const sel = run(printExpr(selector), block);
    const want = kept(query);
    // What the query's line filters alone keep (all lines when it has none).
    const lineOnly = new Uint8Array(lines.length).fill(1);
    compileLineFilters(selector.stages.filter((st) => st.kind === 'lineFilter'))?.apply(block.buf, block.offsets, lines.length, lineOnly);
    let dropped = 0;
    for (let i = 0; i < lines.length; i++) {
      if (sel[i] === 0 && want[i] === 1) throw new Error(`line ${JSON.stringify(lines[i])} dropped, the pipeline keeps it`);
      const object = lines[i]![skipWsRef(lines[i]!)] === '{';
      // Non-objects are dropped before any per-line work; objects only by the line filters.
      expect(sel[i]).toBe(object ? lineOnly[i] : 0);
      if (!object && lineOnly[i] === 1) dropped++;
    }
    expect(dropped).toBeGreaterThan(100);
  });

  it.each([
    '{app="x"} | json | __error__!=""',
    '{app="x"} | json level="level" | __error__=""',
    '{app="x"} | logfmt | json | __error__=""',
    '{app="x"} | json | level="info" | __error__=""',
    '{app="x"} | json | __error__="" or level="info"',
    '{app="x"} | line_format "{{.app}}" | json | __error__=""',
    '{app="x"} | json | drop __error__ | __error__=""',
  ])('%s: not that shape, no line dropped for it', (query) => {
    const sel = run(printExpr(selectorOf(query)), block);
    const want = kept(query);
    for (let i = 0; i < lines.length; i++) expect(sel[i] === 0 && want[i] === 1).toBe(false);
    expect(sel.every((x) => x === 1)).toBe(true);
  });
});

/** Index of the first byte the JSON parser does not skip as whitespace (space, \t, \n, \r). */
function skipWsRef(s: string): number {
  let p = 0;
  while (p < s.length && ' \t\n\r'.includes(s[p]!)) p++;
  return p;
}
