import { describe, expect, it } from 'vitest';
import { ParseError } from '../../errors.js';
import { compileTemplate, TemplateExecError, type TemplateContext } from './index.js';
import { formatTime, GoTime, parseTime, loadZone } from './gotime.js';
import { formatFloat, sprintf } from './values.js';

const LABELS: Record<string, string> = {
  level: 'info',
  msg: 'hello world',
  n: '42',
  f: '2.5',
  status: '200',
  empty: '',
  path: '/api/v1/push',
  q: '[{"query":"a"},{"query":"b"}]',
  obj: '{"b":2,"a":"x","nested":{"k":"v"},"nil":null}',
  from: '1679577215',
  dur: '1m30s',
};

// 2023-11-14 22:13:20.123456789 UTC
const TS = 1700000000123456789n;

function ctx(labels: Record<string, string> = LABELS, line = 'the original line'): TemplateContext {
  return { get: (k) => labels[k], line, tsNs: TS, labels: () => labels };
}

function run(src: string, labels?: Record<string, string>): string {
  return compileTemplate(src).execute(ctx(labels));
}

type Case = [template: string, expected: string];

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    it.each(cases)('%s', (src, want) => {
      expect(run(src)).toBe(want);
    });
  });
}

table('text, fields and trim markers', [
  ['plain text', 'plain text'],
  ['', ''],
  ['{{.level}}: {{.msg}}', 'info: hello world'],
  ['{{ .missing }}|', '|'],
  ['a  {{- .level -}}  b', 'ainfob'],
  ['a \n\t{{- .level }} b', 'ainfo b'],
  ['a {{ .level -}} \n b', 'a infob'],
  ['{{- .level -}}', 'info'],
  ['x {{/* comment */}} y', 'x  y'],
  ['x {{- /* comment */ -}} y', 'xy'],
  ['{{ $.level }}', 'info'],
  ['{{.empty}}|', '|'],
  ['{{ "\\t\\"q\\"\\u00e9\\x41" }}', '\t"q"éA'],
  ['{{ `raw \\n` }}', 'raw \\n'],
  ['{{ 42 }} {{ -7 }} {{ 3.5 }} {{ 1e3 }} {{ 0x1F }} {{ 017 }} {{ \'a\' }}', '42 -7 3.5 1000 31 15 97'],
  ['{{ 1000000.0 }} {{ 0.00001 }} {{ 123456.0 }}', '1e+06 1e-05 123456'],
  ['{{ true }} {{ false }}', 'true false'],
  ['{{ . }}', 'map[dur:1m30s empty: f:2.5 from:1679577215 level:info msg:hello world n:42 obj:{"b":2,"a":"x","nested":{"k":"v"},"nil":null} path:/api/v1/push q:[{"query":"a"},{"query":"b"}] status:200]'],
  ['{{ (fromJson .obj).a }} {{ (fromJson .obj).nested.k }}', 'x v'],
  ['{{ (fromJson .obj).nope }}', '<no value>'],
  ['{{ fromJson .obj }}', 'map[a:x b:2 nested:map[k:v] nil:<nil>]'],
  ['{{ fromJson "not json" }}', '<no value>'],
  ['{{ (fromJson .q) }}', '[map[query:a] map[query:b]]'],
  ['{{ .msg | printf "%s!" }}', 'hello world!'],
  ['{{ (.level) }}', 'info'],
  ['{{ "a" | printf "%s-%s" "b" }}', 'b-a'],
]);

