/**
 * Log queries split by time and run one span after the other from the end the answer is read
 * from (newest first for `direction=backward`, oldest first for `forward`), stopping as soon as
 * `limit` lines are in hand: no piece is ever dispatched whose lines could not be in the
 * answer. Each piece asks for the lines still missing, so the spans' answers concatenate to
 * exactly the unsplit answer (spans are disjoint in time).
 *
 * Spans grow geometrically (1, 2, 4, … split intervals, aligned to the interval): a dense
 * query is answered by its first piece, and a needle query over 7 days with 1h windows needs
 * at most 8 spans instead of 168. A wide span costs little when the limit fills early: the
 * querier reads chunks newest-first and skips the rest once its limit is certain.
 *
 * Each span runs as N shard pieces at once (`shards=i_of_N`, streams by fingerprint), N sized
 * from the index stats of the span (as metric-plan sizes leaves), so one query keeps every
 * querier busy. Every shard answers the still-missing lines of its streams; the span's answer
 * is their merge in the querier's own result order (timestamp in the query's direction, then
 * result labels, then line bytes: src/querier/topk.ts), cut to the missing count. That order
 * is total on what an answer shows, so the merge is the unsharded answer, ties included.
 */
import { compilePipeline } from '../../logql/log/index.js';
import { compileTemplate } from '../../logql/template/index.js';
import { parseExpr, printExpr, type LogSelectorExpr } from '../../logql/syntax/index.js';
import { formatShard } from '../../querier/index.js';
import { parseDirection, parseLimit, parseRange } from '../../loghttp/params.js';
import type { FrontendRequest, FrontendResponse, PieceResult } from '../plan.js';
import { finishStats, JSON_CONTENT_TYPE, labelsOf, labelSortKey, parseBody, sumStats } from './json.js';
import { spreadShardCount } from './metric-plan.js';
import { checkQueryLength, type Runner, type SplitOptions } from './options.js';
import { mod, timeWindows, type TimeWindow } from './windows.js';

const NS_PER_MS = 1_000_000n;

/** The pieces of a log query, in dispatch order: spans of 1, 2, 4, … windows from the reading end. */
export function logSpans(startNs: bigint, endNs: bigint, intervalNs: bigint, direction: 'forward' | 'backward'): TimeWindow[] {
  const ws = readingOrder(startNs, endNs, intervalNs, direction);
  return groupSpans(ws, [], direction).map((g) => g.span);
}

/** The query's windows (split interval, aligned), from the end the answer is read from. */
function readingOrder(startNs: bigint, endNs: bigint, intervalNs: bigint, direction: 'forward' | 'backward'): TimeWindow[] {
  const ws = timeWindows(startNs, endNs, intervalNs);
  if (direction === 'backward') ws.reverse();
  return ws;
}

/**
 * Windows (in reading order) grouped into spans of 1, 2, 4, … windows, leaving out the windows
 * marked in `skip` (known to hold no line): a span never crosses a skipped window, and the
 * doubling goes on after it.
 */
export function groupSpans(ws: readonly TimeWindow[], skip: readonly boolean[], direction: 'forward' | 'backward'): { span: TimeWindow; windows: TimeWindow[] }[] {
  const out: { span: TimeWindow; windows: TimeWindow[] }[] = [];
  let n = 1;
  for (let i = 0; i < ws.length; ) {
    if (skip[i] === true) {
      i++;
      continue;
    }
    const group: TimeWindow[] = [];
    while (i < ws.length && skip[i] !== true && group.length < n) group.push(ws[i++]!);
    n *= 2;
    const a = group[0]!;
    const b = group[group.length - 1]!;
    out.push({ span: direction === 'backward' ? { startNs: b.startNs, endNs: a.endNs } : { startNs: a.startNs, endNs: b.endNs }, windows: group });
  }
  return out;
}

