/**
 * The frontend's gRPC service (proto/frontend.proto) as a @grpc/grpc-js definition. Messages
 * cross grpc-js as raw bytes; wire.ts decodes them in the handlers, so a malformed message is
 * an error of its stream, never a failure inside grpc-js.
 */
import type * as grpc from '@grpc/grpc-js';

/** Full method path of Process. */
export const PROCESS_PATH = '/silt.frontend.Frontend/Process';

const bytes = (b: Buffer): Buffer => b;

/** `silt.frontend.Frontend`. */
export const FRONTEND_SERVICE: grpc.ServiceDefinition = {
  Process: {
    path: PROCESS_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  },
};