table('control structures', [
  ['{{ if .level }}yes{{ end }}', 'yes'],
  ['{{ if .missing }}yes{{ else }}no{{ end }}', 'no'],
  ['{{ if eq .level "warn" }}W{{ else if eq .level "info" }}I{{ else }}E{{ end }}', 'I'],
  ['{{ if eq .level "x" }}X{{ else if eq .level "y" }}Y{{ else }}E{{ end }}', 'E'],
  ['{{ if .level }}{{ if .missing }}a{{ else }}b{{ if .msg }}c{{ end }}{{ end }}{{ end }}', 'bc'],
  ['{{ if and .level .msg }}both{{ end }}', 'both'],
  ['{{ if or .missing .msg }}one{{ end }}', 'one'],
  ['{{ and .level .missing "x" }}|{{ or .missing .empty }}|{{ or .missing .level }}', '||info'],
  ['{{ and 1 0 (fail) }}'.replace('(fail)', '(div 1 0)'), '0'],
  ['{{ or 1 (div 1 0) }}', '1'],
  ['{{ not .missing }} {{ not .level }} {{ not 0 }} {{ not 0.0 }}', 'true false true true'],
  ['{{ with .msg }}[{{ . }}]{{ end }}', '[hello world]'],
  ['{{ with .missing }}[{{ . }}]{{ else }}none{{ end }}', 'none'],
  ['{{ with $x := .level }}{{ $x }}-{{ . }}{{ end }}', 'info-info'],
  ['{{ with .missing }}a{{ else with .level }}b{{ . }}{{ end }}', 'binfo'],
  ['{{ with $ }}{{ .level }}{{ end }}', 'info'],
  ['{{ range $i, $v := fromJson .q }}{{ $i }}={{ $v.query }};{{ end }}', '0=a;1=b;'],
  ['{{ range fromJson .q }}{{ .query }}{{ end }}', 'ab'],
  ['{{ range $v := fromJson "[3,1,2]" }}{{ $v }}{{ end }}', '312'],
  ['{{ range $k, $v := fromJson .obj }}{{ $k }}:{{ $v }} {{ end }}', 'a:x b:2 nested:map[k:v] nil:<no value> '],
  ['{{ range $k, $v := . }}{{ if hasPrefix "s" $k }}{{ $k }}={{ $v }}{{ end }}{{ end }}', 'status=200'],
  ['{{ range fromJson "[]" }}x{{ else }}empty{{ end }}', 'empty'],
  ['{{ range .missing }}x{{ else }}empty{{ end }}'.replace('.missing', 'fromJson "null"'), 'empty'],
  ['{{ range $i, $e := fromJson "[1,2,3,4]" }}{{ if eq $i 2 }}{{ break }}{{ end }}{{ $e }}{{ end }}', '12'],
  ['{{ range $i, $e := fromJson "[1,2,3,4]" }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $e }}{{ end }}', '134'],
  ['{{ range $i, $r := fromJson "[[1,2],[3]]" }}{{ range $r }}{{ . }}{{ end }}|{{ end }}', '12|3|'],
  ['{{ range 3 }}{{ . }}{{ end }}', '012'],
  ['{{ range $i, $v := fromJson .q }}{{ $.level }}{{ end }}', 'infoinfo'],
]);

table('variables and scoping', [
  ['{{ $x := 1 }}{{ $x }}', '1'],
  ['{{ $x := .level }}{{ $x = "changed" }}{{ $x }}', 'changed'],
  ['{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}', '2'],
  ['{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}', '21'],
  ['{{ $n := 0 }}{{ range fromJson "[1,2,3]" }}{{ $n = add $n . }}{{ end }}{{ $n }}', '6'],
  ['{{ $x := upper .level }}{{ $x | lower }}', 'info'],
  ['{{ if $v := .level }}{{ $v }}{{ end }}', 'info'],
  ['{{ $ }}'.replace('{{ $ }}', '{{ len $ }}'), '11'],
]);

table('comparisons', [
  ['{{ eq .level "info" }} {{ ne .level "info" }}', 'true false'],
  ['{{ eq .level "warn" "info" }}', 'true'],
  ['{{ eq 1 1 }} {{ eq 1.5 1.5 }} {{ eq true true }}', 'true true true'],
  ['{{ lt 1 2 }} {{ le 2 2 }} {{ gt 3 2 }} {{ ge 2 3 }}', 'true true true false'],
  ['{{ lt "a" "b" }} {{ gt .status "100" }}', 'true true'],
  ['{{ lt 1.5 2.5 }}', 'true'],
  ['{{ eq (int .n) 42 }}', 'true'],
  ['{{ eq (len .level) 4 }}', 'true'],
]);

