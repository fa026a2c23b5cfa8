/**
 * siltcli: a logcli-compatible command line for Silt (and Loki) over the HTTP API.
 * `runCli` takes its arguments, environment and streams explicitly so tests can drive it.
 */
import { parseExpr, printExpr } from '../logql/syntax/index.js';
import { NS_PER_MS, NS_PER_SECOND } from '../model/index.js';
import { HttpError, LokiClient } from './client.js';
import { CliError } from './errors.js';
import { exportRange, type ExportFormat } from './export.js';
import { Flags, parseFlags, usage, type FlagSpec } from './flags.js';
import { labelSetString, LogPrinter, COLORS, type LabelSet, type OutputMode } from './output.js';
import { flattenStreams, metricJson, pageRange, StreamPrinter, type MetricData, type QueryResponse } from './query.js';
import { tail } from './tail.js';
import { formatTime, logPrefix, parseGoDuration, parseTimeArg, type Zone } from './time.js';
import { formatHumanBytes } from '../util/go/bytes.js';

export interface CliIo {
  env: Record<string, string | undefined>;
  /** Writes to stdout (bytes only for `export --format parquet`); a promise means "wait before writing more". */
  stdout: { write(s: string | Uint8Array): void | Promise<void>; isTTY: boolean };
  stderr: { write(s: string): void; isTTY: boolean; columns: number };
  readStdin(): Promise<string>;
  /** Resolves on Ctrl-C (for --tail). */
  interrupted: Promise<void>;
  nowMs(): number;
}

export const VERSION = '0.1.0';

const GLOBAL: FlagSpec[] = [
  { name: 'addr', kind: 'string', def: 'http://localhost:3100', env: 'LOKI_ADDR', help: 'Server address.' },
  { name: 'username', kind: 'string', def: '', env: 'LOKI_USERNAME', help: 'Username for HTTP basic auth.' },
  { name: 'password', kind: 'string', def: '', env: 'LOKI_PASSWORD', help: 'Password for HTTP basic auth.' },
  { name: 'org-id', kind: 'string', def: '', env: 'LOKI_ORG_ID', help: 'Adds X-Scope-OrgID to API requests (the tenant).' },
  { name: 'bearer-token', kind: 'string', def: '', env: 'LOKI_BEARER_TOKEN', help: 'Adds an Authorization: Bearer header.' },
  { name: 'bearer-token-file', kind: 'string', def: '', env: 'LOKI_BEARER_TOKEN_FILE', help: 'Reads the bearer token from a file.' },
  { name: 'query-tags', kind: 'string', def: '', env: 'LOKI_QUERY_TAGS', help: 'Adds an X-Query-Tags header.' },
  { name: 'header', kind: 'strings', help: "Custom HTTP header, 'Name: value' (repeatable)." },
  { name: 'quiet', short: 'q', kind: 'bool', def: 'false', help: 'Suppress query metadata.' },
  { name: 'stats', kind: 'bool', def: 'false', help: 'Show query statistics.' },
  { name: 'output', short: 'o', kind: 'string', def: 'default', values: ['default', 'raw', 'jsonl'], help: 'Output mode [default, raw, jsonl].' },
  { name: 'timezone', short: 'z', kind: 'string', def: 'Local', values: ['Local', 'UTC'], help: 'Timezone of printed timestamps [Local, UTC].' },
  { name: 'output-timestamp-format', kind: 'string', def: 'rfc3339nano', values: ['rfc3339', 'rfc3339nano'], help: 'Timestamp format of the default output.' },
  { name: 'color', kind: 'string', def: 'auto', values: ['auto', 'always', 'never'], help: 'Colour by level: on a terminal only (auto), always or never.' },
  { name: 'help', short: 'h', kind: 'bool', help: 'Show help.' },
];

const RANGE: FlagSpec[] = [
  { name: 'since', kind: 'string', def: '1h', help: 'Lookback window.' },
  { name: 'from', kind: 'string', help: 'Start at this absolute time (inclusive), RFC3339.' },
  { name: 'to', kind: 'string', help: 'Stop at this absolute time (exclusive), RFC3339.' },
];

