/**
 * gRPC status codes and Silt errors, both ways: the one table of codes, what a gRPC server
 * answers for an error (`toGrpcStatus`), and the error a gRPC client rebuilds from a status
 * (`fromGrpcStatus`). The error's class and fields travel in a binary trailer, so a 429 from an
 * ingester is still a RateLimitError with its reason and Loki's text at the distributor (Loki
 * string-matches message templates because only the text survives its hop). src/server/status.ts
 * takes its gRPC column from here; roles and the server both import this file, and no other
 * file knows gRPC codes.
 */
import {
  ChunkCorruptError,
  ForbiddenError,
  InvalidError,
  LimitError,
  NotFoundError,
  NotImplementedError,
  ParseError,
  QueryTimeoutError,
  RateLimitError,
  SiltError,
  TooLargeError,
  UnauthorizedError,
  UnavailableError,
  UnprocessableError,
  ValidationError,
  type ErrorKind,
} from '../errors.js';

/** gRPC status codes we use. */
export const GRPC = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The gRPC code of each error kind. */
export const GRPC_CODE_BY_KIND: Readonly<Record<ErrorKind, number>> = Object.freeze({
  invalid: GRPC.INVALID_ARGUMENT,
  not_found: GRPC.NOT_FOUND,
  limited: GRPC.RESOURCE_EXHAUSTED,
  too_large: GRPC.RESOURCE_EXHAUSTED,
  unprocessable: GRPC.INVALID_ARGUMENT,
  unauthorized: GRPC.UNAUTHENTICATED,
  forbidden: GRPC.PERMISSION_DENIED,
  canceled: GRPC.CANCELLED,
  timeout: GRPC.DEADLINE_EXCEEDED,
  unavailable: GRPC.UNAVAILABLE,
  bad_gateway: GRPC.UNAVAILABLE,
  not_implemented: GRPC.UNIMPLEMENTED,
  internal: GRPC.INTERNAL,
});

/** The kind of a status without Silt's trailer (a transport failure, or a server that is not Silt). */
const KIND_BY_CODE: ReadonlyMap<number, ErrorKind> = new Map<number, ErrorKind>([
  [GRPC.CANCELLED, 'canceled'],
  [GRPC.INVALID_ARGUMENT, 'invalid'],
  [GRPC.DEADLINE_EXCEEDED, 'timeout'],
  [GRPC.NOT_FOUND, 'not_found'],
  [GRPC.PERMISSION_DENIED, 'forbidden'],
  [GRPC.RESOURCE_EXHAUSTED, 'too_large'],
  [GRPC.UNIMPLEMENTED, 'not_implemented'],
  [GRPC.UNAVAILABLE, 'unavailable'],
  [GRPC.UNAUTHENTICATED, 'unauthorized'],
]);

/** Binary trailer carrying the error's class and fields as JSON (`-bin`: any bytes allowed). */
export const ERROR_TRAILER = 'silt-error-bin';

/**
 * Longest error text sent, in UTF-8 bytes. The text travels percent-encoded in an HTTP/2 trailer
 * (up to 3 bytes per byte) and peers refuse header blocks past 64 KiB; longer texts (a push
 * hitting the stream limit for thousands of streams) are cut with a note.
 */
export const MAX_ERROR_MESSAGE_BYTES = 16 * 1024;

/** What a gRPC server answers for an error. */
export interface GrpcErrorStatus {
  code: number;
  /** The error's text (cut to MAX_ERROR_MESSAGE_BYTES); a generic text for unexpected errors. */
  details: string;
  /** Value of the ERROR_TRAILER trailer, null for unexpected errors. */
  trailer: Buffer | null;
  /** Metric label. */
  kind: ErrorKind;
  /** Not a SiltError: a bug, to be logged with its stack. */
  unexpected: boolean;
}

/** What the trailer holds. */
interface ErrorFields {
  kind: ErrorKind;
  name: string;
  reason?: string;
  line?: number;
  col?: number;
  detail?: string;
}

