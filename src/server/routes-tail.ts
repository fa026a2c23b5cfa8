/**
 * `GET /loki/api/v1/tail` and the legacy `/api/prom/tail`: live tailing over a WebSocket,
 * as Loki's `pkg/querier/tail/http.go`. Parameters are checked before the upgrade (a bad one
 * is an HTTP 400 with Loki's text); failures after it close the socket with code 1011 and the
 * error text as reason (for example the concurrent-tail limit), as Loki does.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { InvalidError } from '../errors.js';
import { isLogSelectorExpr, parseExpr } from '../logql/syntax/index.js';
import { formatRfc3339Nano } from '../util/go/rfc3339.js';
import { labelsToObject, labelsToString, nowNs, type Labels } from '../model/index.js';
import type { DroppedEntry, TailEntry, TailManager, TailRequest } from '../querier/tail.js';
import type { HttpServer, Req } from './http.js';
import { parseRange } from '../loghttp/params.js';
import { mapError } from './status.js';

/** Loki's maxDelayForInTailing, seconds. */
const MAX_DELAY_FOR_SECONDS = 5;
/** Socket bytes queued for a client before a session stops sending to it. */
const HIGH_WATER_BYTES = 256 * 1024;
/** Loki pings every second to notice dead connections. */
const PING_INTERVAL_MS = 1000;
/** WebSocket close reasons are limited to 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123;
/** How long a client gets to answer a close frame before the socket is dropped. */
const CLOSE_GRACE_MS = 1000;

const CATEGORIZE = 'categorize-labels';

/** Go's strconv.Atoi for a query parameter, with Go's error text. */
function atoi(v: string | null, def: number): number {
  if (v === null || v === '') return def;
  if (!/^[+-]?\d+$/.test(v)) throw new InvalidError(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new InvalidError(`strconv.Atoi: parsing ${JSON.stringify(v)}: value out of range`);
  return n;
}

/** Loki's ParseTailQuery: query, limit, start (default 1h ago), delay_for (≤ 5 s). */
export function parseTailRequest(req: Req): TailRequest {
  const query = req.params.get('query') ?? '';
  const expr = parseExpr(query);
  const limit = atoi(req.params.get('limit'), 100);
  if (limit <= 0) throw new InvalidError('limit must be a positive value');
  if (limit > 0xffffffff) throw new InvalidError(`limit value ${limit} is out of range [0, 4294967295]`);
  const { startNs } = parseRange(req.params, nowNs());
  const delay = atoi(req.params.get('delay_for'), 0);
  if (delay < 0 || delay > 0xffffffff) throw new InvalidError(`delay_for value ${delay} is out of range [0, 4294967295]`);
  if (delay > MAX_DELAY_FOR_SECONDS) throw new InvalidError(`delay_for can't be greater than ${MAX_DELAY_FOR_SECONDS}`);
  if (!isLogSelectorExpr(expr)) throw new InvalidError('unsupported query expression: want (LogSelectorExpr), tail queries must be log queries');
  return { tenant: req.tenant, query, expr, startNs, limit, delayForMs: delay * 1000 };
}

function wantsCategorized(req: Req): boolean {
  const h = req.headers['x-loki-response-encoding-flags'];
  const v = Array.isArray(h) ? h.join(',') : (h ?? '');
  return v.split(',').some((f) => f.trim() === CATEGORIZE);
}

function labelsJson(l: Labels): string {
  return JSON.stringify(labelsToObject(l));
}

/** Loki's v1 tail frame (`marshal.WriteTailResponseJSON`): one stream object per entry. */
export function encodeTailFrameV1(entries: readonly TailEntry[], dropped: readonly DroppedEntry[], categorize: boolean): string {
  let out = '{"streams":[';
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (i > 0) out += ',';
    out += '{"stream":' + labelsJson(categorize ? e.stream : e.merged) + ',"values":[["' + e.tsNs.toString() + '",' + JSON.stringify(e.line);
    if (categorize) {
      const cats: string[] = [];
      if (e.metadata.length > 0) cats.push('"structuredMetadata":' + labelsJson(e.metadata));
      if (e.parsed.length > 0) cats.push('"parsed":' + labelsJson(e.parsed));
      out += ',{' + cats.join(',') + '}';
    }
    out += ']]}';
  }
  out += ']';
  if (dropped.length > 0) {
    out += ',"dropped_entries":[';
    for (let i = 0; i < dropped.length; i++) {
      const d = dropped[i]!;
      if (i > 0) out += ',';
      out += '{"timestamp":"' + d.tsNs.toString() + '"' + (d.labels.length > 0 ? ',"labels":' + labelsJson(d.labels) : '') + '}';
    }
    out += ']';
  }
  if (categorize) out += ',"encodingFlags":["' + CATEGORIZE + '"]';
  return out + '}';
}