/**
 * Loki's negative log results cache (log_result_cache.go): a split window whose lines were all
 * read and none matched is remembered, by tenant, query, interval and the window's aligned
 * start, with the part of the window it covers (`<startNs>:<endNs>`); a later query skips a
 * window the entry covers. Only windows older than `max_cache_freshness_per_query` (late data),
 * only for `limit > 0` (Loki's rule: limit 0 reads nothing, so proves nothing).
 */
function emptyWindowKey(query: string, intervalNs: bigint, w: TimeWindow): string {
  return `log:${query}:${intervalNs}:${w.startNs - mod(w.startNs, intervalNs)}`;
}

function coversWindow(cached: Buffer | null, w: TimeWindow): boolean {
  if (cached === null) return false;
  const m = /^(-?\d+):(-?\d+)$/.exec(cached.toString('latin1'));
  return m !== null && BigInt(m[1]!) <= w.startNs && BigInt(m[2]!) >= w.endNs;
}

/** One line of an answer, with what orders it. */
export interface Line {
  ts: bigint;
  /** The entry's merged labels (stream, structured metadata, parsed) as labelsToString: the tie-break. */
  order: string;
  line: string;
  /** UTF-8 bytes of `line`, made on the first tie that needs them. */
  bytes: Buffer | null;
  /** The answer's `stream` object (merged labels, or indexed labels only when categorized). */
  stream: Record<string, string>;
  /** Its JSON: which answer stream the line belongs to. */
  streamKey: string;
  /** The value as the querier wrote it: `[ts, line]` or `[ts, line, {structuredMetadata, parsed}]`. */
  value: unknown[];
}

function lineBytes(l: Line): Buffer {
  return (l.bytes ??= Buffer.from(l.line, 'utf8'));
}

/** The querier's result order (topk.ts): timestamp in the direction, merged labels, line bytes. */
export function compareLines(a: Line, b: Line, forward: boolean): number {
  if (a.ts !== b.ts) return (a.ts < b.ts) === forward ? -1 : 1;
  if (a.order !== b.order) return a.order < b.order ? -1 : 1;
  if (a.line === b.line) return 0;
  return Buffer.compare(lineBytes(a), lineBytes(b));
}

/** The lines of one querier answer (plain or categorize-labels encoding). */
function linesOf(body: ReturnType<typeof parseBody>): Line[] {
  const out: Line[] = [];
  for (const s of (body.data?.result ?? []) as { stream: Record<string, string>; values: unknown[][] }[]) {
    const streamKey = JSON.stringify(s.stream);
    const plainOrder = labelSortKey(labelsOf(s.stream));
    for (const v of s.values) {
      const cats = v[2] as { structuredMetadata?: Record<string, string>; parsed?: Record<string, string> } | undefined;
      const order = cats === undefined || (cats.structuredMetadata === undefined && cats.parsed === undefined) ? plainOrder : labelSortKey(labelsOf({ ...s.stream, ...cats.structuredMetadata, ...cats.parsed }));
      out.push({ ts: BigInt(v[0] as string), order, line: v[1] as string, bytes: null, stream: s.stream, streamKey, value: v });
    }
  }
  return out;
}

/**
 * The shards' answers of one span as the unsharded querier answers it: all lines in result
 * order, the first `need`. With a pipeline (a stage beyond line filters), the querier keeps one
 * copy of equal lines of equal labels and timestamp (its dedup key is the result labels), so
 * copies from two shards are one line; without one, copies from distinct streams are kept.
 */
export function mergeShardLines(answers: readonly Line[][], need: number, forward: boolean, dedup: boolean): Line[] {
  if (answers.length === 1) {
    const only = answers[0]!;
    return only.sort((a, b) => compareLines(a, b, forward)).slice(0, need);
  }
  const all = answers.flat().sort((a, b) => compareLines(a, b, forward));
  const out: Line[] = [];
  for (const l of all) {
    if (out.length >= need) break;
    if (dedup && out.length > 0 && compareLines(out[out.length - 1]!, l, forward) === 0) continue;
    out.push(l);
  }
  return out;
}

