/**
 * The ingester's gRPC services: Loki's `logproto.Pusher/Push` and Silt's `silt.ingester.Querier`
 * and `silt.ingester.Admin` (proto/ingester.proto), answered from any IngesterClient (in an
 * ingester process, the LocalIngesterClient over its Ingester).
 *
 * Every handler decodes its request itself (wire.ts), so malformed bytes, a missing tenant, bad
 * matchers or values past the limits become gRPC statuses: INVALID_ARGUMENT, UNAUTHENTICATED, …
 * from util/grpc-status.ts, with the error's class in a trailer for GrpcIngesterClient. Nothing
 * a client sends can throw out of a handler or leave a promise rejected unhandled.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Codec } from '../../chunk/index.js';
import { LabelsCache } from '../../distributor/index.js';
import { InvalidError, SiltError, UnauthorizedError, UnavailableError } from '../../errors.js';
import { labelsToString, TENANT_SEPARATOR, type Labels, type PushEntry, type ValidStream } from '../../model/index.js';
import { ERROR_TRAILER, toGrpcStatus } from '../../util/grpc-status.js';
import type { CallOptions, IngesterClient, IngesterTailer } from '../client.js';
import { LABELS_CACHE_ENTRIES, MAX_TAIL_BUFFERED_BYTES, MAX_TENANT_BYTES, PUSH_GAP_WAIT_MS, PUSH_LOW_METADATA, PUSH_SEQ_METADATA, SELECT_BATCH_BYTES } from './consts.js';
import { parsePushSeq, PushOrderer } from './push-order.js';
import { ADMIN_SERVICE, INGESTER_PUSHER_SERVICE, PATHS, PUSHER_SERVICE, QUERIER_SERVICE, TENANT_METADATA } from './services.js';
import {
  decodeEmptyRequest,
  decodeLabelRequest,
  decodePushRequest,
  decodeRangeRequest,
  decodeStoredKeysRequest,
  decodeTailRequest,
  encodeCount,
  encodeSeriesResponse,
  encodeStoredKeysResponse,
  encodeStrings,
  encodeTailResponse,
  MemStreamEncoder,
} from './wire.js';

/** Where services are registered: a grpc-js Server, or Silt's GrpcServer (src/server/grpc.ts). */
export interface GrpcServiceHost {
  addService(def: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): void;
}

export interface IngesterServicesOptions {
  /** Unexpected errors (bugs) are logged here with their stack, once each. */
  logger: Logger;
  /**
   * Codec of head blocks in SelectStreams answers. Snappy by default: 15 % fewer bytes for the
   * same CPU as raw heads on generator data (bench/grpc-select.ts).
   */
  headCodec?: Codec;
  /** Target SelectStreams message size. */
  selectBatchBytes?: number;
  /** Bytes a Tail stream may have queued before it is ended. */
  maxTailBufferedBytes?: number;
  /**
   * Whether to serve Loki's `logproto.Pusher/Push` (default true). False in a process whose
   * distributor serves that path for agents (src/server/grpc.ts; Loki registers the ingester's
   * Pusher only without a distributor, pkg/loki/modules.go).
   */
  lokiPusher?: boolean;
  /** How long a push waits for its sender's previous one (push-order.ts); default PUSH_GAP_WAIT_MS. */
  pushGapWaitMs?: number;
  /** Where `silt_ingester_push_order_gaps_total` is registered; none: not exported. */
  registry?: Registry;
}

/** The registered services. */
export interface IngesterServices {
  /** Ends every open Tail stream with UNAVAILABLE (before the server shuts down, so tails do not hold it open). */
  close(): void;
}

const EMPTY = Buffer.alloc(0);
/** Loki's (dskit's) text for a request without a tenant. */
const MSG_NO_ORG_ID = 'no org id';

/** The one tenant a call names in its `x-scope-orgid` metadata. */
function tenantOf(md: grpc.Metadata): string {
  const v = md.get(TENANT_METADATA)[0];
  const tenant = typeof v === 'string' ? v : v === undefined ? '' : v.toString('utf8');
  if (tenant === '') throw new UnauthorizedError(MSG_NO_ORG_ID);
  if (tenant.length > MAX_TENANT_BYTES) throw new InvalidError(`tenant ID is too long: max ${MAX_TENANT_BYTES} characters`);
  if (tenant.includes(TENANT_SEPARATOR)) throw new InvalidError(`an ingester call names one tenant, got '${tenant}'`);
  return tenant;
}

