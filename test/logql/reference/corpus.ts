/**
 * The conformance corpus. Valid queries carry no expected answer: the reference evaluator
 * computes it at test time from the pushed data. Placeholders ($LOGFMT, $NS, ...) are replaced
 * with real values by `instantiate` (data.ts).
 *
 * Invalid queries expect HTTP 400 and a message: a RegExp, or the generic parse-error shape.
 */

/** Log queries (query_range, streams). */
export const LOG_QUERIES: readonly string[] = [
  // selectors and line filters
  '{container="nginx"}',
  '{namespace="$NS"}',
  '{cluster="$CLUSTER", namespace!="$NS"}',
  '{app=~"$BUSYAPP|$JSONAPP"}',
  '{app!~"$BUSYAPP", cluster=~"prod-.*"}',
  '{level="error"}',
  '{container="nginx"} |= "GET"',
  '{container="nginx"} != "GET"',
  '{container="nginx"} |= "POST" != "healthz"',
  '{container="nginx"} |~ "HTTP/1\\\\.1\\" 5\\\\d\\\\d"',
  '{container="nginx"} !~ "\\" [23]\\\\d\\\\d "',
  '{cluster=~".+"} |= "ERR_RATE_LIMITED_7F1A"',
  '{cluster=~".+"} |= "ERR_DEADLOCK_3C9E" or "ERR_CHECKSUM_B41D"',
  '{cluster=~".+"} != "info" != "INFO" |~ "(?i)error"',
  '{cluster=~".+"} |= ""',
  '{cluster=~".+"} |= "no such token anywhere"',
  '{$JAVA} |= "Caused by:"',
  '{$PYTHON} |~ "Traceback \\\\(most recent call last\\\\)"',
  '{container="nginx"} |> "<_> \\"POST <_>"',
  '{container="nginx"} !> "<_> \\"GET <_>"',
  '{container="nginx"} |> "<_> 200 <_>" or "<_> 404 <_>"',
  // json
  '{level=~".+"} | json',
  '{level="error"} | json | status >= 500',
  '{level=~".+"} | json | duration_ms > 100',
  '{level=~".+"} | json | duration_ms <= 10 or status == 404',
  '{level=~".+"} | json | logger="db" | line_format "{{.msg}}"',
  '{level=~".+"} | json | line_format "{{.level_extracted | ToUpper}} {{.msg}}"',
  '{level=~".+"} | json | line_format "{{ if .method }}{{.method}} {{.path}}{{ else }}no request{{ end }}"',
  '{level=~".+"} | json method, path | method="POST"',
  '{level=~".+"} | json m="method", p="path", d="duration_ms" | d > 50',
  '{level=~".+"} | json | drop trace_id, span_id, ts, user_id',
  '{level=~".+"} | json | keep app, logger, level',
  '{level=~".+"} | json | label_format lg=logger | keep lg, level',
  '{level=~".+"} | json | label_format who="{{.user_id}}@{{.logger}}" | keep who',
  '{level=~".+"} | json | msg=~".*(cart|order).*" | keep app',
  '{level=~".+"} | json | error_code!="" | keep app, error_code',
  '{app="$JSONAPP"} | json | level_extracted="warn" | line_format "{{.msg}}"',
  '{level=~".+"} |= "checkout" | json | path="/checkout" | keep path, status',
  // logfmt
  '{$LOGFMT} | logfmt',
  '{$LOGFMT} | logfmt | duration > 100ms',
  '{$LOGFMT} | logfmt | duration <= 1ms or duration >= 1s',
  '{$LOGFMT} | logfmt | level="warn" or level="error"',
  '{$LOGFMT} | logfmt | status >= 400 | line_format "{{.method}} {{.path}} {{.status}}"',
  '{$LOGFMT} | logfmt --strict | keep app, level',
  '{$LOGFMT} | logfmt --keep-empty | keep caller',
  '{$LOGFMT} | logfmt caller, dur="duration"',
  '{$LOGFMT} | logfmt | component="http" | drop trace_id, ts, msg',
  '{$LOGFMT} | logfmt | caller=~"(main|worker)\\\\.go:.*" | keep caller',
  // pattern and regexp
  '{container="nginx"} | pattern "<ip> - - [<_>] \\"<method> <path> <_>\\" <status> <size> <_>"',
  '{container="nginx"} | pattern "<ip> - - [<_>] \\"<method> <_>\\" <status> <_>" | status >= 400',
  '{container="nginx"} | pattern "<_> \\"<method> <_>" | line_format "{{.method}}"',
  '{container="nginx"} | regexp "\\" (?P<status>\\\\d{3}) (?P<size>\\\\d+) "',
  '{container="nginx"} | regexp "\\" (?P<status>\\\\d{3}) (?P<size>\\\\d+) " | size > 10KB',
  '{container="nginx"} | regexp "^(?P<client>\\\\S+) " | client=~"1.*" | keep client',
  '{$JAVA} | regexp "(?P<jlevel>INFO|WARN|ERROR|DEBUG) \\\\d+ ---" | jlevel="WARN"',
  '{$JAVA} | pattern "<_> [<thread>] <_>" | keep thread',
  '{$PYTHON} | regexp "(?P<plevel>[A-Z]+) \\\\[(?P<logger>[^\\\\]]+)\\\\]" | plevel!="INFO"',
  // errors surface as labels in log queries
  '{namespace="$NS"} | json | __error__="" | keep app, logger',
  '{namespace="$NS"} | json | __error__!="" | keep app',
  '{namespace="$NS"} | logfmt --strict | __error__="LogfmtParserErr" | keep app',
  '{container="nginx"} | regexp "\\" (?P<status>\\\\d{3}) " | status > 1e3',
  '{$LOGFMT} | logfmt | caller > 5 | keep app',
  '{$LOGFMT} | logfmt | caller > 5 | drop __error__, __error_details__ | keep app',
  // label clashes
  '{level=~".+"} | json | label_format level="{{.level_extracted}}" | keep level',
  '{container="nginx"} | regexp "\\"(?P<app>[A-Z]+) " | keep app, app_extracted',
  '{level=~".+"} | logfmt | keep level, level_extracted',
  // decolorize and formats
  '{container="nginx"} |= "Prometheus" | decolorize',
  '{level=~".+"} | json | line_format "{{.app}} {{ __line__ }}" |= "checkout"',
  '{level=~".+"} | json | line_format "{{.status}}" |= "5"',
];

