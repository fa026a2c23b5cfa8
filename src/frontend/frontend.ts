/**
 * The query-frontend (issue #21, ADR 0026): takes HTTP query requests, turns each into pieces
 * with a `QueryPlanner` (plan.ts), queues the pieces fairly across tenants, hands them to
 * queriers that pull work (gRPC `silt.frontend.Frontend/Process` streams, or in-process slots
 * in `-target=all`), retries a piece whose querier died or answered a 5xx other than 503/504, and answers with the
 * plan's merged result.
 *
 * The queue holds queries, not pieces: a query is admitted (or refused with Loki's 429 "too
 * many outstanding requests" past `max_outstanding_per_tenant` queries of its tenant) and its
 * pieces are drawn from its plan only when a querier slot is free and its tenant has fewer
 * than `max_query_parallelism` pieces in flight. A free slot takes work from the tenants in
 * round-robin order, and within a tenant from its queries in round-robin order. So a tenant
 * flooding the frontend holds at most `max_query_parallelism` slots, another tenant's next
 * piece waits for at most one piece per busy slot, and a log query draws no piece it does not
 * need.
 *
 * A query that is over (answered, failed, timed out, its client gone) or whose plan is done
 * abandons its pieces in flight: each slot that can (`WorkerSlot.cancel`) is told to stop, so
 * the querier drops the work and answers at once; the slot is free again with that answer.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CanceledError, QueryTimeoutError, RateLimitError, SiltError } from '../errors.js';
import { parseShard } from '../model/index.js';
import { MSG_TOO_MANY_OUTSTANDING } from './consts.js';
import { pieceParams, withQueueTime, type FrontendRequest, type FrontendResponse, type Piece, type PieceResult, type PlanContext, type QueryPlan, type QueryPlanner, type ResultInfo } from './plan.js';
import type { WorkMessage } from './wire.js';

/** Per-tenant settings the frontend reads (a slice of limits_config). */
export interface FrontendLimits {
  /** Pieces of the tenant queued or in flight at once (Loki's max_query_parallelism); 0: no bound. */
  max_query_parallelism: number;
}

export interface FrontendOptions {
  planner: QueryPlanner;
  limits: (tenant: string) => FrontendLimits;
  /** Queries of one tenant admitted and not answered yet; past it: 429 (`frontend.max_outstanding_per_tenant`). */
  maxOutstandingPerTenant: number;
  /** Attempts of one piece, first included (`query_range.max_retries`); at least 1. */
  maxRetries: number;
  /** Longest a request may take in the frontend, ms (`querier.query_timeout`); 0: none. */
  timeoutMs: number;
  logger: Logger;
  registry: Registry;
  nowMs?: () => number;
  /**
   * Pieces for which this is true go to an idle in-process slot when there is one: in a process
   * with querier threads, pieces that read the ingester run where its memory is, instead of
   * having it copied over local gRPC to a thread. Absent: none.
   */
  inProcessFirst?: (params: readonly (readonly [string, string])[]) => boolean;
}

/**
 * Where pieces run: one gRPC Process stream of a querier, or an in-process slot. A slot runs
 * one piece at a time; it reports back through `Frontend.complete` or `Frontend.disconnect`.
 */
export interface WorkerSlot {
  /** The querier this slot belongs to (retries prefer a slot of another querier). */
  readonly querierId: string;
  /** `host:port` of the querier's HTTP API (where tail requests are proxied); empty or absent: unknown. */
  readonly httpAddress?: string;
  /** Starts `work` on this slot. Must not call back synchronously. */
  send(work: WorkMessage): void;
  /**
   * Asks the slot to stop the piece `id` it holds (its query no longer needs it). The slot
   * still reports back through `complete` (or `disconnect`), promptly; absent: the slot cannot
   * be told, the piece runs to its end.
   */
  cancel?(id: number): void;
}

/** A querier's answer to one piece, as a slot reports it. */
export interface SlotResult {
  status: number;
  contentType: string;
  body: Buffer;
}