table('builtins', [
  ['{{ len .msg }} {{ len "é" }} {{ len (fromJson .q) }} {{ len (fromJson .obj) }}', '11 2 2 4'],
  ['{{ index . "level" }}|{{ index . "nope" }}|', 'info||'],
  ['{{ index (fromJson .q) 1 }} {{ index (fromJson .obj) "nested" "k" }}', 'map[query:b] v'],
  ['{{ slice .msg 0 5 }} {{ slice (fromJson "[1,2,3]") 1 }}', 'hello [2 3]'],
  ['{{ print "a" 1 2 "b" 3.5 true }}', 'a1 2b3.5 true'],
  ['{{ println "a" 1 }}', 'a 1\n'],
  ['{{ html "<a href=\'x\'>&</a>" }}', '&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;'],
  ['{{ js "it\'s <b>" }}', "it\\'s \\u003Cb\\u003E"],
  ['{{ urlquery "a b" "c" }}', 'a+bc'],
]);

table('printf', [
  ['{{ printf "%s=%d" "n" 42 }}', 'n=42'],
  ['{{ printf "%-8s|%8s|" "ab" "cd" }}', 'ab      |      cd|'],
  ['{{ printf "%.3s" "abcdef" }}', 'abc'],
  ['{{ printf "%-40.40s|" .path }}', '/api/v1/push                            |'],
  ['{{ printf "%5.2f|%f|%.0f" 3.14159 2.5 2.4 }}', ' 3.14|2.500000|2'],
  ['{{ printf "%e %E %g %G" 1234.5678 1234.5678 0.000012345 1e21 }}', '1.234568e+03 1.234568E+03 1.2345e-05 1E+21'],
  ['{{ printf "%.3g %g %g" 1234.5678 100000.0 1000000.0 }}', '1.23e+03 100000 1e+06'],
  ['{{ printf "%d %5d %-5d| %05d %+d %x %X %o %b %c %U" 42 42 42 42 42 255 255 8 5 65 65 }}', '42    42 42   | 00042 +42 ff FF 10 101 A U+0041'],
  ['{{ printf "%q %q" "a\\"b\\n" 97 }}', '"a\\"b\\n" \'a\''],
  ['{{ printf "%x %X" "hi" "hi" }}', '6869 6869'],
  ['{{ printf "%t %v %v" true false 3 }}', 'true false 3'],
  ['{{ printf "%v %s" (fromJson .q) (fromJson .obj).nested }}', '[map[query:a] map[query:b]] map[k:v]'],
  ['{{ printf "%d" .n }}', '%!d(string=42)'],
  ['{{ printf "%s" 5 }}', '%!s(int=5)'],
  ['{{ printf "%d %d" 1 }}', '1 %!d(MISSING)'],
  ['{{ printf "%d" 1 2 }}', '1%!(EXTRA int=2)'],
  ['{{ printf "100%%" }}', '100%'],
  ['{{ printf "%*d|%-*d|" 4 7 3 7 }}', '   7|7  |'],
  ['{{ printf "%T %T %T %T" 1 1.5 "s" true }}', 'int float64 string bool'],
  ['{{ printf "%v" nil }}', '<nil>'],
  ['{{ printf "%6.2f%%" 12.3456 }}', ' 12.35%'],
]);

