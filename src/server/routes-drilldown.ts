/**
 * Grafana Explore and Logs Drilldown endpoints: index volume, detected labels, detected
 * fields and their values, and log patterns, with Loki's parameters and answer shapes.
 */
import { InvalidError } from '../errors.js';
import { nowNs } from '../model/index.js';
import { computeVolume, detectedFieldValues, detectedFields, detectedLabels, detectPatterns, DEFAULT_VOLUME_LIMIT, withSignal, type DrilldownSource, type VolumeAggregateBy } from '../querier/drilldown/index.js';
import { ScanStats } from '../querier/scan.js';
import { encodeMetricData } from '../loghttp/encode-metric.js';
import { statsJson } from './encode.js';
import { json, type HttpServer, type Req, type Res } from './http.js';
import { parseRange, parseStep, type Params } from '../loghttp/params.js';

/** Loki's parseInt: empty → default; otherwise a base-10 integer or strconv's message. */
function intParam(p: Params, name: string, def: number): number {
  const v = p.get(name);
  if (v === null || v === '') return def;
  if (!/^[+-]?\d+$/.test(v.trim())) throw new InvalidError(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v.trim());
}

function positive(n: number, what = 'limit'): number {
  if (n <= 0) throw new InvalidError(`${what} must be a positive value`);
  return n;
}

function aggregateBy(p: Params): VolumeAggregateBy {
  const v = p.get('aggregateBy');
  if (v === null || v === '') return 'series';
  if (v === 'series' || v === 'labels') return v;
  throw new InvalidError('invalid aggregation option');
}

function targetLabels(p: Params): string[] {
  const v = p.get('targetLabels') ?? '';
  return v === '' ? [] : v.split(',');
}

/** Registers the drilldown routes; `q` is the querier, called with each request's cancel signal. */
export function registerDrilldownRoutes(http: HttpServer, q: DrilldownSource): void {
  const GP = ['GET', 'POST'] as const;

  const volume = (range: boolean) => async (req: Req): Promise<Res> => {
    const t0 = performance.now();
    const limitRaw = intParam(req.params, 'limit', DEFAULT_VOLUME_LIMIT);
    const limit = limitRaw === 0 ? DEFAULT_VOLUME_LIMIT : positive(limitRaw);
    const { startNs, endNs } = parseRange(req.params, nowNs());
    const stepNs = range ? parseStep(req.params, startNs, endNs) : 0n;
    const data = await computeVolume(withSignal(q, req.signal), {
      tenant: req.tenant,
      query: req.params.get('query') ?? '',
      startNs,
      endNs,
      stepNs,
      limit,
      targetLabels: targetLabels(req.params),
      aggregateBy: aggregateBy(req.params),
    });
    const stats = JSON.stringify(statsJson({ streams: [], stats: new ScanStats(), execMs: performance.now() - t0 }));
    return { status: 200, body: '{"status":"success","data":' + encodeMetricData(data).slice(0, -1) + ',"stats":' + stats + '}}', contentType: 'application/json; charset=utf-8' };
  };
  http.route(GP, '/loki/api/v1/index/volume', volume(false), true);
  http.route(GP, '/loki/api/v1/index/volume_range', volume(true), true);

  http.route(
    GP,
    '/loki/api/v1/detected_labels',
    async (req) => {
      const { startNs, endNs } = parseRange(req.params, nowNs());
      return json({ detectedLabels: await detectedLabels(withSignal(q, req.signal), req.tenant, req.params.get('query') ?? '', startNs, endNs) });
    },
    true,
  );

  const fieldsRequest = (req: Req) => {
    const { startNs, endNs } = parseRange(req.params, nowNs());
    const lineLimit = positive(intParam(req.params, 'line_limit', 100));
    const lim = req.params.get('limit');
    const limit = positive(intParam(req.params, lim !== null && lim !== '' ? 'limit' : 'field_limit', 1000));
    parseStep(req.params, startNs, endNs);
    return { tenant: req.tenant, query: req.params.get('query') ?? '', startNs, endNs, lineLimit, limit };
  };
  http.route(
    GP,
    '/loki/api/v1/detected_fields',
    async (req) => {
      const r = fieldsRequest(req);
      const fields = await detectedFields(withSignal(q, req.signal), r);
      return json(fields.length > 0 ? { fields, limit: r.limit } : {});
    },
    true,
  );
  http.route(
    GP,
    '/loki/api/v1/detected_field/:name/values',
    async (req) => {
      const r = fieldsRequest(req);
      const values = await detectedFieldValues(withSignal(q, req.signal), r, req.vars['name']!);
      return json(values.length > 0 ? { values, limit: r.limit } : {});
    },
    true,
  );

  http.route(
    GP,
    '/loki/api/v1/patterns',
    async (req) => {
      const { startNs, endNs } = parseRange(req.params, nowNs());
      const stepNs = parseStep(req.params, startNs, endNs);
      const data = await detectPatterns(withSignal(q, req.signal), { tenant: req.tenant, query: req.params.get('query') ?? '', startNs, endNs, stepNs });
      return json({ status: 'success', data });
    },
    true,
  );
}
