/**
 * Sharded + split evaluation equals unsharded evaluation, bit for bit, on the LogQL corpus.
 *
 * Generated logs (the shared workload generator) are held in memory; every metric query of the
 * conformance corpus (hand-written, systematic cross products and seeded generated queries) is
 * evaluated by the engine unsharded over the whole range, and again the way the query-frontend
 * does it: cut into step windows, each leaf evaluated per window and per shard of streams (as a
 * querier would, through Loki's JSON), merged (shard-map.ts) and evaluated above the leaves
 * (metric-plan.ts). Both answers must be identical: same series, same timestamps, values equal
 * with Object.is (NaN equals NaN, -0 differs from 0), or the same error.
 */
import { describe, expect, it } from 'vitest';
import { genEntries } from '../../../test/support/genlogs.js';
import { EXPANDED_METRIC_QUERIES, METRIC_QUERIES, PIPELINE_ERROR_QUERIES } from '../../../test/logql/reference/corpus.js';
import { describeData, instantiate } from '../../../test/logql/reference/data.js';
import { QueryGenerator } from '../../../test/logql/reference/generate.js';
import { evaluateMetric, Grid, type EntrySource, type ExtractorFactory, type MatrixSeries, type MetricResult } from '../../logql/engine/index.js';
import { MemSource } from '../../logql/engine/testing.js';
import { compileSampleExtractor } from '../../logql/log/index.js';
import { compileTemplate } from '../../logql/template/index.js';
import { parseExpr, type SampleExpr } from '../../logql/syntax/index.js';
import { inShard, type Shard } from '../../querier/index.js';
import { encodeMetricData } from '../../loghttp/encode-metric.js';
import { evaluateWithLeaves, joinWindows } from './metric-plan.js';
import { metricSeries } from './json.js';
import { LeafMerge, leavesOf } from './shard-map.js';
import { stepWindows } from './windows.js';

const S = 1_000_000_000n;
const EXTRACTORS: ExtractorFactory = (range, op, opts) => compileSampleExtractor(range, op, { template: compileTemplate, grouping: opts?.grouping ?? null });
const MAX_SERIES = 100_000;

const entries = genEntries({ lines: 6000, streams: 60, rate: 50, startMs: 1_700_000_000_000 });
const facts = describeData(entries);
const source = new MemSource(entries, { blockSize: 64 });
const STEP = 7n * S;
// Points from before the data to after it, on a grid whose phase is not the windows'.
const START = facts.firstNs - 13n * S;
const END = facts.lastNs + 40n * S;
const INTERVAL = 30n * S;

/** Only the streams of one shard, in the same order. */
class ShardSource implements EntrySource {
  constructor(
    private readonly base: EntrySource,
    private readonly shard: Shard,
  ) {}
  scan(...[sel, from, through, visit]: Parameters<EntrySource['scan']>): Promise<void> {
    return this.base.scan(sel, from, through, (v) => {
      if (inShard(v.fingerprint, this.shard)) visit(v);
    });
  }
}

async function unsharded(expr: SampleExpr, instant: boolean, t: bigint): Promise<MetricResult> {
  return evaluateMetric(expr, { startNs: instant ? t : START, endNs: instant ? t : END, stepNs: STEP, instant, maxSeries: MAX_SERIES }, source, EXTRACTORS);
}

/** What the frontend computes: windows × leaves × shards, through Loki's JSON. */
async function sharded(expr: SampleExpr, instant: boolean, t: bigint, shards: number): Promise<MetricResult> {
  const windows = instant ? [{ firstNs: t, lastNs: t }] : stepWindows(START, END, STEP, INTERVAL);
  const parts: MatrixSeries[][] = [];
  let last: MetricResult | null = null;
  for (const w of windows) {
    const grid = new Grid(w.firstNs, instant ? w.firstNs : w.lastNs, STEP, instant);
    const merges = new Map<string, LeafMerge>();
    for (const leaf of leavesOf(expr)) {
      const merge = new LeafMerge(leaf, grid);
      merges.set(leaf.key, merge);
      const n = leaf.shardable ? shards : 1;
      for (let s = 0; s < n; s++) {
        const down = parseExpr(leaf.downstream) as SampleExpr;
        const r = await evaluateMetric(down, { startNs: w.firstNs, endNs: instant ? w.firstNs : w.lastNs, stepNs: STEP, instant, maxSeries: MAX_SERIES }, new ShardSource(source, { index: s, of: n }), EXTRACTORS);
        merge.add(metricSeries(JSON.parse(encodeMetricData(r))));
      }
    }
    last = await evaluateWithLeaves(expr, grid, instant, merges, MAX_SERIES);
    if (last.type === 'matrix') parts.push(last.series);
  }
  return instant ? last! : { type: 'matrix', series: joinWindows(parts, MAX_SERIES) };
}

