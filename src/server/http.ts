import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { CanceledError, TooLargeError } from '../errors.js';
import { mapError } from './status.js';
import { OTHER_ROUTE, recordRequest, routeLabel, serverMetrics, type ServerMetrics } from './instrument.js';
import { joinTenantIds, NO_AUTH_TENANT } from '../model/index.js';
import { singleTenantId, tenantIds } from './tenant.js';

/** One request as handlers see it. */
export interface Req {
  readonly method: string;
  readonly path: string;
  /** Query string, merged with a urlencoded POST body for query endpoints. */
  readonly params: URLSearchParams;
  /** Route parameters such as `:name`. */
  readonly vars: Record<string, string>;
  readonly headers: IncomingMessage['headers'];
  /** Raw body (already read, bounded by maxBodyBytes). */
  readonly body: Buffer;
  /**
   * Tenant resolved from X-Scope-OrgID (`fake` with auth disabled). On routes registered
   * with `'multi'` and multi-tenant queries enabled it may name several tenants, sorted,
   * deduplicated and joined with `|` (see tenant.ts).
   */
  readonly tenant: string;
  /**
   * Aborted when the request is cancelled: its HTTP client went away before the answer, or (a
   * query-frontend piece run through `dispatch`) the frontend cancelled the piece. Its reason is
   * a SiltError (`canceled`: 499 `context canceled`). Query handlers pass it to the querier,
   * whose Deadline stops the query at its next check and aborts its storage reads.
   */
  readonly signal?: AbortSignal | undefined;
}

