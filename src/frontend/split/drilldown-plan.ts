/**
 * The Explore / Logs Drilldown endpoints split, each merged into exactly the unsplit answer
 * (ADR 0027, "Drilldown endpoints"):
 *  - `index/volume_range`: windows of `split_metadata_queries_by_interval` (24h, as Loki splits
 *    volume) cut at multiples of the step, so every bucket lies in one window; each window asks
 *    for every series, the frontend keeps the top `limit` per bucket as the querier does.
 *  - `detected_labels`: the querier's own computation (src/querier/drilldown) over label names
 *    and label values answered by day windows (exact distinct values, where Loki merges
 *    HyperLogLog sketches of `split_queries_by_interval` windows).
 *  - `detected_fields`, `detected_field/:name/values`: as Loki, a log query for the newest
 *    `line_limit` lines (split and sharded by log-plan.ts, categorize-labels encoding so the
 *    metadata and parsed labels of each line are known), then the querier's field detection
 *    over those lines, here.
 * A request these cannot parse goes to a querier as one piece, which answers its error.
 */
import { InvalidError } from '../../errors.js';
import { parseExpr, parseSelector } from '../../logql/syntax/index.js';
import type { Labels } from '../../model/index.js';
import { detectedLabels, fieldsOfLines, fieldValuesOfLines, volumeResult, type DetectedFieldLines, type DrilldownSource, type VolumeBucket } from '../../querier/index.js';
import { parseRange, parseStep } from '../../loghttp/params.js';
import { encodeMetricData } from '../../loghttp/encode-metric.js';
import type { FrontendRequest, FrontendResponse } from '../plan.js';
import { finishStats, JSON_CONTENT_TYPE, parseBody, parseGoFloat, secondsToMs, sumStats } from './json.js';
import { logLines, type Line } from './log-plan.js';
import { stepSeconds } from './metric-plan.js';
import type { Runner, SplitOptions } from './options.js';
import { mod, timeWindows } from './windows.js';

const NS_PER_MS = 1_000_000n;
const DEFAULT_VOLUME_LIMIT = 100;
/** Asked of every volume window: all series, so the merged top `limit` per bucket is exact. */
const VOLUME_ALL = '1000000000';
/** The querier's cap on buckets (drilldown/volume.ts). */
const MAX_BUCKETS = 11_000;
const CATEGORIZE = 'categorize-labels';

/** Loki's parseInt as the querier's drilldown routes read it; throws on anything else. */
function intParam(p: URLSearchParams, name: string, def: number): number {
  const v = p.get(name);
  if (v === null || v === '') return def;
  if (!/^[+-]?\d+$/.test(v.trim())) throw new InvalidError('not an integer');
  return Number(v.trim());
}

