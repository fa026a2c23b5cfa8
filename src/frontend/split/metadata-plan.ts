/**
 * Label names, label values, series and index volume split by
 * `split_metadata_queries_by_interval` (24h) and merged: all windows at once, the union
 * deduplicated and sorted as the querier sorts it; volumes summed per series (or label) across
 * windows, then cut to `limit`, largest first. Complete old windows of a volume query are cached.
 */
import { InvalidError } from '../../errors.js';
import type { FrontendRequest, FrontendResponse, PieceResult } from '../plan.js';
import { parseRange } from '../../loghttp/params.js';
import { formatGoFloat, formatPromTimestamp } from '../../logql/engine/index.js';
import { finishStats, JSON_CONTENT_TYPE, labelsOf, labelSortKey, parseBody, parseGoFloat, sumStats } from './json.js';
import type { Runner, SplitOptions } from './options.js';
import { timeWindows } from './windows.js';

const NS_PER_MS = 1_000_000n;
/** Loki's default range of label and series queries when no start is given: 6h. */
const METADATA_DEFAULT_SINCE_MS = 6 * 3_600_000;
/** Asked of every volume window: all series, so the merged top `limit` is exact. */
const VOLUME_ALL = '1000000000';
const DEFAULT_VOLUME_LIMIT = 100;

function windowsOf(req: FrontendRequest, o: SplitOptions, defaultSinceMs: number): { startNs: bigint; endNs: bigint; windows: { startNs: bigint; endNs: bigint }[] } {
  const { startNs, endNs } = parseRange(req.params, req.receivedNs, defaultSinceMs);
  const interval = BigInt(o.limits(req.tenant).split_metadata_queries_by_interval) * NS_PER_MS;
  // The querier's ranges are inclusive: the last window keeps the end itself.
  const windows = endNs > startNs ? timeWindows(startNs, endNs + 1n, interval).map((w) => ({ startNs: w.startNs, endNs: w.endNs - 1n })) : [{ startNs, endNs }];
  return { startNs, endNs, windows };
}

function params(req: FrontendRequest, w: { startNs: bigint; endNs: bigint }, extra: Record<string, string> = {}): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of req.params) if (k !== 'start' && k !== 'end' && k !== 'since' && !(k in extra)) out.push([k, v]);
  out.push(['start', w.startNs.toString()], ['end', w.endNs.toString()]);
  for (const [k, v] of Object.entries(extra)) out.push([k, v]);
  return out;
}

/** An answer with no names, values or series; only small bodies are parsed to tell. */
function isEmptyAnswer(a: PieceResult): boolean {
  return a.body.length <= 64 && ((parseBody(a).data ?? []) as unknown[]).length === 0;
}

/** labels, label values and series. */
export async function runMetadata(req: FrontendRequest, run: Runner, o: SplitOptions): Promise<FrontendResponse> {
  const { windows } = windowsOf(req, o, METADATA_DEFAULT_SINCE_MS);
  const got = await Promise.all(windows.map((w) => run.run({ path: req.path, params: params(req, w) })));
  // Windows that found nothing add nothing (a "last hour" across midnight: yesterday's window).
  const answers = got.filter((a) => !isEmptyAnswer(a));
  // One window left is the unsplit query: its answer passes through as the querier wrote it (a
  // 100k-series answer is megabytes of JSON, not worth parsing and encoding again).
  if (answers.length <= 1) {
    const only = answers[0] ?? got[0]!;
    return { status: 200, contentType: only.contentType, body: only.body };
  }
  const isSeries = req.route === '/loki/api/v1/series';
  if (isSeries) {
    const byKey = new Map<string, { k: string; v: Record<string, string> }>();
    for (const a of answers) {
      for (const s of (parseBody(a).data ?? []) as unknown as Record<string, string>[]) {
        const k = labelSortKey(labelsOf(s));
        if (!byKey.has(k)) byKey.set(k, { k, v: s });
      }
    }
    const data = [...byKey.values()].sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((x) => x.v);
    return { status: 200, contentType: JSON_CONTENT_TYPE, body: JSON.stringify({ status: 'success', data }) };
  }
  const all = new Set<string>();
  for (const a of answers) for (const v of (parseBody(a).data ?? []) as unknown as string[]) all.add(v);
  return { status: 200, contentType: JSON_CONTENT_TYPE, body: JSON.stringify({ status: 'success', data: [...all].sort() }) };
}

