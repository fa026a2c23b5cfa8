/**
 * Typed errors shared by every role. They carry a `kind` that `src/server/status.ts`
 * maps to an HTTP status, a gRPC code and a metric label; nothing else knows status codes.
 */
export type ErrorKind =
  | 'invalid'
  | 'not_found'
  | 'limited'
  | 'too_large'
  | 'unprocessable'
  | 'unauthorized'
  | 'forbidden'
  | 'canceled'
  | 'timeout'
  | 'unavailable'
  | 'bad_gateway'
  | 'not_implemented'
  | 'internal';

/** Base class of every error Silt raises on purpose. */
export class SiltError extends Error {
  /** Classification used by the status mapper. */
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = 'SiltError';
  }
}

/** A bad request: malformed body, parameter or query. HTTP 400. */
export class InvalidError extends SiltError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid', message, options);
    this.name = 'InvalidError';
  }
}

/** A LogQL (or label selector) parse error with a 1-based position. HTTP 400. */
export class ParseError extends SiltError {
  readonly line: number;
  readonly col: number;
  /** The message without the position prefix. */
  readonly detail: string;
  constructor(detail: string, line: number, col: number) {
    super('invalid', line > 0 ? `parse error at line ${line}, col ${col}: ${detail}` : `parse error : ${detail}`);
    this.name = 'ParseError';
    this.line = line;
    this.col = col;
    this.detail = detail;
  }
}

/** Push validation failure for one stream or entry; `reason` is Loki's discard reason label. */
export class ValidationError extends SiltError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super('invalid', message);
    this.name = 'ValidationError';
    this.reason = reason;
  }
}

/** A rate limit was hit. HTTP 429. */
export class RateLimitError extends SiltError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super('limited', message);
    this.name = 'RateLimitError';
    this.reason = reason;
  }
}

/** A request body or result exceeded a size limit. HTTP 413. */
export class TooLargeError extends SiltError {
  constructor(message: string) {
    super('too_large', message);
    this.name = 'TooLargeError';
  }
}

/** The thing asked for does not exist. HTTP 404. */
export class NotFoundError extends SiltError {
  constructor(message: string) {
    super('not_found', message);
    this.name = 'NotFoundError';
  }
}

/** A query or feature limit (series, points, interval). HTTP 400 like Loki's limit errors. */
export class LimitError extends SiltError {
  constructor(message: string) {
    super('invalid', message);
    this.name = 'LimitError';
  }
}

/** Stored bytes failed a checksum or structural check. */
export class ChunkCorruptError extends SiltError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
    this.name = 'ChunkCorruptError';
  }
}

/** A dependency (object store, ingester) is unreachable or not ready. HTTP 503. */
export class UnavailableError extends SiltError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', message, options);
    this.name = 'UnavailableError';
  }
}

/** A proxied upstream (a querier behind the query-frontend's tail proxy) could not be reached. HTTP 502, as Go's reverse proxy. */
export class BadGatewayError extends SiltError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad_gateway', message, options);
    this.name = 'BadGatewayError';
  }
}

/** A feature that exists in LogQL but is not evaluated yet. HTTP 400. */
export class NotImplementedError extends SiltError {
  constructor(message: string) {
    super('invalid', message);
    this.name = 'NotImplementedError';
  }
}

/** The tenant may not use this feature (Loki: "deletion is not available for this tenant"). HTTP 403. */
export class ForbiddenError extends SiltError {
  constructor(message: string) {
    super('forbidden', message);
    this.name = 'ForbiddenError';
  }
}

/** A push with no streams at all. HTTP 422, as Loki. */
export class UnprocessableError extends SiltError {
  constructor(message: string) {
    super('unprocessable', message);
    this.name = 'UnprocessableError';
  }
}

/**
 * A rule of a rule group failed validation (bad expression, template, label or field). HTTP
 * 400. `index` is 0-based; the message names the group and the rule.
 */
export class RuleValidationError extends SiltError {
  readonly group: string;
  readonly index: number;
  readonly rule: string;
  constructor(group: string, index: number, rule: string, message: string) {
    super('invalid', message);
    this.name = 'RuleValidationError';
    this.group = group;
    this.index = index;
    this.rule = rule;
  }
}

/** A request without the credentials it needs, e.g. no X-Scope-OrgID with auth enabled. HTTP 401. */
export class UnauthorizedError extends SiltError {
  constructor(message: string) {
    super('unauthorized', message);
    this.name = 'UnauthorizedError';
  }
}

/** Loki's text for a query cut off by its timeout (pkg/util/server/error.go, ErrDeadlineExceeded). */
export const QUERY_TIMEOUT_MESSAGE =
  'request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed';

/** A query ran past `querier.query_timeout`. HTTP 504, as Loki. */
export class QueryTimeoutError extends SiltError {
  constructor() {
    super('timeout', QUERY_TIMEOUT_MESSAGE);
    this.name = 'QueryTimeoutError';
  }
}

/** Loki's text for a request whose context was cancelled (its client went away, or the query-frontend no longer needs the piece). */
export const CONTEXT_CANCELED_MESSAGE = 'context canceled';

/** A request cancelled before its answer. HTTP 499 (Loki's StatusClientClosedRequest). */
export class CanceledError extends SiltError {
  constructor(message: string = CONTEXT_CANCELED_MESSAGE, options?: { cause?: unknown }) {
    super('canceled', message, options);
    this.name = 'CanceledError';
  }
}