const LABEL_OUTPUT: FlagSpec[] = [
  { name: 'forward', kind: 'bool', def: 'false', help: 'Scan forwards through logs.' },
  { name: 'no-labels', kind: 'bool', def: 'false', help: 'Do not print any labels.' },
  { name: 'exclude-label', kind: 'strings', help: 'Exclude labels given the provided key during output (repeatable).' },
  { name: 'include-label', kind: 'strings', help: 'Include labels given the provided key during output (repeatable).' },
  { name: 'include-common-labels', kind: 'bool', def: 'false', help: 'Include common labels in output for each log line.' },
  { name: 'labels-length', kind: 'int', def: '0', help: 'Set a fixed padding to labels.' },
  { name: 'colored-output', kind: 'bool', def: 'false', help: 'Accepted for logcli compatibility (colour follows --color).' },
];

interface Command {
  summary: string;
  args: string;
  flags: FlagSpec[];
  run(f: Flags, ctx: Ctx): Promise<void>;
}

interface Ctx {
  io: CliIo;
  /** `quietOverride` silences the per-request URL log (export with a progress bar). */
  client: (quietOverride?: boolean) => LokiClient;
  out: (s: string) => void | Promise<void>;
  log: (s: string) => void;
  printer: (noLabels: boolean) => LogPrinter;
  range: (f: Flags) => { startNs: bigint; endNs: bigint };
  quiet: boolean;
  mode: OutputMode;
}

function need(f: Flags, n: number, what: string): string[] {
  if (f.args.length < n) throw new CliError(`required argument '${what}' not provided, try --help`);
  return f.args;
}

/** Go's humanize.Bytes without the space, as logcli's stats output. */
export function humanBytes(n: number): string {
  return formatHumanBytes(n).replace(' ', '');
}

function printMetricTo(ctx: Ctx): (d: MetricData) => void {
  return (d) => void ctx.out(metricJson(d));
}

