/**
 * LogQL conformance: Silt's HTTP answers against the naive reference evaluator
 * (test/logql/reference/) for the conformance corpus and for seeded generated queries.
 *
 * ~20k generator entries at 200/s (about 100 s of data) are pushed as JSON; every valid query is
 * then asked through query_range (and metric queries also through /query) and compared:
 *  - log queries: the multiset of (labels, ts, line) and each stream's order, for a backward
 *    query over everything (limit 1000) and a forward query over the middle third (limit 300);
 *  - metric queries: series labels and values (relative tolerance 1e-9, NaN = NaN), for a
 *    query_range with step 10s past the end of the data (series vanish) and an instant query;
 *  - pipeline errors and invalid queries: HTTP 400 and Loki's message.
 * Queries the reference declines (ReferenceUnsupported / ReferenceAmbiguous) are skipped.
 *
 * Run: npx vitest run test/logql-conformance.test.ts   (CONFORMANCE_GENERATED=N sets the number
 * of generated queries of each kind; default 120.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleExpr } from '../src/logql/syntax/index.js';
import { genEntries, toStreams, type GenEntry } from './support/genlogs.js';
import { startInProcess, tempDir, type InProcess, NO_INGEST_ENRICHMENT } from './support/silt.js';
import { diffSeries, diffTopk, logRows, refLogRows, refSeries, siltSeries } from './logql/reference/compare.js';
import { CORPUS_SIZE, EXPANDED_METRIC_QUERIES, INVALID_QUERIES, LOG_QUERIES, METRIC_QUERIES, PIPELINE_ERROR_QUERIES } from './logql/reference/corpus.js';
import { describeData, instantiate } from './logql/reference/data.js';
import { evalInstantQuery, evalLogQuery, evalRangeQuery, parse, PipelineError, ReferenceAmbiguous, ReferenceUnsupported, type RefMetricResult } from './logql/reference/evaluate.js';
import { QueryGenerator } from './logql/reference/generate.js';
import {
  checkParse,
  checkString,
  labelLines,
  loadTable,
  runExpressionCase,
  runLabelFilterCase,
  runLineFilterCase,
  runStageCase,
  type ExpressionCase,
  type LabelFilterCase,
  type LineFilterCase,
  type ParseCase,
  type StageCase,
  type StringCase,
} from './logql/loki-tables/tables.js';

const S = 1_000_000_000n;
const STEP = 10n * S;
const GENERATED = Number(process.env['CONFORMANCE_GENERATED'] ?? 120);

const entries: GenEntry[] = genEntries({ lines: 20_000, streams: 100, rate: 200 });
const facts = describeData(entries);
const first = facts.firstNs;
const last = facts.lastNs;
const span = last - first;
// Metric steps on a 10s grid, starting before the data and ending 40s after it.
const mStart = (first / STEP) * STEP;
const mEnd = ((last + 40n * S) / STEP) * STEP;
const mInstant = mStart + ((mEnd - mStart) / 2n / STEP) * STEP;

let silt: InProcess;

/** Starts Silt with the generated data; only the HTTP conformance block needs it. */
async function startSilt(): Promise<void> {
  silt = await startInProcess(tempDir('silt-conformance-'), [...NO_INGEST_ENRICHMENT]);
  for (let i = 0; i < entries.length; i += 1000) {
    const body = JSON.stringify({ streams: toStreams(entries.slice(i, i + 1000)) });
    const r = await fetch(`${silt.url}/loki/api/v1/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    expect(r.status, await r.text()).toBe(204);
  }
}

async function ask(path: string, params: Record<string, string>): Promise<{ status: number; body: any; text: string }> {
  const r = await fetch(`${silt.url}${path}?${new URLSearchParams(params)}`);
  const text = await r.text();
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    /* error bodies are plain text */
  }
  return { status: r.status, body, text };
}

/** Runs the reference; returns null (and skips the test) when it declines the query. */
function reference<T>(ctx: { skip: (note?: string) => void }, fn: () => T): T | null {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ReferenceUnsupported || e instanceof ReferenceAmbiguous) {
      ctx.skip(`reference declines: ${e.message}`);
      return null;
    }
    throw e;
  }
}

async function checkLog(query: string, ctx: { skip: (note?: string) => void }): Promise<void> {
  const expr = parse(query);
  if (expr.kind !== 'logSelector') throw new Error(`not a log query: ${query}`);
  for (const mode of [
    { startNs: first, endNs: last + 1n, limit: 1000, direction: 'backward' as const },
    { startNs: first + span / 3n, endNs: first + (2n * span) / 3n, limit: 300, direction: 'forward' as const },
  ]) {
    const want = reference(ctx, () => evalLogQuery(entries, expr, mode));
    if (want === null) return;
    const r = await ask('/loki/api/v1/query_range', { query, start: mode.startNs.toString(), end: mode.endNs.toString(), limit: String(mode.limit), direction: mode.direction });
    expect(r.status, r.text.slice(0, 500)).toBe(200);
    expect(r.body.data.resultType).toBe('streams');
    const got = logRows(r.body.data.result, mode.direction);
    expect(got.ordered, `${mode.direction}: stream order`).toBe(true);
    const wantRows = refLogRows(want);
    expect(got.rows.length, `${mode.direction} limit ${mode.limit}: entry count`).toBe(wantRows.length);
    expect(got.rows).toEqual(wantRows);
  }
}

function isTopk(e: SampleExpr): e is SampleExpr & { kind: 'vectorAggregation' } {
  return e.kind === 'vectorAggregation' && (e.op === 'topk' || e.op === 'bottomk');
}

function compareMetric(got: any, want: RefMetricResult, expr: SampleExpr, input: () => RefMetricResult): string[] {
  if (got.resultType !== want.resultType) return [`resultType ${got.resultType}, want ${want.resultType}`];
  if (isTopk(expr)) return diffTopk(siltSeries(got), refSeries(want), refSeries(input()));
  return diffSeries(siltSeries(got), refSeries(want));
}

async function checkMetric(query: string, ctx: { skip: (note?: string) => void }): Promise<void> {
  const expr = parse(query);
  if (expr.kind === 'logSelector') throw new Error(`not a metric query: ${query}`);
  const inner = (range: boolean) => () =>
    isTopk(expr) ? (range ? evalRangeQuery(entries, expr.expr, mStart, mEnd, STEP) : evalInstantQuery(entries, expr.expr, mInstant)) : ({} as RefMetricResult);
  // query_range
  const wantRange = reference(ctx, () => evalRangeQuery(entries, expr, mStart, mEnd, STEP));
  if (wantRange === null) return;
  const r = await ask('/loki/api/v1/query_range', { query, start: mStart.toString(), end: mEnd.toString(), step: '10' });
  expect(r.status, r.text.slice(0, 500)).toBe(200);
  expect(compareMetric(r.body.data, wantRange, expr, inner(true)), 'query_range').toEqual([]);
  // instant
  const wantInstant = reference(ctx, () => evalInstantQuery(entries, expr, mInstant));
  if (wantInstant === null) return;
  const ri = await ask('/loki/api/v1/query', { query, time: mInstant.toString() });
  expect(ri.status, ri.text.slice(0, 500)).toBe(200);
  expect(compareMetric(ri.body.data, wantInstant, expr, inner(false)), 'instant').toEqual([]);
}

async function checkPipelineError(query: string): Promise<void> {
  const expr = parse(query);
  if (expr.kind === 'logSelector') throw new Error('metric query expected');
  expect(() => evalRangeQuery(entries, expr, mStart, mEnd, STEP), 'the reference sees the error too').toThrow(PipelineError);
  for (const [path, params] of [
    ['/loki/api/v1/query_range', { query, start: mStart.toString(), end: mEnd.toString(), step: '10' }],
    ['/loki/api/v1/query', { query, time: mInstant.toString() }],
  ] as const) {
    const r = await ask(path, params);
    expect(r.status, r.text.slice(0, 300)).toBe(400);
    expect(r.text).toMatch(/pipeline error/);
  }
}

describe('LogQL conformance', () => {
  beforeAll(startSilt);
  afterAll(async () => {
    await silt?.stop();
  });

  it(`corpus has at least 300 queries (${CORPUS_SIZE})`, () => {
    expect(CORPUS_SIZE).toBeGreaterThanOrEqual(300);
    expect(facts.logfmtApps.length).toBeGreaterThan(0);
    expect(facts.jsonApps.length).toBeGreaterThan(0);
  });

  describe('corpus: log queries', () => {
    for (const t of LOG_QUERIES) {
      const q = instantiate(t, facts);
      it(q, (ctx) => checkLog(q, ctx));
    }
  });

  describe('corpus: metric queries', () => {
    for (const t of [...METRIC_QUERIES, ...EXPANDED_METRIC_QUERIES]) {
      const q = instantiate(t, facts);
      it(q, (ctx) => checkMetric(q, ctx));
    }
  });

  describe('corpus: pipeline errors → 400', () => {
    for (const t of PIPELINE_ERROR_QUERIES) {
      const q = instantiate(t, facts);
      it(q, () => checkPipelineError(q));
    }
  });

  describe('corpus: invalid queries → 400', () => {
    for (const c of INVALID_QUERIES) {
      it(`${c.endpoint ?? 'range'}: ${JSON.stringify(c.query)}`, async () => {
        const r =
          c.endpoint === 'instant'
            ? await ask('/loki/api/v1/query', { query: c.query, time: mInstant.toString() })
            : await ask('/loki/api/v1/query_range', { query: c.query, start: mStart.toString(), end: mEnd.toString(), step: '10' });
        expect(r.status, r.text.slice(0, 300)).toBe(400);
        if (c.message) expect(r.text.trim()).toMatch(c.message);
      });
    }
  });

  describe('edge cases', () => {
    it('a log query over an empty time range returns no streams', async () => {
      const r = await ask('/loki/api/v1/query_range', { query: '{container="nginx"}', start: (first - 100n * S).toString(), end: (first - 50n * S).toString() });
      expect(r.status, r.text).toBe(200);
      expect(r.body.data.result).toEqual([]);
    });

    it('a metric range query before the data returns an empty matrix', async () => {
      const q = 'count_over_time({container="nginx"}[10s])';
      const r = await ask('/loki/api/v1/query_range', { query: q, start: (mStart - 300n * S).toString(), end: (mStart - 100n * S).toString(), step: '10' });
      expect(r.status, r.text).toBe(200);
      expect(r.body.data).toMatchObject({ resultType: 'matrix', result: [] });
    });

    it('step larger than the range: windows skip data, only start + k*step is evaluated', async (ctx) => {
      const q = 'sum by (app) (count_over_time({container="nginx"}[5s]))';
      const expr = parse(q) as SampleExpr;
      const want = reference(ctx, () => evalRangeQuery(entries, expr, mStart, mEnd, 30n * S));
      if (want === null) return;
      const r = await ask('/loki/api/v1/query_range', { query: q, start: mStart.toString(), end: mEnd.toString(), step: '30s' });
      expect(r.status, r.text).toBe(200);
      expect(diffSeries(siltSeries(r.body.data), refSeries(want))).toEqual([]);
    });

    it('zero step is refused', async () => {
      const r = await ask('/loki/api/v1/query_range', { query: 'count_over_time({container="nginx"}[10s])', start: mStart.toString(), end: mEnd.toString(), step: '0' });
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/zero or negative query resolution step widths are not accepted/);
    });
  });

  describe(`generated queries (seed 42, ${GENERATED} of each kind)`, () => {
    const gen = new QueryGenerator(facts, 42);
    const logs = new Set<string>();
    const metrics = new Set<string>();
    for (let i = 0; i < GENERATED * 20 && logs.size < GENERATED; i++) logs.add(gen.logQuery());
    for (let i = 0; i < GENERATED * 20 && metrics.size < GENERATED; i++) metrics.add(gen.metricQuery());
    describe('log', () => {
      for (const q of logs) it(q, (ctx) => checkLog(q, ctx));
    });
    describe('metric', () => {
      for (const q of metrics) it(q, (ctx) => checkMetric(q, ctx));
    });
  });
});

/**
 * Loki's own unit-test tables, written out as data (test/logql/loki-tables/*.json, see its
 * README.md), run against Silt's parser and pipeline; no server needed. Cases marked
 * `notApplicable` in the data are skipped with their reason.
 */
describe("Loki's test tables", () => {
  const each = <C extends { source: string; notApplicable?: string }>(name: string, run: (c: C) => void): void => {
    const t = loadTable<C>(name);
    describe(name, () => {
      it('has cases', () => expect(t.cases.length).toBeGreaterThan(0));
      for (const c of t.cases) {
        if (c.notApplicable !== undefined) it.skip(`${c.source} (not applicable: ${c.notApplicable})`, () => {});
        else it(c.source, () => run(c));
      }
    });
  };

  each<ParseCase>('syntax-parse', checkParse);
  each<StringCase>('syntax-string', checkString);
  each<ExpressionCase>('extraction-expressions', (c) => {
    const got = runExpressionCase(c);
    if (c.fails === true) expect(got.error).toBeDefined();
    else if (c.error !== undefined) expect(got).toEqual({ error: c.error });
    else expect(got).toEqual({ path: c.parser === 'json' ? c.path : [c.expression.trim()] });
  });
  each<StageCase>('parsers', (c) => expect(runStageCase(c)).toEqual({ labels: labelLines(c.want), line: c.wantLine ?? null }));
  each<StageCase>('formatters', (c) => expect(runStageCase(c)).toEqual({ labels: labelLines(c.want), line: c.wantLine ?? null }));
  each<LabelFilterCase>('label-filters', (c) => expect(runLabelFilterCase(c)).toEqual(c.keep ? labelLines(c.want) : 'dropped'));
  each<LineFilterCase>('line-filters', (c) => expect(runLineFilterCase(c)).toEqual(c.lines.map((l) => l.keep)));
});