/** Metric queries (query_range matrix and instant vector). */
export const METRIC_QUERIES: readonly string[] = [
  'count_over_time({container="nginx"}[30s])',
  'count_over_time({namespace="$NS"}[10s])',
  'count_over_time({level=~".+"} |= "order" [1m])',
  'rate({level=~".+"}[1m])',
  'rate({cluster=~".+"} |= "ERR_RATE_LIMITED_7F1A" [1m])',
  'bytes_over_time({container="nginx"}[30s])',
  'bytes_rate({namespace="$NS"}[1m])',
  'sum by (app) (bytes_over_time({level=~".+"} | json | line_format "{{.msg}}" [30s]))',
  'count_over_time({container="nginx"}[30s] offset 20s)',
  'count_over_time({container="nginx"}[5s])',
  'absent_over_time({app="no-such-app"}[1m])',
  'absent_over_time({app="$BUSYAPP"}[1m])',
  // parsers in metric queries
  'sum by (logger) (count_over_time({level=~".+"} | json [30s]))',
  'sum by (level_extracted) (rate({level=~".+"} | json [1m]))',
  'sum by (status) (count_over_time({container="nginx"} | pattern "<_> \\"<_>\\" <status> <_>" [30s]))',
  'sum by (method) (count_over_time({$LOGFMT} | logfmt | method!="" [1m]))',
  'count_over_time({level=~".+"} | json | status >= 500 | keep app [1m])',
  // unwrap
  'sum_over_time({level=~".+"} | json duration_ms | unwrap duration_ms [30s])',
  'sum by (app) (sum_over_time({level=~".+"} | json | unwrap duration_ms [30s]))',
  'avg_over_time({level=~".+"} | json | unwrap duration_ms [1m]) by (level)',
  'max_over_time({level=~".+"} | json | unwrap duration_ms [1m]) by (namespace)',
  'min_over_time({level=~".+"} | json | unwrap duration_ms [1m]) by (cluster)',
  'stddev_over_time({level=~".+"} | json | unwrap duration_ms [1m]) by (app)',
  'stdvar_over_time({level=~".+"} | json | unwrap duration_ms [1m]) by (app)',
  'quantile_over_time(0.99, {level=~".+"} | json | unwrap duration_ms [1m]) by (app)',
  'quantile_over_time(0.5, {level=~".+"} | json duration_ms | unwrap duration_ms [30s])',
  'quantile_over_time(0, {level=~".+"} | json | unwrap duration_ms [30s]) by (level)',
  'first_over_time({level=~".+"} | json | unwrap duration_ms [30s]) by (app)',
  'last_over_time({level=~".+"} | json | unwrap duration_ms [30s]) by (app)',
  'sum by (app) (rate({level=~".+"} | json | unwrap duration_ms [1m]))',
  'sum by (app) (sum_over_time({level=~".+"} | json | unwrap status [1m]))',
  'avg_over_time({level=~".+"} | json duration_ms, status | unwrap duration_ms [1m]) without (pod, container)',
  'max_over_time({$LOGFMT} | logfmt | unwrap duration(duration) [1m]) by (app)',
  'avg_over_time({$LOGFMT} | logfmt | unwrap duration_seconds(duration) [1m]) by (level)',
  'sum by (app) (sum_over_time({container="nginx"} | regexp "\\" \\\\d{3} (?P<size>\\\\d+) " | unwrap size [30s]))',
  'max_over_time({container="nginx"} | regexp "\\" \\\\d{3} (?P<size>\\\\d+) " | unwrap bytes(size) [30s]) by (app)',
  'avg_over_time({level=~".+"} | json | duration_ms > 100 | unwrap duration_ms [1m]) by (app)',
  'sum by (app) (sum_over_time({level=~".+"} | json | unwrap duration_ms | duration_ms < 50 [1m]))',
  // vector aggregations
  'sum(count_over_time({cluster=~".+"}[30s]))',
  'sum by (level) (count_over_time({level=~".+"}[30s]))',
  'sum by (app) (rate({container="nginx"} |= "POST" [1m]))',
  'sum without (pod) (count_over_time({app="$BUSYAPP"}[30s]))',
  'avg by (cluster) (rate({cluster=~".+"}[1m]))',
  'min by (namespace) (count_over_time({cluster=~".+"}[30s]))',
  'max by (namespace) (count_over_time({cluster=~".+"}[30s]))',
  'count by (namespace) (count_over_time({cluster=~".+"}[30s]))',
  'count(rate({level=~".+"}[1m]))',
  'stddev by (cluster) (count_over_time({cluster=~".+"}[30s]))',
  'stdvar(count_over_time({cluster=~".+"}[30s]))',
  'topk(3, sum by (app) (rate({cluster=~".+"}[1m])))',
  'bottomk(2, sum by (app) (count_over_time({cluster=~".+"}[30s])))',
  'topk(1, sum by (app, namespace) (count_over_time({cluster=~".+"}[30s]))) by (namespace)',
  'topk(2, sum by (level) (count_over_time({level=~".+"}[1m])))',
  'sort(sum by (app) (count_over_time({container="nginx"}[1m])))',
  'sort_desc(sum by (app) (count_over_time({container="nginx"}[1m])))',
  'sum(sum by (app) (count_over_time({cluster=~".+"}[30s])))',
  'max(avg_over_time({level=~".+"} | json | unwrap duration_ms [1m]) by (app))',
  // binary operations
  'sum(count_over_time({cluster=~".+"}[30s])) > 10',
  'sum by (app) (count_over_time({cluster=~".+"}[30s])) > 20',
  'sum by (app) (count_over_time({cluster=~".+"}[30s])) > bool 20',
  'sum by (app) (count_over_time({cluster=~".+"}[30s])) <= 3',
  '5 < sum by (app) (count_over_time({cluster=~".+"}[30s]))',
  'sum by (level) (count_over_time({level=~".+"}[30s])) * 2',
  'sum by (level) (count_over_time({level=~".+"}[30s])) / 30',
  '100 * sum by (level) (rate({level="error"}[1m])) / sum by (level) (rate({level=~".+"}[1m]))',
  'sum by (level) (rate({level="error"}[1m])) / ignoring (level) sum(rate({level=~".+"}[1m]))',
  'sum by (app) (rate({level="error"}[1m])) / on (app) sum by (app) (rate({level=~".+"}[1m]))',
  'sum by (level) (count_over_time({level=~".+"}[30s])) % 7',
  'sum by (level) (count_over_time({level=~".+"}[30s])) ^ 2',
  'sum by (level) (count_over_time({level=~".+"}[30s])) - 1000',
  'sum(count_over_time({cluster=~".+"}[30s])) == bool sum(count_over_time({cluster=~".+"}[30s]))',
  'sum by (app) (count_over_time({container="nginx"}[30s])) and sum by (app) (count_over_time({container="nginx"} |= "POST" [30s]))',
  'sum by (app) (count_over_time({container="nginx"}[30s])) unless sum by (app) (count_over_time({container="nginx"} |= "DELETE" [30s]))',
  'sum by (app) (count_over_time({container="nginx"} |= "PUT" [30s])) or sum by (app) (count_over_time({$LOGFMT}[30s]))',
  'sum by (app) (count_over_time({container="nginx"}[30s])) > on (app) sum by (app) (count_over_time({container="nginx"} |= "POST" [30s]))',
  // NaN and Inf
  'sum(rate({cluster=~".+"}[1m])) / 0',
  '-1 * sum(rate({cluster=~".+"}[1m])) / 0',
  '(sum(rate({cluster=~".+"}[1m])) - sum(rate({cluster=~".+"}[1m]))) / 0',
  'sum by (level) (count_over_time({level=~".+"}[30s])) / sum by (level) (count_over_time({level=~".+"} |= "no such token" [30s]))',
  'sum by (level) (count_over_time({level=~".+"}[30s])) ^ 400',
  // literals and vector()
  'vector(1)',
  'vector(0) + sum(count_over_time({app="no-such-app"}[30s]))',
  'sum(count_over_time({cluster=~".+"}[30s])) or vector(0)',
  '1 + 2 * 3',
  '2 ^ 0.5',
  '1 / 0',
  '0 / 0',
  // label_replace
  'label_replace(sum by (app) (count_over_time({container="nginx"}[30s])), "short", "$1", "app", "(\\\\w+)-.*")',
  'label_replace(sum by (level) (count_over_time({level=~".+"}[30s])), "level", "", "level", "debug")',
  // edge cases: empty ranges, series vanishing
  'count_over_time({app="no-such-app"}[30s])',
  'sum(count_over_time({cluster=~".+"} |= "ERR_SEGFAULT_0E5F" [10s]))',
  'count_over_time({cluster=~".+"} |= "ERR_DEADLOCK_3C9E" [5s])',
];