function cut(message: string): string {
  if (message.length * 3 <= MAX_ERROR_MESSAGE_BYTES) return message;
  const bytes = Buffer.from(message, 'utf8');
  if (bytes.length <= MAX_ERROR_MESSAGE_BYTES) return message;
  // toString drops a trailing partial character as U+FFFD; the note says what was left out.
  return `${bytes.subarray(0, MAX_ERROR_MESSAGE_BYTES).toString('utf8')}… (${bytes.length - MAX_ERROR_MESSAGE_BYTES} more bytes)`;
}

/** The status a server answers for `e`. Unknown errors never leak their text. */
export function toGrpcStatus(e: unknown): GrpcErrorStatus {
  if (!(e instanceof SiltError)) return { code: GRPC.INTERNAL, details: 'internal server error', trailer: null, kind: 'internal', unexpected: true };
  const f: ErrorFields = { kind: e.kind, name: e.name };
  if (e instanceof ValidationError || e instanceof RateLimitError) f.reason = e.reason;
  if (e instanceof ParseError) {
    f.line = e.line;
    f.col = e.col;
    f.detail = cut(e.detail);
  }
  return { code: GRPC_CODE_BY_KIND[e.kind], details: cut(e.message), trailer: Buffer.from(JSON.stringify(f)), kind: e.kind, unexpected: false };
}

function isKind(k: unknown): k is ErrorKind {
  return typeof k === 'string' && Object.hasOwn(GRPC_CODE_BY_KIND, k);
}

function parseFields(trailer: Buffer | undefined): ErrorFields | null {
  if (trailer === undefined || trailer.length === 0 || trailer.length > MAX_ERROR_MESSAGE_BYTES) return null;
  try {
    const f = JSON.parse(trailer.toString('utf8')) as Partial<ErrorFields> | null;
    if (f === null || typeof f !== 'object' || !isKind(f.kind) || typeof f.name !== 'string') return null;
    return f as ErrorFields;
  } catch {
    return null;
  }
}

/** The same class as the server's error, with its fields and text. */
function rebuild(f: ErrorFields, message: string): SiltError {
  const reason = typeof f.reason === 'string' ? f.reason : '';
  switch (f.name) {
    case 'ValidationError':
      return new ValidationError(reason, message);
    case 'RateLimitError':
      return new RateLimitError(reason, message);
    case 'ParseError':
      if (typeof f.line === 'number' && typeof f.col === 'number' && typeof f.detail === 'string') return new ParseError(f.detail, f.line, f.col);
      return new InvalidError(message);
    case 'InvalidError':
      return new InvalidError(message);
    case 'TooLargeError':
      return new TooLargeError(message);
    case 'NotFoundError':
      return new NotFoundError(message);
    case 'LimitError':
      return new LimitError(message);
    case 'ChunkCorruptError':
      return new ChunkCorruptError(message);
    case 'UnavailableError':
      return new UnavailableError(message);
    case 'NotImplementedError':
      return new NotImplementedError(message);
    case 'ForbiddenError':
      return new ForbiddenError(message);
    case 'UnprocessableError':
      return new UnprocessableError(message);
    case 'UnauthorizedError':
      return new UnauthorizedError(message);
    case 'QueryTimeoutError':
      return new QueryTimeoutError();
    default:
      return new SiltError(f.kind, message);
  }
}

/**
 * The error a client raises for a failed call. With Silt's trailer it is the server's error
 * again (class, fields, text); otherwise the code picks the kind and `peer` (for example
 * `ingester 10.0.0.7:9095`) prefixes the text, since it came from the transport.
 */
export function fromGrpcStatus(code: number, details: string, trailer: Buffer | undefined, peer: string): SiltError {
  const f = parseFields(trailer);
  if (f !== null) return rebuild(f, details);
  const kind = KIND_BY_CODE.get(code) ?? 'internal';
  const text = `${peer}: ${details || `gRPC status ${code}`}`;
  return kind === 'unavailable' ? new UnavailableError(text) : new SiltError(kind, text);
}