/** `/index/volume` (instant): per-window volumes summed, the top `limit` answered. */
export async function runVolume(req: FrontendRequest, run: Runner, o: SplitOptions): Promise<FrontendResponse> {
  const t0 = performance.now();
  const { endNs, windows } = windowsOf(req, o, 3_600_000);
  const lim = o.limits(req.tenant);
  // The querier's checks of `limit` (the pieces ask for every series instead).
  const limitRaw = (req.params.get('limit') ?? '').trim();
  if (limitRaw !== '' && !/^[+-]?\d+$/.test(limitRaw)) throw new InvalidError(`strconv.ParseInt: parsing ${JSON.stringify(req.params.get('limit'))}: invalid syntax`);
  const limitN = limitRaw === '' ? 0 : Number(limitRaw);
  if (limitN < 0) throw new InvalidError('limit must be a positive value');
  const limit = limitN === 0 ? DEFAULT_VOLUME_LIMIT : limitN;
  const byLabels = req.params.get('aggregateBy') === 'labels';
  const freshNs = BigInt(o.nowMs() - lim.max_cache_freshness_per_query) * NS_PER_MS;
  const interval = BigInt(lim.split_metadata_queries_by_interval) * NS_PER_MS;
  const base = `v\u0000${req.tenant}\u0000${req.params.get('query') ?? ''}\u0000${req.params.get('targetLabels') ?? ''}\u0000${byLabels}\u0000${interval}\u0000`;
  const stats: unknown[] = [];
  let queueSeconds = 0;
  let pieces = 0;
  const sums = new Map<string, { metric: Record<string, string>; name: string; bytes: number }>();
  await Promise.all(
    windows.map(async (w) => {
      // Complete windows (the whole interval inside the query) that are old enough are cached.
      const complete = interval > 0n && w.startNs % interval === 0n && (w.endNs + 1n) % interval === 0n;
      const key = o.cache !== null && complete && w.endNs < freshNs ? base + w.startNs.toString() : null;
      let samples: { metric: Record<string, string>; value: [number, string] }[] | null = null;
      if (key !== null) {
        const hit = await o.cache!.get(req.tenant, key);
        if (hit !== null) samples = JSON.parse(hit.toString('utf8'));
      }
      if (samples === null) {
        const r = await run.run({ path: req.path, params: params(req, w, { limit: VOLUME_ALL }) });
        pieces++;
        queueSeconds += r.queueSeconds;
        const body = parseBody(r);
        if (body.data?.stats) stats.push(body.data.stats);
        samples = (body.data?.result ?? []) as { metric: Record<string, string>; value: [number, string] }[];
        if (key !== null) void o.cache!.set(req.tenant, key, Buffer.from(JSON.stringify(samples))).catch(() => undefined);
      }
      for (const s of samples) {
        const k = JSON.stringify(s.metric);
        let cur = sums.get(k);
        if (!cur) {
          const name = byLabels ? Object.keys(s.metric)[0]! : '{' + Object.entries(s.metric).map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(', ') + '}';
          sums.set(k, (cur = { metric: s.metric, name, bytes: 0 }));
        }
        cur.bytes += parseGoFloat(s.value[1]);
      }
    }),
  );
  const top = [...sums.values()].sort((a, b) => (a.bytes === b.bytes ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : b.bytes - a.bytes)).slice(0, limit);
  const ts = formatPromTimestamp(Number(endNs / NS_PER_MS));
  const result = '[' + top.map((s) => '{"metric":' + JSON.stringify(s.metric) + ',"value":[' + ts + ',"' + formatGoFloat(s.bytes) + '"]}').join(',') + ']';
  const st = finishStats(sumStats(stats), { splits: windows.length, shards: 0, subqueries: pieces, execSeconds: (performance.now() - t0) / 1000, queueSeconds });
  return { status: 200, contentType: JSON_CONTENT_TYPE, body: '{"status":"success","data":{"resultType":"vector","result":' + result + ',"stats":' + JSON.stringify(st) + '}}' };
}