/** One dispatch of a piece. */
interface Task {
  readonly id: number;
  readonly query: RunningQuery;
  readonly piece: Piece;
  /** Attempts so far (1 on the first dispatch). */
  attempts: number;
  /** Querier of the last failed attempt: a retry prefers another one. */
  avoid: string;
  /** For `PlanContext.run` pieces: where the result goes instead of the plan. */
  readonly direct: { resolve: (r: PieceResult) => void; reject: (e: unknown) => void } | null;
  /** When this attempt started waiting for a slot, ms. */
  readySinceMs: number;
  queueSeconds: number;
  /** The slot of the attempt in flight (null while queued). */
  slot: WorkerSlot | null;
  /** Its slot was told to stop it (once). */
  cancelled: boolean;
}

/** Per-tenant state: its queries and its pieces in flight. */
interface TenantQueue {
  readonly tenant: string;
  readonly queries: RunningQuery[];
  /** Round-robin position among `queries`. */
  cursor: number;
  /** Pieces of the tenant on a slot (abandoned ones included until their slot answers). */
  inflight: number;
}

/** One HTTP request in the frontend. */
class RunningQuery {
  plan: QueryPlan | null = null;
  /** Pieces to dispatch before drawing from the plan: retries, then `ctx.run` pieces. */
  readonly retries: Task[] = [];
  readonly direct: Task[] = [];
  /** Whether `plan.next()` may yield a piece now (false after it returned null, until a result arrives). */
  runnable = true;
  /** Since when the plan has been runnable without a slot, ms. */
  readySinceMs: number;
  readonly inflight = new Set<Task>();
  queueSeconds = 0;
  pieces = 0;
  finished = false;
  /** The plan is done and its (possibly async) result is being merged: no piece is drawn or accepted any more. */
  merging = false;
  timer: NodeJS.Timeout | null = null;
  readonly ac = new AbortController();
  /** Detaches the listener on the client's signal (`handle`'s). */
  unlisten: (() => void) | null = null;

  constructor(
    readonly tq: TenantQueue,
    readonly req: FrontendRequest,
    nowMs: number,
    readonly settle: (r: FrontendResponse | null, e: unknown) => void,
  ) {
    this.readySinceMs = nowMs;
  }
}

/** Why a `PlanContext.run` promise rejects once its request is over (the request's own answer says why). */
const REQUEST_FAILED = 'the request is over (answered or failed)';

/** Why a request fails when its piece's queriers kept going away (503; Loki passes on the transport error of the last attempt). */
const MSG_QUERIER_GONE = 'the querier running a piece of this query went away and the retries are exhausted';

