/**
 * `GET /loki/api/v1/tail` and `/api/prom/tail` on a query-frontend without a querier in its
 * process: the WebSocket (and the plain-HTTP answer) is proxied to a querier, as Loki's frontend
 * does with `frontend.tail_proxy_url` (a reverse proxy, `pkg/loki/modules.go`). Without that
 * URL (a Silt extension) the frontend picks one of the queriers connected to it over gRPC, at
 * the HTTP address its worker advertised in Hello, round robin; with none connected it answers
 * 503 with Loki's text. A querier that cannot be dialed is skipped for the next one; when none
 * can be (or the tail_proxy_url cannot), 502 as Go's reverse proxy answers.
 *
 * The proxy is a byte pipe once the querier switched protocols: frames, pings and close codes
 * (1011 with the querier's reason) pass through unchanged. The tenant header is checked here
 * first (Loki wraps its proxy in the auth middleware) and forwarded with every other header.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { BadGatewayError, InvalidError, UnavailableError } from '../errors.js';
import { MSG_NO_QUERIERS } from '../frontend/consts.js';
import type { HttpServer, Req, Res } from './http.js';

/** The tail paths, as the querier registers them (routes-tail.ts). */
const TAIL_PATHS = ['/loki/api/v1/tail', '/api/prom/tail'] as const;

/** How long dialing a querier and getting its answer to the upgrade may take, ms. */
const DIAL_TIMEOUT_MS = 10_000;

/** Largest non-upgrade answer relayed (a querier's error text). */
const MAX_RELAYED_BODY_BYTES = 1024 * 1024;

/** Hop-by-hop headers a proxy does not forward (Go's httputil.ReverseProxy list); `upgrade`/`connection` are set again for upgrades. */
const HOP_HEADERS = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export interface TailProxyDeps {
  /** `frontend.tail_proxy_url`; empty: a connected querier. */
  proxyUrl: string;
  /** `host:port` of the HTTP API of every querier connected to the frontend. */
  queriers: () => string[];
  logger: Logger;
}

/** Where a tail request goes: the configured URL, or each connected querier starting at the round-robin position. */
class Targets {
  readonly #fixed: URL | null;
  #rr = 0;

