import { SiltError, type ErrorKind } from '../errors.js';

/** gRPC status codes we use. */
export const GRPC = { OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

const BY_KIND: Record<ErrorKind, { http: number; grpc: number }> = {
  invalid: { http: 400, grpc: GRPC.INVALID_ARGUMENT },
  not_found: { http: 404, grpc: GRPC.NOT_FOUND },
  limited: { http: 429, grpc: GRPC.RESOURCE_EXHAUSTED },
  too_large: { http: 413, grpc: GRPC.RESOURCE_EXHAUSTED },
  unprocessable: { http: 422, grpc: GRPC.INVALID_ARGUMENT },
  unauthorized: { http: 401, grpc: GRPC.UNAUTHENTICATED },
  forbidden: { http: 403, grpc: GRPC.PERMISSION_DENIED },
  canceled: { http: 499, grpc: GRPC.CANCELLED },
  timeout: { http: 504, grpc: GRPC.DEADLINE_EXCEEDED },
  unavailable: { http: 503, grpc: GRPC.UNAVAILABLE },
  not_implemented: { http: 501, grpc: GRPC.UNIMPLEMENTED },
  internal: { http: 500, grpc: GRPC.INTERNAL },
};

export interface MappedError {
  /** HTTP status code. */
  status: number;
  /** gRPC status code. */
  grpc: number;
  /** Metric label: the error kind, or 'internal' for unknown errors. */
  kind: ErrorKind;
  /** Text for the client; unknown errors never leak their message. */
  message: string;
  /** True when the error was not a SiltError and must be logged with its stack. */
  unexpected: boolean;
}

/**
 * The one place that turns errors into status codes (Loki's ClientHTTPStatusAndError).
 * Everything Silt throws on purpose is a SiltError; anything else is a bug and becomes 500.
 */
export function mapError(e: unknown): MappedError {
  if (e instanceof SiltError) {
    const m = BY_KIND[e.kind];
    return { status: m.http, grpc: m.grpc, kind: e.kind, message: e.message, unexpected: false };
  }
  return { status: 500, grpc: GRPC.INTERNAL, kind: 'internal', message: 'internal server error', unexpected: true };
}