/** The frontend: queue, dispatch, retries. */
export class Frontend {
  readonly #opts: FrontendOptions;
  readonly #now: () => number;
  readonly #tenants = new Map<string, TenantQueue>();
  /** Tenants with at least one query, in round-robin order. */
  readonly #order: TenantQueue[] = [];
  #rr = 0;
  /** Slots waiting for work, oldest first. */
  readonly #idle = new Set<WorkerSlot>();
  readonly #busy = new Map<WorkerSlot, Task>();
  /** Pieces running on each querier (by `querierId`): a piece goes to the least busy querier with an idle slot. */
  readonly #running = new Map<string, number>();
  #nextId = 1;
  #pumping = false;
  readonly #m: {
    queueLength: Gauge;
    queueDuration: Histogram;
    discarded: Counter;
    retries: Histogram;
    clients: Gauge;
    pieces: Counter;
    cancelled: Counter;
  };

  constructor(opts: FrontendOptions) {
    this.#opts = { ...opts, maxRetries: Math.max(1, opts.maxRetries) };
    this.#now = opts.nowMs ?? (() => performance.timeOrigin + performance.now());
    const registers = [opts.registry];
    // Loki's (Cortex's) names and label (`user`) for the queue.
    this.#m = {
      queueLength: new Gauge({
        name: 'cortex_query_frontend_queue_length',
        help: 'Number of queries in the queue: queries of the tenant with a piece ready to run and no free slot (plus pieces waiting for a retry).',
        labelNames: ['user'],
        registers,
        collect: () => this.#collectQueueLength(),
      }),
      queueDuration: new Histogram({ name: 'cortex_query_frontend_queue_duration_seconds', help: 'Time spent by pieces in the queue.', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60], registers }),
      discarded: new Counter({ name: 'cortex_query_frontend_discarded_requests_total', help: 'Total number of query requests discarded (too many outstanding requests).', labelNames: ['user'], registers }),
      retries: new Histogram({ name: 'cortex_query_frontend_retries', help: 'Number of times a piece is retried.', buckets: [0, 1, 2, 3, 4, 5, 10], registers }),
      clients: new Gauge({ name: 'cortex_query_frontend_connected_clients', help: 'Number of worker slots (querier streams and in-process slots) connected.', registers, collect: () => this.#m.clients.set(this.slots) }),
      pieces: new Counter({ name: 'loki_query_frontend_pieces_total', help: 'Pieces dispatched to queriers (retries included).', labelNames: ['user'], registers }),
      cancelled: new Counter({ name: 'loki_query_frontend_pieces_cancelled_total', help: 'Pieces in flight the frontend told their querier to stop (their query was over or its plan done).', labelNames: ['user'], registers }),
    };
  }

  /** Queries admitted and not answered, over every tenant. */
  get outstanding(): number {
    let n = 0;
    for (const tq of this.#order) n += tq.queries.length;
    return n;
  }

  /** Worker slots connected. */
  get slots(): number {
    return this.#idle.size + this.#busy.size;
  }

  /** Queriers connected (distinct `querierId`s of the slots; the in-process querier is one). */
  get queriers(): number {
    return this.#querierIds().length;
  }

  /** The distinct `querierId`s of the connected slots, sorted. */
  #querierIds(): string[] {
    const ids = new Set<string>();
    for (const s of this.#idle) ids.add(s.querierId);
    for (const s of this.#busy.keys()) ids.add(s.querierId);
    return [...ids].sort();
  }

  #collectQueueLength(): void {
    const g = this.#m.queueLength;
    g.reset();
    for (const tq of this.#order) {
      let n = 0;
      for (const q of tq.queries) n += q.retries.length + q.direct.length + (q.plan !== null && q.runnable ? 1 : 0);
      g.set({ user: tq.tenant }, n);
    }
  }

  /**
   * Answers one request: plans it, runs its pieces through the queue, merges. Rejects with a
   * SiltError (429 when the tenant has too many outstanding requests, the plan's own errors,
   * 504 past the timeout); a piece's 4xx answer, or its last 5xx after every retry, is
   * resolved as the answer itself (the querier's text and status, as Loki passes them on).
   * `signal` is the client's (HttpServer's `Req.signal`): aborted, the request fails with its
   * reason (499 `context canceled`) and its pieces in flight are cancelled on their queriers.
   */
  handle(req: FrontendRequest, signal?: AbortSignal): Promise<FrontendResponse> {
    let tq = this.#tenants.get(req.tenant);
    if (tq === undefined) {
      tq = { tenant: req.tenant, queries: [], cursor: 0, inflight: 0 };
      this.#tenants.set(req.tenant, tq);
      this.#order.push(tq);
    }
    if (tq.queries.length >= this.#opts.maxOutstandingPerTenant) {
      this.#m.discarded.inc({ user: req.tenant });
      return Promise.reject(new RateLimitError('too_many_outstanding_requests', MSG_TOO_MANY_OUTSTANDING));
    }
    const tenantQueue = tq;
    return new Promise<FrontendResponse>((resolve, reject) => {
      const q = new RunningQuery(tenantQueue, req, this.#now(), (r, e) => (r !== null ? resolve(r) : reject(e)));
      tenantQueue.queries.push(q);
      if (signal !== undefined) {
        const gone = (): void => this.#fail(q, signal.reason instanceof SiltError ? signal.reason : new CanceledError());
        if (signal.aborted) {
          gone();
          return;
        }
        signal.addEventListener('abort', gone, { once: true });
        q.unlisten = () => signal.removeEventListener('abort', gone);
      }
      if (this.#opts.timeoutMs > 0) {
        q.timer = setTimeout(() => this.#fail(q, new QueryTimeoutError()), this.#opts.timeoutMs);
        q.timer.unref();
      }
      const ctx: PlanContext = { run: (piece) => this.#runDirect(q, piece), signal: q.ac.signal };
      let planned: QueryPlan | Promise<QueryPlan>;
      try {
        planned = this.#opts.planner.plan(req, ctx);
      } catch (e) {
        this.#fail(q, e);
        return;
      }
      const start = (plan: QueryPlan): void => {
        if (q.finished) return;
        q.plan = plan;
        q.readySinceMs = this.#now();
        this.#afterProgress(q);
      };
      // A synchronous plan starts at once (no tick lost on the -target=all fast path).
      if (planned instanceof Promise) planned.then(start, (e: unknown) => this.#fail(q, e));
      else start(planned);
    });
  }

  /** `PlanContext.run`: a piece whose result goes to the caller, not to the plan. */
  #runDirect(q: RunningQuery, piece: Piece): Promise<PieceResult> {
    if (q.finished) return Promise.reject(new SiltError('canceled', 'the request is over'));
    return new Promise((resolve, reject) => {
      q.direct.push(this.#task(q, piece, { resolve, reject }));
      this.#pump();
    });
  }

  #task(q: RunningQuery, piece: Piece, direct: Task['direct']): Task {
    return { id: this.#nextId++, query: q, piece, attempts: 0, avoid: '', direct, readySinceMs: this.#now(), queueSeconds: 0, slot: null, cancelled: false };
  }

  /**
   * `host:port` of the HTTP API of every connected querier that advertised one, each once, in
   * the order they connected: where a standalone frontend proxies tail requests.
   */
  querierHttpAddresses(): string[] {
    const out = new Set<string>();
    for (const s of [...this.#idle, ...this.#busy.keys()]) if (s.httpAddress) out.add(s.httpAddress);
    return [...out];
  }

  // ---- Slots ---------------------------------------------------------------------------

  /** A slot (a querier's stream, or an in-process slot) is ready for work. */
  connect(slot: WorkerSlot): void {
    this.#idle.add(slot);
    this.#pump();
  }

  /** A slot went away; a piece in its hand is retried elsewhere (or fails its query past max_retries). */
  disconnect(slot: WorkerSlot): void {
    this.#idle.delete(slot);
    const t = this.#busy.get(slot);
    if (t === undefined) return;
    this.#busy.delete(slot);
    this.#ranOn(slot, -1);
    this.#release(t);
    if (t.query.finished) return;
    this.#retryOrFail(t, slot.querierId, null);
    this.#pump();
  }

  /** A slot's answer to the piece it holds (`id` must match it; a stale answer is ignored). */
  complete(slot: WorkerSlot, id: number, r: SlotResult): void {
    const t = this.#busy.get(slot);
    if (t === undefined || t.id !== id) return;
    this.#busy.delete(slot);
    this.#ranOn(slot, -1);
    this.#idle.add(slot);
    this.#release(t);
    const q = t.query;
    // An abandoned piece's answer (often its 499 after a cancel) only frees the slot.
    if (!q.finished && !q.merging) this.#result(t, slot.querierId, r);
    this.#pump();
  }

  #ranOn(slot: WorkerSlot, d: number): void {
    const n = (this.#running.get(slot.querierId) ?? 0) + d;
    if (n <= 0) this.#running.delete(slot.querierId);
    else this.#running.set(slot.querierId, n);
  }

  #release(t: Task): void {
    t.slot = null;
    t.query.tq.inflight--;
    t.query.inflight.delete(t);
    if (t.query.finished) this.#dropTenantIfIdle(t.query.tq);
  }

  #result(t: Task, querierId: string, r: SlotResult): void {
    const q = t.query;
    // A querier's 503 (object store or ingesters unavailable) or 504 (the query's time ran out)
    // would only repeat on another querier, which shares both: the answer is the answer. Other
    // 5xx, and queriers that went away, are retried.
    if (r.status >= 500 && r.status !== 503 && r.status !== 504) {
      this.#retryOrFail(t, querierId, r);
      return;
    }
    if (r.status < 200 || r.status >= 300) {
      // A 4xx is the query's own fault: no retry, the querier's answer is the answer (so are 503 and 504).
      t.direct?.reject(new SiltError('canceled', REQUEST_FAILED));
      this.#finish(q, { status: r.status, contentType: r.contentType, body: r.body }, null);
      return;
    }
    this.#m.retries.observe(t.attempts - 1);
    const pr: PieceResult = { status: r.status, contentType: r.contentType, body: r.body, queueSeconds: t.queueSeconds };
    if (t.direct !== null) {
      t.direct.resolve(pr);
      return;
    }
    try {
      q.plan!.accept(t.piece, pr);
    } catch (e) {
      this.#fail(q, e);
      return;
    }
    q.runnable = true;
    q.readySinceMs = this.#now();
    this.#afterProgress(q);
  }

  /** After the plan moved on: finishes the query when it is done. */
  #afterProgress(q: RunningQuery): void {
    if (q.finished || q.merging || q.plan === null) return;
    let done: boolean;
    try {
      done = q.plan.done();
    } catch (e) {
      this.#fail(q, e);
      return;
    }
    if (!done) {
      this.#pump();
      return;
    }
    // The answer is certain: pieces still in flight are abandoned now, not after the merge.
    q.merging = true;
    this.#abandon(q);
    let res: FrontendResponse | Promise<FrontendResponse>;
    try {
      const info: ResultInfo = { queueSeconds: q.queueSeconds, pieces: q.pieces };
      res = q.plan.result(info);
    } catch (e) {
      this.#fail(q, e);
      return;
    }
    if (res instanceof Promise) res.then((r) => this.#finish(q, r, null), (e: unknown) => this.#fail(q, e));
    else this.#finish(q, res, null);
  }

  #retryOrFail(t: Task, querierId: string, answer: SlotResult | null): void {
    const q = t.query;
    if (t.attempts >= this.#opts.maxRetries) {
      this.#m.retries.observe(t.attempts - 1);
      t.direct?.reject(new SiltError('canceled', REQUEST_FAILED));
      if (answer !== null) this.#finish(q, { status: answer.status, contentType: answer.contentType, body: answer.body }, null);
      else this.#fail(q, new SiltError('unavailable', MSG_QUERIER_GONE));
      return;
    }
    this.#opts.logger.debug({ tenant: q.req.tenant, path: t.piece.path, attempts: t.attempts, querier: querierId, status: answer?.status ?? 'gone' }, 'retrying a piece');
    t.avoid = querierId;
    t.readySinceMs = this.#now();
    q.retries.push(t);
  }

  #fail(q: RunningQuery, e: unknown): void {
    this.#finish(q, null, e);
  }

  /** Ends a query: answers, drops it from its tenant, abandons its pieces. */
  #finish(q: RunningQuery, res: FrontendResponse | null, e: unknown): void {
    if (q.finished) return;
    q.finished = true;
    if (q.timer !== null) clearTimeout(q.timer);
    q.unlisten?.();
    q.ac.abort();
    const tq = q.tq;
    const i = tq.queries.indexOf(q);
    if (i >= 0) {
      tq.queries.splice(i, 1);
      if (tq.cursor > i) tq.cursor--;
    }
    this.#abandon(q);
    this.#dropTenantIfIdle(tq);
    q.settle(res, e);
  }

  /**
   * Drops what a query no longer needs: its queued pieces, and its pieces in flight, whose
   * slots are told to stop them (each is released when its slot answers or goes away).
   */
  #abandon(q: RunningQuery): void {
    for (const t of [...q.direct, ...q.retries, ...q.inflight]) t.direct?.reject(new SiltError('canceled', REQUEST_FAILED));
    q.direct.length = 0;
    q.retries.length = 0;
    for (const t of q.inflight) {
      const slot = t.slot;
      if (slot === null || slot.cancel === undefined || t.cancelled || this.#busy.get(slot) !== t) continue;
      t.cancelled = true;
      this.#m.cancelled.inc({ user: q.req.tenant });
      slot.cancel(t.id);
    }
  }

  #dropTenantIfIdle(tq: TenantQueue): void {
    if (tq.queries.length > 0 || tq.inflight > 0) return;
    this.#tenants.delete(tq.tenant);
    const j = this.#order.indexOf(tq);
    if (j >= 0) {
      this.#order.splice(j, 1);
      if (this.#rr > j) this.#rr--;
    }
  }

  // ---- Dispatch --------------------------------------------------------------------------

  /** Gives work to idle slots while there is work a tenant may start. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#idle.size > 0) {
        const t = this.#take();
        if (t === null) break;
        this.#dispatch(t);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** The next task by tenant round robin, or null. */
  #take(): Task | null {
    const n = this.#order.length;
    for (let i = 0; i < n; i++) {
      // A failing plan can drop its tenant meanwhile: index the order as it is now.
      const len = this.#order.length;
      if (len === 0) return null;
      const idx = (this.#rr + i) % len;
      const tq = this.#order[idx]!;
      const max = this.#opts.limits(tq.tenant).max_query_parallelism;
      if (max > 0 && tq.inflight >= max) continue;
      const t = this.#takeFromTenant(tq);
      if (t !== null) {
        this.#rr = (idx + 1) % Math.max(1, this.#order.length);
        return t;
      }
    }
    return null;
  }

  /** The next task of a tenant, by round robin over its queries. */
  #takeFromTenant(tq: TenantQueue): Task | null {
    const n = tq.queries.length;
    for (let i = 0; i < n && tq.queries.length > 0; i++) {
      const idx = (tq.cursor + i) % tq.queries.length;
      const q = tq.queries[idx]!;
      const t = this.#takeFromQuery(q);
      if (t !== null) {
        tq.cursor = (idx + 1) % Math.max(1, tq.queries.length);
        return t;
      }
    }
    return null;
  }

  #takeFromQuery(q: RunningQuery): Task | null {
    if (q.finished || q.merging) return null;
    const now = this.#now();
    const queued = q.retries.shift() ?? q.direct.shift();
    if (queued !== undefined) {
      queued.queueSeconds = (now - queued.readySinceMs) / 1000;
      return queued;
    }
    if (q.plan === null || !q.runnable) return null;
    let piece: Piece | null;
    try {
      piece = q.plan.next();
    } catch (e) {
      this.#fail(q, e);
      return null;
    }
    if (piece === null) {
      q.runnable = false;
      if (q.inflight.size === 0 && !q.finished) {
        // Nothing running, nothing to run: the plan is either done or broken.
        let done = false;
        try {
          done = q.plan.done();
        } catch (e) {
          this.#fail(q, e);
          return null;
        }
        if (done) queueMicrotask(() => this.#afterProgress(q));
        else this.#fail(q, new SiltError('internal', 'query plan stalled: no piece to run and none running'));
      }
      return null;
    }
    const t = this.#task(q, piece, null);
    t.readySinceMs = q.readySinceMs;
    t.queueSeconds = (now - q.readySinceMs) / 1000;
    q.readySinceMs = now;
    return t;
  }

  #dispatch(t: Task): void {
    const slot = this.#pickSlot(t);
    this.#idle.delete(slot);
    this.#busy.set(slot, t);
    this.#ranOn(slot, 1);
    t.slot = slot;
    t.attempts++;
    const q = t.query;
    if (t.attempts === 1) q.pieces++;
    q.inflight.add(t);
    q.tq.inflight++;
    q.queueSeconds += t.queueSeconds;
    this.#m.queueDuration.observe(t.queueSeconds);
    this.#m.pieces.inc({ user: q.req.tenant });
    const headers = t.piece.headers ?? q.req.headers;
    slot.send({ id: t.id, tenant: q.req.tenant, path: t.piece.path, params: t.piece.params.map(([k, v]) => [k, v]), headers: Object.entries(headers) });
  }

  /**
   * Where a piece runs. A piece `inProcessFirst` names goes to an idle in-process slot. Shard `i`
   * of a sharded piece goes to querier `i mod queriers` (queriers ordered by id) when that
   * querier has an idle slot: the planners cut shards in multiples of the queriers, so each
   * querier reads, and caches, the same streams query after query.
   * Otherwise an idle slot of the querier running the fewest pieces, so that one query's pieces
   * spread over queriers (processes, or a process's querier threads) instead of filling the
   * first querier's slots; a retry avoids the querier that failed it when another has an idle
   * slot. Requires an idle slot.
   */
  #pickSlot(t: Task): WorkerSlot {
    const avoid = t.avoid;
    if (avoid !== IN_PROCESS_QUERIER_ID && this.#opts.inProcessFirst?.(t.piece.params) === true) {
      for (const s of this.#idle) if (s.querierId === IN_PROCESS_QUERIER_ID) return s;
    }
    const shard = avoid === '' ? shardIndex(t.piece.params) : -1;
    if (shard >= 0) {
      const ids = this.#querierIds();
      if (ids.length > 1) {
        const want = ids[shard % ids.length];
        for (const s of this.#idle) if (s.querierId === want) return s;
      }
    }
    let best: WorkerSlot | undefined;
    let bestLoad = Infinity;
    let fallback: WorkerSlot | undefined;
    for (const s of this.#idle) {
      fallback ??= s;
      if (avoid !== '' && s.querierId === avoid) continue;
      const load = this.#running.get(s.querierId) ?? 0;
      if (load < bestLoad) {
        best = s;
        bestLoad = load;
        if (load === 0) break;
      }
    }
    return best ?? fallback!;
  }
}