const COMMANDS: Record<string, Command> = {
  query: {
    summary: 'Run a LogQL query (log lines page by page; metric queries as a range).',
    args: '<query>',
    flags: [
      ...RANGE,
      { name: 'limit', kind: 'int', def: '30', help: 'Lines to print; 0 prints every line of the range.' },
      { name: 'batch', kind: 'int', def: '1000', help: 'Lines per request while paging to --limit.' },
      { name: 'step', kind: 'string', help: 'Query resolution step, for metric queries.' },
      { name: 'tail', short: 't', kind: 'bool', def: 'false', help: 'Tail the logs (WebSocket /loki/api/v1/tail).' },
      { name: 'follow', short: 'f', kind: 'bool', def: 'false', help: 'Alias for --tail.' },
      { name: 'delay-for', kind: 'int', def: '0', help: 'Delay in tailing by this many seconds.' },
      ...LABEL_OUTPUT,
    ],
    async run(f, ctx) {
      const [query] = need(f, 1, 'query');
      if (f.bool('tail') || f.bool('follow')) {
        const { startNs } = ctx.range(f);
        await tail(
          ctx.client(),
          { query: query!, limit: f.int('limit'), startNs, delayForSec: f.int('delay-for'), includeLabels: f.list('include-label'), excludeLabels: f.list('exclude-label'), stop: ctx.io.interrupted, log: ctx.log, quiet: ctx.quiet },
          ctx.printer(f.bool('no-labels')),
        );
        return;
      }
      const { startNs, endNs } = ctx.range(f);
      const limit = f.int('limit');
      if (limit < 0) throw new CliError('--limit must not be negative');
      const q = {
        query: query!,
        startNs,
        endNs,
        limit,
        batch: f.int('batch'),
        forward: f.bool('forward'),
        stepNs: f.str('step') === '' ? 0n : parseGoDuration(f.str('step')),
        quiet: ctx.quiet,
        includeLabels: f.list('include-label'),
        excludeLabels: f.list('exclude-label'),
        includeCommonLabels: f.bool('include-common-labels'),
        fixedLabelsLen: f.int('labels-length'),
      };
      if (q.batch <= 0) throw new CliError('--batch must be positive');
      const printer = new StreamPrinter(q, ctx.printer(f.bool('no-labels')), ctx.log, printMetricTo(ctx));
      const stats = f.bool('stats');
      await pageRange(ctx.client(), q, {
        onMetric: (d) => printer.onMetric(d),
        onStats: stats ? (st) => printStats(st, ctx.io.stderr.write.bind(ctx.io.stderr)) : undefined,
        onEntries: async (es) => {
          printer.onEntries(es);
          await ctx.out('');
        },
      });
    },
  },
  'instant-query': {
    summary: 'Run an instant LogQL query.',
    args: '<query>',
    flags: [{ name: 'limit', kind: 'int', def: '30', help: 'Limit on number of entries to print.' }, { name: 'now', kind: 'string', help: 'Time at which to execute the instant query.' }, ...LABEL_OUTPUT],
    async run(f, ctx) {
      const [query] = need(f, 1, 'query');
      const at = f.str('now') === '' ? BigInt(ctx.io.nowMs()) * NS_PER_MS : parseTimeArg(f.str('now'), 'now');
      const p = new URLSearchParams({ query: query!, limit: String(f.int('limit')), time: at.toString(), direction: f.bool('forward') ? 'FORWARD' : 'BACKWARD' });
      const r = await ctx.client().getJson<QueryResponse>('/loki/api/v1/query', p);
      if (r.data.resultType === 'streams') {
        const printer = new StreamPrinter({ quiet: ctx.quiet, includeLabels: f.list('include-label'), excludeLabels: f.list('exclude-label'), includeCommonLabels: f.bool('include-common-labels'), fixedLabelsLen: f.int('labels-length') }, ctx.printer(f.bool('no-labels')), ctx.log, printMetricTo(ctx));
        printer.onEntries(flattenStreams(r.data, f.bool('forward')));
      } else await ctx.out(metricJson(r.data) + '\n');
    },
  },
  labels: {
    summary: 'List label names, or the values of one label.',
    args: '[<label>]',
    flags: [...RANGE],
    async run(f, ctx) {
      const { startNs, endNs } = ctx.range(f);
      const p = new URLSearchParams({ start: startNs.toString(), end: endNs.toString() });
      const name = f.args[0];
      const path = name ? `/loki/api/v1/label/${encodeURIComponent(name)}/values` : '/loki/api/v1/labels';
      const r = await ctx.client().getJson<{ data?: string[] }>(path, p);
      for (const v of r.data ?? []) await ctx.out(v + '\n');
    },
  },
  series: {
    summary: 'List the streams (label sets) a selector matches.',
    args: '<matcher>',
    flags: [...RANGE, { name: 'analyze-labels', kind: 'bool', def: 'false', help: 'Summarise labels: unique values and streams per label.' }],
    async run(f, ctx) {
      const [matcher] = need(f, 1, 'matcher');
      const { startNs, endNs } = ctx.range(f);
      const p = new URLSearchParams({ start: startNs.toString(), end: endNs.toString(), match: matcher! });
      const r = await ctx.client().getJson<{ data?: LabelSet[] }>('/loki/api/v1/series', p);
      const streams = r.data ?? [];
      if (!f.bool('analyze-labels')) {
        for (const s of streams) await ctx.out(labelSetString(s) + '\n');
        return;
      }
      const by = new Map<string, { values: Set<string>; streams: number }>();
      for (const s of streams) {
        for (const [k, v] of Object.entries(s)) {
          let d = by.get(k);
          if (!d) by.set(k, (d = { values: new Set(), streams: 0 }));
          d.values.add(v);
          d.streams++;
        }
      }
      const rows = [...by].sort((a, b) => b[1].values.size - a[1].values.size || (a[0] < b[0] ? -1 : 1));
      const table = [['Label Name', 'Unique Values', 'Found In Streams'], ...rows.map(([k, d]) => [k, String(d.values.size), String(d.streams)])];
      const w = [0, 1].map((i) => Math.max(...table.map((r2) => r2[i]!.length)) + 2);
      let s = `Total Streams:  ${streams.length}\nUnique Labels:  ${by.size}\n\n`;
      for (const r2 of table) s += r2[0]!.padEnd(w[0]!) + r2[1]!.padEnd(w[1]!) + r2[2] + '\n';
      await ctx.out(s);
    },
  },
  fmt: {
    summary: 'Format a LogQL query read from stdin.',
    args: '',
    flags: [],
    async run(_f, ctx) {
      const text = await ctx.io.readStdin();
      let out: string;
      try {
        out = printExpr(parseExpr(text.trim()));
      } catch (e) {
        throw new CliError(`unable to format logql: failed to parse the query: ${(e as Error).message}`);
      }
      await ctx.out(out + '\n');
    },
  },
  stats: {
    summary: 'Index statistics (streams, chunks, entries, bytes) of a selector.',
    args: '<query>',
    flags: [...RANGE],
    async run(f, ctx) {
      const [query] = need(f, 1, 'query');
      const { startNs, endNs } = ctx.range(f);
      const r = await ctx.client().getJson<{ bytes: number; chunks: number; streams: number; entries: number }>('/loki/api/v1/index/stats', new URLSearchParams({ start: startNs.toString(), end: endNs.toString(), query: query! }));
      const c = ctx.io.stdout.isTTY && colorWanted(ctx);
      const k = (s: string): string => (c ? COLORS.blue + s + COLORS.reset : s);
      await ctx.out(`{\n  ${k('bytes')}: ${humanBytes(r.bytes)}\n  ${k('chunks')}: ${r.chunks}\n  ${k('streams')}: ${r.streams}\n  ${k('entries')}: ${r.entries}\n}\n`);
    },
  },
  volume: volumeCommand(false),
  volume_range: volumeCommand(true),
  'detected-fields': {
    summary: 'Fields detected in the lines of a query (or the values of one field).',
    args: '<query> [<field>]',
    flags: [
      { name: 'limit', kind: 'int', def: '100', help: 'Limit on number of fields or values to return.' },
      { name: 'line-limit', kind: 'int', def: '1000', help: 'Lines to read.' },
      { name: 'step', kind: 'string', def: '10s', help: 'Query resolution step.' },
      ...RANGE,
    ],
    async run(f, ctx) {
      const [query, field] = need(f, 1, 'query');
      const { startNs, endNs } = ctx.range(f);
      const p = new URLSearchParams({ query: query!, limit: String(f.int('limit')), line_limit: String(f.int('line-limit')), start: startNs.toString(), end: endNs.toString(), step: f.str('step') });
      const path = field ? `/loki/api/v1/detected_field/${encodeURIComponent(field)}/values` : '/loki/api/v1/detected_fields';
      const r = await ctx.client().getJson<{ fields?: { label: string; type: string; cardinality: number }[]; values?: string[] }>(path, p);
      if (ctx.mode === 'raw') {
        await ctx.out(JSON.stringify(r) + '\n');
        return;
      }
      const lines = r.fields && r.fields.length > 0 ? r.fields.map((x) => `label: ${x.label}\t\ttype: ${x.type}\t\tcardinality: ${x.cardinality}`) : (r.values ?? []);
      await ctx.out([...lines].sort().join('\n') + '\n');
    },
  },
  delete: {
    summary: 'Manage log deletion requests: delete create <query> | delete list | delete cancel --request-id=ID.',
    args: 'create|list|cancel',
    flags: [...RANGE, { name: 'max-interval', kind: 'string', help: 'Maximum time interval for delete request.' }, { name: 'request-id', kind: 'string', help: 'ID of the delete request to cancel.' }, { name: 'force', kind: 'bool', def: 'false', help: 'Force cancellation of partially completed request.' }],
    async run(f, ctx) {
      const [sub, query] = need(f, 1, 'create|list|cancel');
      const c = ctx.client();
      const missing = (e: unknown): never => {
        if (e instanceof HttpError && (e.status === 404 || e.status === 405)) throw new CliError(`this server has no delete API (/loki/api/v1/delete answered ${e.status}); enable deletion on the server (compactor) first`);
        throw e;
      };
      if (sub === 'create') {
        if (!query) throw new CliError("required argument 'query' not provided, try --help");
        const { startNs, endNs } = ctx.range(f);
        const p = new URLSearchParams({ query, start: (startNs / NS_PER_SECOND).toString(), end: (endNs / NS_PER_SECOND).toString() });
        if (f.str('max-interval') !== '') p.set('max_interval', f.str('max-interval'));
        await c.request('POST', '/loki/api/v1/delete', p).catch(missing);
        if (!ctx.quiet) await ctx.out('Delete request created successfully\n');
      } else if (sub === 'list') {
        const body = await c.request('GET', '/loki/api/v1/delete').catch(missing);
        const reqs = JSON.parse(body) as { request_id?: string; start_time: number; end_time: number; query: string; status: string }[];
        if (ctx.mode === 'jsonl') {
          for (const r of reqs) await ctx.out(JSON.stringify(r) + '\n');
          return;
        }
        let s = ctx.quiet ? '' : `Found ${reqs.length} delete requests:\n`;
        for (const r of reqs) {
          const t = (sec: number): string => formatTime(BigInt(Math.trunc(sec)) * NS_PER_SECOND, 'UTC', false);
          s += `${r.request_id ? `Request ID: ${r.request_id}\n` : ''}Query: ${r.query}\nStart Time: ${t(r.start_time)}\nEnd Time: ${t(r.end_time)}\nStatus: ${r.status}\n---\n`;
        }
        await ctx.out(s);
      } else if (sub === 'cancel') {
        const id = f.str('request-id');
        if (id === '') throw new CliError("required flag --request-id not provided, try --help");
        const p = new URLSearchParams({ request_id: id });
        if (f.bool('force')) p.set('force', 'true');
        await c.request('DELETE', '/loki/api/v1/delete', p).catch(missing);
        if (!ctx.quiet) await ctx.out(`Delete request ${id} cancelled successfully\n`);
      } else throw new CliError(`unknown delete command '${sub}': use create, list or cancel`);
    },
  },
  export: {
    summary: 'Stream every line of a time range to stdout as JSONL, CSV or Parquet (progress on a terminal).',
    args: '<query>',
    flags: [...RANGE, { name: 'batch', kind: 'int', def: '1000', help: 'Lines per request.' }, { name: 'format', kind: 'string', def: 'jsonl', values: ['jsonl', 'csv', 'parquet'], help: 'Output format [jsonl, csv, parquet]; parquet has Loki\'s rows {timestamp (ns), labels (map), line}.' }],
    async run(f, ctx) {
      const [query] = need(f, 1, 'query');
      const { startNs, endNs } = ctx.range(f);
      if (f.int('batch') <= 0) throw new CliError('--batch must be positive');
      const format = f.str('format') as ExportFormat;
      if (format === 'parquet' && ctx.io.stdout.isTTY) throw new CliError('refusing to write Parquet to a terminal: redirect stdout to a file (> logs.parquet)');
      const err = ctx.io.stderr;
      const bar = err.isTTY && !ctx.quiet;
      // With the bar on stderr, request URLs are not logged (they would break the bar's line).
      const n = await exportRange(ctx.client(bar || ctx.quiet), {
        query: query!,
        startNs,
        endNs,
        batch: f.int('batch'),
        format,
        write: (s) => (typeof s === 'string' ? ctx.out(s) : ctx.io.stdout.write(s)),
        progress: bar ? (s) => err.write(s) : null,
        columns: err.columns,
      });
      if (!ctx.quiet) ctx.log(`exported ${n} lines`);
    },
  },
};

