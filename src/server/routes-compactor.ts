/**
 * The compactor's HTTP API, shaped like Loki's (pkg/compactor/deletion/request_handler.go):
 * log deletion requests (add, list, cancel) and the cache generation number.
 */
import type { Registry } from 'prom-client';
import { deletionMetrics, type DeleteRequest, type DeleteRequestsStore } from '../compactor/index.js';
import type { LimitsConfig } from '../config/config.js';
import { ForbiddenError, InvalidError } from '../errors.js';
import { parseLogSelector } from '../logql/syntax/index.js';
import { formatDurationMs } from '../util/go/duration.js';
import { parseRfc3339 } from '../util/go/rfc3339.js';
import { json, type HttpServer, type Req, type Res } from './http.js';

/** What the routes need. */
export interface CompactorRouteDeps {
  store: DeleteRequestsStore;
  limits: (tenant: string) => LimitsConfig;
  /** Loki serves the delete API only with `compactor.retention_enabled`. */
  retentionEnabled: boolean;
  /** `compactor.delete_request_cancel_period`, ms. */
  cancelPeriodMs: number;
  /** Where `loki_compactor_delete_requests_received_total` is counted (none: not counted). */
  registry?: Registry;
  nowMs?: () => number;
}

/** Longest delete query accepted. */
const MAX_QUERY_BYTES = 128 * 1024;

/**
 * Loki's deletion time parser: empty means now, else RFC3339 (Go's `time.Parse`, then
 * `UnixMilli`: fractions floored to the ms; `t` and `z` in lower case are taken too), else
 * exactly ten digits of unix seconds. Returns ms, or null when unparsable.
 */
export function parseDeleteTimeMs(v: string, nowMs: number): number | null {
  if (v === '') return nowMs;
  let t = v;
  if (t[10] === 't') t = t.slice(0, 10) + 'T' + t.slice(11);
  if (t.endsWith('z')) t = t.slice(0, -1) + 'Z';
  const ns = parseRfc3339(t);
  if (ns !== null) return Number(ns >= 0n ? ns / NS_PER_MS : -((-ns + NS_PER_MS - 1n) / NS_PER_MS));
  if (/^\d{10}$/.test(v)) return Number(v) * 1000;
  return null;
}

const NS_PER_MS = 1_000_000n;

/** A request in Loki's JSON shape: model.Time values are seconds. */
function toJson(r: DeleteRequest): Record<string, unknown> {
  return { request_id: r.request_id, start_time: r.start_time / 1000, end_time: r.end_time / 1000, query: r.query, status: r.status, created_at: r.created_at / 1000, user_id: '' };
}

/** Registers the delete and cache-generation endpoints. */
export function registerCompactorRoutes(http: HttpServer, d: CompactorRouteDeps): void {
  const now = d.nowMs ?? Date.now;
  const received = d.registry !== undefined ? deletionMetrics(d.registry).received : null;
  /** Loki's checks before any delete endpoint: retention on, deletion mode not disabled. */
  const guard = (req: Req): void => {
    if (!d.retentionEnabled) throw new InvalidError('Retention is not enabled');
    if (d.limits(req.tenant).deletion_mode === 'disabled') throw new ForbiddenError('deletion is not available for this tenant');
  };

  const add = async (req: Req): Promise<Res> => {
    guard(req);
    const query = req.params.get('query') ?? '';
    if (query === '') throw new InvalidError('query not set');
    if (Buffer.byteLength(query) > MAX_QUERY_BYTES) throw new InvalidError('invalid query expression');
    try {
      parseLogSelector(query);
    } catch {
      throw new InvalidError('invalid query expression');
    }
    const nowMs = now();
    const startParam = req.params.get('start') ?? '';
    if (startParam === '') throw new InvalidError('start time not set');
    const startMs = parseDeleteTimeMs(startParam, nowMs);
    if (startMs === null) throw new InvalidError('invalid start time: require unix seconds or RFC3339 format');
    const endMs = parseDeleteTimeMs(req.params.get('end') ?? '', nowMs);
    if (endMs === null) throw new InvalidError('invalid end time: require unix seconds or RFC3339 format');
    if (endMs > nowMs) throw new InvalidError('deletes in the future are not allowed');
    if (startMs >= endMs) throw new InvalidError("start time can't be greater than or equal to end time");
    const r = await d.store.add(req.tenant, query, startMs, endMs);
    received?.inc({ user: req.tenant });
    return { status: 204, headers: { 'X-Delete-Request-ID': r.request_id } };
  };

  const list = async (req: Req): Promise<Res> => {
    guard(req);
    let reqs = await d.store.list(req.tenant, true);
    const sp = req.params.get('start') ?? '';
    const ep = req.params.get('end') ?? '';
    if (sp !== '' && ep !== '') {
      const st = parseDeleteTimeMs(sp, now());
      if (st === null) throw new InvalidError('invalid start time: require unix seconds or RFC3339 format');
      const et = parseDeleteTimeMs(ep, now());
      if (et === null) throw new InvalidError('invalid end time: require unix seconds or RFC3339 format');
      reqs = reqs.filter((r) => r.start_time <= et && r.end_time >= st);
    }
    return json(reqs.map(toJson));
  };
  const cancel = async (req: Req): Promise<Res> => {
    guard(req);
    const id = req.params.get('request_id') ?? '';
    const r = await d.store.get(req.tenant, id);
    if (r.status === 'processed') throw new InvalidError('deletion of request which is in process or already processed is not allowed');
    if (r.created_at + d.cancelPeriodMs < now() && req.params.get('force') !== 'true') {
      throw new InvalidError(
        `Cancellation of partially completed delete request or delete request past the deadline of ${formatDurationMs(d.cancelPeriodMs)} since its creation is not allowed. To force, use the ?force query parameter`,
      );
    }
    await d.store.remove(req.tenant, id);
    return { status: 204 };
  };
  // One route per path (the router matches the first pattern), dispatched by method.
  http.route(['GET', 'POST', 'PUT', 'DELETE'], '/loki/api/v1/delete', (req) => (req.method === 'GET' ? list(req) : req.method === 'DELETE' ? cancel(req) : add(req)), true);

  http.route(['GET'], '/loki/api/v1/cache/generation_numbers', async (req) => {
    if (!d.retentionEnabled) throw new InvalidError('Retention is not enabled');
    return json(await d.store.cacheGenerationNumber(req.tenant));
  }, true);
}
