/**
 * The log pipeline stages against Loki's documented semantics (cases written for Silt after
 * pkg/logql/log/*_test.go and the "LogQL log queries" docs).
 */
import { describe, expect, it } from 'vitest';
import { InvalidError } from '../../../src/errors.js';
import { compileLineFilters, compilePipeline, compileSampleExtractor, type TemplateCompiler } from '../../../src/logql/log/index.js';
import type { Label } from '../../../src/model/index.js';
import type { LogSelectorExpr, RangeAggregationExpr } from '../../../src/logql/syntax/ast.js';
import { parseExpr } from '../../../src/logql/syntax/parse.js';

/** Stand-in for the template engine: `{{.name}}` only. */
const template: TemplateCompiler = (text) => ({
  execute: (ctx) => text.replace(/\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, n: string) => ctx.get(n) ?? ''),
});

type Obj = Record<string, string>;

function lbls(o: Obj): Label[] {
  return Object.keys(o)
    .sort()
    .map((name) => ({ name, value: o[name]! }));
}

function run(query: string, line: string, stream: Obj = { app: 'x' }, md: Obj = {}): { line: string; labels: Obj } | null {
  const p = compilePipeline(parseExpr(query) as LogSelectorExpr, { template });
  const r = p.forStream(lbls(stream)).process(1n, Buffer.from(line, 'utf8'), lbls(md));
  if (r === null) return null;
  const labels: Obj = {};
  for (const l of r.labels.labels()) labels[l.name] = l.value;
  return { line: r.line.toString('utf8'), labels };
}

const labelsOf = (q: string, line: string, stream?: Obj, md?: Obj): Obj | null => run(q, line, stream, md)?.labels ?? null;

describe('json parser', () => {
  it.each<[string, string, Obj | null]>([
    ['flattens nested objects', '{"app":"foo","pod":{"uuid":"u","deployment":{"ref":"r"}}}', { app: 'x', app_extracted: 'foo', pod_uuid: 'u', pod_deployment_ref: 'r' }],
    ['numbers, bools, null skipped, arrays skipped', '{"counter":1,"price":{"_net_":5.56},"ok":true,"no":false,"n":null,"arr":[1,{"a":2}]}', { app: 'x', counter: '1', price__net_: '5.56', ok: 'true', no: 'false' }],
    ['sanitises names', '{"a-b":"1","1x":"2","é":"3"," sp ":"4"}', { app: 'x', a_b: '1', _1x: '2', _: '3', sp: '4' }],
    ['whitespace nested key is dropped', '{" ":{"foo":"bar"}}', { app: 'x', foo: 'bar' }],
    ['unescapes values', '{"m":"a\\"b\\\\c\\u00e9\\n"}', { app: 'x', m: 'a"b\\cé\n' }],
    ['escaped keys', '{"k\\u0031":"v"}', { app: 'x', k1: 'v' }],
    ['first value wins', '{"a":"1","a":"2"}', { app: 'x', a: '1' }],
    ['error keeps earlier labels', '{"a":"1","b":', { app: 'x', a: '1', __error__: 'JSONParserErr', __error_details__: 'Malformed JSON error' }],
    ['not json', 'hello', { app: 'x', __error__: 'JSONParserErr', __error_details__: "Value looks like object, but can't find closing '}' symbol" }],
    ['trailing garbage ignored (lenient like jsonparser)', '{"a":"1"} trailing', { app: 'x', a: '1' }],
    ['bad literal', '{"a":tru}', { app: 'x', __error__: 'JSONParserErr', __error_details__: 'Unknown value type' }],
  ])('%s', (_name, line, want) => {
    expect(labelsOf('{app="x"} | json', line)).toEqual(want);
  });

  it('suffixes clashes with metadata and keeps metadata', () => {
    expect(labelsOf('{app="x"} | json', '{"trace":"a"}', { app: 'x' }, { trace: 't' })).toEqual({ app: 'x', trace: 't', trace_extracted: 'a' });
  });

  it.each<[string, string, Obj]>([
    ['{app="x"} | json a="x.y", b="arr[1]", c="[\\"k.d\\"]", d="missing", e="obj"', '{"x":{"y":"v"},"arr":[1,"two"],"k.d":3,"obj":{"z":1}}', { app: 'x', a: 'v', b: 'two', c: '3', d: '', e: '{"z":1}' }],
    ['{app="x"} | json app="x"', '{"x":"v"}', { app: 'x', app_extracted: 'v' }],
  ])('%s', (q, line, want) => {
    expect(labelsOf(q, line)).toEqual(want);
  });
});

