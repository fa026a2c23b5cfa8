/**
 * The query-frontend's planner contract (issue #21): how one HTTP query request becomes pieces
 * that queriers run, and how the pieces' answers become the one HTTP answer.
 *
 * The frontend (src/frontend/frontend.ts) owns the queue, the fairness between tenants, the
 * retries and the transport; a `QueryPlanner` owns the query semantics (splitting by time,
 * sharding, merging, stopping early). The frontend never looks inside a piece's body except to
 * report `stats.summary.queueTime`; a planner never knows where or when a piece runs.
 *
 * A piece is an HTTP request for a querier's own API (Loki's frontend sends queriers
 * httpgrpc requests the same way): a path of the query API such as `/loki/api/v1/query_range`
 * with its form parameters. Its result is the querier's HTTP answer: status, content type,
 * body (Loki's JSON shapes). So any endpoint a querier answers can be planned, and a planner is
 * testable without a cluster: run pieces through any function that answers them.
 *
 * Lifecycle of one request (all calls on one plan happen on the event loop, never concurrently):
 *  1. `planner.plan(req, ctx)` once; it may be async (e.g. read index stats through `ctx.run`
 *     to size shards) and may throw a SiltError (a 400 for a bad query, say) to fail the request.
 *  2. Whenever the tenant has a free slot (`max_query_parallelism`) and a querier is free, the
 *     frontend calls `plan.next()`. It returns the piece to run now, or null when no piece can
 *     start yet (it waits for results in flight) or none is needed any more. Pieces are drawn
 *     lazily, one per call: a backward log query hands out its newest window first and hands out
 *     no further window once `limit` lines are certain.
 *  3. Each successful (2xx) piece result goes to `plan.accept(piece, result)`, in completion
 *     order (not dispatch order). After each accept the frontend asks `plan.done()`, then
 *     `next()` again while slots are free.
 *     A piece whose querier dies, or that answers a 5xx other than 503/504, is retried by the frontend (on another
 *     querier when there is one) up to `query_range.max_retries` times; the plan never sees the
 *     failed attempts. A piece that answers 4xx, or fails after every retry, fails the whole
 *     request with that answer; the plan is then dropped (no more calls).
 *  4. Once `done()` is true the frontend stops drawing pieces, abandons those still in flight
 *     (their results are discarded, never accepted; their queriers are told to stop them) and
 *     calls `plan.result(info)` once. It may return the answer or a promise of it (a merge that
 *     reads a cache, say); while it is pending no other call is made on the plan. A throw or a
 *     rejection fails the request like any request error (a SiltError maps to its status).
 *     If `done()` is false while no piece is in flight and `next()` returns null, the plan is
 *     broken: the frontend fails the request with a 500.
 *
 * Implementations: `SinglePiecePlanner` (frontend.ts: the whole request as one piece) and the
 * splitting/sharding planners of src/frontend/split/. `newQueryPlanner` in planner.ts picks the
 * one the frontend uses.
 *
 * `PlanContext.run` pieces count as the request's pieces (queue time, `ResultInfo.pieces`,
 * `max_query_parallelism`) and follow the same retry and failure rules: a 4xx answer or
 * exhausted retries answer the request, and the promise rejects.
 */

/** Query API paths the frontend accepts and plans (everything else stays on the querier). */
export const FRONTEND_PATHS = [
  '/loki/api/v1/query_range',
  '/loki/api/v1/query',
  '/loki/api/v1/labels',
  '/loki/api/v1/label',
  '/loki/api/v1/label/:name/values',
  '/loki/api/v1/series',
  '/loki/api/v1/index/stats',
  '/loki/api/v1/index/volume',
  '/loki/api/v1/index/volume_range',
  '/loki/api/v1/detected_fields',
  '/loki/api/v1/detected_field/:name/values',
  '/loki/api/v1/detected_labels',
  '/loki/api/v1/patterns',
] as const;

/** One HTTP query request as the frontend received it. Read-only for planners. */
export interface FrontendRequest {
  /** `GET` or `POST` (a POST's urlencoded form is already merged into `params`). */
  readonly method: string;
  /** The request path with route variables filled in, e.g. `/loki/api/v1/label/app/values`. */
  readonly path: string;
  /** Route pattern the path matched (one of FRONTEND_PATHS), e.g. `/loki/api/v1/label/:name/values`. */
  readonly route: string;
  /** Route variables (`name` of the label and detected_field routes). */
  readonly vars: Readonly<Record<string, string>>;
  /** Query string and form parameters, as received (`query`, `start`, `end`, `limit`, `step`, …). */
  readonly params: URLSearchParams;
  /**
   * Tenant as resolved by the HTTP layer (`fake` without auth; may be `a|b` for multi-tenant
   * queries). Pieces always run as this tenant.
   */
  readonly tenant: string;
  /**
   * The request headers a querier's answer depends on, lower-case names: `accept` (Parquet),
   * `x-loki-response-encoding-flags` (categorize-labels). Copied onto every piece by default.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** When the frontend received the request, ns since the epoch: use it as "now" for defaults (`end`), so every piece agrees. */
  readonly receivedNs: bigint;
}