/** Loki's legacy tail frame (`/api/prom/tail`): label strings and RFC3339Nano times. */
export function encodeTailFrameLegacy(entries: readonly TailEntry[], dropped: readonly DroppedEntry[]): string {
  const streams = entries.map((e) => ({ labels: labelsToString(e.merged), entries: [{ ts: formatRfc3339Nano(e.tsNs), line: e.line }] }));
  const drops = dropped.length > 0 ? dropped.map((d) => ({ Timestamp: formatRfc3339Nano(d.tsNs), Labels: labelsToString(d.labels) })) : null;
  return JSON.stringify({ streams, dropped_entries: drops });
}

function closeReason(message: string): string {
  const b = Buffer.from(message);
  return b.length <= MAX_CLOSE_REASON_BYTES ? message : b.subarray(0, MAX_CLOSE_REASON_BYTES).toString('utf8').replace(/\uFFFD$/, '');
}

export interface TailRouteDeps {
  tails: TailManager;
  logger: Logger;
}

/** Registers the tail endpoints (WebSocket upgrade plus the plain-HTTP answer Loki gives). */
export function registerTailRoutes(http: HttpServer, d: TailRouteDeps): void {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  for (const path of ['/loki/api/v1/tail', '/api/prom/tail']) {
    const legacy = path.startsWith('/api/prom');
    // Without an upgrade, Loki's websocket library answers 400 (after the parameters are checked).
    http.route(
      ['GET', 'POST'],
      path,
      (req) => {
        parseTailRequest(req);
        throw new InvalidError("websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header");
      },
      true,
    );
    http.upgrade(path, (req: Req, raw: IncomingMessage, socket: Duplex, head: Buffer) => {
      const tr = parseTailRequest(req);
      const categorize = !legacy && wantsCategorized(req);
      wss.handleUpgrade(raw, socket, head, (ws) => void serve(ws, tr, categorize, legacy, d));
    });
  }
}

async function serve(ws: WebSocket, tr: TailRequest, categorize: boolean, legacy: boolean, d: TailRouteDeps): Promise<void> {
  let closed = false;
  const ping = setInterval(() => {
    if (ws.readyState === ws.OPEN) ws.ping();
  }, PING_INTERVAL_MS);
  ping.unref();
  const transport = {
    send(entries: readonly TailEntry[], dropped: readonly DroppedEntry[]): void {
      ws.send(legacy ? encodeTailFrameLegacy(entries, dropped) : encodeTailFrameV1(entries, dropped, categorize));
    },
    writable(): boolean {
      return ws.readyState === ws.OPEN && ws.bufferedAmount < HIGH_WATER_BYTES;
    },
    close(code: number, reason: string): void {
      if (ws.readyState !== ws.OPEN) return;
      ws.close(code, closeReason(reason));
      // A client that never answers the close frame must not hold the server open.
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    },
  };
  let stop: (() => void) | null = null;
  const onGone = (): void => {
    closed = true;
    clearInterval(ping);
    stop?.();
  };
  ws.on('close', onGone);
  ws.on('error', onGone);
  // Clients do not send anything; reading keeps the socket flowing and notices close frames.
  ws.on('message', () => {});
  try {
    const session = await d.tails.start(tr, transport);
    if (closed) session.stop();
    else stop = () => session.stop();
  } catch (e) {
    const m = mapError(e);
    if (m.unexpected) d.logger.error({ err: e }, 'tail failed');
    clearInterval(ping);
    transport.close(1011, m.message);
  }
}