describe('logfmt parser', () => {
  it.each<[string, string, string, Obj]>([
    ['basic', '{app="x"} | logfmt', 'level=info msg="hello world" dur=1.5s', { app: 'x', level: 'info', msg: 'hello world', dur: '1.5s' }],
    ['escapes in quotes', '{app="x"} | logfmt', 'msg="a \\"q\\" \\\\ b"', { app: 'x', msg: 'a "q" \\ b' }],
    ['bare keys and empty values dropped', '{app="x"} | logfmt', 'a b= c=""', { app: 'x' }],
    ['--keep-empty keeps them', '{app="x"} | logfmt --keep-empty', 'a b= c=""', { app: 'x', a: '', b: '', c: '' }],
    ['stream clash', '{app="x"} | logfmt', 'app=y', { app: 'x', app_extracted: 'y' }],
    ['errors ignored when not strict', '{app="x"} | logfmt', 'a=1 b"c=2 d=3', { app: 'x', a: '1', d: '3' }],
    ['strict stops with an error', '{app="x"} | logfmt --strict', 'a=1 =2 d=3', { app: 'x', a: '1', __error__: 'LogfmtParserErr', __error_details__: "logfmt syntax error at pos 5 : unexpected '='" }],
    ['unterminated quote', '{app="x"} | logfmt --strict', 'a="x', { app: 'x', __error__: 'LogfmtParserErr', __error_details__: 'logfmt syntax error at pos 5 : unterminated quoted value' }],
    ['sanitised keys', '{app="x"} | logfmt', 'a.b=1 2c=2', { app: 'x', a_b: '1', _2c: '2' }],
    ['params rename', '{app="x"} | logfmt lvl="level", m="missing"', 'level=warn other=1', { app: 'x', lvl: 'warn', m: '' }],
  ])('%s', (_n, q, line, want) => {
    expect(labelsOf(q, line)).toEqual(want);
  });
});

describe('regexp and pattern parsers', () => {
  it.each<[string, string, string, Obj]>([
    ['regexp named groups', '{app="x"} | regexp "(?P<method>\\\\w+) (?P<path>\\\\S+)(?P<opt> x)?"', 'GET /a b', { app: 'x', method: 'GET', path: '/a', opt: '' }],
    ['regexp no match', '{app="x"} | regexp "(?P<n>\\\\d+)"', 'abc', { app: 'x' }],
    ['regexp clash', '{app="x"} | regexp "(?P<app>\\\\w+)"', 'abc', { app: 'x', app_extracted: 'abc' }],
    ['pattern', '{app="x"} | pattern "<ip> - <_> [<ts>] \\"<method> <uri>"', '1.2.3.4 - u [t1] "GET /x HTTP"', { app: 'x', ip: '1.2.3.4', ts: 't1', method: 'GET', uri: '/x HTTP"' }],
    ['pattern partial when a literal is missing', '{app="x"} | pattern "<a> <b>|<c>"', 'one two three', { app: 'x', a: 'one', b: 'two three' }],
    ['pattern leading literal must match at start', '{app="x"} | pattern "x=<a>"', 'y x=1', { app: 'x' }],
    ['pattern trailing literal', '{app="x"} | pattern "<a>;"', 'v;rest', { app: 'x', a: 'v' }],
  ])('%s', (_n, q, line, want) => {
    expect(labelsOf(q, line)).toEqual(want);
  });
});