table('string functions (Loki/sprig argument order)', [
  ['{{ .level | upper }} {{ upper "hello" }} {{ lower "HeLLo" }}', 'INFO HELLO hello'],
  ['{{ ToUpper "abc" }} {{ ToLower "ABC" }}', 'ABC abc'],
  ['{{ title "hello wOrld-foo bar_baz" }}', 'Hello WOrld-Foo Bar_baz'],
  ['{{ replace "hello" "world" "hello world" }}', 'world world'],
  ['{{ .path | replace "/" "_" }}', '_api_v1_push'],
  ['{{ Replace "aaaa" "a" "b" 2 }} {{ Replace "aaaa" "a" "b" -1 }}', 'bbaa bbbb'],
  ['{{ trunc 5 "hello world" }} {{ trunc -5 "hello world" }} {{ trunc 50 "hi" }}', 'hello world hi'],
  ['{{ .path | trunc 4 }}', '/api'],
  ['{{ substr 0 5 "hello world" }}|{{ substr 6 11 "hello world" }}|{{ substr -1 3 "hello" }}|{{ substr 2 -1 "hello" }}|{{ substr 4 2 "hello" }}|', 'hello|world|hel|llo||'],
  ['{{ .path | substr 1 4 }}', 'api'],
  ['{{ trim "   hello    " }}|{{ TrimSpace "\\t x \\n" }}|', 'hello|x|'],
  ['{{ trimAll "$" "$5.00$" }} {{ .path | trimAll "/" }}', '5.00 api/v1/push'],
  ['{{ trimPrefix "-" "-hello" }} {{ trimSuffix "-" "hello-" }} {{ .path | trimPrefix "/api" }}', 'hello hello /v1/push'],
  ['{{ Trim "xxhixx" "x" }} {{ TrimLeft "xxhixx" "x" }} {{ TrimRight "xxhixx" "x" }}', 'hi hixx xxhi'],
  ['{{ TrimPrefix "prefix-x" "prefix-" }} {{ TrimSuffix "x.log" ".log" }}', 'x x'],
  ['{{ contains "he" "hello" }} {{ contains "xyz" "hello" }} {{ .msg | contains "world" }}', 'true false true'],
  ['{{ hasPrefix "he" "hello" }} {{ hasSuffix "lo" "hello" }} {{ .path | hasPrefix "/api" }}', 'true true true'],
  ['{{ indent 2 "a\\nb" }}', '  a\n  b'],
  ['{{ nindent 2 "a\\nb" }}', '\n  a\n  b'],
  ['{{ repeat 3 "ab" }}', 'ababab'],
  ['{{ alignLeft 5 "hello world" }}|{{ alignLeft 5 "hi" }}|', 'hello|hi   |'],
  ['{{ alignRight 5 "hello world" }}|{{ alignRight 5 "hi" }}|', 'world|   hi|'],
  ['{{ b64enc "hello" }} {{ b64dec "aGVsbG8=" }}', 'aGVsbG8= hello'],
  ['{{ b64dec "not base64!" }}', 'illegal base64 data at input byte 3'],
  // Loki pads input 2 or 3 past a multiple of 4 (its length counting line breaks), then runs
  // Go's non-strict StdEncoding, which skips \r and \n.
  ['{{ b64dec "Zm9vYmE" }} {{ b64dec "Zm9vYg" }} {{ b64dec "YQ=" }} {{ b64dec "YR==" }}', 'fooba foob a a'],
  ['{{ b64dec "Zm9vY" }}', 'illegal base64 data at input byte 4'],
  ['{{ b64dec "YQ\\n" }}', 'illegal base64 data at input byte 4'],
  ['{{ b64dec "YWJj\\nZGVm" }}', 'abcdef'],
  ['{{ b64dec "YQ==YQ==" }}', 'illegal base64 data at input byte 4'],
  ['{{ b64dec "=" }} {{ b64dec "" }}|', 'illegal base64 data at input byte 0 |'],
  ['{{ b64dec "YW=j" }}', 'illegal base64 data at input byte 2'],
  ['{{ urlencode "a b&c=d/é" }}', 'a+b%26c%3Dd%2F%C3%A9'],
  ['{{ urldecode "a+b%26c%3Dd%2F%C3%A9" }}', 'a b&c=d/é'],
  ['{{ default "-" "" }} {{ default "-" "foo" }} {{ .missing | default "none" }} {{ .level | default "none" }}', '- foo none info'],
  ['{{ default 5 0 }}', '5'],
]);

table('regex functions', [
  ['{{ regexReplaceAll "(a*)bc" "xabcyabc" "${1}Z" }}', 'xaZyaZ'],
  ['{{ regexReplaceAll "(?P<w>\\\\w+)@" "joe@x" "<$w>" }}', '<joe>x'],
  ['{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}', '---'],
  ['{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}', '-W-xxW-'],
  ['{{ regexReplaceAll "a*" "baaac" "-" }}', '-b-c-'],
  ['{{ regexReplaceAll "b" "abc" "$$" }}', 'a$c'],
  ['{{ regexReplaceAllLiteral "(ts=)" "ts=1 ts=2" "timestamp=$1" }}', 'timestamp=$11 timestamp=$12'],
  ['{{ .path | regexReplaceAll "/v[0-9]+" "" }}'.replace('.path | regexReplaceAll "/v[0-9]+" ""', 'regexReplaceAll "/v[0-9]+" .path ""'), '/api/push'],
  ['{{ count "a|b" "abab" }} {{ count "o" "foo" }} {{ __line__ | count "i" }}', '4 2 3'],
  ['{{ count "" "abc" }}', '4'],
]);