  constructor(readonly d: TailProxyDeps) {
    if (d.proxyUrl === '') {
      this.#fixed = null;
      return;
    }
    let u: URL;
    try {
      u = new URL(d.proxyUrl);
    } catch (e) {
      throw new InvalidError(`invalid frontend.tail_proxy_url ${JSON.stringify(d.proxyUrl)}: ${(e as Error).message}`, { cause: e });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidError(`invalid frontend.tail_proxy_url ${JSON.stringify(d.proxyUrl)}: scheme must be http or https`);
    this.#fixed = u;
  }

  /** Candidates in the order to try; throws 503 (Loki's text) when no querier is connected. */
  next(): URL[] {
    if (this.#fixed !== null) return [this.#fixed];
    const all = this.d.queriers();
    if (all.length === 0) throw new UnavailableError(MSG_NO_QUERIERS);
    const start = this.#rr++ % all.length;
    return [...all.slice(start), ...all.slice(0, start)].map((a) => new URL(`http://${a}`));
  }
}

/** Go's singleJoiningSlash of the target's path and the request's path (with its query string). */
function joinPath(base: URL, pathAndQuery: string): string {
  const b = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  return b + (pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`);
}

/** The request headers to send upstream: end-to-end ones, `Host` of the target, X-Forwarded-For appended. */
function upstreamHeaders(headers: IncomingHttpHeaders, target: URL, clientIp: string | undefined, upgrade: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_HEADERS.has(k) && k !== 'host') out[k] = v;
  out['host'] = target.host;
  if (clientIp !== undefined) {
    const prior = headers['x-forwarded-for'];
    out['x-forwarded-for'] = prior === undefined ? clientIp : `${Array.isArray(prior) ? prior.join(', ') : prior}, ${clientIp}`;
  }
  if (upgrade) {
    out['connection'] = 'Upgrade';
    out['upgrade'] = String(headers['upgrade'] ?? 'websocket');
  }
  return out;
}

type Outcome = { kind: 'upgrade'; res: IncomingMessage; socket: Duplex; head: Buffer } | { kind: 'response'; res: IncomingMessage };

/** Sends one request to `target`; resolves with its upgrade or its answer, rejects when it cannot be dialed. */
function send(target: URL, method: string, path: string, headers: Record<string, string | string[]>, body: Buffer | null): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const fn = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const creq: ClientRequest = fn({ protocol: target.protocol, hostname: target.hostname.replace(/^\[|\]$/g, ''), port: target.port || (target.protocol === 'https:' ? 443 : 80), method, path, headers, timeout: DIAL_TIMEOUT_MS });
    creq.once('upgrade', (res, socket, head) => {
      creq.setTimeout(0);
      resolve({ kind: 'upgrade', res, socket, head });
    });
    creq.once('response', (res) => {
      creq.setTimeout(0);
      resolve({ kind: 'response', res });
    });
    creq.once('timeout', () => creq.destroy(new Error(`no answer from ${target.host} within ${DIAL_TIMEOUT_MS} ms`)));
    creq.once('error', reject);
    creq.end(body ?? undefined);
  });
}

/** Tries the candidates in turn; a 502 when none could be reached. */
async function sendToAny(targets: URL[], method: string, pathAndQuery: string, headers: IncomingHttpHeaders, clientIp: string | undefined, upgrade: boolean, body: Buffer | null, logger: Logger): Promise<Outcome> {
  let last: unknown = null;
  for (const t of targets) {
    try {
      return await send(t, method, joinPath(t, pathAndQuery), upstreamHeaders(headers, t, clientIp, upgrade), body);
    } catch (e) {
      last = e;
      logger.warn({ err: e, target: t.host }, 'tail proxy: querier unreachable');
    }
  }
  // Go's reverse proxy answers 502 with the dial error in its log.
  throw new BadGatewayError(`tail proxy: ${targets.map((t) => t.host).join(', ')}: ${last instanceof Error ? last.message : String(last)}`, { cause: last });
}

/** A non-upgrade answer, read whole (error texts are small). */
async function readAnswer(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_RELAYED_BODY_BYTES) {
      res.destroy();
      throw new BadGatewayError(`tail proxy: answer larger than ${MAX_RELAYED_BODY_BYTES} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks, n);
}

/** The answer's end-to-end headers as `Name: value` lines (raw names, repeats kept). */
function headerLines(res: IncomingMessage, skip: (lower: string) => boolean): string {
  let out = '';
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) if (!skip(raw[i]!.toLowerCase())) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return out;
}

/** Joins the client's socket and the querier's after the querier switched protocols. */
function splice(client: Duplex, clientHead: Buffer, up: { res: IncomingMessage; socket: Duplex; head: Buffer }): void {
  const upstream = up.socket;
  // The querier's 101 and its headers (Sec-WebSocket-Accept, …), as it sent them.
  client.write(`HTTP/1.1 101 ${up.res.statusMessage ?? 'Switching Protocols'}\r\n` + headerLines(up.res, () => false) + '\r\n');
  if (up.head.length > 0) client.write(up.head);
  if (clientHead.length > 0) upstream.write(clientHead);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', close);
  upstream.on('close', close);
  upstream.pipe(client);
  client.pipe(upstream);
}

/** Registers the tail proxy on a frontend's HTTP server (not with a querier in the process: it tails itself). */
export function registerTailProxyRoutes(http: HttpServer, d: TailProxyDeps): void {
  const targets = new Targets(d);
  for (const path of TAIL_PATHS) {
    // Without an upgrade the querier answers (400 with the websocket library's text, or the parameter's error).
    http.route(
      ['GET', 'POST'],
      path,
      async (req: Req): Promise<Res> => {
        const qs = req.params.toString();
        const out = await sendToAny(targets.next(), 'GET', qs === '' ? req.path : `${req.path}?${qs}`, req.headers, undefined, false, null, d.logger);
        if (out.kind === 'upgrade') {
          out.socket.destroy();
          throw new BadGatewayError('tail proxy: the querier switched protocols without an upgrade request');
        }
        const body = await readAnswer(out.res);
        const ct = out.res.headers['content-type'];
        return { status: out.res.statusCode ?? 502, body, ...(ct !== undefined ? { contentType: ct } : {}) };
      },
      true,
    );
    http.upgrade(path, async (_req: Req, raw: IncomingMessage, socket: Duplex, head: Buffer) => {
      const out = await sendToAny(targets.next(), raw.method ?? 'GET', raw.url ?? path, raw.headers, raw.socket.remoteAddress, true, null, d.logger);
      if (out.kind === 'upgrade') {
        splice(socket, head, out);
        return;
      }
      // The querier refused the upgrade (a bad parameter: 400 with its text): relay its answer.
      const body = await readAnswer(out.res);
      if (socket.destroyed) return;
      socket.write(
        `HTTP/1.1 ${out.res.statusCode ?? 502} ${out.res.statusMessage ?? ''}\r\n` +
          headerLines(out.res, (h) => HOP_HEADERS.has(h) || h === 'content-length') +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      );
      socket.end(body);
    });
  }
}