describe('unpack', () => {
  it('replaces the line with _entry and adds string fields', () => {
    expect(run('{app="x"} | unpack', '{"_entry":"the \\"line\\"","app":"a","n":1,"k-1":"v"}')).toEqual({
      line: 'the "line"',
      labels: { app: 'x', app_extracted: 'a', k_1: 'v' },
    });
  });
  it('leaves lines without _entry alone', () => {
    expect(run('{app="x"} | unpack', '{"a":"b"}')).toEqual({ line: '{"a":"b"}', labels: { app: 'x' } });
  });
  it('errors on non-objects', () => {
    expect(labelsOf('{app="x"} | unpack', 'text')).toEqual({ app: 'x', __error__: 'JSONParserErr', __error_details__: 'expecting json object(6), but it is not' });
  });
});

describe('label filters', () => {
  const line = '{"status":"500","dur":"1m30s","size":"10KB","lvl":"error","ip":"10.1.2.3","bad":"x1"}';
  it.each<[string, boolean]>([
    ['status = 500', true],
    ['status == 500', true],
    ['status > 400 and status < 600', true],
    ['status >= 501', false],
    ['status != 500 or lvl="error"', true],
    ['status != 500 or lvl="info" and status == 500', false],
    ['(status != 500 or lvl="error") and status == 500', true],
    ['lvl =~ "err.*"', true],
    ['lvl =~ "err"', false],
    ['lvl !~ "warn|info"', true],
    ['missing="" ', true],
    ['missing > 1', false],
    ['dur > 1m', true],
    ['dur >= 90s', true],
    ['dur < 250ms', false],
    ['size > 9KB', true],
    ['size == 10000B', true],
    ['size < 1MiB', true],
    ['ip = ip("10.0.0.0/8")', true],
    ['ip != ip("10.0.0.0/8")', false],
    ['ip = ip("10.1.2.0-10.1.2.2")', false],
    ['missing = ip("10.0.0.0/8")', false],
  ])('%s', (f, pass) => {
    expect(run(`{app="x"} | json | ${f}`, line) !== null).toBe(pass);
  });

  it('keeps entries whose value does not convert, with LabelFilterErr', () => {
    expect(labelsOf('{app="x"} | json | bad > 1', '{"bad":"x1"}')).toEqual({
      app: 'x',
      bad: 'x1',
      __error__: 'LabelFilterErr',
      __error_details__: 'strconv.ParseFloat: parsing "x1": invalid syntax',
    });
    expect(labelsOf('{app="x"} | json | bad > 1s', '{"bad":"5"}')?.__error_details__).toBe('time: missing unit in duration "5"');
    expect(labelsOf('{app="x"} | json | bad > 1KB', '{"bad":"5 parsecs"}')?.__error_details__).toBe('unhandled size name: parsecs');
    expect(run('{app="x"} | json | bad > 1 | __error__=""', '{"bad":"x1"}')).toBeNull();
    expect(run('{app="x"} | json | __error__!=""', '{"bad":"x1"}')).toBeNull();
    expect(run('{app="x"} | json | __error__="JSONParserErr"', 'nope')).not.toBeNull();
  });
});