/** What a handler returns; `body` as string is sent as is. */
export interface Res {
  status: number;
  body?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

export type Handler = (req: Req) => Promise<Res> | Res;

/** How often a closing server closes connections that went idle since it last looked (Go polls too). */
const CLOSE_POLL_MS = 50;
/**
 * How long WebSocket (upgraded) connections get once the server closes: the tail manager sends
 * them a close frame first and terminates them after 1 s; whatever is left is destroyed then.
 */
const UPGRADE_CLOSE_GRACE_MS = 1500;

/**
 * What a route needs of X-Scope-OrgID: nothing (`false`), exactly one tenant (`true`: push
 * and anything that writes), or one or more tenants (`'multi'`: read endpoints; several
 * only when `multiTenantQueries` is on, otherwise `multiple org IDs present`).
 */
export type TenantMode = boolean | 'multi';

/**
 * Takes over a connection that asked for a protocol upgrade (WebSocket). Throwing before
 * taking over answers with the mapped HTTP error, like a normal route.
 */
export type UpgradeHandler = (req: Req, raw: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void> | void;

interface UpgradeRoute {
  pattern: string;
  handler: UpgradeHandler;
  tenant: boolean;
  /** Route label (dskit's MakeLabelValue of the pattern). */
  name: string;
}

interface Route {
  methods: readonly string[];
  pattern: string;
  parts: readonly string[];
  handler: Handler;
  /** Route label for metrics and logs (dskit's MakeLabelValue of the pattern, as Loki's). */
  name: string;
  /** Requires a tenant (push and query endpoints); `'multi'` accepts `a|b` for queries. */
  tenant: TenantMode;
}

export interface HttpOptions {
  logger: Logger;
  registry: Registry;
  authEnabled: boolean;
  /** Lets `'multi'` routes take `a|b` (Loki's querier.multi_tenant_queries_enabled). */
  multiTenantQueries?: boolean;
  maxBodyBytes: number;
  readTimeoutMs: number;
  idleTimeoutMs: number;
}

/**
 * The tenant of a request from its X-Scope-OrgID value (HTTP header or gRPC metadata):
 * 'fake' without auth; otherwise required and checked with Loki's rules and texts.
 */
export function resolveTenant(v: string | undefined, authEnabled: boolean): string {
  return authEnabled ? singleTenantId(v) : NO_AUTH_TENANT;
}

/** JSON helper for handlers. */
export function json(body: unknown, status = 200): Res {
  return { status, body: JSON.stringify(body), contentType: 'application/json; charset=utf-8' };
}

export function text(body: string, status = 200): Res {
  return { status, body, contentType: 'text/plain; charset=utf-8' };
}

/**
 * A small HTTP server: exact and `:var` routes, bounded body reading, tenant resolution,
 * and every error mapped through status.ts into Loki's plain-text error answers.
 */
export class HttpServer {
  private readonly routes: Route[] = [];
  private readonly upgrades: UpgradeRoute[] = [];
  private readonly server: Server;
  private readonly opts: HttpOptions;
  private readonly metrics: ServerMetrics;
  /** Set by close(): responses carry `Connection: close`, upgrades are refused. */
  private closing = false;
  /** Connections handed to upgrade handlers (WebSockets); Node's close waits for them too. */
  private readonly upgraded = new Set<Duplex>();

  constructor(opts: HttpOptions) {
    this.opts = opts;
    this.server = createServer({ keepAliveTimeout: opts.idleTimeoutMs, requestTimeout: opts.readTimeoutMs }, (req, res) => {
      void this.handle(req, res);
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.handleUpgrade(req, socket, head);
    });
    this.metrics = serverMetrics(opts.registry);
  }

  /** Registers a handler; `tenant` routes resolve X-Scope-OrgID first (see TenantMode). */
  route(methods: readonly string[], pattern: string, handler: Handler, tenant: TenantMode = false): void {
    this.routes.push({ methods, pattern, parts: pattern.split('/'), handler, name: routeLabel(pattern), tenant });
  }

  /** Registers an upgrade (WebSocket) handler for an exact path. */
  upgrade(pattern: string, handler: UpgradeHandler, tenant = true): void {
    this.upgrades.push({ pattern, handler, tenant, name: routeLabel(pattern) });
  }

  /**
   * A WebSocket session is one request for the metrics, as in Loki: in flight and timed from the
   * upgrade request until the socket closes, with status 101 once a handler took it over.
   */
  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const t0 = performance.now();
    const method = req.method ?? 'GET';
    let path = req.url ?? '/';
    let route = OTHER_ROUTE;
    let tenant = '';
    const done = (status: number, reason: string, responseBytes: number): void => {
      recordRequest(this.metrics, this.opts.logger, { method, route, path, status: String(status), ws: true, durationMs: performance.now() - t0, tenant, reason, requestBytes: 0, responseBytes });
    };
    socket.on('error', () => socket.destroy());
    if (this.closing) {
      done(503, 'server shutting down', writeRawResponse(socket, 503, 'server shutting down\n'));
      return;
    }
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    let r: UpgradeRoute | undefined;
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      path = url.pathname;
      r = this.upgrades.find((u) => u.pattern === url.pathname);
      if (!r) {
        done(404, '404 page not found', writeRawResponse(socket, 404, '404 page not found\n'));
        return;
      }
      route = r.name;
      if (r.tenant) tenant = this.tenantOf(req, true);
    } catch (e) {
      this.failUpgrade(e, req, socket, done);
      return;
    }
    const inflight = { method, route };
    this.metrics.inflight.inc(inflight);
    try {
      await r.handler({ method, path, params: new URL(req.url ?? '/', 'http://x').searchParams, vars: {}, headers: req.headers, body: Buffer.alloc(0), tenant }, req, socket, head);
    } catch (e) {
      this.metrics.inflight.dec(inflight);
      this.failUpgrade(e, req, socket, done);
      return;
    }
    const end = (): void => {
      this.metrics.inflight.dec(inflight);
      done(101, '', 0);
    };
    if (socket.destroyed) end();
    else socket.once('close', end);
  }

  private failUpgrade(e: unknown, req: IncomingMessage, socket: Duplex, done: (status: number, reason: string, responseBytes: number) => void): void {
    const mapped = mapError(e);
    if (mapped.unexpected) {
      this.metrics.panics.inc();
      this.opts.logger.error({ err: e, url: req.url }, 'unexpected error');
    }
    done(mapped.status, mapped.message, writeRawResponse(socket, mapped.status, mapped.message + '\n'));
  }