/**
 * The answer's `result` from its lines in result order, as the querier encodes it
 * (server/encode.ts): a result label set per (stream, merged labels), ordered by merged labels
 * (ties: first line first); answer streams in the order their first label set comes; each
 * stream's values in result order.
 */
export function streamsOf(lines: readonly Line[]): { stream: Record<string, string>; values: unknown[] }[] {
  const outs = new Map<string, { order: string; streamKey: string; first: number }>();
  lines.forEach((l, i) => {
    const k = l.streamKey + '\u0000' + l.order;
    if (!outs.has(k)) outs.set(k, { order: l.order, streamKey: l.streamKey, first: i });
  });
  const sortedOuts = [...outs.values()].sort((a, b) => (a.order !== b.order ? (a.order < b.order ? -1 : 1) : a.first - b.first));
  const streams = new Map<string, { stream: Record<string, string>; values: unknown[] }>();
  for (const o of sortedOuts) if (!streams.has(o.streamKey)) streams.set(o.streamKey, { stream: {}, values: [] });
  for (const l of lines) {
    const s = streams.get(l.streamKey)!;
    s.stream = l.stream;
    s.values.push(l.value);
  }
  return [...streams.values()];
}

/** Whether the querier runs a pipeline per entry for this query (then equal lines of equal labels are one). */
function hasPipeline(expr: LogSelectorExpr): boolean {
  return !compilePipeline(expr, { template: compileTemplate, prefiltered: true }).noop;
}

/** Counts of a log query's run: for `stats.summary` and benchmarks. */
export interface LogRun {
  /** Spans dispatched (`splits`). */
  spans: number;
  /** Most shards of one span (`shards`). */
  shards: number;
  /** Every piece: shard pieces and index-stats look-ups (`subqueries`). */
  pieces: number;
  queueSeconds: number;
  /** Windows skipped because the results cache knows they hold no line. */
  emptyWindowsCached: number;
}

/**
 * The lines of a log query (at most `limit`), in result order, from spans of shards; `headers`
 * for every piece (null: the request's).
 */