describe('line filters per line', () => {
  it.each<[string, string, boolean]>([
    ['{app="x"} |= "foo" or "bar"', 'a bar', true],
    ['{app="x"} != "foo" or "bar"', 'a bar', false],
    ['{app="x"} |~ "b.r"', 'a bar', true],
    ['{app="x"} !~ "b.r"', 'a bar', false],
    ['{app="x"} |> "<_> bar"', 'a bar', true],
    ['{app="x"} |> "<_>bar"', 'bar', false],
    ['{app="x"} !> "<_> baz"', 'a bar', true],
    ['{app="x"} | line_format "{{.m}}" |= "yes"', 'yes', false],
    ['{app="x"} | json | line_format "{{.m}}" |= "yes"', '{"m":"yes"}', true],
    ['{app="x"} |= ip("192.168.0.0/16")', 'from 192.168.1.7:443', true],
    ['{app="x"} |= ip("192.168.0.0/16")', 'from 192.168.01.7', false],
    ['{app="x"} |= ip("::1")', 'addr [::1]:80', true],
    ['{app="x"} |= ip("2001:db8::/32")', 'v6 2001:db8:0:0:1::5 ok', true],
    ['{app="x"} |= ip("2001:db8::/32")', 'v6 2001:db9::5', false],
    ['{app="x"} |= ip("1.2.3.4")', 'mapped ::ffff:1.2.3.4', false],
    ['{app="x"} |= ip("10.0.0.1-10.0.0.9")', 'x=10.0.0.5,', true],
    ['{app="x"} != ip("10.0.0.1-10.0.0.9")', 'x=10.0.0.10', true],
  ])('%s on %s', (q, line, pass) => {
    expect(run(q, line) !== null).toBe(pass);
  });
});

describe('formatting and label stages', () => {
  it('line_format replaces the line', () => {
    expect(run('{app="x"} | logfmt | line_format "{{.level}}: {{.msg}}"', 'level=info msg=hi')?.line).toBe('info: hi');
  });
  it('label_format renames and templates', () => {
    expect(labelsOf('{app="x"} | logfmt | label_format lvl=level, up="{{.msg}}!"', 'level=info msg=hi')).toEqual({ app: 'x', lvl: 'info', msg: 'hi', up: 'hi!' });
    expect(labelsOf('{app="x"} | label_format a=missing', '')).toEqual({ app: 'x' });
    expect(labelsOf('{app="x"} | label_format dst=app', '')).toEqual({ dst: 'x' });
  });
  it('template errors set TemplateFormatErr', () => {
    const failing: TemplateCompiler = () => ({
      execute: () => {
        throw new Error('boom');
      },
    });
    const p = compilePipeline(parseExpr('{app="x"} | line_format "x"') as LogSelectorExpr, { template: failing });
    const r = p.forStream(lbls({ app: 'x' })).process(0n, Buffer.from('orig'), []);
    expect(r?.line.toString()).toBe('orig');
    expect(r?.labels.get('__error__')).toBe('TemplateFormatErr');
    expect(r?.labels.get('__error_details__')).toBe('boom');
  });
  it.each<[string, string, Obj]>([
    ['{app="x", env="p"} | logfmt | drop env, b', 'a=1 b=2', { app: 'x', a: '1' }],
    ['{app="x"} | logfmt | drop a="2", b="2"', 'a=1 b=2', { app: 'x', a: '1' }],
    ['{app="x"} | json | drop __error__, __error_details__', 'bad', { app: 'x' }],
    ['{app="x"} | json | drop __error__="other"', 'bad', { app: 'x', __error__: 'JSONParserErr', __error_details__: "Value looks like object, but can't find closing '}' symbol" }],
    ['{app="x", env="p"} | logfmt | keep a, env', 'a=1 b=2', { a: '1', env: 'p' }],
    ['{app="x"} | logfmt | keep a="2", b', 'a=1 b=2', { b: '2' }],
    ['{app="x"} | json | keep nothing', 'bad', { __error__: 'JSONParserErr', __error_details__: "Value looks like object, but can't find closing '}' symbol" }],
  ])('%s', (q, line, want) => {
    expect(labelsOf(q, line, q.includes('env=') ? { app: 'x', env: 'p' } : { app: 'x' })).toEqual(want);
  });
  it('decolorize strips ANSI sequences', () => {
    expect(run('{app="x"} | decolorize', '\x1b[31mred\x1b[0m plain \x1b[1;32mbold')?.line).toBe('red plain bold');
    expect(run('{app="x"} | decolorize', 'plain')?.line).toBe('plain');
  });
  it('categorizes labels', () => {
    const p = compilePipeline(parseExpr('{app="x"} | logfmt') as LogSelectorExpr);
    const r = p.forStream(lbls({ app: 'x', env: 'e' })).process(0n, Buffer.from('env=parsed k=v'), lbls({ trace: 't' }));
    expect(r?.labels.categorized()).toEqual({
      stream: lbls({ app: 'x', env: 'e' }),
      metadata: lbls({ trace: 't' }),
      parsed: lbls({ env_extracted: 'parsed', k: 'v' }),
    });
  });
});