table('math (sprig cast semantics)', [
  ['{{ add 3 2 5 }} {{ add .n 1 }} {{ add "x" 1 }} {{ add "0x10" "010" }} {{ add "5.00" 1 }} {{ add 1.9 1 }}', '10 43 1 24 6 2'],
  ['{{ sub 5 2 }} {{ sub .n 50 }}', '3 -8'],
  ['{{ mul 5 2 3 }} {{ div 10 3 }} {{ div -7 2 }} {{ mod 10 3 }} {{ mod -7 3 }}', '30 3 -3 1 -1'],
  ['{{ max 1 5 3 }} {{ min 4 2 8 }} {{ max .n 7 }}', '5 2 42'],
  ['{{ addf 3.5 2 5 }} {{ addf 0.1 0.2 }} {{ addf .f 1 }}', '10.5 0.3 3.5'],
  ['{{ subf 5.5 2 1.5 }} {{ mulf 5.5 2 2.5 }} {{ mulf 0.1 3 }}', '2 27.5 0.3'],
  ['{{ divf 10 2 4 }} {{ divf 2 3 }} {{ divf 1 3 }}', '1.25 0.6666666666666667 0.3333333333333333'],
  ['{{ maxf 1 2.5 3 }} {{ minf 1.5 2.5 3 }}', '3 1.5'],
  ['{{ ceil 123.001 }} {{ floor 123.9999 }} {{ ceil "1.2" }}', '124 123 2'],
  ['{{ round 123.555555 3 }} {{ round 123.88571428571 5 .2 }} {{ round 2.5 0 }}', '123.556 123.88572 3'],
  ['{{ "3" | int }} {{ int "3.0" }} {{ int "abc" }} {{ int 3.9 }} {{ int true }}', '3 3 0 3 1'],
  ['{{ "3.5" | float64 }} {{ float64 "x" }} {{ float64 2 }}', '3.5 0 2'],
  ['{{ add 1 2 | printf "%d" }}', '3'],
  ['{{ bytes "1.5 KiB" }} {{ bytes "42" }} {{ bytes "1,024 b" }} {{ bytes "1MB" }}', '1536 42 1024 1e+06'],
  ['{{ duration "1h30m" }} {{ duration_seconds "1.5s" }} {{ .dur | duration }} {{ duration "-2ms" }} {{ duration "0" }}', '5400 1.5 90 -0.002 0'],
]);

table('time', [
  ['{{ __timestamp__ }}', '2023-11-14 22:13:20.123456789 +0000 UTC'],
  ['{{ __timestamp__ | date "2006-01-02T15:04:05.00Z07:00" }}', '2023-11-14T22:13:20.12Z'],
  ['{{ date "Mon Jan _2 3:04:05.000 PM MST 2006" __timestamp__ }}', 'Tue Nov 14 10:13:20.123 PM UTC 2023'],
  ['{{ date "02/01/06 15h04 .999 -07:00 January Monday 002" __timestamp__ }}', '14/11/23 22h13 .123 +00:00 November Tuesday 318'],
  ['{{ __timestamp__ | unixEpoch }} {{ __timestamp__ | unixEpochMillis }} {{ __timestamp__ | unixEpochNanos }}', '1700000000 1700000000123 1700000000123456789'],
  ['{{ toDate "2006-01-02" "2021-11-02" }}', '2021-11-02 00:00:00 +0000 UTC'],
  ['{{ toDate "2006-01-02" "2021-11-02" | unixEpoch }}', '1635811200'],
  ['{{ toDate "2006-01-02" "garbage" }}', '0001-01-01 00:00:00 +0000 UTC'],
  ['{{ toDate "2006-01-02T15:04:05.999999999Z07:00" "2021-11-02T10:20:30.5+02:00" }}', '2021-11-02 10:20:30.5 +0200 +0200'],
  ['{{ toDateInZone "2006-01-02 15:04" "UTC" "2021-11-02 10:20" | unixEpoch }}', '1635848400'],
  ['{{ toDateInZone "2006-01-02 15:04" "America/New_York" "2021-07-01 10:00" }}', '2021-07-01 10:00:00 -0400 EDT'],
  ['{{ toDateInZone "2006-01-02 15:04" "America/New_York" "2021-07-01 10:00" | unixEpoch }}', '1625148000'],
  ['{{ toDateInZone "2006-01-02" "Not/AZone" "2021-11-02" }}', '2021-11-02 00:00:00 +0000 UTC'],
  ['{{ date "2006-01-02" (unixToTime .from) }}', '2023-03-23'],
  ['{{ unixToTime "19373" }}|{{ unixToTime "1673798889902" }}|{{ unixToTime "1673798889902000" }}|{{ unixToTime "1673798889902000001" }}', '2023-01-16 00:00:00 +0000 UTC|2023-01-15 16:08:09.902 +0000 UTC|2023-01-15 16:08:09.902 +0000 UTC|2023-01-15 16:08:09.902000001 +0000 UTC'],
  ['{{ date "2006" 0 }}', '1970'],
  ['{{ __timestamp__.Unix }} {{ __timestamp__.Format "15:04" }} {{ __timestamp__.Year }} {{ (__timestamp__).Month }}', '1700000000 22:13 2023 November'],
  ['{{ if gt (len (date "2006" now)) 3 }}ok{{ end }}', 'ok'],
]);

