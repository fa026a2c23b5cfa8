import type { Registry } from 'prom-client';
import type { PushRequest } from '../model/index.js';
import { labelsToObject, nowNs, type Labels } from '../model/index.js';
import type { LogQueryResult, MetricQueryRequest, MetricQueryResult, Querier } from '../querier/querier.js';
import { InvalidError, UnavailableError } from '../errors.js';
import { json, text, type HttpServer, type Req, type Res } from './http.js';
import { parseDirection, parseLimit, parseRange, parseStep, parseTimeNs } from './params.js';
import { encodeMetricData } from './encode-metric.js';
import { encodeStreams, statsJson } from './encode.js';
import { registerDrilldownRoutes } from './routes-drilldown.js';

/** The push path as the server sees it. */
export interface PushTarget {
  decode(body: Buffer, contentType: string | undefined, contentEncoding: string | undefined, tenant: string): PushRequest | Promise<PushRequest>;
  push(tenant: string, req: PushRequest): Promise<void>;
}

export interface RouteDeps {
  push: PushTarget | null;
  querier: Querier | null;
  /** Evaluates metric range queries (the query-frontend's results cache); default the querier. */
  rangeMetricQuery?: ((req: MetricQueryRequest) => Promise<MetricQueryResult>) | null;
  registry: Registry;
  /** `/ready`: 200 "ready" or 503 with the reason. */
  readiness: () => { ready: boolean; reason: string };
  configYaml: () => string;
  /** `/runtime_config`: the per-tenant overrides in force, all limits or (`diff`) only changed ones. */
  runtimeConfigYaml: (mode: 'all' | 'diff') => string;
  formatQuery: (q: string) => string;
  version: string;
  /**
   * Loki's `POST /flush`: flushes every in-memory chunk to storage (null: no ingester here);
   * resolves with the number of chunks that could still not be stored and indexed.
   */
  flush?: (() => Promise<number>) | null;
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

/** Registers every HTTP endpoint on the server. */
export function registerRoutes(http: HttpServer, d: RouteDeps): void {
  const GP = ['GET', 'POST'] as const;

  http.route(['GET'], '/ready', () => {
    const r = d.readiness();
    return r.ready ? text('ready\n') : text(r.reason + '\n', 503);
  });
  http.route(['GET'], '/metrics', async () => ({ status: 200, body: await d.registry.metrics(), contentType: d.registry.contentType }));
  http.route(['GET'], '/config', () => ({ status: 200, body: d.configYaml(), contentType: 'text/plain; charset=utf-8' }));
  http.route(['GET'], '/runtime_config', (req) => text(d.runtimeConfigYaml(req.params.get('mode') === 'diff' ? 'diff' : 'all')));
  const buildinfo = (): Res => json({ version: d.version, revision: '', branch: '', buildUser: '', buildDate: '', goVersion: process.version });
  http.route(['GET'], '/loki/api/v1/status/buildinfo', buildinfo);
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
      if (expr.kind === 'logSelector') {
        const direction = parseDirection(req.params);
        const r = await q.logQuery({ tenant: req.tenant, query, ...range, limit: parseLimit(req.params), direction });
        return logResponse(req, r, direction);
      }
      const stepNs = parseStep(req.params, range.startNs, range.endNs);
      return metricResponse(await rangeMetricQuery({ tenant: req.tenant, expr, ...range, stepNs, instant: false }));
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
      return metricResponse(await q.metricQuery({ tenant: req.tenant, expr, startNs: atNs, endNs: atNs, stepNs: 0n, instant: true }));
    },
    'multi',
  );

  const labels = async (req: Req): Promise<Res> => {
    const { startNs, endNs } = parseRange(req.params, nowNs(), 6 * 3_600_000);
    return success(await q.labelNames(req.tenant, startNs, endNs, req.params.get('query') ?? undefined));
  };
  http.route(GP, '/loki/api/v1/labels', labels, 'multi');
  http.route(GP, '/loki/api/v1/label', labels, 'multi');
  http.route(
    GP,
    '/loki/api/v1/label/:name/values',
    async (req) => {
      const { startNs, endNs } = parseRange(req.params, nowNs(), 6 * 3_600_000);
      return success(await q.labelValues(req.tenant, req.vars['name']!, startNs, endNs, req.params.get('query') ?? undefined));
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
      const series = await q.series(req.tenant, match, startNs, endNs);
      return success(series.map((s: Labels) => labelsToObject(s)));
    },
    'multi',
  );
  http.route(
    GP,
    '/loki/api/v1/index/stats',
    async (req) => {
      const { startNs, endNs } = parseRange(req.params, nowNs());
      return json(await q.indexStats(req.tenant, req.params.get('query') ?? '', startNs, endNs));
    },
    'multi',
  );
  registerDrilldownRoutes(http, q);
}
