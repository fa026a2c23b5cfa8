import type { Logger } from 'pino';
import { type BlockMeta, type ChunkIndex, type DecodedBlock, type ReadableChunk } from '../chunk/index.js';
import type { LimitsConfig, SiltConfig } from '../config/config.js';
import { InvalidError, LimitError } from '../errors.js';
import type { IngesterQuerier } from '../ingester/client.js';
import { compileLineFilters, compilePipeline, compileSampleExtractor, requiredBlockProbe, selectorMatchers } from '../logql/log/index.js';
import type { StreamPipeline } from '../logql/log/pipeline.js';
import { compileTemplate } from '../logql/template/index.js';
import { parseExpr, parseSelector, type Expr } from '../logql/syntax/index.js';
import { labelsToString, sortLabels, type Labels, type Matcher, type StructuredMetadata } from '../model/index.js';
import { type ChunkLease, type ChunkRef, type ReadOptions } from '../storage/index.js';
import { BlockCache } from './block-cache.js';
import { planScan, StoredPrefetch } from './sources.js';
import { Deadline, NO_DEADLINE } from './deadline.js';
import { ScanContext, ScanStats, scanBlock, type BlockFilter, type TenantDeletes } from './scan.js';
import { QuerierEntrySource } from './entry-source.js';
import { DEFAULT_MAX_POINTS, evaluateMetric, type EntrySource, type ExtractorFactory, type MetricResult } from '../logql/engine/index.js';
import { ERR_ZERO_OR_NEGATIVE_STEP, stepTooSmallMessage } from '../logql/engine/errors.js';
import type { LogSelectorExpr, SampleExpr } from '../logql/syntax/index.js';
import type { BlockVisit } from '../logql/engine/source.js';
import { TopK } from './topk.js';
import { QueryBytesBudget } from './bytes-budget.js';
import { seriesUnion } from './metadata.js';
import { sortedUnion } from '../util/sorted.js';
import { LEAF_SERIES_FACTOR, type Shard } from './shard.js';
import { formatDuration, formatPromDuration } from '../util/go/duration.js';

/**
 * The storage slice the querier needs (Loki's querier.Store idea). Every call takes the
 * query's ReadOptions: its signal (the query's Deadline) aborts the object-store reads.
 */
export interface Store {
  chunkRefs(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: ReadOptions): Promise<{ series: Map<string, Labels>; refs: ChunkRef[] }>;
  getChunk(ref: ChunkRef, opts?: ReadOptions): Promise<Buffer>;
  /** A chunk for one scan, maybe in lent memory to give back once scanned (ChunkStore.getForScan). */
  getChunkForScan(ref: ChunkRef, opts?: ReadOptions): Promise<ChunkLease>;
  /** Block metas and token filters of a stored chunk, without its blocks. */
  getChunkIndex(ref: ChunkRef, opts?: ReadOptions): Promise<ChunkIndex>;
  /**
   * Only blocks `blocks` of a chunk for one scan, read by range, given its `getChunkIndex`
   * answer; null when the chunk is better read whole (cached: ChunkStore.getBlocksForScan).
   */
  getChunkBlocksForScan(ref: ChunkRef, index: ChunkIndex, blocks: readonly number[], opts?: ReadOptions): Promise<{ chunk: ReadableChunk; bytes: number } | null>;
  /** In label-string order (marked `inKeyOrder`), each label set once. */
  series(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: ReadOptions): Promise<readonly Labels[]>;
  labelNames(tenant: string, fromNs: bigint, throughNs: bigint, matchers?: readonly Matcher[], opts?: ReadOptions): Promise<readonly string[]>;
  labelValues(tenant: string, name: string, fromNs: bigint, throughNs: bigint, matchers?: readonly Matcher[], opts?: ReadOptions): Promise<readonly string[]>;
  stats(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: ReadOptions): Promise<{ streams: number; chunks: number; bytes: number; entries: number }>;
}

export type Direction = 'forward' | 'backward';

export interface LogQueryRequest {
  tenant: string;
  query: string;
  startNs: bigint;
  /** Exclusive, as Loki's log queries. */
  endNs: bigint;
  limit: number;
  direction: Direction;
  /** Only the streams of this shard (a query-frontend piece, `shards=i_of_n`); absent: all. */
  shard?: Shard | null;
  /** The request's cancellation (HttpServer's `Req.signal`): aborted, the query stops at its next check. */
  signal?: AbortSignal | undefined;
}