/** `/index/volume_range`; null: one piece (a single window, or parameters the querier rejects). */
export async function runVolumeRange(req: FrontendRequest, run: Runner, o: SplitOptions): Promise<FrontendResponse | null> {
  const t0 = performance.now();
  let limit: number;
  let startNs: bigint;
  let endNs: bigint;
  let stepNs: bigint;
  try {
    const l = intParam(req.params, 'limit', DEFAULT_VOLUME_LIMIT);
    if (l < 0) return null;
    limit = l === 0 ? DEFAULT_VOLUME_LIMIT : l;
    ({ startNs, endNs } = parseRange(req.params, req.receivedNs));
    stepNs = parseStep(req.params, startNs, endNs);
    const agg = req.params.get('aggregateBy') ?? '';
    if (agg !== '' && agg !== 'series' && agg !== 'labels') return null;
    const q = (req.params.get('query') ?? '').trim();
    if (q !== '{}') parseSelector(q);
  } catch {
    return null;
  }
  // Bucket ends are written in ms: split only on whole-ms steps.
  if (stepNs <= 0n || stepNs % NS_PER_MS !== 0n) return null;
  const aligned = startNs - mod(startNs, stepNs);
  const nBuckets = (endNs - aligned + stepNs - 1n) / stepNs;
  if (nBuckets <= 0n || nBuckets > BigInt(MAX_BUCKETS)) return null;
  const lim = o.limits(req.tenant);
  const intervalNs = BigInt(lim.split_metadata_queries_by_interval) * NS_PER_MS;
  if (intervalNs <= 0n) return null;
  // Windows of whole steps (about the interval), so every bucket lies in one window.
  const per = intervalNs / stepNs > 0n ? intervalNs / stepNs : 1n;
  const windows = timeWindows(startNs, endNs + 1n, per * stepNs).map((w) => ({ startNs: w.startNs, endNs: w.endNs - 1n }));
  if (windows.length <= 1) return null;
  const byLabels = req.params.get('aggregateBy') === 'labels';
  const stats: unknown[] = [];
  let queueSeconds = 0;
  /** Per bucket: name → labels and bytes. */
  const buckets = new Map<bigint, Map<string, { labels: Labels; bytes: number }>>();
  await Promise.all(
    windows.map(async (w) => {
      const params: [string, string][] = [];
      for (const [k, v] of req.params) if (!['start', 'end', 'since', 'step', 'limit'].includes(k)) params.push([k, v]);
      params.push(['start', w.startNs.toString()], ['end', w.endNs.toString()], ['step', stepSeconds(stepNs)], ['limit', VOLUME_ALL]);
      const r = await run.run({ path: req.path, params });
      queueSeconds += r.queueSeconds;
      const body = parseBody(r);
      if (body.data?.stats) stats.push(body.data.stats);
      const series: { metric: Record<string, string>; values: [number, string][] }[] =
        body.data?.resultType === 'vector'
          ? (body.data.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({ metric: s.metric, values: [s.value] }))
          : ((body.data?.result ?? []) as { metric: Record<string, string>; values: [number, string][] }[]);
      for (const s of series) {
        const entries = Object.entries(s.metric);
        const name = byLabels ? entries[0]![0] : '{' + entries.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(', ') + '}';
        const labels: Labels = entries.map(([n, v]) => ({ name: n, value: v }));
        for (const [ts, v] of s.values) {
          // The bucket the point ends (the querier counts the end itself into the last bucket).
          let k = (BigInt(secondsToMs(ts)) * NS_PER_MS - aligned) / stepNs;
          if (k >= nBuckets) k = nBuckets - 1n;
          let m = buckets.get(k);
          if (!m) buckets.set(k, (m = new Map()));
          const cur = m.get(name);
          if (cur) cur.bytes += parseGoFloat(v);
          else m.set(name, { labels, bytes: parseGoFloat(v) });
        }
      }
    }),
  );
  // As the querier: one answer from the buckets in time order.
  const totals: VolumeBucket[] = [...buckets.keys()]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => {
      const bEnd = k === nBuckets - 1n ? endNs : aligned + (k + 1n) * stepNs - NS_PER_MS;
      return { tsMs: Number(bEnd / NS_PER_MS), bytes: [...buckets.get(k)!].map(([name, t]) => [name, t.labels, t.bytes]) };
    });
  const data = volumeResult(totals, limit);
  const st = finishStats(sumStats(stats), { splits: windows.length, shards: 0, subqueries: windows.length, execSeconds: (performance.now() - t0) / 1000, queueSeconds });
  return { status: 200, contentType: JSON_CONTENT_TYPE, body: '{"status":"success","data":' + encodeMetricData(data).slice(0, -1) + ',"stats":' + JSON.stringify(st) + '}}' };
}

/** Metadata windows (inclusive ends) of `split_metadata_queries_by_interval`. */
function dayWindows(startNs: bigint, endNs: bigint, o: SplitOptions, tenant: string): { startNs: bigint; endNs: bigint }[] {
  const interval = BigInt(o.limits(tenant).split_metadata_queries_by_interval) * NS_PER_MS;
  return endNs > startNs ? timeWindows(startNs, endNs + 1n, interval).map((w) => ({ startNs: w.startNs, endNs: w.endNs - 1n })) : [{ startNs, endNs }];
}

/**
 * `/detected_labels`: the querier's detectedLabels over label names and values that day
 * windows answer (all label values asked at once). Null: one piece.
 */