describe('__line__', () => {
  it('returns the current line', () => {
    const t = compileTemplate('{{ __line__ | upper }} / {{ __line__ }}');
    expect(t.execute(ctx(LABELS, 'abc'))).toBe('ABC / abc');
    expect(t.execute(ctx(LABELS, 'xyz'))).toBe('XYZ / xyz');
  });
  it('state does not leak between executions', () => {
    const t = compileTemplate('{{ range $i, $e := fromJson .a }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $e }}{{ end }}{{ $x := .b }}{{ $x }}');
    expect(t.execute(ctx({ a: '[1,2,3]', b: 'B' }))).toBe('1B');
    expect(t.execute(ctx({ a: '[4,5]', b: 'C' }))).toBe('4C');
  });
});

describe('execution errors', () => {
  const cases: Array<[string, string]> = [
    ['{{ eq .n 42 }}', 'template: line:1:3: executing "line" at <eq .n 42>: error calling eq: incompatible types for comparison'],
    ['{{ .level.x }}', 'template: line:1:3: executing "line" at <.level.x>: can\'t evaluate field x in type string'],
    ['{{ div 1 0 }}', 'error calling div: runtime error: integer divide by zero'],
    ['{{ upper 3 }}', 'expected string; found 3'],
    ['{{ add 1 2 | upper }}', 'wrong type for value; expected string; got int'],
    ['{{ trunc "5" .msg }}', 'expected integer; found "5"'],
    ['{{ trunc .n .msg }}', 'wrong type for value; expected int; got string'],
    ['{{ upper }}', 'wrong number of args for upper: want 1 got 0'],
    ['{{ .msg | upper "x" }}', 'wrong number of args for upper: want 1 got 2'],
    ['{{ lt true false }}', 'error calling lt: invalid type for comparison'],
    ['{{ index (fromJson .q) 5 }}', 'error calling index: index out of range: 5'],
    ['{{ len 3 }}', 'error calling len: len of type int'],
    ['{{ regexReplaceAll "(" .msg "x" }}', 'error calling regexReplaceAll: error parsing regexp: missing closing ): `(`'],
    ['{{ urldecode "%zz" }}', 'error calling urldecode: invalid URL escape "%zz"'],
    ['{{ duration "1d" }}', 'error calling duration: time: unknown unit "d" in duration "1d"'],
    ['{{ duration "5" }}', 'error calling duration: time: missing unit in duration "5"'],
    ['{{ bytes "12 zz" }}', 'error calling bytes: unhandled size name: zz'],
    ['{{ unixToTime "abc" }}', 'error calling unixToTime: unable to parse time \'abc\': strconv.ParseInt: parsing "abc": invalid syntax'],
    ['{{ unixEpoch .from }}', 'wrong type for value; expected time.Time; got string'],
    ['{{ range .level }}x{{ end }}', "range can't iterate over info"],
    ['{{ "a" "b" }}', 'can\'t give argument to non-function "a"'],
    ['{{ .level | .msg }}', 'msg is not a method but has arguments'],
    // Go names the field node (its arguments are never evaluated) and, for a wrong argument
    // count, the function's identifier (Loki's fmt_test.go tables).
    ['{{.msg Replace "foo"}}', 'template: line:1:2: executing "line" at <.msg>: msg is not a method but has arguments'],
    ['{{replace "test" .msg}}', 'template: line:1:2: executing "line" at <replace>: wrong number of args for replace: want 3 got 2'],
    ['{{ .msg | upper "x" }}', 'template: line:1:10: executing "line" at <upper>: wrong number of args for upper: want 1 got 2'],
    ['{{ nil }}', 'nil is not a command'],
    ['{{ (fromJson "null").x }}', 'nil pointer evaluating interface {}.x'],
    ['{{ repeat -1 "x" }}', 'error calling repeat: strings: negative Repeat count'],
  ];
  it.each(cases)('%s', (src, msg) => {
    const t = compileTemplate(src);
    let err: unknown;
    try {
      t.execute(ctx());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateExecError);
    expect((err as Error).message).toContain(msg);
  });
  it('reports the position of the failing command on later lines', () => {
    const t = compileTemplate('line one\n  {{ div 1 0 }}');
    expect(() => t.execute(ctx())).toThrow('template: line:2:5: executing "line" at <div 1 0>: error calling div');
  });
});