/** Metric queries that must fail with HTTP 400 (pipeline errors). */
export const PIPELINE_ERROR_QUERIES: readonly string[] = [
  'count_over_time({cluster=~".+"} | json [1m])',
  // Not here: `sum(count_over_time({...} | json [1m]))` and `sum by (__error__) (...)`. With no
  // label needed after the parser, Loki's parser hints skip parsing (`NoLabels()` in
  // pkg/logql/log/parser.go), so no error arises and Loki answers 200.
  'sum_over_time({$LOGFMT} | logfmt | unwrap duration [1m])',
  'sum(rate({$LOGFMT} | logfmt | caller > 5 [1m]))',
  'max_over_time({level=~".+"} | json | unwrap msg [1m]) by (app)',
];

export interface InvalidCase {
  query: string;
  /** Expected error message (regex); default: the generic `parse error at line L, col C: ...`. */
  message?: RegExp;
  /** `instant` to send to /query (default query_range). */
  endpoint?: 'range' | 'instant';
}

const PARSE = /^parse error at line \d+, col \d+: \S/;

/** Invalid queries: 400 plus Loki's message. */
export const INVALID_QUERIES: readonly InvalidCase[] = [
  { query: '{app="foo"', message: /^parse error at line 1, col 11: syntax error: unexpected \$end/ },
  { query: '{app="foo"} |= ', message: PARSE },
  { query: '{}', message: /queries require at least one regexp or equality matcher that does not have an empty-compatible value/ },
  { query: '{app=~".*"}', message: /queries require at least one regexp or equality matcher that does not have an empty-compatible value/ },
  { query: '{app=""}', message: /queries require at least one regexp or equality matcher/ },
  { query: '{app!~"foo"}', message: /queries require at least one regexp or equality matcher/ },
  // Parsed as in Loki; the regex fails when the query runs, with Go's text and no position.
  { query: '{app="foo"} |~ "(abc"', message: /^error parsing regexp: missing closing \): `\(abc`$/ },
  { query: '{app=~"(abc"}', message: /error parsing regexp: missing closing \)/ },
  { query: '{app="foo"} | regexp "no-capture"', message: /at least one named capture must be supplied/ },
  { query: '{app="foo"} | pattern "no capture"', message: /at least one capture is required/ },
  { query: '{app="foo"} | pattern "<a><b>"', message: /found consecutive capture/ },
  { query: '{app="foo"} | logfmt --wrong', message: PARSE },
  { query: '{app="foo"} | json a=', message: PARSE },
  { query: '{app="foo"} | line_format', message: PARSE },
  { query: '{app="foo"} | label_format a', message: PARSE },
  { query: '{app="foo"} | a > "b"', message: PARSE },
  { query: '{app="foo"} | unwrap x', message: PARSE },
  { query: '{app="foo"} [5m]', message: PARSE },
  { query: 'count_over_time({app="foo"})', message: PARSE },
  { query: 'count_over_time({app="foo"}[5x])', message: PARSE },
  { query: 'count_over_time({app="foo"} | unwrap x [5m])', message: /invalid aggregation count_over_time with unwrap/ },
  { query: 'sum_over_time({app="foo"}[5m])', message: /invalid aggregation sum_over_time without unwrap/ },
  { query: 'rate({app="foo"}[5m]) by (a)', message: /grouping not allowed for rate aggregation/ },
  { query: 'quantile_over_time({app="foo"} | unwrap x [5m])', message: PARSE },
  { query: 'count_over_time({app=~".*"}[5m])', message: /queries require at least one regexp or equality matcher/ },
  { query: 'sum()', message: PARSE },
  { query: 'sum(rate({app="foo"}[5m])', message: PARSE },
  { query: 'sum by (a) (rate({app="foo"}[5m])) by (b)', message: PARSE },
  { query: 'topk(rate({app="foo"}[5m]))', message: /parameter required for operation topk/ },
  { query: 'topk(0, rate({app="foo"}[5m]))', message: /invalid parameter \(must be greater than 0\)/ },
  { query: 'topk(1.5, rate({app="foo"}[5m]))', message: /invalid parameter topk\(1.5,/ },
  { query: 'rate({app="foo"}[5m]) +', message: PARSE },
  { query: '1 and 1', message: /unexpected literal for (left|right) leg of logical\/set binary operation \(and\)/ },
  { query: 'rate({app="foo"}[5m]) and 1', message: /unexpected literal for right leg of logical\/set binary operation \(and\): 1\.000000/ },
  { query: '{app="foo"} + 1', message: PARSE },
  { query: '{app="foo"} or {app="bar"}', message: PARSE },
  { query: 'label_replace(rate({app="foo"}[5m]), "dst", "$1", "src", "(.*")', message: /invalid regex in label_replace/ },
  { query: 'vector()', message: PARSE },
  { query: 'vector(a)', message: PARSE },
  { query: 'sum(rate({app="foo"}[5m])) ]', message: PARSE },
  { query: '@', message: PARSE },
  { query: 'rate', message: PARSE },
  { query: 'foo', message: PARSE },
  { query: '', message: PARSE },
  { query: '{app="foo"} |= "x" or', message: PARSE },
  { query: '{app="foo"} | json 5', message: PARSE },
  { query: 'sum_over_time({app="foo"} | unwrap [5m])', message: PARSE },
  { query: 'sum_over_time({app="foo"} | unwrap bytes(x [5m])', message: PARSE },
  { query: 'count_over_time({app="foo"}[5m] offset)', message: PARSE },
  { query: '{app="foo"} |= "bad \\q escape"', message: PARSE },
  { query: '{app="foo"}\n| json\n| status >', message: /^parse error at line 3, col \d+: / },
  { query: 'sum(count_over_time({app="foo"}[5m])) by', message: PARSE },
  { query: 'approx_topk by (a) (5, rate({app="foo"}[5m]))', message: PARSE },
  { query: 'sort by (a) (rate({app="foo"}[5m]))', message: /sort and sort_desc doesn't allow grouping by/ },
  { query: 'sum(count_over_time({app="foo"} | json [5m])) > "x"', message: PARSE },
  { query: 'count_over_time({app="foo"}[1.5h])', message: PARSE },
  { query: 'rate({app="foo"}[5m]) group_left rate({app="bar"}[5m])', message: PARSE },
  { query: 'rate({app="foo"}[5m]) + on rate({app="bar"}[5m])', message: PARSE },
  // instant log queries
  { query: '{app="foo"}', endpoint: 'instant', message: /log queries are not supported as an instant query type, please change your query to a range query type/ },
  { query: '{app="foo"} |= "x" | json', endpoint: 'instant', message: /log queries are not supported as an instant query type/ },
];

const SELECTORS = ['{container="nginx"}', '{level=~".+"}', '{level="warn"}', '{namespace="$NS"}', '{namespace="$NS2", cluster=~"prod-.*"}', '{$LOGFMT}', '{$JAVA} |= "ERROR"', '{app="$BUSYAPP"}'];
const SIMPLE_RANGE = ['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate'];
const VECTOR = ['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar'];
const GROUPINGS = ['', ' by (app)', ' by (namespace, cluster)', ' without (pod, container)'];
const CMP_OPS = ['==', '!=', '>', '>=', '<', '<='];
const ARITH_OPS = ['+', '-', '*', '/', '%', '^'];

/** Systematic cross products: every simple range op on every selector, every vector op with every grouping, every operator. */
export const EXPANDED_METRIC_QUERIES: readonly string[] = [
  ...SIMPLE_RANGE.flatMap((op) => SELECTORS.map((sel) => `${op}(${sel} [20s])`)),
  ...VECTOR.flatMap((op) => GROUPINGS.map((g) => `${op}${g} (count_over_time({cluster=~".+"}[30s]))`)),
  ...CMP_OPS.flatMap((op) => [`sum by (app) (count_over_time({cluster=~".+"}[30s])) ${op} 12`, `sum by (app) (count_over_time({cluster=~".+"}[30s])) ${op} bool 12`]),
  ...ARITH_OPS.map((op) => `sum by (level) (count_over_time({level=~".+"}[30s])) ${op} sum by (level) (count_over_time({level=~".+"} |= "a" [30s]))`),
  ...ARITH_OPS.map((op) => `3 ${op} sum by (level) (count_over_time({level=~".+"}[30s]))`),
];

/** Number of queries in the corpus (valid + pipeline errors + invalid). */
export const CORPUS_SIZE = LOG_QUERIES.length + METRIC_QUERIES.length + EXPANDED_METRIC_QUERIES.length + PIPELINE_ERROR_QUERIES.length + INVALID_QUERIES.length;
