/**
 * The query endpoints of a query-frontend process: every path of FRONTEND_PATHS goes to the
 * Frontend (queue, pieces on queriers, merge) instead of a local querier. Tenant rules are the
 * querier's own for each path (multi-tenant where the querier allows it).
 */
import { FRONTEND_PATHS, type FrontendRequest } from '../frontend/plan.js';
import type { Frontend } from '../frontend/frontend.js';
import { nowNs } from '../model/index.js';
import type { HttpServer, Req, Res, TenantMode } from './http.js';

/** Request headers a querier's answer depends on; copied onto pieces. */
const FORWARDED_HEADERS = ['accept', 'x-loki-response-encoding-flags'] as const;

/** Routes the querier registers single-tenant (Drilldown's); the rest take `a|b` when enabled. */
const SINGLE_TENANT = new Set<string>(['/loki/api/v1/index/volume', '/loki/api/v1/index/volume_range', '/loki/api/v1/detected_fields', '/loki/api/v1/detected_field/:name/values', '/loki/api/v1/detected_labels', '/loki/api/v1/patterns']);

/** The FrontendRequest of an HTTP request on `route`. */
export function frontendRequest(req: Req, route: string): FrontendRequest {
  const headers: Record<string, string> = {};
  for (const h of FORWARDED_HEADERS) {
    const v = req.headers[h];
    if (v !== undefined) headers[h] = Array.isArray(v) ? v.join(', ') : v;
  }
  return { method: req.method, path: req.path, route, vars: req.vars, params: req.params, tenant: req.tenant, headers, receivedNs: nowNs() };
}

/** Registers the query endpoints on `http`, answered by `frontend`. */
export function registerFrontendRoutes(http: HttpServer, frontend: Frontend): void {
  for (const route of FRONTEND_PATHS) {
    const tenant: TenantMode = SINGLE_TENANT.has(route) ? true : 'multi';
    http.route(
      ['GET', 'POST'],
      route,
      async (req): Promise<Res> => {
        // The client going away cancels the request and its pieces on the queriers.
        const r = await frontend.handle(frontendRequest(req, route), req.signal);
        return { status: r.status, body: r.body, contentType: r.contentType, ...(r.headers !== undefined ? { headers: r.headers } : {}) };
      },
      tenant,
    );
  }
}