/** What a failed call answers; unexpected errors are logged with their stack. */
function statusOf(e: unknown, logger: Logger, path: string): Partial<grpc.StatusObject> {
  const s = toGrpcStatus(e);
  if (s.unexpected) logger.error({ err: e, method: path }, 'unexpected error in ingester gRPC call');
  const metadata = new grpc.Metadata();
  if (s.trailer !== null) metadata.set(ERROR_TRAILER, s.trailer);
  return { code: s.code, details: s.details, metadata };
}

/** Per-call options whose signal aborts when the client cancels or the connection drops. */
function callOptions(call: grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerWritableStream<Buffer, Buffer>): CallOptions {
  const ac = new AbortController();
  call.once('cancelled', () => ac.abort(new SiltError('canceled', 'the client cancelled the call')));
  return { signal: ac.signal };
}

/**
 * Registers Pusher, Querier and Admin on `host`, answering from `ingester`. Call before the
 * server listens. Label texts of pushes are parsed once each (a bounded cache).
 */
export function registerIngesterServices(host: GrpcServiceHost, ingester: IngesterClient, opts: IngesterServicesOptions): IngesterServices {
  const { logger } = opts;
  const labelsCache = new LabelsCache(LABELS_CACHE_ENTRIES);
  const headCodec = opts.headCodec ?? 'snappy';
  const batchBytes = opts.selectBatchBytes ?? SELECT_BATCH_BYTES;
  const maxTailBytes = opts.maxTailBufferedBytes ?? MAX_TAIL_BUFFERED_BYTES;
  /** Ends of open Tail streams, for close(). */
  const tails = new Set<(err: SiltError) => void>();

  /** A unary handler: `fn`'s answer, or its error as a status. */
  const unary =
    (path: string, fn: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => Promise<Buffer>) =>
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void => {
      // `fn` is async: whatever it throws arrives here as a rejection.
      fn(call).then(
        (res) => callback(null, res),
        (e: unknown) => callback(statusOf(e, logger, path), null),
      );
    };

  const order = new PushOrderer(opts.pushGapWaitMs ?? PUSH_GAP_WAIT_MS);
  if (opts.registry) {
    new Counter({
      name: 'silt_ingester_push_order_gaps_total',
      help: 'Gaps in a distributor\'s push order passed over: pushes that went ahead of earlier ones that had not arrived (push-order.ts).',
      registers: [opts.registry],
      collect() {
        this.reset();
        this.inc(order.skipped);
      },
    });
  }
  const push = (path: string) =>
    unary(path, async (call) => {
      const tenant = tenantOf(call.metadata);
      const seq = parsePushSeq(call.metadata.get(PUSH_SEQ_METADATA)[0]?.toString());
      let streams: ValidStream[];
      try {
        streams = decodePushRequest(call.request, labelsCache);
      } catch (e) {
        // Its turn passes at once, so that the sender's next push does not wait for it.
        if (seq !== null) order.run(seq.sender, seq.n, () => undefined);
        throw e;
      }
      if (seq === null) {
        if (streams.length > 0) await ingester.push(tenant, streams, callOptions(call));
        return EMPTY;
      }
      // In the sender's order (push-order.ts): push() admits synchronously, so starting it is taking its place.
      const low = Number(call.metadata.get(PUSH_LOW_METADATA)[0]?.toString() ?? 0);
      await new Promise<void>((resolve, reject) =>
        order.run(seq.sender, seq.n, () => {
          if (streams.length === 0) return resolve();
          try {
            ingester.push(tenant, streams, callOptions(call)).then(resolve, reject);
          } catch (e) {
            reject(e as Error);
          }
        }, Number.isSafeInteger(low) && low > 0 && low <= seq.n ? low : 0),
      );
      return EMPTY;
    });
  // Distributors call the ingester's own path; Loki's is served too unless a distributor here
  // owns it (registered first: a clash throws before anything else is registered).
  if (opts.lokiPusher ?? true) host.addService(PUSHER_SERVICE, { Push: push(PATHS.push) });
  host.addService(INGESTER_PUSHER_SERVICE, { Push: push(PATHS.ingesterPush) });

  host.addService(QUERIER_SERVICE, {
    SelectStreams: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      selectStreams(call).catch((e: unknown) => call.emit('error', statusOf(e, logger, PATHS.selectStreams)));
    },
    StoredKeys: unary(PATHS.storedKeys, async (call) => {
      const tenant = tenantOf(call.metadata);
      const ids = decodeStoredKeysRequest(call.request);
      return encodeStoredKeysResponse(await ingester.storedKeys(tenant, ids, callOptions(call)));
    }),
    Label: unary(PATHS.label, async (call) => {
      const tenant = tenantOf(call.metadata);
      const q = decodeLabelRequest(call.request);
      const o = callOptions(call);
      const values = q.name === null ? await ingester.labelNames(tenant, q.fromNs, q.throughNs, q.matchers, o) : await ingester.labelValues(tenant, q.name, q.fromNs, q.throughNs, q.matchers, o);
      return encodeStrings(values);
    }),
    Series: unary(PATHS.series, async (call) => {
      const tenant = tenantOf(call.metadata);
      const q = decodeRangeRequest(call.request, 'SeriesRequest');
      return encodeSeriesResponse(await ingester.series(tenant, q.fromNs, q.throughNs, q.matchers, callOptions(call)));
    }),
    Tail: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      tail(call).catch((e: unknown) => call.emit('error', statusOf(e, logger, PATHS.tail)));
    },
    TailersCount: unary(PATHS.tailersCount, async (call) => {
      const tenant = tenantOf(call.metadata);
      decodeEmptyRequest(call.request, 'TailersCountRequest');
      return encodeCount(await ingester.tailersCount(tenant, callOptions(call)));
    }),
  });

  host.addService(ADMIN_SERVICE, {
    Flush: unary(PATHS.flush, async (call) => {
      decodeEmptyRequest(call.request, 'FlushRequest');
      return encodeCount(await ingester.flush(callOptions(call)));
    }),
  });

  /** Streams the snapshot in messages of about batchBytes, waiting for the client to take them. */
  async function selectStreams(call: grpc.ServerWritableStream<Buffer, Buffer>): Promise<void> {
    const tenant = tenantOf(call.metadata);
    const q = decodeRangeRequest(call.request, 'SelectStreamsRequest');
    const streams = await ingester.selectStreams(tenant, q.matchers, q.fromNs, q.throughNs, { ...callOptions(call), shard: q.shard ?? null });
    const enc = new MemStreamEncoder({ headCodec, batchBytes });
    let full = false;
    const emit = (m: Buffer): void => {
      if (!call.write(m)) full = true;
    };
    for (const s of streams) {
      if (call.cancelled) return;
      enc.add(s, emit);
      if (full) {
        await drained(call);
        full = false;
      }
    }
    enc.finish(emit);
    call.end();
  }

  /** Subscribes, acknowledges with the response headers, and forwards entries until either side ends. */
  async function tail(call: grpc.ServerWritableStream<Buffer, Buffer>): Promise<void> {
    const tenant = tenantOf(call.metadata);
    const matchers = decodeTailRequest(call.request);
    let open = true;
    let queuedBytes = 0;
    let unsubscribe: (() => void) | null = null;
    /** Label texts of the streams seen (the ingester hands the same Labels array for a stream each time). */
    const texts = new WeakMap<Labels, string>();
    const end = (err: SiltError | null): void => {
      if (!open) return;
      open = false;
      tails.delete(end);
      unsubscribe?.();
      if (err === null) call.end();
      else call.emit('error', statusOf(err, logger, PATHS.tail));
    };
    const tailer: IngesterTailer = {
      onEntries(labels: Labels, entries: readonly PushEntry[]): void {
        if (!open) return;
        let text = texts.get(labels);
        if (text === undefined) texts.set(labels, (text = labelsToString(labels)));
        const m = encodeTailResponse(text, entries);
        queuedBytes += m.length;
        if (queuedBytes > maxTailBytes) {
          end(new SiltError('limited', `tail client too slow: more than ${maxTailBytes} bytes queued`));
          return;
        }
        call.write(m, () => {
          queuedBytes -= m.length;
        });
      },
      onClose(err: Error | null): void {
        end(err === null ? null : err instanceof SiltError ? err : new UnavailableError(`tail ended by the ingester: ${err.message}`));
      },
    };
    call.once('cancelled', () => {
      open = false;
      tails.delete(end);
      unsubscribe?.();
    });
    const un = await ingester.tail(tenant, matchers, tailer);
    if (!open || call.cancelled) {
      un();
      return;
    }
    unsubscribe = un;
    tails.add(end);
    call.sendMetadata(new grpc.Metadata());
  }

  return {
    close(): void {
      const err = new UnavailableError('ingester is shutting down');
      for (const end of [...tails]) end(err);
      order.close();
    },
  };
}

/** Resolves when `call` can take more writes, or has been cancelled. */
function drained(call: grpc.ServerWritableStream<Buffer, Buffer>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
  });
}