describe('parse errors', () => {
  const cases: Array<[string, string, number, number]> = [
    ['{{ foo }}', 'template: line:1: function "foo" not defined', 1, 4],
    ['ab\n{{ .x | nope 1 }}', 'template: line:2: function "nope" not defined', 2, 9],
    ['{{ .level ', 'template: line:1: unclosed action', 1, 11],
    ['{{ .level }', 'template: line:1: unexpected "}" in operand', 1, 11],
    ['{{ .level }}{{ .x ', 'template: line:1: unclosed action', 1, 19],
    ['{{ if .x }}a', 'template: line:1: unexpected EOF', 1, 13],
    ['{{ end }}', 'template: line:1: unexpected {{end}}', 1, 1],
    ['{{ else }}', 'template: line:1: unexpected {{else}}', 1, 1],
    ['{{ }}', 'template: line:1: missing value for command', 1, 4],
    ['{{ if }}x{{ end }}', 'template: line:1: missing value for if', 1, 7],
    ['{{ .x | }}', 'template: line:1: missing command after |', 1, 9],
    ['{{ | upper }}', 'template: line:1: unexpected "|" in command', 1, 4],
    ['{{ .x | | upper }}', 'template: line:1: unexpected "|" in command', 1, 9],
    ['{{ ( ) }}', 'template: line:1: missing value for parenthesized pipeline', 1, 6],
    ['{{ .x | "a" }}', 'template: line:1: non executable command in pipeline stage 2', 1, 9],
    ['{{ $x }}', 'template: line:1: undefined variable "$x"', 1, 4],
    ['{{ $x = 1 }}', 'template: line:1: undefined variable "$x"', 1, 4],
    ['{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}', 'template: line:1: undefined variable "$x"', 1, 39],
    ['{{ break }}', 'template: line:1: {{break}} outside {{range}}', 1, 4],
    ['{{ continue }}', 'template: line:1: {{continue}} outside {{range}}', 1, 4],
    ['{{ "abc }}', 'template: line:1: unterminated quoted string', 1, 4],
    ['{{ `abc }}', 'template: line:1: unterminated raw quoted string', 1, 4],
    ['{{ "\\q" }}', 'template: line:1: invalid syntax', 1, 4],
    ['{{ (upper .x }}', 'template: line:1: unclosed left paren', 1, 14],
    ['{{ upper .x) }}', 'template: line:1: unexpected right paren', 1, 12],
    ['{{ 3x }}', 'template: line:1: bad number syntax: "3x"', 1, 4],
    ['{{ # }}', 'template: line:1: unexpected "#" in command', 1, 4],
    ['{{ \u0001 }}', "template: line:1: unrecognized character in action: U+0001 '\u0001'", 1, 4],
    ['{{/* open ', 'template: line:1: unclosed comment', 1, 1],
    ['{{/* c */ x}}', 'template: line:1: comment ends before closing delimiter', 1, 1],
    ['{{ range $a, $b, $c := .x }}{{ end }}', 'template: line:1: too many declarations in range', 1, 14],
    ['{{ if .x }}a{{ else }}b{{ else }}c{{ end }}', 'template: line:1: expected end; found {{else}}', 1, 24],
    ['{{ define "x" }}{{ end }}', 'template: line:1: {{define}} is not supported', 1, 4],
    ['{{ .x.y.z 1 | }}'.replace(' 1 | ', ' "a" )'), 'template: line:1: unexpected right paren', 1, 15],
    ['{{ "x".y }}', 'template: line:1: unexpected . after term "\\"x\\""', 1, 4],
  ];
  it.each(cases)('%s', (src, detail, line, col) => {
    let err: unknown;
    try {
      compileTemplate(src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParseError);
    const pe = err as ParseError;
    expect(pe.detail).toBe(detail);
    expect([pe.line, pe.col]).toEqual([line, col]);
  });
  it('uses the given template name', () => {
    expect(() => compileTemplate('{{ foo }}', 'label')).toThrow('template: label:1: function "foo" not defined');
  });
});

describe('referencedLabels', () => {
  const cases: Array<[string, readonly string[] | null]> = [
    ['plain', []],
    ['{{.level}}: {{.msg}}', ['level', 'msg']],
    ['{{ .msg | upper }} {{ printf "%s" .status }}', ['msg', 'status']],
    ['{{ if eq .level "x" }}{{ .a }}{{ else }}{{ .b }}{{ end }}', ['a', 'b', 'level']],
    ['{{ $.level }} {{ $x := .z }}{{ $x }}', ['level', 'z']],
    ['{{ with .msg }}{{ .inner }}{{ end }}', ['msg']],
    ['{{ range $q := fromJson .queries }}{{ $q.query }}{{ .x }}{{ end }}', ['queries']],
    ['{{ (fromJson .obj).a.b }}', ['obj']],
    ['{{ .a.b }}', ['a']],
    ['{{ __line__ }} {{ __timestamp__ }}', []],
    ['{{ . }}', null],
    ['{{ index . "x" }}', null],
    ['{{ range $k, $v := . }}{{ end }}', null],
    ['{{ with $ }}{{ .x }}{{ end }}', null],
    ['{{ len $ }}', null],
  ];
  it.each(cases)('%s', (src, want) => {
    expect(compileTemplate(src).referencedLabels).toEqual(want);
  });
});

describe('time helpers', () => {
  it('formats and parses Go layouts symmetrically', () => {
    const t = new GoTime(1635848430_500000000n);
    const layout = '2006-01-02T15:04:05.000Z07:00';
    const s = formatTime(t, layout);
    expect(s).toBe('2021-11-02T10:20:30.500Z');
    expect(parseTime(layout, s, loadZone('UTC')!)?.ns).toBe(t.ns);
  });
  it('parses 12-hour clocks, month names and fixed offsets', () => {
    const got = parseTime('Jan 2, 2006 at 3:04pm (MST)', 'Feb 3, 2013 at 7:54pm (PST)', loadZone('UTC')!);
    expect(got?.toString()).toBe('2013-02-03 19:54:00 +0000 PST');
    const off = parseTime('02 Jan 06 15:04 -0700', '02 Feb 21 10:00 +0530', loadZone('UTC')!);
    expect(off?.toString()).toBe('2021-02-02 10:00:00 +0530 +0530');
    expect(parseTime('2006-01-02', '2021-02-30', loadZone('UTC')!)).toBeNull();
  });
  it('handles dates before the epoch and the zero time', () => {
    expect(new GoTime(-1n).toString()).toBe('1969-12-31 23:59:59.999999999 +0000 UTC');
    expect(formatTime(new GoTime(-62135596800_000000000n), '2006-01-02 Mon')).toBe('0001-01-01 Mon');
  });
});

describe('float formatting', () => {
  it.each([
    [1, '1'], [0.1, '0.1'], [1e6, '1e+06'], [123456, '123456'], [1e-5, '1e-05'], [0.0001, '0.0001'], [-2.5, '-2.5'],
    [1 / 3, '0.3333333333333333'], [1e21, '1e+21'], [NaN, 'NaN'], [Infinity, '+Inf'], [0, '0'],
  ])('%s → %s', (x, want) => {
    expect(formatFloat(x, 'g', -1)).toBe(want);
  });
  it('sprintf corner cases', () => {
    expect(sprintf('%08.3f|%-8.2e|%+.1e', [3.14159, 1234.5, -0.000123])).toBe('0003.142|1.23e+03|-1.2e-04');
    expect(sprintf('%z', [1n])).toBe('%!z(int=1)');
    expect(sprintf('%5t|%-5v|', [true, 'ab'])).toBe(' true|ab   |');
  });
});
