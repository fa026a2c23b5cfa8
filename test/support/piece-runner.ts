/**
 * Runs query-frontend pieces (src/frontend/plan.ts) on a real querier over HTTP and keeps the
 * pieces it ran, as the frontend's queue would hand them to queriers: the planner tests'
 * stand-in for the queue, never for the querier.
 */
import { SiltError } from '../../src/errors.js';
import type { Piece, PieceResult } from '../../src/frontend/plan.js';

export class HttpPieceRunner {
  readonly pieces: Piece[] = [];

  /** `url`: the querier's base URL; `headers`: a piece's headers when it names none (the request's). */
  constructor(
    private readonly url: () => string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async run(piece: Piece): Promise<PieceResult> {
    this.pieces.push(piece);
    const r = await fetch(`${this.url()}${piece.path}?${new URLSearchParams(piece.params as [string, string][])}`, { headers: piece.headers ?? this.headers });
    const body = Buffer.from(await r.arrayBuffer());
    if (r.status >= 300) throw new SiltError(r.status >= 500 ? 'internal' : 'invalid', body.toString());
    return { status: r.status, contentType: r.headers.get('content-type') ?? '', body, queueSeconds: 0 };
  }
}
