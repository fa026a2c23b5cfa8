/**
 * Log queries split by time and run one window after the other from the end the answer is
 * read from (newest first for `direction=backward`, oldest first for `forward`), stopping as
 * soon as `limit` lines are in hand: no piece is ever dispatched whose lines could not be in
 * the answer. Each piece asks for the lines still missing, so the windows' answers concatenate
 * to exactly the unsplit answer (windows are disjoint in time).
 *
 * Windows grow geometrically (1, 2, 4, … split intervals, aligned to the interval): a dense
 * query is answered by its first piece, and a needle query over 7 days with 1h windows needs
 * at most 8 pieces instead of 168. A wide piece costs little when the limit fills early: the
 * querier reads chunks newest-first and skips the rest once its limit is certain.
 */
// eslint-disable-next-line no-restricted-imports -- pure parsing of Loki's HTTP parameters, shared with the querier's routes (to move to a neutral folder)
import { parseDirection, parseLimit, parseRange } from '../../server/params.js';
import type { FrontendRequest, FrontendResponse } from '../plan.js';
import { finishStats, JSON_CONTENT_TYPE, labelsOf, labelSortKey, parseBody, sumStats } from './json.js';
import { checkQueryLength, type Runner, type SplitOptions } from './options.js';
import { timeWindows, type TimeWindow } from './windows.js';

const NS_PER_MS = 1_000_000n;

/** The pieces of a log query, in dispatch order: spans of 1, 2, 4, … windows from the reading end. */
export function logSpans(startNs: bigint, endNs: bigint, intervalNs: bigint, direction: 'forward' | 'backward'): TimeWindow[] {
  const ws = timeWindows(startNs, endNs, intervalNs);
  if (direction === 'backward') ws.reverse();
  const out: TimeWindow[] = [];
  for (let i = 0, n = 1; i < ws.length; i += n, n *= 2) {
    const group = ws.slice(i, i + n);
    const a = group[0]!;
    const b = group[group.length - 1]!;
    out.push(direction === 'backward' ? { startNs: b.startNs, endNs: a.endNs } : { startNs: a.startNs, endNs: b.endNs });
  }
  return out;
}

export async function runLog(req: FrontendRequest, run: Runner, o: SplitOptions): Promise<FrontendResponse> {
  const t0 = performance.now();
  const lim = o.limits(req.tenant);
  const { startNs, endNs } = parseRange(req.params, req.receivedNs);
  checkQueryLength(lim, startNs, endNs);
  const limit = parseLimit(req.params);
  const direction = parseDirection(req.params);
  const spans = logSpans(startNs, endNs, BigInt(lim.split_queries_by_interval) * NS_PER_MS, direction);
  const streams = new Map<string, { stream: Record<string, string>; values: unknown[] }>();
  const stats: unknown[] = [];
  let flags: unknown = undefined;
  let got = 0;
  let pieces = 0;
  let queueSeconds = 0;
  for (const span of spans) {
    if (got >= limit) break;
    const params: [string, string][] = [];
    for (const [k, v] of req.params) if (k !== 'start' && k !== 'end' && k !== 'limit' && k !== 'since') params.push([k, v]);
    params.push(['start', span.startNs.toString()], ['end', span.endNs.toString()], ['limit', String(limit - got)]);
    const r = await run.run({ path: req.path, params });
    pieces++;
    queueSeconds += r.queueSeconds;
    const body = parseBody(r);
    if (body.data?.stats) stats.push(body.data.stats);
    if (body.data?.encodingFlags !== undefined) flags = body.data.encodingFlags;
    for (const s of (body.data?.result ?? []) as { stream: Record<string, string>; values: unknown[] }[]) {
      const key = JSON.stringify(s.stream);
      let cur = streams.get(key);
      if (!cur) streams.set(key, (cur = { stream: s.stream, values: [] }));
      for (const v of s.values) cur.values.push(v);
      got += s.values.length;
    }
  }
  const result = [...streams.values()].map((s) => ({ s, k: labelSortKey(labelsOf(s.stream)) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((x) => x.s);
  const st = finishStats(sumStats(stats), { splits: pieces, shards: 0, subqueries: pieces, execSeconds: (performance.now() - t0) / 1000, queueSeconds });
  if (st.summary) st.summary.totalEntriesReturned = got;
  const data: Record<string, unknown> = { resultType: 'streams', result, stats: st };
  if (flags !== undefined) data['encodingFlags'] = flags;
  return { status: 200, contentType: JSON_CONTENT_TYPE, body: JSON.stringify({ status: 'success', data }) };
}