/** One result stream: indexed labels, and the structured metadata and parsed labels shared by its entries. */
export interface ResultStream {
  labels: Labels;
  metadata: StructuredMetadata;
  parsed: Labels;
  /** [ts ns, line] in result order. */
  entries: { tsNs: bigint; line: Buffer }[];
}

export interface LogQueryResult {
  streams: ResultStream[];
  stats: ScanStats;
  execMs: number;
}

export type QuerierConfig = SiltConfig['querier'];

export interface MetricQueryRequest {
  tenant: string;
  expr: SampleExpr;
  startNs: bigint;
  endNs: bigint;
  stepNs: bigint;
  instant: boolean;
  /**
   * End of the whole query when this is one window of a split query: the ingesters are asked
   * (or not) as for the whole query, so split and unsplit answers agree. Default `endNs`.
   */
  ingesterEndNs?: bigint;
  /**
   * Only the streams of this shard (a query-frontend piece, `shards=i_of_n`); absent: all. A
   * shard piece is a leaf of the frontend's query: its series limit is LEAF_SERIES_FACTOR times
   * `max_query_series` (the frontend checks the limit on the merged answer).
   */
  shard?: Shard | null;
  /** The request's cancellation (HttpServer's `Req.signal`): aborted, the query stops at its next check. */
  signal?: AbortSignal | undefined;
}

export interface MetricQueryResult {
  data: MetricResult;
  stats: ScanStats;
  execMs: number;
}

export interface QuerierDeps {
  cfg: QuerierConfig;
  limits: (tenant: string) => LimitsConfig;
  ingester: IngesterQuerier | null;
  store: Store;
  logger: Logger;
  nowMs?: () => number;
  /** Delete requests to apply at query time (the compactor's store); absent: none. */
  deletes?: (tenant: string, opts?: ReadOptions) => Promise<TenantDeletes | null>;
  /**
   * Merge overlapping copies of a stream entry by entry (several ingesters hold replicas; see
   * sources.ts). Off in one process, where memory and storage never hold two copies.
   */
  dedup?: boolean;
  /** See PrefetchOptions.decodeAhead; default true. */
  decodeAhead?: boolean;
}

const NS_PER_MS = 1_000_000n;

/** Sample extraction for the engine: the full pipeline plus unwrap, templates enabled. */
const EXTRACTORS: ExtractorFactory = (range, op, opts) => compileSampleExtractor(range, op, { template: compileTemplate, prefiltered: true, grouping: opts?.grouping ?? null });

/**
 * The querier role: answers log queries and label queries by merging ingester memory with
 * stored chunks, deduplicated and limited.
 */
export class Querier {
  protected readonly deps: QuerierDeps;
  private readonly now: () => number;
  /** Decoded blocks of stored chunks, shared by every query. */
  protected readonly blocks: BlockCache;
  /** See QuerierDeps.dedup. */
  protected readonly dedup: boolean;

  constructor(deps: QuerierDeps) {
    this.deps = deps;
    this.now = deps.nowMs ?? Date.now;
    this.blocks = new BlockCache(deps.cfg.block_cache_size);
    this.dedup = deps.dedup ?? false;
  }

  /** Parses a query; a parse error is a ParseError (400). */
  parse(query: string): Expr {
    return parseExpr(query);
  }

  protected checkRange(tenant: string, startNs: bigint, endNs: bigint): void {
    const lim = this.deps.limits(tenant);
    if (endNs < startNs) throw new InvalidError('end timestamp must not be before or equal to start time');
    if (lim.max_query_length > 0 && endNs - startNs > BigInt(lim.max_query_length) * NS_PER_MS + 60_000n * NS_PER_MS) {
      throw new LimitError(`the query time range exceeds the limit (query length: ${formatDuration(((endNs - startNs) / NS_PER_MS) * NS_PER_MS)}, limit: ${formatPromDuration(BigInt(Math.trunc(lim.max_query_length)) * NS_PER_MS)})`);
    }
  }

  protected useIngester(endNs: bigint): boolean {
    const within = this.deps.cfg.query_ingesters_within;
    if (!this.deps.ingester) return false;
    return within === 0 || endNs >= BigInt(this.now() - within) * NS_PER_MS;
  }

