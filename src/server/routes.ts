import type { Registry } from 'prom-client';
import type { PushRequest } from '../model/index.js';
import { nowNs } from '../model/index.js';
import type { LogQueryResult, MetricQueryRequest, MetricQueryResult, Querier } from '../querier/querier.js';
import { InvalidError, UnavailableError } from '../errors.js';
import { json, text, type HttpServer, type Req, type Res } from './http.js';
import { parseDirection, parseLimit, parseRange, parseStep, parseTimeNs } from '../loghttp/params.js';
import { encodeMetricData } from '../loghttp/encode-metric.js';
import { encodeStreams, statsJson } from './encode.js';
import { logsParquet, metricsParquet, PARQUET_CONTENT_TYPE, PARQUET_DISABLED, wantsParquet } from './encode-parquet.js';
import { registerDrilldownRoutes } from './routes-drilldown.js';
import { labelListBody, parseShard, seriesResponseBody, type Shard } from '../querier/index.js';

/** Loki's `shards=<i>_of_<n>` parameter of a query-frontend piece; null when absent. */
function shardParam(params: URLSearchParams): Shard | null {
  const s = params.get('shards');
  return s === null || s === '' ? null : parseShard(s);
}

/** The push path as the server sees it. */
export interface PushTarget {
  decode(body: Buffer, contentType: string | undefined, contentEncoding: string | undefined, tenant: string): PushRequest | Promise<PushRequest>;
  push(tenant: string, req: PushRequest): Promise<void>;
}

export interface RouteDeps {
  push: PushTarget | null;
  querier: Querier | null;
  /** The query endpoints are a query-frontend's (registered by routes-frontend.ts): listed on the index page. */
  frontendQueries?: boolean;
  /** Evaluates metric range queries (the query-frontend's results cache); default the querier. */
  rangeMetricQuery?: ((req: MetricQueryRequest) => Promise<MetricQueryResult>) | null;
  /**
   * `frontend.support_parquet_encoding`: query_range answers Parquet to
   * `Accept: application/vnd.apache.parquet` (default false: that Accept gets Loki's 400).
   */
  supportParquetEncoding?: boolean;
  registry: Registry;
  /** The text of /metrics when it is more than `registry` (a process's querier threads summed in). */
  metrics?: () => Promise<string>;
  /** `/ready`: 200 "ready" or 503 with the reason. */
  readiness: () => { ready: boolean; reason: string };
  configYaml: () => string;
  /** `/runtime_config`: the per-tenant overrides in force, all limits or (`diff`) only changed ones. */
  runtimeConfigYaml: (mode: 'all' | 'diff') => string;
  formatQuery: (q: string) => string;
  /** Build facts for `/loki/api/v1/status/buildinfo` and the index page. */
  build: BuildFacts;
  /** `/services`: every module of this process and its state, in start order. */
  services: () => readonly { name: string; state: string }[];
  /**
   * Loki's `POST /flush`: flushes every in-memory chunk to storage (null: no ingester here);
   * resolves with the number of chunks that could still not be stored and indexed.
   */
  flush?: (() => Promise<number>) | null;
}

/** What `/loki/api/v1/status/buildinfo` reports (see app/version.ts). */
export interface BuildFacts {
  version: string;
  revision: string;
  branch: string;
  buildUser: string;
  buildDate: string;
  nodeVersion: string;
}

const CATEGORIZE = 'categorize-labels';

const NO_CONTENT: Res = Object.freeze({ status: 204 });

function wantsCategorized(req: Req): boolean {
  const h = req.headers['x-loki-response-encoding-flags'];
  const v = Array.isArray(h) ? h.join(',') : (h ?? '');
  return v.split(',').some((f) => f.trim() === CATEGORIZE);
}

function success(data: unknown): Res {
  return json({ status: 'success', data });
}

/** `success(list)` for label names and values; an unchanging list's bytes are kept (`labelListBody`). */
function labelList(list: readonly string[]): Res {
  return { status: 200, body: labelListBody(list), contentType: 'application/json; charset=utf-8' };
}