/** The `querierId` of in-process slots. */
export const IN_PROCESS_QUERIER_ID = 'local';

/** `i` of a piece's `shards=<i>_of_<n>` parameter (n > 1), or -1 (none, or not a shard). */
function shardIndex(params: readonly (readonly [string, string])[]): number {
  for (const [k, v] of params) {
    if (k !== 'shards') continue;
    try {
      const s = parseShard(v);
      return s.of > 1 ? s.index : -1;
    } catch {
      return -1;
    }
  }
  return -1;
}

/**
 * The default planner: the whole request is one piece, its answer the answer (with
 * `stats.summary.queueTime` filled in). Every endpoint works through it.
 */
export class SinglePiecePlanner implements QueryPlanner {
  plan(req: FrontendRequest): QueryPlan {
    const piece: Piece = { path: req.path, params: pieceParams(req), headers: null };
    let given = false;
    let result: PieceResult | null = null;
    return {
      next: () => {
        if (given) return null;
        given = true;
        return piece;
      },
      accept: (_p, r) => {
        result = r;
      },
      done: () => result !== null,
      result: (info) => {
        const r = result!;
        const json = r.contentType.startsWith('application/json');
        return { status: r.status, contentType: r.contentType, body: json ? withQueueTime(r.body, info.queueSeconds) : r.body };
      },
    };
  }
}

