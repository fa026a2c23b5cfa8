/**
 * What the servers (HTTP and gRPC) record about every request, under Loki's (dskit's) names so
 * the Loki mixin's dashboards and alerts work: `loki_request_duration_seconds{method, route,
 * status_code, ws}`, `loki_inflight_requests`, `loki_request_message_bytes`,
 * `loki_response_message_bytes` and `loki_panic_total`; and the access log: every request at
 * debug, every 4xx/5xx at info with its reason.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** dskit's instrument.DefBuckets, seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100];
/** dskit's BodySizeBuckets: ExponentialBuckets(4, 4, 15), bytes. */
const BODY_SIZE_BUCKETS = Array.from({ length: 15 }, (_, i) => 4 * 4 ** i);

/** The route label of requests no route matched (dskit's getRouteName). */
export const OTHER_ROUTE = 'other';

/** dskit's `MakeLabelValue`: a route pattern as a label, `/loki/api/v1/label/:name/values` → `loki_api_v1_label_name_values`. */
export function routeLabel(pattern: string): string {
  const v = pattern
    .replace(/[^a-zA-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  return v === '' ? 'root' : v;
}

/** The server metrics of one registry (the HTTP and gRPC servers share them). */
export class ServerMetrics {
  readonly duration: Histogram<'method' | 'route' | 'status_code' | 'ws'>;
  readonly inflight: Gauge<'method' | 'route'>;
  readonly requestBytes: Histogram<'method' | 'route'>;
  readonly responseBytes: Histogram<'method' | 'route'>;
  /**
   * Requests that failed with an unexpected error (anything that is not a SiltError: a bug),
   * answered 500. Loki counts the panics its recovery middleware turns into 500s.
   */
  readonly panics: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.duration = new Histogram({
      name: 'loki_request_duration_seconds',
      help: 'Time (in seconds) spent serving HTTP requests.',
      labelNames: ['method', 'route', 'status_code', 'ws'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.inflight = new Gauge({ name: 'loki_inflight_requests', help: 'Current number of inflight requests.', labelNames: ['method', 'route'], registers });
    this.requestBytes = new Histogram({
      name: 'loki_request_message_bytes',
      help: 'Size (in bytes) of messages received in the request.',
      labelNames: ['method', 'route'],
      buckets: BODY_SIZE_BUCKETS,
      registers,
    });
    this.responseBytes = new Histogram({
      name: 'loki_response_message_bytes',
      help: 'Size (in bytes) of messages sent in response.',
      labelNames: ['method', 'route'],
      buckets: BODY_SIZE_BUCKETS,
      registers,
    });
    this.panics = new Counter({ name: 'loki_panic_total', help: 'The total number of panic triggered (Silt: requests that failed with an unexpected error, answered 500).', registers });
  }
}

const byRegistry = new WeakMap<Registry, ServerMetrics>();

/** The ServerMetrics of `registry`, registered on first use. */
export function serverMetrics(registry: Registry): ServerMetrics {
  let m = byRegistry.get(registry);
  if (m === undefined) {
    m = new ServerMetrics(registry);
    byRegistry.set(registry, m);
  }
  return m;
}

/** One finished request, as the access log and the metrics see it. */
export interface RequestRecord {
  /** HTTP method, or `gRPC`. */
  method: string;
  /** Route label (see routeLabel); gRPC: the full method name. */
  route: string;
  /** Request path (HTTP) or full method (gRPC), for the log line. */
  path: string;
  /** HTTP status, or for gRPC dskit's `success`/`cancel`/`error` or the HTTP status of the error's kind. */
  status: string;
  /** True for a WebSocket upgrade. */
  ws: boolean;
  durationMs: number;
  /** Resolved tenant ('' when none was resolved). */
  tenant: string;
  /** Why a 4xx/5xx failed: the error text sent to the client. */
  reason: string;
  requestBytes: number;
  responseBytes: number;
}

/** Longest reason logged: a push rejecting many entries lists each (Loki's text), which can run long. */
const MAX_REASON_CHARS = 1024;

/** `1.234ms`, `12.3ms`, `1.5s`: Go's time.Duration style, shortened. */
function durationText(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${Number(ms.toFixed(ms < 10 ? 3 : 1))}ms`;
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/**
 * Records a finished request: metrics always; the access log at debug, or at info with the
 * reason for a 4xx/5xx (dskit logs those at debug/warn; every failure is worth a line here).
 */
/** The readiness probe's route (see recordRequest). */
const READY_ROUTE = 'ready';

export function recordRequest(m: ServerMetrics, logger: Logger, r: RequestRecord): void {
  m.duration.observe({ method: r.method, route: r.route, status_code: r.status, ws: r.ws ? 'true' : 'false' }, r.durationMs / 1000);
  m.requestBytes.observe({ method: r.method, route: r.route }, r.requestBytes);
  m.responseBytes.observe({ method: r.method, route: r.route }, r.responseBytes);
  const code = Number(r.status);
  const failed = (code >= 400 && code < 600) || r.status === 'error';
  if (!failed && !logger.isLevelEnabled('debug')) return;
  const reason = r.reason.length > MAX_REASON_CHARS ? `${r.reason.slice(0, MAX_REASON_CHARS)}… (${r.reason.length - MAX_REASON_CHARS} more characters)` : r.reason;
  const fields = { method: r.method, route: r.route, path: r.path, status: r.status, durationMs: Number(r.durationMs.toFixed(3)), tenant: r.tenant, ...(failed ? { err: reason } : {}) };
  const msg = `${r.method} ${r.path} (${r.status}) ${durationText(r.durationMs)}`;
  // A probe polling /ready while the process starts would flood the log: its 503s stay at debug.
  if (failed && r.route !== READY_ROUTE) logger.info(fields, `${msg}: ${reason}`);
  else logger.debug(fields, failed ? `${msg}: ${reason}` : msg);
}
