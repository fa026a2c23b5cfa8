/**
 * The splitting and sharding planner of the query-frontend (issue #21 part 2): metric queries
 * split by time and sharded by stream (metric-plan.ts), log queries split and run from the end
 * the answer is read from until `limit` lines are certain, each span sharded by stream
 * (log-plan.ts), label, series and volume queries split by day (metadata-plan.ts), volume
 * ranges, detected labels and detected fields split and merged exactly (drilldown-plan.ts).
 * Everything else (index stats, patterns) is one piece.
 *
 * Adapter note: `QueryPlan.result` is synchronous, while merging a metric query evaluates the
 * engine (asynchronous), and a log query's next piece depends on the previous answer. So a
 * plan here runs its pieces through `PlanContext.run` (same queue, fairness, parallelism limit
 * and retries as drawn pieces) while `plan()` is pending, and the returned QueryPlan only hands
 * over the finished answer.
 */
import { parseExpr } from '../../logql/syntax/index.js';
import type { FrontendRequest, FrontendResponse, Piece, PlanContext, QueryPlan, QueryPlanner, ResultInfo } from '../plan.js';
import { carriesStats, pieceParams, withQueueTime } from '../plan.js';
import { runDetectedFields, runDetectedLabels, runVolumeRange } from './drilldown-plan.js';
import { runLog } from './log-plan.js';
import { runMetadata, runVolume } from './metadata-plan.js';
import { runMetric } from './metric-plan.js';
import type { Runner, SplitOptions } from './options.js';

const METADATA_ROUTES = new Set(['/loki/api/v1/labels', '/loki/api/v1/label', '/loki/api/v1/label/:name/values', '/loki/api/v1/series']);

/** Runs pieces through the frontend's context, counting them and their queue time. */
class CountingRunner implements Runner {
  pieces = 0;
  queueSeconds = 0;
  constructor(private readonly ctx: PlanContext) {}
  async run(piece: Piece): ReturnType<Runner['run']> {
    this.pieces++;
    const r = await this.ctx.run(piece);
    this.queueSeconds += r.queueSeconds;
    return r;
  }
}

/** A plan whose answer is already known: no pieces. */
class AnsweredPlan implements QueryPlan {
  constructor(
    private readonly res: FrontendResponse,
    private readonly runner: CountingRunner,
  ) {}
  next(): null {
    return null;
  }
  accept(): void {}
  done(): boolean {
    return true;
  }
  result(info: ResultInfo): FrontendResponse {
    return { ...this.res, body: withQueueTime(this.res.body, info.queueSeconds + this.runner.queueSeconds) };
  }
}

/** One piece: the request as it came (for endpoints that are not split). */
class OnePiecePlan implements QueryPlan {
  #sent = false;
  #res: FrontendResponse | null = null;
  constructor(private readonly req: FrontendRequest) {}
  next(): Piece | null {
    if (this.#sent) return null;
    this.#sent = true;
    return { path: this.req.path, params: pieceParams(this.req) };
  }
  accept(_p: Piece, r: { status: number; contentType: string; body: Buffer }): void {
    this.#res = { status: r.status, contentType: r.contentType, body: r.body };
  }
  done(): boolean {
    return this.#res !== null;
  }
  result(info: ResultInfo): FrontendResponse {
    const r = this.#res!;
    // Only query answers carry stats; a 12.5 MB series answer is not searched for them (~8 ms).
    return r.contentType.startsWith('application/json') && carriesStats(this.req.path) ? { ...r, body: withQueueTime(r.body, info.queueSeconds) } : r;
  }
}

export class SplitPlanner implements QueryPlanner {
  constructor(private readonly o: SplitOptions) {}

  async plan(req: FrontendRequest, ctx: PlanContext): Promise<QueryPlan> {
    const runner = new CountingRunner(ctx);
    const res = await this.answer(req, runner);
    return res === null ? new OnePiecePlan(req) : new AnsweredPlan(res, runner);
  }

  /** The merged answer, or null for a request answered as one piece. */
  async answer(req: FrontendRequest, run: Runner): Promise<FrontendResponse | null> {
    const route = req.route;
    // Parquet answers and multi-tenant queries stay whole (their encodings are the querier's).
    if ((req.headers['accept'] ?? '').includes('parquet') || req.tenant.includes('|')) return null;
    if (route === '/loki/api/v1/query_range' || route === '/loki/api/v1/query') {
      const expr = parseExpr(req.params.get('query') ?? '');
      if (expr.kind === 'logSelector') return route === '/loki/api/v1/query' ? null : runLog(req, run, this.o);
      return runMetric(req, expr, run, this.o);
    }
    if (METADATA_ROUTES.has(route)) return runMetadata(req, run, this.o);
    if (route === '/loki/api/v1/index/volume') return runVolume(req, run, this.o);
    if (route === '/loki/api/v1/index/volume_range') return runVolumeRange(req, run, this.o);
    if (route === '/loki/api/v1/detected_labels') return runDetectedLabels(req, run, this.o);
    if (route === '/loki/api/v1/detected_fields' || route === '/loki/api/v1/detected_field/:name/values') return runDetectedFields(req, run, this.o);
    return null;
  }
}