function volumeCommand(range: boolean): Command {
  return {
    summary: range ? 'Bytes per series over time (index/volume_range).' : 'Bytes per series (index/volume).',
    args: '<query>',
    flags: [
      ...RANGE,
      { name: 'limit', kind: 'int', def: '30', help: 'Limit on number of series to return volumes for.' },
      { name: 'targetLabels', kind: 'strings', help: 'Labels to aggregate results into (repeatable).' },
      { name: 'aggregateByLabels', kind: 'bool', def: 'false', help: 'Aggregate results by label name only.' },
      ...(range ? [{ name: 'step', kind: 'string', def: '1h', help: 'Bucket width.' } satisfies FlagSpec] : []),
    ],
    async run(f, ctx) {
      const [query] = need(f, 1, 'query');
      const { startNs, endNs } = ctx.range(f);
      const p = new URLSearchParams({ start: startNs.toString(), end: endNs.toString(), query: query!, limit: String(f.int('limit')) });
      if (range) p.set('step', String(parseGoDuration(f.str('step')) / NS_PER_SECOND));
      if (f.list('targetLabels').length > 0) p.set('targetLabels', f.list('targetLabels').join(','));
      if (f.bool('aggregateByLabels')) p.set('aggregateBy', 'labels');
      const r = await ctx.client().getJson<QueryResponse>(range ? '/loki/api/v1/index/volume_range' : '/loki/api/v1/index/volume', p);
      await ctx.out(metricJson(r.data as MetricData) + '\n');
    },
  };
}