export async function runDetectedLabels(req: FrontendRequest, run: Runner, o: SplitOptions): Promise<FrontendResponse | null> {
  let startNs: bigint;
  let endNs: bigint;
  try {
    ({ startNs, endNs } = parseRange(req.params, req.receivedNs));
  } catch {
    return null;
  }
  const windows = dayWindows(startNs, endNs, o, req.tenant);
  if (windows.length <= 1) return null;
  const query = req.params.get('query') ?? '';
  /** Sorted union of one metadata route over the windows. */
  const union = async (path: string): Promise<string[]> => {
    const answers = await Promise.all(
      windows.map((w) => {
        const params: [string, string][] = [['start', w.startNs.toString()], ['end', w.endNs.toString()]];
        if (query.trim() !== '') params.push(['query', query]);
        return run.run({ path, params });
      }),
    );
    const all = new Set<string>();
    for (const a of answers) for (const v of (parseBody(a).data ?? []) as unknown as string[]) all.add(v);
    return [...all].sort();
  };
  let values: Map<string, Promise<string[]>> | null = null;
  const src: DrilldownSource = {
    labelNames: async () => {
      const names = await union('/loki/api/v1/labels');
      // Every name's values at once (detectedLabels asks one name after the other).
      values = new Map(names.filter((n) => !n.startsWith('__')).map((n) => [n, union(`/loki/api/v1/label/${encodeURIComponent(n)}/values`)]));
      for (const p of values.values()) p.catch(() => undefined);
      return names;
    },
    labelValues: (_tenant, name) => values?.get(name) ?? union(`/loki/api/v1/label/${encodeURIComponent(name)}/values`),
    scanSelector: () => Promise.reject(new Error('detected_labels reads no entries')),
    logQuery: () => Promise.reject(new Error('detected_labels reads no lines')),
  };
  const labels = await detectedLabels(src, req.tenant, query, startNs, endNs);
  return { status: 200, contentType: JSON_CONTENT_TYPE, body: JSON.stringify({ detectedLabels: labels }) };
}

/**
 * The querier's result streams (one per result label set, ordered by merged labels, ties by
 * first line) from categorize-labels lines in result order: what its field detection reads.
 */
function resultStreams(lines: readonly Line[]): DetectedFieldLines {
  const outs = new Map<string, { order: string; first: number; labels: Labels; metadata: Labels; parsed: Labels; entries: { tsNs: bigint; line: Buffer }[] }>();
  const labelsOf = (o: Record<string, string> | undefined): Labels => Object.entries(o ?? {}).map(([name, value]) => ({ name, value }));
  lines.forEach((l, i) => {
    const cats = l.value[2] as { structuredMetadata?: Record<string, string>; parsed?: Record<string, string> } | undefined;
    const key = l.streamKey + '\u0000' + JSON.stringify(cats ?? {});
    let out = outs.get(key);
    if (!out) outs.set(key, (out = { order: l.order, first: i, labels: labelsOf(l.stream), metadata: labelsOf(cats?.structuredMetadata), parsed: labelsOf(cats?.parsed), entries: [] }));
    out.entries.push({ tsNs: l.ts, line: Buffer.from(l.line, 'utf8') });
  });
  return { streams: [...outs.values()].sort((a, b) => (a.order !== b.order ? (a.order < b.order ? -1 : 1) : a.first - b.first)) };
}

/** `/detected_fields` and `/detected_field/:name/values`. Null: one piece. */
export async function runDetectedFields(req: FrontendRequest, run: Runner, o: SplitOptions): Promise<FrontendResponse | null> {
  let startNs: bigint;
  let endNs: bigint;
  let lineLimit: number;
  let limit: number;
  const query = req.params.get('query') ?? '';
  try {
    // The querier's checks, in its order; any failure: its own answer, as one piece.
    ({ startNs, endNs } = parseRange(req.params, req.receivedNs));
    lineLimit = intParam(req.params, 'line_limit', 100);
    const l = req.params.get('limit');
    limit = intParam(req.params, l !== null && l !== '' ? 'limit' : 'field_limit', 1000);
    if (lineLimit <= 0 || limit <= 0) return null;
    parseStep(req.params, startNs, endNs);
    if (parseExpr(query).kind !== 'logSelector') return null;
    const maxLen = o.limits(req.tenant).max_query_length;
    if (endNs < startNs || (maxLen > 0 && endNs - startNs > BigInt(maxLen) * NS_PER_MS + 60_000n * NS_PER_MS)) return null;
  } catch {
    return null;
  }
  const { lines } = await logLines(req, { query, startNs, endNs, limit: lineLimit, direction: 'backward', headers: { ...req.headers, 'x-loki-response-encoding-flags': CATEGORIZE }, params: [] }, run, o);
  const res = resultStreams(lines);
  if (req.route === '/loki/api/v1/detected_field/:name/values') {
    const values = fieldValuesOfLines(res, limit, req.vars['name'] ?? '');
    return { status: 200, contentType: JSON_CONTENT_TYPE, body: JSON.stringify(values.length > 0 ? { values, limit } : {}) };
  }
  const fields = fieldsOfLines(res, limit);
  return { status: 200, contentType: JSON_CONTENT_TYPE, body: JSON.stringify(fields.length > 0 ? { fields, limit } : {}) };
}