/**
 * Runs a piece on a querier in this process; never rejects (errors are HTTP answers). `signal`
 * aborts when the frontend cancels the piece: the querier stops and answers (a 499) promptly.
 */
export type LocalExecutor = (work: WorkMessage, signal: AbortSignal) => Promise<SlotResult>;

/**
 * A slot of a querier in the frontend's own process (`-target=all`, `read`): pieces go through
 * the same queue, fairness and retries, but run by a function call instead of a gRPC stream.
 */
export class InProcessSlot implements WorkerSlot {
  readonly querierId = IN_PROCESS_QUERIER_ID;
  /** The piece in hand and its cancellation. */
  #running: { id: number; ac: AbortController } | null = null;

  constructor(
    readonly frontend: Frontend,
    readonly execute: LocalExecutor,
  ) {}

  send(work: WorkMessage): void {
    const ac = new AbortController();
    this.#running = { id: work.id, ac };
    const done = (r: SlotResult): void => {
      if (this.#running?.ac === ac) this.#running = null;
      this.frontend.complete(this, work.id, r);
    };
    void this.execute(work, ac.signal).then(done, (e: unknown) => done({ status: 500, contentType: 'text/plain; charset=utf-8', body: Buffer.from(`${String(e)}\n`) }));
  }

  cancel(id: number): void {
    if (this.#running?.id === id) this.#running.ac.abort(new CanceledError());
  }
}