/** `--stats`: the summary of each answer's statistics, one `key value` line each, on stderr. */
function printStats(stats: unknown, write: (s: string) => void): void {
  const summary = (stats as { summary?: Record<string, unknown> } | undefined)?.summary;
  if (!summary) return;
  const w = Math.max(...Object.keys(summary).map((k) => k.length)) + 2;
  write(Object.entries(summary).map(([k, v]) => `Summary.${k}`.padEnd(w + 8) + String(v)).join('\n') + '\n');
}

function colorWanted(ctx: Ctx): boolean {
  return ctx.io.env['NO_COLOR'] === undefined;
}

/** The command name: the first argument that is not a global flag or its value. */
function findCommand(argv: readonly string[]): number {
  const valued = new Set(GLOBAL.filter((s) => s.kind !== 'bool').flatMap((s) => [`--${s.name}`, ...(s.short ? [`-${s.short}`] : [])]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) return i;
    if (valued.has(a)) i++;
  }
  return -1;
}

function topUsage(): string {
  const cmds = Object.entries(COMMANDS).map(([n, c]) => `  ${(n + ' ' + c.args).padEnd(34)} ${c.summary}`);
  return `usage: siltcli [<flags>] <command> [<args> ...]\n\nA command-line for Silt and Loki (logcli-compatible).\n\nCommands:\n${cmds.join('\n')}\n\n${usage('Global flags (any command):', GLOBAL).split('\n').slice(2).join('\n')}`;
}