/** A unit of work a querier runs: one request for its own query API. Plain data: it crosses gRPC. */
export interface Piece {
  /** Query API path, e.g. `/loki/api/v1/query_range` (no query string). */
  readonly path: string;
  /**
   * Form parameters, in order (repeats allowed, e.g. several `match[]`). Sent as the querier's
   * GET query string; put explicit `start`/`end` (ns) in every piece, never rely on "now".
   */
  readonly params: readonly (readonly [string, string])[];
  /** Extra request headers (lower-case names); null: the request's `headers`. */
  readonly headers?: Readonly<Record<string, string>> | null;
  /**
   * Free for the planner: which window/shard this is, so `accept` can place the result without
   * re-parsing `params`. Never sent to queriers.
   */
  readonly tag?: unknown;
}

/** A querier's answer to a piece. */
export interface PieceResult {
  /** HTTP status the querier answered (only 2xx results reach `QueryPlan.accept`). */
  readonly status: number;
  /** Its Content-Type, e.g. `application/json; charset=utf-8`. */
  readonly contentType: string;
  /** Its body (Loki's JSON for the query API). Owned by the plan once accepted. */
  readonly body: Buffer;
  /** Seconds the piece waited in the frontend's queue before a querier took it (this attempt). */
  readonly queueSeconds: number;
}

/** The frontend's answer to the HTTP request: what `QueryPlan.result` returns. */
export interface FrontendResponse {
  status: number;
  contentType: string;
  body: string | Buffer;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

/** What the frontend tells `QueryPlan.result`. */
export interface ResultInfo {
  /**
   * Seconds pieces of this request waited in the queue, summed over pieces (Loki sums its
   * sub-queries' `queueTime` the same way). Put it in `stats.summary.queueTime` of answers that
   * carry stats (query, query_range); `withQueueTime` does that for a JSON body.
   */
  readonly queueSeconds: number;
  /** Pieces dispatched for this request (retries not counted); for logs and metrics. */
  readonly pieces: number;
}

/** Services a planner may use while planning. */
export interface PlanContext {
  /**
   * Runs a piece through the same queue, retries and queriers as the plan's own pieces and
   * resolves with its 2xx result, or rejects with the error the request would fail with. For
   * look-ups the plan depends on (index stats to size shards). Counts towards the tenant's
   * `max_query_parallelism` like any piece.
   */
  run(piece: Piece): Promise<PieceResult>;
  /** Aborted when the client went away or the request failed; a planner should stop waiting. */
  readonly signal: AbortSignal;
}

/** The execution of one request: hands out pieces lazily and merges their results. See the file comment for the call order. */
export interface QueryPlan {
  /**
   * The next piece to run, or null when none can start now (waiting for results in flight) or
   * none is needed any more. Called only when a slot is free; each returned piece is dispatched
   * exactly once (retries reuse the same object).
   */
  next(): Piece | null;
  /** A 2xx result of a piece this plan handed out; in completion order. */
  accept(piece: Piece, result: PieceResult): void;
  /**
   * True once the answer is certain (every needed piece accepted; for log queries: `limit`
   * lines certain). Pieces still in flight are then abandoned.
   */
  done(): boolean;
  /**
   * The merged answer, once `done()`: the answer, or a promise of it. Called at most once. May
   * throw (or reject with) a SiltError (e.g. max_query_series exceeded on the merged result),
   * mapped like any request error. The request's timeout and its client going away still apply
   * while a promise is pending.
   */
  result(info: ResultInfo): FrontendResponse | Promise<FrontendResponse>;
}

/** Turns requests into plans. One planner serves every request and tenant; keep per-request state in the plan. */
export interface QueryPlanner {
  /** A plan for `req`; may throw (or reject with) a SiltError to fail the request (e.g. a LogQL parse error: 400). */
  plan(req: FrontendRequest, ctx: PlanContext): QueryPlan | Promise<QueryPlan>;
}

/** The request's parameters as a piece's, in order; `overrides` replace (or add) single-valued ones. */
export function pieceParams(req: FrontendRequest, overrides: Readonly<Record<string, string>> = {}): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of req.params) if (!(k in overrides)) out.push([k, v]);
  for (const [k, v] of Object.entries(overrides)) out.push([k, v]);
  return out;
}

/** Whether answers to `path` carry `stats`: instant and range queries. */
export function carriesStats(path: string): boolean {
  return path.endsWith('/query') || path.endsWith('/query_range');
}

const SUMMARY_KEY = '"summary":{';
const QUEUE_TIME_KEY = '"queueTime":';

/**
 * Sets `stats.summary.queueTime` (seconds) in a query/query_range JSON answer without parsing
 * it: replaces the number after the first `"queueTime":` that follows the first `"summary":{`
 * (inside JSON strings quotes are escaped, so only keys match). Bodies without them are
 * returned unchanged, bytes as bytes: a 2.6 MB label-values answer is searched, not decoded.
 */
export function withQueueTime<B extends string | Buffer>(body: B, queueSeconds: number): B {
  const s = body.indexOf(SUMMARY_KEY);
  if (s < 0) return body;
  const i = body.indexOf(QUEUE_TIME_KEY, s);
  if (i < 0) return body;
  const start = i + QUEUE_TIME_KEY.length;
  if (typeof body !== 'string') {
    let end = start;
    while (end < body.length && NUMBER_BYTES.includes(body[end]!)) end++;
    return Buffer.concat([body.subarray(0, start), Buffer.from(String(queueSeconds)), body.subarray(end)]) as B;
  }
  let end = start;
  while (end < body.length && '0123456789.eE+-'.includes(body[end]!)) end++;
  return (body.slice(0, start) + String(queueSeconds) + body.slice(end)) as B;
}

/** The bytes of '0123456789.eE+-', a JSON number's characters. */
const NUMBER_BYTES = [...Buffer.from('0123456789.eE+-')];