/** Registers every HTTP endpoint on the server. */
export function registerRoutes(http: HttpServer, d: RouteDeps): void {
  const GP = ['GET', 'POST'] as const;

  http.route(['GET'], '/ready', () => {
    const r = d.readiness();
    return r.ready ? text('ready\n') : text(r.reason + '\n', 503);
  });
  http.route(['GET'], '/metrics', async () => ({ status: 200, body: d.metrics ? await d.metrics() : await d.registry.metrics(), contentType: d.registry.contentType }));
  http.route(['GET'], '/config', () => ({ status: 200, body: d.configYaml(), contentType: 'text/plain; charset=utf-8' }));
  http.route(['GET'], '/runtime_config', (req) => text(d.runtimeConfigYaml(req.params.get('mode') === 'diff' ? 'diff' : 'all')));
  // Loki's fields; goVersion stays empty (Silt is not a Go program) and nodeVersion says what runs it.
  const b = d.build;
  const buildinfo = json({ version: b.version, revision: b.revision, branch: b.branch, buildUser: b.buildUser, buildDate: b.buildDate, goVersion: '', nodeVersion: b.nodeVersion });
  http.route(['GET'], '/loki/api/v1/status/buildinfo', () => buildinfo);
  // Loki's `/services`: one `module => State` line per module.
  http.route(['GET'], '/services', () => text(d.services().map((s) => `${s.name} => ${s.state}\n`).join('')));
  const index = indexPage(b, { push: d.push !== null, querier: d.querier !== null || d.frontendQueries === true, flush: (d.flush ?? null) !== null });
  http.route(['GET'], '/', () => ({ status: 200, body: index, contentType: 'text/html; charset=utf-8' }));
  http.route(GP, '/loki/api/v1/format_query', (req) => {
    const q = req.params.get('query') ?? '';
    return success(d.formatQuery(q));
  });

  const flush = d.flush;
  if (flush) {
    http.route(['POST'], '/flush', async () => {
      const left = await flush();
      if (left > 0) throw new UnavailableError(`flush incomplete: ${left} chunk(s) could not be stored in the object store; they stay in memory and in the WAL and are retried`);
      return NO_CONTENT;
    });
  }

  const push = d.push;
  if (push) {
    // A promise chain, not an async function: the decoded request is dropped as soon as the
    // ingester copied it, not kept in a suspended frame while the WAL syncs.
    const handler = (req: Req): Promise<Res> => {
      const enc = req.headers['content-encoding'];
      const tenant = req.tenant;
      return Promise.resolve(push.decode(req.body, req.headers['content-type'], Array.isArray(enc) ? enc[0] : enc, tenant))
        .then((pr) => push.push(tenant, pr))
        .then(() => NO_CONTENT);
    };
    http.route(['POST'], '/loki/api/v1/push', handler, true);
    http.route(['POST'], '/api/prom/push', handler, true);
  }

  const q = d.querier;
  if (!q) return;
  const rangeMetricQuery = d.rangeMetricQuery ?? ((r: MetricQueryRequest) => q.metricQuery(r));
  const parquetEnabled = d.supportParquetEncoding ?? false;

  const logResponse = (req: Req, r: LogQueryResult, direction: 'forward' | 'backward'): Res => {
    const cat = wantsCategorized(req);
    let body = '{"status":"success","data":{"resultType":"streams","result":' + encodeStreams(r.streams, cat, direction) + ',"stats":' + JSON.stringify(statsJson(r)) + '}';
    if (cat) body = body.slice(0, -1) + ',"encodingFlags":["' + CATEGORIZE + '"]}';
    return { status: 200, body: body + '}', contentType: 'application/json; charset=utf-8' };
  };

  const metricResponse = (r: MetricQueryResult): Res => {
    const data = encodeMetricData(r.data);
    const stats = JSON.stringify(statsJson({ streams: [], stats: r.stats, execMs: r.execMs }));
    return { status: 200, body: '{"status":"success","data":' + data.slice(0, -1) + ',"stats":' + stats + '}}', contentType: 'application/json; charset=utf-8' };
  };

  http.route(
    GP,
    '/loki/api/v1/query_range',
    async (req) => {
      const range = parseRange(req.params, nowNs());
      const query = req.params.get('query') ?? '';
      const expr = q.parse(query);
      const parquet = wantsParquet(req.headers['accept']);
      // Loki's serializeRoundTripper runs the query first and refuses the encoding after.
      const refuseParquet = (): void => {
        if (parquet && !parquetEnabled) throw new InvalidError(PARQUET_DISABLED);
      };
      if (expr.kind === 'logSelector') {
        const direction = parseDirection(req.params);
        const r = await q.logQuery({ tenant: req.tenant, query, ...range, limit: parseLimit(req.params), direction, shard: shardParam(req.params), signal: req.signal });
        refuseParquet();
        if (parquet) return { status: 200, body: logsParquet(r, direction), contentType: PARQUET_CONTENT_TYPE };
        return logResponse(req, r, direction);
      }
      const stepNs = parseStep(req.params, range.startNs, range.endNs);
      const shard = shardParam(req.params);
      // A shard piece of the query-frontend is evaluated as asked (the frontend split it already).
      const m = shard ? await q.metricQuery({ tenant: req.tenant, expr, ...range, stepNs, instant: false, shard, signal: req.signal }) : await rangeMetricQuery({ tenant: req.tenant, expr, ...range, stepNs, instant: false, signal: req.signal });
      refuseParquet();
      if (parquet) return { status: 200, body: metricsParquet(m.data), contentType: PARQUET_CONTENT_TYPE };
      return metricResponse(m);
    },
    'multi',
  );
  http.route(
    GP,
    '/loki/api/v1/query',
    async (req) => {
      const expr = q.parse(req.params.get('query') ?? '');
      if (expr.kind === 'logSelector') throw new InvalidError('log queries are not supported as an instant query type, please change your query to a range query type');
      const t = req.params.get('time');
      const atNs = t ? parseTimeNs(t) : nowNs();
      const shard = shardParam(req.params);
      return metricResponse(await q.metricQuery({ tenant: req.tenant, expr, startNs: atNs, endNs: atNs, stepNs: 0n, instant: true, shard, signal: req.signal }));
    },
    'multi',
  );

  const labels = async (req: Req): Promise<Res> => {
    const { startNs, endNs } = parseRange(req.params, nowNs(), 6 * 3_600_000);
    return labelList(await q.labelNames(req.tenant, startNs, endNs, req.params.get('query') ?? undefined, req.signal));
  };
  http.route(GP, '/loki/api/v1/labels', labels, 'multi');
  http.route(GP, '/loki/api/v1/label', labels, 'multi');
  http.route(
    GP,
    '/loki/api/v1/label/:name/values',
    async (req) => {
      const { startNs, endNs } = parseRange(req.params, nowNs(), 6 * 3_600_000);
      return labelList(await q.labelValues(req.tenant, req.vars['name']!, startNs, endNs, req.params.get('query') ?? undefined, req.signal));
    },
    'multi',
  );
  http.route(
    GP,
    '/loki/api/v1/series',
    async (req) => {
      const { startNs, endNs } = parseRange(req.params, nowNs(), 6 * 3_600_000);
      const match = req.params.getAll('match[]');
      if (match.length === 0) match.push(...req.params.getAll('match'));
      // Per-series JSON is cached on the label arrays: 100k series cost a copy, not 100k objects.
      const body = seriesResponseBody(await q.series(req.tenant, match, startNs, endNs, req.signal));
      return { status: 200, body, contentType: 'application/json; charset=utf-8' };
    },
    'multi',
  );
  http.route(
    GP,
    '/loki/api/v1/index/stats',
    async (req) => {
      const { startNs, endNs } = parseRange(req.params, nowNs());
      return json(await q.indexStats(req.tenant, req.params.get('query') ?? '', startNs, endNs, req.signal));
    },
    'multi',
  );
  registerDrilldownRoutes(http, q);
}

