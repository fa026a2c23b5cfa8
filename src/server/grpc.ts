/**
 * The gRPC server: Loki's `logproto.Pusher/Push` (proto/push.proto), so Promtail, Alloy and
 * other Loki clients configured for gRPC can push. Built on @grpc/grpc-js with a hand-written
 * codec: the request bytes go straight to the distributor's protobuf decoder (no snappy on
 * gRPC), the empty PushResponse is zero bytes. The tenant comes from the `X-Scope-OrgID`
 * metadata, as in Loki; errors are mapped to gRPC codes by status.ts.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { decodePushRequestProto } from '../distributor/decode-proto.js';
import type { PushRequest } from '../model/index.js';
import { resolveTenant } from './http.js';
import { recordRequest, serverMetrics, type ServerMetrics } from './instrument.js';
import { mapError } from './status.js';

/** What the gRPC push service calls. */
export interface GrpcPushTarget {
  push(tenant: string, req: PushRequest): Promise<void>;
}

export interface GrpcServerOptions {
  logger: Logger;
  /** Where the request metrics go (shared with the HTTP server's). */
  registry: Registry;
  authEnabled: boolean;
  /** Largest request message accepted, bytes. */
  maxRecvMsgSizeBytes: number;
  push: GrpcPushTarget | null;
  /**
   * HTTP/2 keepalive pings to every client, ms between pings and ms to wait for the answer
   * (a query-frontend notices a frozen querier this way and retries its piece); none: off.
   */
  keepalive?: { timeMs: number; timeoutMs: number };
}

const EMPTY = Buffer.alloc(0);

/** Loki's Pusher service, bytes in and out; decoding happens in the handler so errors map. */
export const PUSHER_SERVICE: grpc.ServiceDefinition = {
  Push: {
    path: '/logproto.Pusher/Push',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: () => EMPTY,
    responseDeserialize: () => ({}),
  },
};

/** The route label of the push method, as in Loki's metrics (the full gRPC method name). */
const PUSH_ROUTE = '/logproto.Pusher/Push';

/** Silt's gRPC endpoint. */
export class GrpcServer {
  readonly #server: grpc.Server;
  readonly #opts: GrpcServerOptions;
  readonly #metrics: ServerMetrics;

  constructor(opts: GrpcServerOptions) {
    this.#opts = opts;
    this.#metrics = serverMetrics(opts.registry);
    const keepalive = opts.keepalive ? { 'grpc.keepalive_time_ms': opts.keepalive.timeMs, 'grpc.keepalive_timeout_ms': opts.keepalive.timeoutMs } : {};
    this.#server = new grpc.Server({ 'grpc.max_receive_message_length': opts.maxRecvMsgSizeBytes, 'grpc.max_send_message_length': 16 * 1024 * 1024, ...keepalive });
    const push = opts.push;
    if (push) {
      this.#server.addService(PUSHER_SERVICE, {
        Push: (call: grpc.ServerUnaryCall<Buffer, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          void this.#push(push, call, callback);
        },
      });
    }
  }

  /**
   * Metrics and the access log as dskit's gRPC instrumentation: method `gRPC`, the full method
   * as route, status `success`, `cancel`, or (as Loki's httpgrpc errors carry one) the HTTP
   * status of the error's kind.
   */
  async #push(push: GrpcPushTarget, call: grpc.ServerUnaryCall<Buffer, unknown>, callback: grpc.sendUnaryData<unknown>): Promise<void> {
    const t0 = performance.now();
    const inflight = { method: 'gRPC', route: PUSH_ROUTE };
    this.#metrics.inflight.inc(inflight);
    let tenant = '';
    let status = 'success';
    let reason = '';
    try {
      const v = call.metadata.get('x-scope-orgid')[0];
      tenant = resolveTenant(typeof v === 'string' ? v : v?.toString('utf8'), this.#opts.authEnabled);
      await push.push(tenant, decodePushRequestProto(call.request));
      callback(null, {});
    } catch (e) {
      const m = mapError(e);
      if (m.unexpected) {
        this.#metrics.panics.inc();
        this.#opts.logger.error({ err: e }, 'unexpected error in gRPC push');
      }
      status = m.kind === 'canceled' ? 'cancel' : String(m.status);
      reason = m.message;
      callback({ code: m.grpc, details: m.message }, null);
    }
    this.#metrics.inflight.dec(inflight);
    recordRequest(this.#metrics, this.#opts.logger, {
      method: 'gRPC',
      route: PUSH_ROUTE,
      path: PUSH_ROUTE,
      status,
      ws: false,
      durationMs: performance.now() - t0,
      tenant,
      reason,
      requestBytes: call.request.length,
      responseBytes: 0,
    });
  }

  /**
   * Registers another service on this endpoint, before `listen` (for example the ingester's,
   * src/ingester/grpc/server.ts `registerIngesterServices`). The handlers map their own errors.
   * Throws when a method path is registered twice (`logproto.Pusher/Push` is the distributor's
   * when `push` is set, so an ingester process passes `push: null`).
   */
  addService(def: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): void {
    this.#server.addService(def, impl);
  }

  /** Binds and starts; resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      this.#server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
    });
  }

  /** Lets calls in flight finish (up to `graceMs`), then closes everything. */
  close(graceMs = 5000): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