  private match(path: string): { route: Route; vars: Record<string, string> } | null {
    const parts = path.split('/');
    outer: for (const r of this.routes) {
      if (r.parts.length !== parts.length) continue;
      const vars: Record<string, string> = {};
      for (let i = 0; i < parts.length; i++) {
        const want = r.parts[i]!;
        const got = parts[i]!;
        if (want.startsWith(':')) {
          try {
            vars[want.slice(1)] = decodeURIComponent(got);
          } catch {
            continue outer;
          }
        } else if (want !== got) continue outer;
      }
      return { route: r, vars };
    }
    return null;
  }

  /** Loki's auth middleware: 401 `no org id` when missing, dskit's 400s for bad IDs. */
  private tenantOf(req: { headers: IncomingMessage['headers'] }, mode: TenantMode): string {
    if (!this.opts.authEnabled) return NO_AUTH_TENANT;
    const h = req.headers['x-scope-orgid'];
    const v = Array.isArray(h) ? h[0] : h;
    if (mode === 'multi' && this.opts.multiTenantQueries === true) return joinTenantIds(tenantIds(v));
    return singleTenantId(v);
  }

  /**
   * Runs a request through the routes without a socket (a query-frontend piece on this
   * querier): the same matching, tenant resolution (X-Scope-OrgID in `headers`) and error
   * mapping as over HTTP, but no request metrics or access log (the frontend's request has them).
   */
  async dispatch(r: { method: string; path: string; params: URLSearchParams; headers: IncomingMessage['headers']; signal?: AbortSignal | undefined }): Promise<Res> {
    const m = this.match(r.path);
    if (!m) return text('404 page not found\n', 404);
    if (!m.route.methods.includes(r.method)) return text('405 method not allowed\n', 405);
    try {
      const tenant = m.route.tenant === false ? '' : this.tenantOf(r, m.route.tenant);
      return await m.route.handler({ method: r.method, path: r.path, params: r.params, vars: m.vars, headers: r.headers, body: Buffer.alloc(0), tenant, signal: r.signal });
    } catch (e) {
      const mapped = mapError(e);
      if (mapped.unexpected) {
        this.metrics.panics.inc();
        this.opts.logger.error({ err: e, path: r.path }, 'unexpected error');
      }
      return text(mapped.message + '\n', mapped.status);
    }
  }

