/**
 * The ingester's gRPC services (proto/ingester.proto, and Loki's Pusher for pushes) as
 * @grpc/grpc-js definitions. Messages cross grpc-js as raw bytes; the handlers and the client
 * decode them with wire.ts, so a malformed message is an error the handler answers, never a
 * failure inside grpc-js.
 */
import type * as grpc from '@grpc/grpc-js';

/** Full method paths. */
export const PATHS = {
  push: '/logproto.Pusher/Push',
  /** The same PushRequest, on a path of the ingester's own: in a process that also runs a distributor, Loki's path is the distributor's. */
  ingesterPush: '/silt.ingester.Pusher/Push',
  selectStreams: '/silt.ingester.Querier/SelectStreams',
  storedKeys: '/silt.ingester.Querier/StoredKeys',
  label: '/silt.ingester.Querier/Label',
  series: '/silt.ingester.Querier/Series',
  tail: '/silt.ingester.Querier/Tail',
  tailersCount: '/silt.ingester.Querier/TailersCount',
  flush: '/silt.ingester.Admin/Flush',
} as const;

/** Metadata key of the tenant (X-Scope-OrgID, lower-case as HTTP/2 sends it). */
export const TENANT_METADATA = 'x-scope-orgid';

const bytes = (b: Buffer): Buffer => b;

function method(path: string, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  };
}

/** Loki's `logproto.Pusher`, answered by the ingester (the distributor serves the same path in its own process). */
export const PUSHER_SERVICE: grpc.ServiceDefinition = {
  Push: method(PATHS.push, false),
};

/** `silt.ingester.Pusher`: what distributors call (Loki's message, the ingester's own path). */
export const INGESTER_PUSHER_SERVICE: grpc.ServiceDefinition = {
  Push: method(PATHS.ingesterPush, false),
};

/** `silt.ingester.Querier`. */
export const QUERIER_SERVICE: grpc.ServiceDefinition = {
  SelectStreams: method(PATHS.selectStreams, true),
  StoredKeys: method(PATHS.storedKeys, false),
  Label: method(PATHS.label, false),
  Series: method(PATHS.series, false),
  Tail: method(PATHS.tail, true),
  TailersCount: method(PATHS.tailersCount, false),
};

/** `silt.ingester.Admin`. */
export const ADMIN_SERVICE: grpc.ServiceDefinition = {
  Flush: method(PATHS.flush, false),
};
