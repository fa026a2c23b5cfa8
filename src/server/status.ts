import { SiltError, type ErrorKind } from '../errors.js';
import { GRPC, GRPC_CODE_BY_KIND } from '../util/grpc-status.js';

/** gRPC status codes (defined with the gRPC mapping both ways in util/grpc-status.ts). */
export { GRPC };

/** The HTTP status of each error kind; the gRPC code comes from util/grpc-status.ts. */
const HTTP_BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  not_found: 404,
  limited: 429,
  too_large: 413,
  unprocessable: 422,
  unauthorized: 401,
  forbidden: 403,
  canceled: 499,
  timeout: 504,
  unavailable: 503,
  bad_gateway: 502,
  not_implemented: 501,
  internal: 500,
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
    return { status: HTTP_BY_KIND[e.kind], grpc: GRPC_CODE_BY_KIND[e.kind], kind: e.kind, message: e.message, unexpected: false };
  }
  return { status: 500, grpc: GRPC.INTERNAL, kind: 'internal', message: 'internal server error', unexpected: true };
}