  private readBody(req: IncomingMessage): Promise<Buffer> {
    const max = this.opts.maxBodyBytes;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > max) {
      req.resume();
      return Promise.reject(new TooLargeError(`request body too large: ${declared} bytes, limit: ${max} bytes`));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) {
          req.removeAllListeners('data');
          req.resume();
          reject(new TooLargeError(`request body too large: more than ${max} bytes, limit: ${max} bytes`));
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
      req.on('error', reject);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    const method = req.method ?? 'GET';
    // dskit labels requests no route matched (404, and 405 for a path of another method) "other".
    let route = OTHER_ROUTE;
    let path = req.url ?? '/';
    let tenant = '';
    let requestBytes = 0;
    let reason = '';
    let out: Res;
    let inflight: { method: string; route: string } | null = null;
    // A client that goes away before the answer cancels the request (Loki: its context is cancelled).
    const cancel = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) cancel.abort(new CanceledError());
    };
    res.once('close', onClose);
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      path = url.pathname;
      const m = this.match(url.pathname);
      if (!m) {
        out = text('404 page not found\n', 404);
        req.resume();
      } else if (!m.route.methods.includes(method)) {
        out = text('405 method not allowed\n', 405);
        req.resume();
      } else {
        route = m.route.name;
        inflight = { method, route };
        this.metrics.inflight.inc(inflight);
        tenant = m.route.tenant === false ? '' : this.tenantOf(req, m.route.tenant);
        const body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await this.readBody(req);
        requestBytes = body.length;
        const params = url.searchParams;
        const ct = req.headers['content-type'] ?? '';
        if (method === 'POST' && ct.startsWith('application/x-www-form-urlencoded')) {
          for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
        }
        out = await m.route.handler({ method, path: url.pathname, params, vars: m.vars, headers: req.headers, body, tenant, signal: cancel.signal });
      }
    } catch (e) {
      const mapped = mapError(e);
      if (mapped.unexpected) {
        this.metrics.panics.inc();
        this.opts.logger.error({ err: e, url: req.url }, 'unexpected error');
      }
      out = text(mapped.message + '\n', mapped.status);
      reason = mapped.message;
      if (!req.complete) req.resume();
    }
    if (inflight !== null) this.metrics.inflight.dec(inflight);
    const responseBytes = out.body === undefined || out.status === 204 ? 0 : typeof out.body === 'string' ? Buffer.byteLength(out.body) : out.body.length;
    // A handler's own non-2xx answer (e.g. /ready's 503) gives its text as the reason.
    if (out.status >= 400 && reason === '') reason = firstLine(out.body);
    recordRequest(this.metrics, this.opts.logger, { method, route, path, status: String(out.status), ws: false, durationMs: performance.now() - t0, tenant, reason, requestBytes, responseBytes });
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = { ...(out.headers ?? {}) };
    if (out.body !== undefined && out.status !== 204) headers['Content-Type'] = out.contentType ?? 'text/plain; charset=utf-8';
    // Shutting down: the client reconnects (elsewhere) for its next request; Node then closes the socket.
    if (this.closing) headers['Connection'] = 'close';
    res.writeHead(out.status, headers);
    res.end(out.status === 204 ? undefined : out.body);
  }

  /** Starts listening; resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** The bound address and port (after listen), e.g. `0.0.0.0:3100` or `[::]:3100`. */
  boundAddress(): string {
    const a = this.server.address();
    if (a === null || typeof a === 'string') return String(a);
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  /**
   * Graceful close, as Go's `http.Server.Shutdown`: stops listening, closes idle keep-alive
   * connections at once and the others as soon as they go idle, and lets requests in flight
   * finish; their responses carry `Connection: close`. WebSocket connections get
   * UPGRADE_CLOSE_GRACE_MS. After `graceMs`, every connection left is destroyed. Resolves once
   * no connection is left.
   */
  close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      const poll = setInterval(() => this.server.closeIdleConnections(), CLOSE_POLL_MS);
      const destroyUpgraded = (): void => {
        for (const s of this.upgraded) s.destroy();
      };
      const upgrades = setTimeout(destroyUpgraded, Math.min(UPGRADE_CLOSE_GRACE_MS, graceMs));
      const force = setTimeout(() => {
        this.server.closeAllConnections();
        destroyUpgraded();
      }, graceMs);
      // Node's close() closes the idle connections too, and calls back once every socket is gone.
      this.server.close(() => {
        clearInterval(poll);
        clearTimeout(upgrades);
        clearTimeout(force);
        resolve();
      });
    });
  }
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };

/** Answers on a connection that was never handed to the HTTP response machinery (upgrades); returns the body's length. */
function writeRawResponse(socket: Duplex, status: number, body: string): number {
  if (socket.destroyed) return 0;
  const bytes = Buffer.from(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n` + body,
  );
  return bytes.length;
}

/** Longest reason taken from a response body for the access log. */
const MAX_REASON_CHARS = 512;

/** The first line of a response body (the reason of a handler's own error answer). */
function firstLine(body: string | Buffer | undefined): string {
  if (body === undefined) return '';
  const s = typeof body === 'string' ? body.slice(0, MAX_REASON_CHARS * 2) : body.subarray(0, MAX_REASON_CHARS * 2).toString('utf8');
  return s.split('\n', 1)[0]!.trim().slice(0, MAX_REASON_CHARS);
}
