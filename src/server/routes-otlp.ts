/**
 * `POST /otlp/v1/logs`: OTLP/HTTP log ingestion (protobuf or JSON, optionally gzip), as
 * Loki's OTLP push handler. Success is 204 like every Loki push; errors follow Loki's
 * `OTLPError`: the mapped HTTP status (500 becomes 503 so OTLP clients retry) and a
 * protobuf `google.rpc.Status` body carrying only the message.
 */
import type { Logger } from 'pino';
import type { PushRequest } from '../model/index.js';
import type { HttpServer, Req, Res } from './http.js';
import { mapError } from './status.js';

/** The OTLP push path as the server sees it. */
export interface OtlpTarget {
  decode(tenant: string, body: Buffer, contentType: string | undefined, contentEncoding: string | undefined): PushRequest;
  push(tenant: string, req: PushRequest): Promise<void>;
}

/** A `google.rpc.Status` with only field 2 (message) set. */
export function encodeStatusMessage(message: string): Buffer {
  const msg = Buffer.from(message);
  const len: number[] = [];
  let n = msg.length;
  while (n >= 0x80) {
    len.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  len.push(n);
  return Buffer.concat([Buffer.from([0x12, ...len]), msg]);
}

export function registerOtlpRoutes(http: HttpServer, target: OtlpTarget, logger: Logger): void {
  http.route(
    ['POST'],
    '/otlp/v1/logs',
    async (req: Req): Promise<Res> => {
      try {
        const enc = req.headers['content-encoding'];
        const pr = target.decode(req.tenant, req.body, req.headers['content-type'], Array.isArray(enc) ? enc[0] : enc);
        await target.push(req.tenant, pr);
        return { status: 204 };
      } catch (e) {
        const m = mapError(e);
        if (m.unexpected) logger.error({ err: e }, 'unexpected error in OTLP push');
        return { status: m.status === 500 ? 503 : m.status, body: encodeStatusMessage(m.message), contentType: 'application/octet-stream' };
      }
    },
    true,
  );
}