/** HTML-escapes text for the index page. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * `GET /`: a page linking the endpoints of this process, as Loki's index page does, instead
 * of a 404 for whoever opens Silt's address in a browser.
 */
export function indexPage(b: BuildFacts, has: { push: boolean; querier: boolean; flush: boolean }): string {
  const link = (href: string, what: string): string => `<li><a href="${esc(href)}">${esc(href)}</a> ${esc(what)}</li>`;
  const item = (method: string, p: string, what: string): string => `<li><code>${esc(method)} ${esc(p)}</code> ${esc(what)}</li>`;
  const ops = [
    link('/ready', 'readiness (200 "ready", or 503 with the reason)'),
    link('/metrics', 'Prometheus metrics (Loki\'s names where Loki has the metric)'),
    link('/services', 'modules of this process and their state'),
    link('/config', 'effective configuration'),
    link('/runtime_config', 'per-tenant limit overrides in force (?mode=diff: only changes)'),
    link('/loki/api/v1/status/buildinfo', 'version, git revision and branch'),
  ];
  if (has.flush) ops.push(item('POST', '/flush', 'flush every in-memory chunk to storage'));
  const api: string[] = [];
  if (has.push) api.push(item('POST', '/loki/api/v1/push', 'push logs (protobuf+snappy or JSON)'), item('POST', '/otlp/v1/logs', 'OpenTelemetry logs'));
  if (has.querier) {
    api.push(
      link('/loki/api/v1/labels', 'label names'),
      item('GET', '/loki/api/v1/query_range?query=…', 'log and metric range queries (Parquet with Accept: application/vnd.apache.parquet and -frontend.support-parquet-encoding=true)'),
      item('GET', '/loki/api/v1/query?query=…', 'instant metric queries'),
      item('GET', '/loki/api/v1/series?match[]=…', 'series'),
      item('GET', '/loki/api/v1/tail?query=…', 'live tail (WebSocket)'),
    );
  }
  const section = (title: string, items: string[]): string => (items.length === 0 ? '' : `<h2>${esc(title)}</h2>\n<ul>\n${items.join('\n')}\n</ul>\n`);
  return (
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Silt</title></head><body>\n` +
    `<h1>Silt ${esc(b.version)}</h1>\n<p>A log store that speaks Grafana Loki's API (revision ${esc(b.revision)}, branch ${esc(b.branch)}, Node.js ${esc(b.nodeVersion)}). ` +
    `Point Grafana's Loki data source or a Loki client at this address.</p>\n` +
    section('Operations', ops) +
    section('API', api) +
    `</body></html>\n`
  );
}