type Outcome = { ok: MetricResult } | { err: string };
async function outcome(f: () => Promise<MetricResult>): Promise<Outcome> {
  try {
    return { ok: await f() };
  } catch (e) {
    // Which offending series a pipeline error names depends on which shard or window meets
    // one first (unsharded: the first block read); the error itself must be the same.
    return { err: `${(e as Error).name}: ${(e as Error).message.replace(/ for series: '\{.*?\}'\./s, ' for series: {…}.')}` };
  }
}

/** Exact comparison: labels and timestamps equal, values equal under Object.is. */
function diff(a: Outcome, b: Outcome): string | null {
  if ('err' in a || 'err' in b) return JSON.stringify(a) === JSON.stringify(b) ? null : `outcomes differ: ${'err' in a ? a.err : 'ok'} vs ${'err' in b ? b.err : 'ok'}`;
  const x = a.ok;
  const y = b.ok;
  if (x.type !== y.type) return `type ${x.type} vs ${y.type}`;
  const rows = (r: MetricResult): [string, number, number][] =>
    r.type === 'scalar' ? [['', r.tsMs, r.value]] : r.type === 'vector' ? r.samples.map((s) => [JSON.stringify(s.labels), s.tsMs, s.value]) : r.series.flatMap((s) => s.points.map((p) => [JSON.stringify(s.labels), p.tsMs, p.value] as [string, number, number]));
  const rx = rows(x);
  const ry = rows(y);
  if (rx.length !== ry.length) return `${rx.length} points vs ${ry.length}`;
  for (let i = 0; i < rx.length; i++) {
    const [lx, tx, vx] = rx[i]!;
    const [ly, ty, vy] = ry[i]!;
    if (lx !== ly || tx !== ty || !Object.is(vx, vy)) return `point ${i}: ${lx} ${tx} ${vx} vs ${ly} ${ty} ${vy}`;
  }
  return null;
}

const gen = new QueryGenerator(facts, 11);
const generated: string[] = [];
for (let i = 0; i < 80; i++) generated.push(gen.metricQuery());
const CORPUS = [...new Set([...METRIC_QUERIES, ...EXPANDED_METRIC_QUERIES, ...PIPELINE_ERROR_QUERIES, ...generated].map((q) => instantiate(q, facts)))];

describe('sharded and split evaluation equals unsharded', () => {
  it(`holds for ${CORPUS.length} corpus queries, range and instant, 1, 3 and 8 shards`, async () => {
    const failures: string[] = [];
    let compared = 0;
    let shardedLeaves = 0;
    const mid = START + ((END - START) / 2n / S) * S;
    for (const q of CORPUS) {
      const expr = parseExpr(q) as SampleExpr;
      if (leavesOf(expr).some((l) => l.shardable)) shardedLeaves++;
      for (const instant of [false, true]) {
        const want = await outcome(() => unsharded(expr, instant, mid));
        for (const n of [1, 3, 8]) {
          const got = await outcome(() => sharded(expr, instant, mid, n));
          const d = diff(want, got);
          compared++;
          if (d !== null) failures.push(`${q} [${instant ? 'instant' : 'range'}, ${n} shards]: ${d}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(compared).toBe(CORPUS.length * 6);
    // Most of the corpus shards at all (the rest: absent_over_time, rate_counter, grouped float ops, literals).
    expect(shardedLeaves).toBeGreaterThan(CORPUS.length * 0.6);
  }, 600_000);
});