export async function logLines(
  req: FrontendRequest,
  q: { query: string; startNs: bigint; endNs: bigint; limit: number; direction: 'forward' | 'backward'; headers?: Readonly<Record<string, string>> | null; params?: readonly [string, string][] },
  run: Runner,
  o: SplitOptions,
): Promise<{ lines: Line[]; stats: unknown[]; flags: unknown; counts: LogRun }> {
  const lim = o.limits(req.tenant);
  const expr = parseExpr(q.query);
  if (expr.kind !== 'logSelector') throw new Error('logLines: not a log query');
  const dedup = hasPipeline(expr);
  const forward = q.direction === 'forward';
  const intervalNs = BigInt(lim.split_queries_by_interval) * NS_PER_MS;
  const windows = readingOrder(q.startNs, q.endNs, intervalNs, q.direction);
  const cache = intervalNs > 0n && q.limit > 0 ? o.cache : null;
  const freshNs = BigInt(o.nowMs() - lim.max_cache_freshness_per_query) * NS_PER_MS;
  const cacheableWindow = (w: TimeWindow): boolean => w.endNs <= freshNs;
  const known = cache === null ? [] : await Promise.all(windows.map(async (w) => cacheableWindow(w) && coversWindow(await cache.get(req.tenant, emptyWindowKey(q.query, intervalNs, w)), w)));
  const groups = groupSpans(windows, known, q.direction);
  const spans = groups.map((g) => g.span);
  const counts: LogRun = { spans: 0, shards: 0, pieces: 0, queueSeconds: 0, emptyWindowsCached: known.filter((k) => k).length };
  const stats: unknown[] = [];
  let flags: unknown = undefined;
  const lines: Line[] = [];
  const sharding = lim.max_shards > 1 && lim.tsdb_max_bytes_per_shard > 0;
  const selector = printExpr({ kind: 'logSelector', matchers: expr.matchers, stages: [] });
  const queriers = o.queriers?.() ?? 1;
  /** Shards of a span from its index stats (started one span ahead, while the previous span runs). */
  const shardsOf = (span: TimeWindow): Promise<number> => {
    if (!sharding) return Promise.resolve(1);
    counts.pieces++;
    const p = run.run({ path: '/loki/api/v1/index/stats', params: [['query', selector], ['start', span.startNs.toString()], ['end', span.endNs.toString()]] }).then((r: PieceResult) => {
      counts.queueSeconds += r.queueSeconds;
      return spreadShardCount(Number(parseBody(r).bytes ?? 0), lim, queriers);
    });
    p.catch(() => undefined); // a look-up ahead that is never awaited must not be an unhandled rejection
    return p;
  };
  const base = q.params ?? [];
  let next = spans.length > 0 ? shardsOf(spans[0]!) : null;
  for (let i = 0; i < spans.length && lines.length < q.limit; i++) {
    const span = spans[i]!;
    const n = await next!;
    next = i + 1 < spans.length ? shardsOf(spans[i + 1]!) : null;
    const need = q.limit - lines.length;
    counts.spans++;
    counts.shards = Math.max(counts.shards, n);
    const answers = await Promise.all(
      Array.from({ length: n }, async (_, s) => {
        const params: [string, string][] = [...base, ['query', q.query], ['direction', q.direction], ['start', span.startNs.toString()], ['end', span.endNs.toString()], ['limit', String(need)]];
        if (n > 1) params.push(['shards', formatShard({ index: s, of: n })]);
        counts.pieces++;
        const r = await run.run({ path: '/loki/api/v1/query_range', params, headers: q.headers ?? null });
        counts.queueSeconds += r.queueSeconds;
        const body = parseBody(r);
        if (body.data?.stats) stats.push(body.data.stats);
        if (body.data?.encodingFlags !== undefined) flags = body.data.encodingFlags;
        return linesOf(body);
      }),
    );
    // Every shard answered fewer lines than asked: all of the span's lines are in hand, so its
    // windows without one hold none (for this query).
    if (cache !== null && answers.every((a) => a.length < need)) {
      for (const w of groups[i]!.windows) {
        if (!cacheableWindow(w) || answers.some((a) => a.some((l) => l.ts >= w.startNs && l.ts < w.endNs))) continue;
        void cache.set(req.tenant, emptyWindowKey(q.query, intervalNs, w), Buffer.from(`${w.startNs}:${w.endNs}`, 'latin1')).catch(() => undefined);
      }
    }
    for (const l of mergeShardLines(answers, need, forward, dedup)) lines.push(l);
  }
  return { lines, stats, flags, counts };
}

export async function runLog(req: FrontendRequest, run: Runner, o: SplitOptions): Promise<FrontendResponse> {
  const t0 = performance.now();
  const lim = o.limits(req.tenant);
  const { startNs, endNs } = parseRange(req.params, req.receivedNs);
  checkQueryLength(lim, startNs, endNs);
  const limit = parseLimit(req.params);
  const direction = parseDirection(req.params);
  // The request's other parameters go to every piece as they came.
  const params: [string, string][] = [];
  for (const [k, v] of req.params) if (!['query', 'start', 'end', 'since', 'limit', 'direction', 'shards'].includes(k)) params.push([k, v]);
  const { lines, stats, flags, counts } = await logLines(req, { query: req.params.get('query') ?? '', startNs, endNs, limit, direction, params }, run, o);
  const st = finishStats(sumStats(stats), { splits: counts.spans, shards: counts.shards, subqueries: counts.pieces, execSeconds: (performance.now() - t0) / 1000, queueSeconds: counts.queueSeconds });
  if (st.summary) st.summary.totalEntriesReturned = lines.length;
  const data: Record<string, unknown> = { resultType: 'streams', result: streamsOf(lines), stats: st };
  if (flags !== undefined) data['encodingFlags'] = flags;
  return { status: 200, contentType: JSON_CONTENT_TYPE, body: JSON.stringify({ status: 'success', data }) };
}