  /** Evaluates a log query: stream selector, line filters and every pipeline stage. */
  async logQuery(req: LogQueryRequest): Promise<LogQueryResult> {
    return this.withDeadline((d) => this.#logQuery(req, d), req.signal);
  }

  /**
   * Runs `fn` within one query's time budget, `querier.query_timeout` from now, cancelled by
   * `signal` (the request's: its client went away or the frontend cancelled the piece).
   */
  protected withDeadline<T>(fn: (d: Deadline) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return Deadline.run(this.deps.cfg.query_timeout, this.now, fn, signal);
  }

  async #logQuery(req: LogQueryRequest, deadline: Deadline): Promise<LogQueryResult> {
    const t0 = performance.now();
    const expr = parseExpr(req.query);
    if (expr.kind !== 'logSelector') throw new InvalidError('a metric query cannot be evaluated as a log query');
    const lim = this.deps.limits(req.tenant);
    if (lim.max_entries_limit_per_query > 0 && req.limit > lim.max_entries_limit_per_query) {
      throw new LimitError(`max entries limit per query exceeded, limit > max_entries_limit_per_query (${req.limit} > ${lim.max_entries_limit_per_query})`);
    }
    this.checkRange(req.tenant, req.startNs, req.endNs);
    const matchers = selectorMatchers(expr);
    const filter: BlockFilter | null = compileLineFilters(expr);
    // Tokens and needle grams every matching line holds: cut blocks whose filters lack one are skipped unread.
    const required = requiredBlockProbe(expr);
    const newest = req.direction === 'backward';
    const topk = new TopK(req.limit, newest);
    const stats = new ScanStats();
    const ctx = new ScanContext();
    // The full pipeline runs per entry only when a stage can change labels or the line; the
    // line filters before the first line_format already ran on whole blocks.
    const pipeline = compilePipeline(expr, { template: compileTemplate, prefiltered: true });
    const streamPipeline = (labels: Labels): StreamPipeline | null => (pipeline.noop ? null : pipeline.forStream(labels));
    // Through is inclusive in chunk metadata; the query end is exclusive.
    const lastNs = req.endNs - 1n;
    /** Whether block `b` must be read: 'time' and 'bloom' say why it can be skipped. */
    const verdict = (m: BlockMeta, idx: ChunkIndex, b: number): 'time' | 'bloom' | 'scan' => {
      if (m.maxTsNs < req.startNs || m.minTsNs > lastNs || (topk.full() && !topk.wants(newest ? m.maxTsNs : m.minTsNs))) return 'time';
      if (required.length > 0 && !idx.blockMayContainAll(b, required)) return 'bloom';
      return 'scan';
    };
    const skipped = (m: BlockMeta, why: 'time' | 'bloom'): void => {
      if (why === 'time') {
        stats.blocksSkipped++;
        return;
      }
      // Ruled out by its token filter: the block's text counts as covered by the query.
      stats.blocksSkippedByBloom++;
      stats.bytesSkippedByBloom += m.uncompressedBytes;
      stats.bytesProcessed += m.uncompressedBytes;
      stats.linesProcessed += m.entries;
    };
    const deletes = this.deps.deletes ? await deadline.wait(this.deps.deletes(req.tenant, deadline.read)) : null;
    const scanChunk = (chunk: ReadableChunk | null, head: DecodedBlock | null, labels: Labels, fp: string, key: string | null): void => {
      const sp = streamPipeline(labels);
      const deleter = deletes === null ? null : deletes.forStream(labels);
      const metas = chunk === null ? [] : chunk.blockMetas();
      const blockCount = metas.length;
      const order: (number | -1)[] = [];
      for (let b = 0; b < blockCount; b++) order.push(b);
      if (head) order.push(-1);
      if (newest) order.reverse();
      for (const b of order) {
        if (b >= 0) {
          const m = metas[b]!;
          const v = verdict(m, chunk!, b);
          if (v !== 'scan') {
            skipped(m, v);
            continue;
          }
          stats.decompressedBytes += m.uncompressedBytes;
          // While the result still takes any entry, scanBlock would count every line in range:
          // a block whose lines there lack a needle needs no decoding (ADR 0032).
          if (required.literals.length > 0 && !topk.full()) {
            const got = this.blocks.readUnlessLacking(chunk!, key, b, required.literals, req.startNs, req.endNs);
            if (!('lacking' in got)) scanBlock(got, req.startNs, req.endNs, filter, deleter, topk, labels, fp, sp, ctx, stats);
            else if (got.entries === 0) stats.blocksSkipped++;
            else {
              stats.blocksScanned++;
              stats.linesProcessed += got.entries;
              stats.bytesProcessed += got.bytes;
            }
            continue;
          }
          scanBlock(this.blocks.read(chunk!, key, b), req.startNs, req.endNs, filter, deleter, topk, labels, fp, sp, ctx, stats);
        } else if (head) scanBlock(head, req.startNs, req.endNs, filter, deleter, topk, labels, fp, sp, ctx, stats);
      }
    };
    /** True when some block of a stored chunk must be read; otherwise accounts for all of them. */
    const needsBlocks = (idx: ChunkIndex): boolean => {
      const metas = idx.blockMetas();
      const verdicts = metas.map((m, b) => verdict(m, idx, b));
      if (verdicts.includes('scan')) return true;
      verdicts.forEach((v, b) => skipped(metas[b]!, v as 'time' | 'bloom'));
      return false;
    };

    // Memory and stored chunks, each entry once (sources.ts).
    const plan = await planScan({ tenant: req.tenant, matchers, fromNs: req.startNs, throughNs: lastNs, ingester: this.useIngester(req.endNs) ? this.deps.ingester : null, store: this.deps.store, deadline, dedup: this.dedup, stats, blocks: this.blocks, shard: req.shard ?? null });
    // Before any block is read: a query over too much data fails at once (ADR 0024).
    QueryBytesBudget.of(this.deps.limits(req.tenant))?.addPlan(plan);
    for (const s of plan.memory) {
      const parts = [...s.parts].sort((a, b) => (newest ? cmp(b.throughNs, a.throughNs) : cmp(a.fromNs, b.fromNs)));
      for (const p of parts) scanChunk(p.cut, p.head, s.labels, s.fingerprint, null);
      await deadline.breathe();
    }
    // Stored chunks, best-first so the result fills early and later chunks are skipped.
    const refs = [...plan.stored].sort((a, b) => (newest ? cmp(b.throughNs, a.throughNs) : cmp(a.fromNs, b.fromNs)));
    const wanted = (r: ChunkRef): boolean => !topk.full() || topk.wants(newest ? r.throughNs : r.fromNs);
    // With needle tokens, the chunk tails (metas and token filters) are fetched first and a
    // chunk is downloaded only when one of its blocks may match.
    const fetch = new StoredPrefetch(refs, {
      store: this.deps.store,
      deadline,
      concurrency: this.deps.cfg.max_concurrent,
      candidate: (idx, b) => verdict(idx.blockMetas()[b]!, idx, b) === 'scan',
      byIndex: required.length > 0,
      decodeAhead: false,
      blocks: this.blocks,
      wanted,
      lend: true,
    });
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      const got = await fetch.get(i);
      await deadline.breathe();
      if (got === null) {
        stats.chunksSkipped++;
        continue;
      }
      if (got instanceof Error) throw got;
      const labels = plan.series.get(ref.fingerprint);
      if (!labels) continue;
      const idx = 'skip' in got ? got.skip : got.chunk;
      if ('skip' in got || !needsBlocks(idx)) {
        if ('skip' in got) needsBlocks(idx);
        else got.release();
        stats.chunksSkipped++;
        continue;
      }
      stats.chunksFetched++;
      stats.compressedBytesFetched += got.bytes;
      scanChunk(got.chunk, null, labels, ref.fingerprint, got.key);
      // Nothing kept views the chunk's bytes (decodeChunk's `lent`): their memory serves the next read.
      got.release();
    }
    return { streams: group(topk, ctx), stats, execMs: performance.now() - t0 };
  }

  /**
   * The checks a metric query gets before evaluation (range length, step, points), without
   * evaluating it: the query-frontend runs them on a whole query before splitting it, since
   * each window alone would pass them.
   */
  checkMetricRequest(req: MetricQueryRequest): void {
    this.checkRange(req.tenant, req.startNs, req.endNs);
    if (req.instant) return;
    if (req.stepNs <= 0n) throw new InvalidError(ERR_ZERO_OR_NEGATIVE_STEP);
    if ((req.endNs - req.startNs) / req.stepNs > BigInt(DEFAULT_MAX_POINTS)) throw new InvalidError(stepTooSmallMessage(DEFAULT_MAX_POINTS));
  }

  /** Evaluates a metric query (instant or range) with the LogQL engine. */
  async metricQuery(req: MetricQueryRequest): Promise<MetricQueryResult> {
    const t0 = performance.now();
    this.checkRange(req.tenant, req.startNs, req.endNs);
    const lim = this.deps.limits(req.tenant);
    return this.withDeadline(async (d) => {
      const source = await this.entrySource(req.tenant, req.ingesterEndNs ?? req.endNs, d, req.shard ?? null);
      const data = await this.evaluate(req, source, req.shard ? lim.max_query_series * LEAF_SERIES_FACTOR : lim.max_query_series);
      return { data, stats: source.stats, execMs: performance.now() - t0 };
    }, req.signal);
  }

  /**
   * An instant metric query at `atNs` over ingester memory and stored chunks: what the ruler
   * evaluates every rule with (its RuleQuerier interface).
   */
  async instantQuery(tenant: string, expr: SampleExpr, atNs: bigint): Promise<MetricResult> {
    return (await this.metricQuery({ tenant, expr, startNs: atNs, endNs: atNs, stepNs: 0n, instant: true })).data;
  }

  /** One tenant's entries for the metric engine: ingester memory (when in range) and stored chunks. */
  protected async entrySource(tenant: string, endNs: bigint, deadline: Deadline = NO_DEADLINE, shard: Shard | null = null): Promise<QuerierEntrySource> {
    const deletes = this.deps.deletes ? await deadline.wait(this.deps.deletes(tenant, deadline.read)) : null;
    const source = new QuerierEntrySource(tenant, this.deps.ingester && this.useIngester(endNs) ? this.deps.ingester : null, this.deps.store, { concurrency: this.deps.cfg.max_concurrent, decodeAhead: this.deps.decodeAhead ?? true }, this.blocks, deletes, deadline, this.dedup, shard);
    source.budget = QueryBytesBudget.of(this.deps.limits(tenant));
    return source;
  }

  /** Runs the metric engine over `source`; more than `maxSeries` series is a LimitError. */
  protected evaluate(req: MetricQueryRequest, source: EntrySource, maxSeries: number): Promise<MetricResult> {
    return evaluateMetric(req.expr, { startNs: req.startNs, endNs: req.endNs, stepNs: req.stepNs, instant: req.instant, maxSeries }, source, EXTRACTORS);
  }

  /**
   * Visits every entry of `selector`'s streams with `fromNs <= ts <= throughNs`, block by
   * block, from memory and storage (each entry once); the selector's line filters are applied.
   * For the drilldown endpoints, which read whole ranges rather than the newest `limit` lines.
   */
  async scanSelector(tenant: string, selector: LogSelectorExpr, fromNs: bigint, throughNs: bigint, visit: (v: BlockVisit) => void, signal?: AbortSignal): Promise<ScanStats> {
    this.checkRange(tenant, fromNs, throughNs);
    return this.withDeadline(async (d) => {
      const source = await this.entrySource(tenant, throughNs, d);
      await source.scan(selector, fromNs, throughNs, visit);
      return source.stats;
    }, signal);
  }

  private selector(match: string | undefined): Matcher[] {
    if (match === undefined || match === '') return [];
    return selectorMatchers(parseSelector(match));
  }

  async labelNames(tenant: string, startNs: bigint, endNs: bigint, query?: string, signal?: AbortSignal): Promise<readonly string[]> {
    const m = this.selector(query);
    const stored = await this.withDeadline((d) => d.wait(this.deps.store.labelNames(tenant, startNs, endNs, m, d.read)), signal);
    return sortedUnion(stored, this.useIngester(endNs) ? await this.deps.ingester!.labelNames(tenant, startNs, endNs, m) : []);
  }

  async labelValues(tenant: string, name: string, startNs: bigint, endNs: bigint, query?: string, signal?: AbortSignal): Promise<readonly string[]> {
    const m = this.selector(query);
    const stored = await this.withDeadline((d) => d.wait(this.deps.store.labelValues(tenant, name, startNs, endNs, m, d.read)), signal);
    return sortedUnion(stored, this.useIngester(endNs) ? await this.deps.ingester!.labelValues(tenant, name, startNs, endNs, m) : []);
  }

  /** Series matching any of the selectors (match[] is a union, as in Loki). */
  async series(tenant: string, selectors: readonly string[], startNs: bigint, endNs: bigint, signal?: AbortSignal): Promise<readonly Labels[]> {
    const lists: (readonly Labels[])[] = [];
    const sets = selectors.length > 0 ? selectors.map((s) => this.selector(s)) : [[]];
    await this.withDeadline(async (d) => {
      for (const m of sets) {
        lists.push(await d.wait(this.deps.store.series(tenant, startNs, endNs, m, d.read)));
        if (this.useIngester(endNs)) lists.push(await d.wait(this.deps.ingester!.series(tenant, startNs, endNs, m, d.read)));
      }
    }, signal);
    // The store's and the ingester's lists come in key order and are merged as they are (metadata.ts).
    return seriesUnion(lists);
  }

  /** Loki's /index/stats: stored chunks plus what is only in memory. */
  async indexStats(tenant: string, query: string, startNs: bigint, endNs: bigint, signal?: AbortSignal): Promise<{ streams: number; chunks: number; bytes: number; entries: number }> {
    const m = this.selector(query);
    return this.withDeadline((d) => this.#indexStats(tenant, m, startNs, endNs, d), signal);
  }

  async #indexStats(tenant: string, m: Matcher[], startNs: bigint, endNs: bigint, deadline: Deadline): Promise<{ streams: number; chunks: number; bytes: number; entries: number }> {
    if (!this.useIngester(endNs)) return deadline.wait(this.deps.store.stats(tenant, startNs, endNs, m, deadline.read));
    // Memory and stored chunks, a chunk in both counted once (sources.ts).
    const st = { streams: 0, chunks: 0, bytes: 0, entries: 0 };
    const streams = new Set<string>();
    const plan = await planScan({ tenant, matchers: m, fromNs: startNs, throughNs: endNs, ingester: this.deps.ingester, store: this.deps.store, deadline, dedup: this.dedup, stats: new ScanStats(), blocks: this.blocks });
    for (const s of plan.memory) {
      streams.add(s.fingerprint);
      for (const p of s.parts) {
        st.chunks++;
        if (p.cut) {
          st.entries += p.cut.entries();
          st.bytes += p.cut.uncompressedBytes();
        }
        if (p.head) {
          st.entries += p.head.n;
          st.bytes += p.head.lines.length;
        }
      }
    }
    for (const fp of plan.series.keys()) streams.add(fp);
    for (const r of plan.stored) {
      st.chunks++;
      st.entries += r.entries;
      st.bytes += r.uncompressedBytes;
    }
    st.streams = streams.size;
    return st;
  }
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Groups kept entries into result streams, sorted by their full label string as Loki does. */
function group(topk: TopK, ctx: ScanContext): ResultStream[] {
  const byOut = new Map<number, ResultStream>();
  for (const c of topk.sorted()) {
    let rs = byOut.get(c.out);
    if (!rs) {
      const o = ctx.outputs[c.out]!;
      rs = { labels: o.stream, metadata: o.metadata, parsed: o.parsed, entries: [] };
      byOut.set(c.out, rs);
    }
    rs.entries.push({ tsNs: c.tsNs, line: c.line });
  }
  const keyed = [...byOut.values()].map((r) => ({ r, k: labelsToString(mergeLabels(r)) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.r);
}

/** Stream, metadata and parsed labels as one set (later categories win), for plain responses. */
export function mergeLabels(r: { labels: Labels; metadata: StructuredMetadata; parsed: Labels }): Labels {
  if (r.metadata.length === 0 && r.parsed.length === 0) return r.labels;
  const m = new Map<string, string>();
  for (const l of r.labels) m.set(l.name, l.value);
  for (const l of r.metadata) m.set(l.name, l.value);
  for (const l of r.parsed) m.set(l.name, l.value);
  return sortLabels([...m].map(([name, value]) => ({ name, value })));
}