/** Runs one CLI invocation; resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const err = (s: string): void => io.stderr.write(s);
  try {
    if (argv.includes('--version')) {
      await io.stdout.write(`siltcli, version ${VERSION}\n`);
      return 0;
    }
    const at = findCommand(argv);
    if (at < 0) {
      if (argv.includes('--help') || argv.includes('-h') || argv.length === 0) {
        await io.stdout.write(topUsage());
        return argv.length === 0 ? 1 : 0;
      }
      throw new CliError('expected command but got none, try --help');
    }
    const name = argv[at]!;
    const cmd = COMMANDS[name] ?? (name === 'help' ? null : undefined);
    if (cmd === null) {
      const sub = argv[at + 1];
      const c = sub ? COMMANDS[sub] : undefined;
      await io.stdout.write(c ? usage(`usage: siltcli ${sub} ${c.args}\n\n${c.summary}`, [...c.flags, ...GLOBAL]) : topUsage());
      return 0;
    }
    if (!cmd) throw new CliError(`expected command but got "${name}", try --help`);
    const specs = [...GLOBAL, ...cmd.flags.filter((s) => !GLOBAL.some((g) => g.name === s.name))];
    const f = new Flags(parseFlags([...argv.slice(0, at), ...argv.slice(at + 1)], specs, io.env));
    if (f.bool('help')) {
      await io.stdout.write(usage(`usage: siltcli ${name} ${cmd.args}\n\n${cmd.summary}`, [...cmd.flags, ...GLOBAL.filter((g) => !cmd.flags.some((c) => c.name === g.name))]));
      return 0;
    }
    const quiet = f.bool('quiet');
    const mode = f.str('output') as OutputMode;
    const log = (s: string): void => err(logPrefix() + s + '\n');
    const colorFlag = f.str('color');
    const ctx: Ctx = {
      io,
      quiet,
      mode,
      log,
      out: (s) => (s === '' ? undefined : io.stdout.write(s)),
      client: (quietOverride) =>
        new LokiClient({
          addr: f.str('addr'),
          orgId: f.str('org-id'),
          username: f.str('username'),
          password: f.str('password'),
          bearerToken: f.str('bearer-token'),
          bearerTokenFile: f.str('bearer-token-file'),
          queryTags: f.str('query-tags'),
          headers: f.list('header'),
          quiet: quietOverride ?? quiet,
          log,
        }),
      printer: (noLabels) =>
        new LogPrinter({
          mode,
          zone: f.str('timezone') as Zone,
          nano: f.str('output-timestamp-format') === 'rfc3339nano',
          noLabels,
          color: colorFlag === 'always' || (colorFlag === 'auto' && io.stdout.isTTY && io.env['NO_COLOR'] === undefined),
          write: (s) => void io.stdout.write(s),
        }),
      range: (fl) => {
        const nowNs = BigInt(io.nowMs()) * NS_PER_MS;
        const since = parseGoDuration(fl.str('since') || '1h');
        const startNs = fl.str('from') !== '' ? parseTimeArg(fl.str('from'), 'from') : nowNs - since;
        const endNs = fl.str('to') !== '' ? parseTimeArg(fl.str('to'), 'to') : nowNs;
        if (endNs < startNs) throw new CliError(`--to (${formatTime(endNs, 'UTC')}) is before --from (${formatTime(startNs, 'UTC')})`);
        return { startNs, endNs };
      },
    };
    await cmd.run(f, ctx);
    return 0;
  } catch (e) {
    if (e instanceof HttpError) err(`Query failed: ${e.message}\n`);
    else if (e instanceof CliError || (e instanceof Error && e.name === 'ParseError')) err(`siltcli: error: ${e.message}\n`);
    else err(`siltcli: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
