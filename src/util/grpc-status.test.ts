import { describe, expect, it } from 'vitest';
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
} from '../errors.js';
import { fromGrpcStatus, GRPC, MAX_ERROR_MESSAGE_BYTES, toGrpcStatus } from './grpc-status.js';

const PEER = 'ingester 10.0.0.7:9095';

/** What a client sees of `e` thrown on the server. */
function roundTrip(e: unknown): SiltError {
  const s = toGrpcStatus(e);
  return fromGrpcStatus(s.code, s.details, s.trailer ?? undefined, PEER);
}

describe('gRPC status mapping', () => {
  const cases: [SiltError, number][] = [
    [new InvalidError('bad "x"'), GRPC.INVALID_ARGUMENT],
    [new ParseError('unexpected "}"', 1, 7), GRPC.INVALID_ARGUMENT],
    [new ValidationError('too_far_behind', 'entry too far behind'), GRPC.INVALID_ARGUMENT],
    [new RateLimitError('per_stream_rate_limit', 'Per stream rate limit exceeded'), GRPC.RESOURCE_EXHAUSTED],
    [new TooLargeError('line too long'), GRPC.RESOURCE_EXHAUSTED],
    [new NotFoundError('no such rule'), GRPC.NOT_FOUND],
    [new LimitError('max series'), GRPC.INVALID_ARGUMENT],
    [new ChunkCorruptError('crc32 mismatch'), GRPC.INTERNAL],
    [new UnavailableError('Ingester is not ready to accept writes'), GRPC.UNAVAILABLE],
    [new NotImplementedError('not yet'), GRPC.INVALID_ARGUMENT],
    [new ForbiddenError('deletion is not available for this tenant'), GRPC.PERMISSION_DENIED],
    [new UnprocessableError('error at least one valid stream is required for ingestion'), GRPC.INVALID_ARGUMENT],
    [new UnauthorizedError('no org id'), GRPC.UNAUTHENTICATED],
    [new QueryTimeoutError(), GRPC.DEADLINE_EXCEEDED],
    [new SiltError('canceled', 'gone'), GRPC.CANCELLED],
    [new SiltError('not_implemented', 'later'), GRPC.UNIMPLEMENTED],
  ];
  for (const [e, code] of cases) {
    it(`${e.name} (${e.kind}) crosses as code ${code} and comes back the same`, () => {
      expect(toGrpcStatus(e).code).toBe(code);
      const back = roundTrip(e);
      expect(back.constructor).toBe(e.constructor);
      expect(back.kind).toBe(e.kind);
      expect(back.message).toBe(e.message);
      if (e instanceof ValidationError || e instanceof RateLimitError) expect((back as ValidationError | RateLimitError).reason).toBe(e.reason);
      if (e instanceof ParseError) expect([(back as ParseError).line, (back as ParseError).col, (back as ParseError).detail]).toEqual([e.line, e.col, e.detail]);
    });
  }

  it('hides unexpected errors behind INTERNAL and flags them for logging', () => {
    const s = toGrpcStatus(new TypeError('x is undefined'));
    expect(s).toMatchObject({ code: GRPC.INTERNAL, details: 'internal server error', trailer: null, kind: 'internal', unexpected: true });
    expect(roundTrip(new TypeError('x'))).toMatchObject({ kind: 'internal', message: `${PEER}: internal server error` });
  });

  it('cuts long texts, keeping the class', () => {
    const e = new ValidationError('too_far_behind', 'é'.repeat(40_000));
    const back = roundTrip(e) as ValidationError;
    expect(back).toBeInstanceOf(ValidationError);
    expect(back.reason).toBe('too_far_behind');
    expect(Buffer.byteLength(back.message)).toBeLessThan(MAX_ERROR_MESSAGE_BYTES + 40);
    expect(back.message).toMatch(/^é+… \(\d+ more bytes\)$/);
    expect(roundTrip(new InvalidError('short')).message).toBe('short');
  });

  it('maps statuses without Silt’s trailer by their code, naming the peer', () => {
    expect(fromGrpcStatus(GRPC.UNAVAILABLE, 'connect ECONNREFUSED', undefined, PEER)).toBeInstanceOf(UnavailableError);
    expect(fromGrpcStatus(GRPC.UNAVAILABLE, 'connect ECONNREFUSED', undefined, PEER).message).toBe(`${PEER}: connect ECONNREFUSED`);
    expect(fromGrpcStatus(GRPC.DEADLINE_EXCEEDED, 'Deadline exceeded', undefined, PEER).kind).toBe('timeout');
    expect(fromGrpcStatus(GRPC.RESOURCE_EXHAUSTED, 'Received message larger than max', undefined, PEER).kind).toBe('too_large');
    expect(fromGrpcStatus(GRPC.UNIMPLEMENTED, '', undefined, PEER)).toMatchObject({ kind: 'not_implemented', message: `${PEER}: gRPC status 12` });
    expect(fromGrpcStatus(2, 'boom', undefined, PEER).kind).toBe('internal');
    // A trailer that is not Silt's is ignored.
    for (const t of ['{', 'null', '{"kind":"nope","name":"X"}', '[]']) expect(fromGrpcStatus(GRPC.INVALID_ARGUMENT, 'm', Buffer.from(t), PEER)).toMatchObject({ kind: 'invalid', message: `${PEER}: m` });
    // An unknown class name keeps the kind.
    expect(fromGrpcStatus(GRPC.NOT_FOUND, 'm', Buffer.from('{"kind":"not_found","name":"FutureError"}'), PEER)).toMatchObject({ kind: 'not_found', message: 'm' });
  });
});