describe('pipeline object', () => {
  it('caches stream pipelines by label set and reports noop', () => {
    const p = compilePipeline(parseExpr('{app="x"} |= "a"') as LogSelectorExpr);
    expect(p.noop).toBe(true);
    const a = p.forStream(lbls({ app: 'x' }));
    expect(p.forStream(lbls({ app: 'x' }))).toBe(a);
    expect(p.forStream(lbls({ app: 'y' }))).not.toBe(a);
    expect(compilePipeline(parseExpr('{app="x"} | json') as LogSelectorExpr).noop).toBe(false);
  });

  it('returns the same labels array while nothing changes, and resets per entry', () => {
    const sp = compilePipeline(parseExpr('{app="x"} | logfmt') as LogSelectorExpr).forStream(lbls({ app: 'x' }));
    const l1 = sp.process(0n, Buffer.from('a=1'), [])!.labels.labels();
    const l2 = sp.process(0n, Buffer.from('a=1'), [])!.labels.labels();
    expect(l2).toBe(l1);
    expect(sp.process(0n, Buffer.from('b=2'), [])!.labels.labels()).toEqual(lbls({ app: 'x', b: '2' }));
    expect(sp.process(0n, Buffer.from(''), [])!.labels.labels()).toEqual(lbls({ app: 'x' }));
  });

  it('drops filtered entries quickly', () => {
    const sp = compilePipeline(parseExpr('{app="x"} | json | status >= 500') as LogSelectorExpr).forStream(lbls({ app: 'x' }));
    const line = Buffer.from('{"status":200,"msg":"ok ok ok ok ok ok ok ok ok ok ok ok"}');
    const t0 = performance.now();
    for (let i = 0; i < 20000; i++) expect(sp.process(0n, line, [])).toBeNull();
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('requires a template engine for line_format', () => {
    expect(() => compilePipeline(parseExpr('{app="x"} | line_format "{{.a}}"') as LogSelectorExpr)).toThrow(/not implemented yet/);
  });
});

function extract(q: string, lines: string[], grouping: { without: boolean; labels: string[] } | null = null, stream: Obj = { app: 'x' }): ({ v: number; labels: Obj } | null)[] {
  const e = parseExpr(q) as RangeAggregationExpr;
  const se = compileSampleExtractor(e.range, e.op, { template, grouping }).forStream(lbls(stream));
  return lines.map((l) => {
    const s = se.process(0n, Buffer.from(l), []);
    if (s === null) return null;
    const labels: Obj = {};
    for (const x of s.labels.labels()) labels[x.name] = x.value;
    return { v: s.value, labels };
  });
}

describe('sample extraction', () => {
  it('counts and measures bytes', () => {
    expect(extract('count_over_time({app="x"} |= "a" [1m])', ['a', 'b'])).toEqual([{ v: 1, labels: { app: 'x' } }, null]);
    expect(extract('bytes_over_time({app="x"} | line_format "{{.app}}!" [1m])', ['héllo'])).toEqual([{ v: 2, labels: { app: 'x' } }]);
    expect(extract('bytes_rate({app="x"}[1m])', ['héllo'])).toEqual([{ v: 6, labels: { app: 'x' } }]);
  });

  it('unwraps with conversions and removes the label', () => {
    expect(extract('sum_over_time({app="x"} | logfmt | unwrap n [1m])', ['n=1.5 k=v', 'k=v', 'n=abc'])).toEqual([
      { v: 1.5, labels: { app: 'x', k: 'v' } },
      null,
      // With an error the sample keeps every label (Loki GroupedLabels), the unwrapped one included.
      { v: 0, labels: { app: 'x', n: 'abc', __error__: 'SampleExtractionErr', __error_details__: 'strconv.ParseFloat: parsing "abc": invalid syntax' } },
    ]);
    expect(extract('avg_over_time({app="x"} | logfmt | unwrap duration(d) [1m])', ['d=1m30s', 'd=250ms'])).toEqual([
      { v: 90, labels: { app: 'x' } },
      { v: 0.25, labels: { app: 'x' } },
    ]);
    expect(extract('max_over_time({app="x"} | logfmt | unwrap duration_seconds(d) [1m])', ['d=1h'])).toEqual([{ v: 3600, labels: { app: 'x' } }]);
    expect(extract('max_over_time({app="x"} | logfmt | unwrap bytes(b) [1m])', ['b=1MiB', 'b=10KB'])).toEqual([
      { v: 1048576, labels: { app: 'x' } },
      { v: 10000, labels: { app: 'x' } },
    ]);
  });

  it('applies unwrap post-filters', () => {
    expect(extract('sum_over_time({app="x"} | logfmt | unwrap n | __error__="" [1m])', ['n=2', 'n=x'])).toEqual([{ v: 2, labels: { app: 'x' } }, null]);
  });

  it('groups by / without', () => {
    const lines = ['level=info a=1', 'level=error a=2'];
    expect(extract('count_over_time({app="x"} | logfmt [1m])', lines, { without: false, labels: ['level'] })).toEqual([
      { v: 1, labels: { level: 'info' } },
      { v: 1, labels: { level: 'error' } },
    ]);
    expect(extract('count_over_time({app="x"} | logfmt [1m])', lines, { without: true, labels: ['a'] })).toEqual([
      { v: 1, labels: { app: 'x', level: 'info' } },
      { v: 1, labels: { app: 'x', level: 'error' } },
    ]);
    expect(extract('count_over_time({app="x"} | logfmt [1m])', lines, { without: false, labels: [] })).toEqual([
      { v: 1, labels: {} },
      { v: 1, labels: {} },
    ]);
    expect(extract('max_over_time({app="x"} | logfmt | unwrap a [1m])', lines, { without: false, labels: ['a', 'app'] })).toEqual([
      { v: 1, labels: { a: '1', app: 'x' } },
      { v: 2, labels: { a: '2', app: 'x' } },
    ]);
  });

  it('extracts only needed json keys but gives the same samples', () => {
    const lines = ['{"level":"info","big":{"x":[1,2,{"y":"z"}]},"user":{"name":"n"}}', '{"user":{"name":"m"},"level":"warn"}', 'garbage'];
    expect(extract('count_over_time({app="x"} | json [1m])', lines, { without: false, labels: ['user_name', 'level'] })).toEqual([
      { v: 1, labels: { level: 'info', user_name: 'n' } },
      { v: 1, labels: { level: 'warn', user_name: 'm' } },
      { v: 1, labels: { app: 'x', __error__: 'JSONParserErr', __error_details__: "Value looks like object, but can't find closing '}' symbol" } },
    ]);
  });
});

describe('line filter regexes are checked when the query runs, as in Loki', () => {
  it.each([
    ['{app="x"} |~ "(abc"', 'error parsing regexp: missing closing ): `(abc`'],
    ['{app="x"} |= "ok" or "fine" !~ "a**"', 'error parsing regexp: invalid nested repetition operator: `**`'],
    ['{app="x"} |~ `error\\`', 'error parsing regexp: trailing backslash at end of expression: ``'],
  ])('%s parses, then fails to compile with Go\'s text', (q, msg) => {
    const expr = parseExpr(q) as LogSelectorExpr;
    expect(() => compilePipeline(expr, { template })).toThrow(new InvalidError(msg));
    expect(() => compileLineFilters(expr)).toThrow(new InvalidError(msg));
  });
});
