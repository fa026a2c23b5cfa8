/**
 * Query side of the label index: lists the segments of each (tenant, day) table a time range
 * touches, loads them (parsed segments are cached by key since they are immutable) and
 * answers series, chunk-ref, label and stats questions, deduplicating across segments,
 * writers and days. Every question takes ReadOptions: its signal (a query's deadline) aborts
 * the listings and segment reads made for it.
 */
import { NotFoundError } from '../../errors.js';
import { markInKeyOrder, mergeAllInKeyOrder, type Labels } from '../../model/labels.js';
import { metadataKey, type Matcher } from '../../model/matcher.js';
import { ascending, mergeSortedUnique, unionOfAscending } from '../../util/sorted.js';
import { validateTenant } from '../chunk-ref.js';
import type { ChunkRef } from '../chunk-ref.js';
import { ByteLru } from '../lru.js';
import { mapLimit } from '../map-limit.js';
import type { ObjectClient, ReadOptions } from '../object-client.js';
import { SharedLoads } from '../shared-load.js';
import { DAY_PROBE_LIMIT, DEFAULT_SEGMENT_CACHE_BYTES, INDEX_PREFIX, IO_CONCURRENCY, SEGMENT_SUFFIX } from './consts.js';
import { IndexCorruptError } from './errors.js';
import { dayOf, parseSegmentKey, tablePrefix } from './keys.js';
import { decodeSegment } from './segment.js';
import type { Segment } from './segment.js';
import { prepareMatchers, requireNonEmptyMatcher, selectSeries } from './select.js';
import type { MatchMemo } from './select.js';
import { refIdentity } from './writer.js';

/** Options for IndexReader. */
export interface IndexReaderOptions {
  /** Byte budget (approximate heap) of parsed segments kept in memory. Default 128 MiB. */
  cacheBytes?: number;
  /**
   * How long a table listing is reused, ms. Default 0: list on every query, so new segments
   * are visible at once. Raise it on queriers to trade freshness for fewer list calls.
   */
  listCacheTtlMs?: number;
}

/** Index statistics in Loki's /index/stats shape. */
export interface IndexStats {
  /** Distinct series with at least one chunk in range. */
  streams: number;
  /** Distinct chunks in range. */
  chunks: number;
  /** Sum of the chunks' uncompressed bytes (whole chunks, not prorated to the range). */
  bytes: number;
  /** Sum of the chunks' entries (whole chunks). */
  entries: number;
}

interface CachedList {
  atMs: number;
  keys: string[];
}

type ChunkVisitor = (seg: Segment, series: number, chunk: number) => void;
type SeriesVisitor = (seg: Segment, series: number) => void;

function compareRefs(a: ChunkRef, b: ChunkRef): number {
  if (a.fingerprint !== b.fingerprint) return a.fingerprint < b.fingerprint ? -1 : 1;
  if (a.fromNs !== b.fromNs) return a.fromNs < b.fromNs ? -1 : 1;
  if (a.throughNs !== b.throughNs) return a.throughNs < b.throughNs ? -1 : 1;
  return a.checksum - b.checksum;
}

/**
 * Reads the label index. Time ranges are inclusive at both ends: a chunk is in range when
 * `chunk.fromNs <= throughNs && chunk.throughNs >= fromNs`; a range with through < from is
 * empty. Corrupt segments fail the call with IndexCorruptError (a ChunkCorruptError).
 * Fingerprints are trusted as series identity: on a collision the first label set seen wins.
 */
export class IndexReader {
  /** Parsed segments by object key; `hits`/`misses` are public for metrics. */
  readonly cache: ByteLru<string, Segment>;
  readonly #client: ObjectClient;
  readonly #listTtlMs: number;
  readonly #lists = new Map<string, CachedList>();
  readonly #inflight = new SharedLoads<string, Segment>();

  constructor(client: ObjectClient, opts: IndexReaderOptions = {}) {
    this.#client = client;
    this.cache = new ByteLru(opts.cacheBytes ?? DEFAULT_SEGMENT_CACHE_BYTES);
    this.#listTtlMs = opts.listCacheTtlMs ?? 0;
  }

  /**
   * Series matching all matchers with chunks overlapping [fromNs, throughNs], and those chunks,
   * deduplicated across segments and days. Refs are sorted by (fingerprint, from, through,
   * checksum). Needs at least one matcher that rejects '' (else InvalidError).
   */
  async chunkRefs(
    tenant: string,
    fromNs: bigint,
    throughNs: bigint,
    matchers: readonly Matcher[],
    opts?: ReadOptions,
  ): Promise<{ series: Map<string, Labels>; refs: ChunkRef[] }> {
    requireNonEmptyMatcher(matchers);
    const series = new Map<string, Labels>();
    const refs = new Map<string, ChunkRef>();
    await this.#scan(tenant, fromNs, throughNs, matchers, opts?.signal, addSeries(series), (seg, i, j) => {
      const ref = seg.refAt(i, j);
      const id = refIdentity(ref);
      if (!refs.has(id)) refs.set(id, ref);
    });
    return { series, refs: [...refs.values()].sort(compareRefs) };
  }

  /**
   * Label sets of the series matching all matchers with chunks in range, in label-string order
   * (marked `inKeyOrder`: the querier merges it as it is), each once. Same matcher rule as chunkRefs.
   */
  async series(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: ReadOptions): Promise<readonly Labels[]> {
    requireNonEmptyMatcher(matchers);
    const picked = new Map<Segment, number[]>();
    const lists: (readonly Labels[])[] = [];
    await this.#scan(
      tenant,
      fromNs,
      throughNs,
      matchers,
      opts?.signal,
      (seg, i) => {
        let list = picked.get(seg);
        if (list === undefined) picked.set(seg, (list = []));
        list.push(i);
      },
      undefined,
      // A segment wholly in range: its answer for these matchers, kept with it.
      (seg, select) => {
        lists.push(seg.answer(metadataKey('series', matchers), () => markInKeyOrder(seg.inKeyOrder(select()))));
      },
    );
    // Each segment orders its own series; a series in several segments (days, flushes) is one.
    for (const [seg, indices] of picked) lists.push(seg.inKeyOrder(indices));
    return markInKeyOrder(mergeAllInKeyOrder(lists));
  }

  /**
   * Sorted label names of the series with chunks in range (all series when `matchers` is absent
   * or empty; otherwise at least one matcher must reject '').
   */
  async labelNames(tenant: string, fromNs: bigint, throughNs: bigint, matchers?: readonly Matcher[], opts?: ReadOptions): Promise<readonly string[]> {
    const ms = matchers ?? [];
    if (ms.length > 0) requireNonEmptyMatcher(ms);
    const names = new Set<string>();
    const lists: (readonly string[])[] = [];
    await this.#scan(tenant, fromNs, throughNs, ms, opts?.signal, (seg, i) => {
      for (const l of seg.labels[i]!) names.add(l.name);
    }, undefined, (seg, select) => {
      // Whole segment in range: without matchers the postings list every name; with them, the
      // answer is kept with the segment.
      lists.push(ms.length === 0 ? seg.sortedNames() : seg.answer(metadataKey('names', ms), () => namesOf(seg, select())));
    });
    return unionOf(lists, names);
  }

  /** Sorted values of label `name` over the series with chunks in range; matcher rule as labelNames. */
  async labelValues(
    tenant: string,
    name: string,
    fromNs: bigint,
    throughNs: bigint,
    matchers?: readonly Matcher[],
    opts?: ReadOptions,
  ): Promise<readonly string[]> {
    const ms = matchers ?? [];
    if (ms.length > 0) requireNonEmptyMatcher(ms);
    const values = new Set<string>();
    const lists: (readonly string[])[] = [];
    await this.#scan(tenant, fromNs, throughNs, ms, opts?.signal, (seg, i) => {
      for (const l of seg.labels[i]!) if (l.name === name) values.add(l.value);
    }, undefined, (seg, select) => {
      lists.push(ms.length === 0 ? seg.sortedValues(name) : seg.answer(metadataKey('values', ms, name), () => valuesOf(seg, select(), name)));
    });
    return unionOf(lists, values);
  }

  /** Loki /index/stats: streams, chunks, uncompressed bytes and entries of the chunks in range. */
  async stats(tenant: string, fromNs: bigint, throughNs: bigint, matchers: readonly Matcher[], opts?: ReadOptions): Promise<IndexStats> {
    const { series, refs } = await this.chunkRefs(tenant, fromNs, throughNs, matchers, opts);
    let bytes = 0;
    let entries = 0;
    for (const r of refs) {
      bytes += r.uncompressedBytes;
      entries += r.entries;
    }
    return { streams: series.size, chunks: refs.length, bytes, entries };
  }

  /** Total bytes of segment objects (of one tenant when given), for the index-vs-chunk ratio. */
  async indexBytes(tenant?: string): Promise<number> {
    const { objects } = await this.#client.list(INDEX_PREFIX);
    let total = 0;
    for (const o of objects) {
      const parsed = parseSegmentKey(o.key);
      if (parsed !== undefined && (tenant === undefined || parsed.tenant === tenant)) total += o.sizeBytes;
    }
    return total;
  }

  /**
   * Visits every selected series with at least one chunk in range (`onSeries`, once per series
   * per segment) and every such chunk (`onChunk`). For a segment wholly inside the range,
   * `onWholeSegment` (when given) takes the place of the per-series walk; its `select` gives the
   * series matching the matchers (each has a chunk in range: FORMAT.md).
   */
  async #scan(
    tenant: string,
    fromNs: bigint,
    throughNs: bigint,
    matchers: readonly Matcher[],
    signal: AbortSignal | undefined,
    onSeries: SeriesVisitor,
    onChunk: ChunkVisitor | undefined,
    onWholeSegment?: (seg: Segment, select: () => Uint32Array) => void,
  ): Promise<void> {
    validateTenant(tenant);
    if (throughNs < fromNs || throughNs < 0n) return;
    const segments = await this.#segments(tenant, fromNs, throughNs, signal);
    const prepared = prepareMatchers(matchers);
    // Results shared across segments; with one segment the memo would only cost a map insert per value.
    const memo: MatchMemo | null = segments.length > 1 ? new Map() : null;
    for (const seg of segments) {
      if (seg.minFromNs > throughNs || seg.maxThroughNs < fromNs) continue;
      if (onWholeSegment !== undefined && seg.minFromNs >= fromNs && seg.maxThroughNs <= throughNs) {
        onWholeSegment(seg, () => selectSeries(seg, prepared, memo));
        continue;
      }
      const selected = selectSeries(seg, prepared, memo);
      const { chunkStart, fromNs: froms, throughNs: throughs } = seg;
      for (let k = 0; k < selected.length; k++) {
        const i = selected[k]!;
        let any = false;
        for (let j = chunkStart[i]!, end = chunkStart[i + 1]!; j < end; j++) {
          if (froms[j]! <= throughNs && throughs[j]! >= fromNs) {
            any = true;
            if (onChunk === undefined) break;
            onChunk(seg, i, j);
          }
        }
        if (any) onSeries(seg, i);
      }
    }
  }

  /** All segments of the tables the range touches. Retries once with fresh listings when a listed segment vanished (compaction). */
  async #segments(tenant: string, fromNs: bigint, throughNs: bigint, signal: AbortSignal | undefined): Promise<Segment[]> {
    const days = await this.#days(fromNs, throughNs, signal);
    for (let attempt = 0; ; attempt++) {
      const fresh = attempt > 0;
      const perDay = await mapLimit(days, IO_CONCURRENCY, (d) => this.#tableKeys(tenant, d, fresh, signal));
      const keys = perDay.flat();
      try {
        return dropSuperseded(await mapLimit(keys, IO_CONCURRENCY, (k) => this.#load(k, tenant, signal)));
      } catch (err) {
        if (!(err instanceof NotFoundError) || attempt > 0) throw err;
      }
    }
  }

  /** Day numbers to look at: the whole range when short, else only days that have tables. */
  async #days(fromNs: bigint, throughNs: bigint, signal: AbortSignal | undefined): Promise<number[]> {
    const first = dayOf(fromNs);
    const last = dayOf(throughNs);
    const out: number[] = [];
    if (last - first < DAY_PROBE_LIMIT) {
      for (let d = first; d <= last; d++) out.push(d);
      return out;
    }
    for (const p of await this.#listCached(INDEX_PREFIX, false, true, signal)) {
      const day = /^index\/(0|[1-9][0-9]*)\/$/.exec(p);
      if (day !== null) {
        const d = Number(day[1]);
        if (d >= first && d <= last) out.push(d);
      }
    }
    return out.sort((a, b) => a - b);
  }

  #tableKeys(tenant: string, day: number, fresh: boolean, signal: AbortSignal | undefined): Promise<string[]> {
    return this.#listCached(tablePrefix(tenant, day), fresh, false, signal);
  }

  /** One-level listing under `prefix`: segment keys, or common prefixes when `prefixes`. */
  async #listCached(prefix: string, fresh: boolean, prefixes: boolean, signal: AbortSignal | undefined): Promise<string[]> {
    const cacheKey = (prefixes ? 'P:' : 'O:') + prefix;
    const now = Date.now();
    if (!fresh && this.#listTtlMs > 0) {
      const hit = this.#lists.get(cacheKey);
      if (hit !== undefined && now - hit.atMs < this.#listTtlMs) return hit.keys;
    }
    const res = await this.#client.list(prefix, '/', { signal });
    const keys = prefixes ? res.prefixes : res.objects.map((o) => o.key).filter((k) => k.endsWith(SEGMENT_SUFFIX));
    if (this.#listTtlMs > 0) {
      // Drop expired listings now and then so the map stays bounded by live tables.
      if (this.#lists.size > 4096) for (const [k, v] of this.#lists) if (now - v.atMs >= this.#listTtlMs) this.#lists.delete(k);
      this.#lists.set(cacheKey, { atMs: now, keys });
    }
    return keys;
  }

  /**
   * A parsed segment from cache, a shared in-flight load (aborted only when all its waiters'
   * signals have), or storage.
   */
  #load(key: string, tenant: string, signal: AbortSignal | undefined): Promise<Segment> {
    const hit = this.cache.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    return this.#inflight.load(key, (s) => this.#fetch(key, tenant, s), signal);
  }

  async #fetch(key: string, tenant: string, signal: AbortSignal): Promise<Segment> {
    const seg = decodeSegment(await this.#client.get(key, { signal }), key);
    const where = parseSegmentKey(key);
    if (where === undefined || seg.tenant !== tenant || seg.day !== where.day || where.tenant !== tenant) {
      throw new IndexCorruptError(key, `holds tenant "${seg.tenant}" day ${seg.day}, which does not match its key`);
    }
    this.cache.set(key, seg, seg.approxHeapBytes());
    return seg;
  }
}

/**
 * Segments not superseded by another listed segment. A compacted segment names the segments it
 * replaces, so the switch from many segments to one is a single put: readers that list both see
 * only the new one, and never a ref twice or a ref missing (FORMAT.md, "Compaction").
 */
export function dropSuperseded(segments: Segment[]): Segment[] {
  let superseded: Set<string> | null = null;
  for (const seg of segments) {
    if (seg.replaces.length === 0) continue;
    superseded ??= new Set();
    const dir = seg.key.slice(0, seg.key.lastIndexOf('/') + 1);
    for (const name of seg.replaces) superseded.add(dir + name);
  }
  if (superseded === null) return segments;
  const live = superseded;
  return segments.filter((s) => !live.has(s.key));
}

function addSeries(into: Map<string, Labels>): SeriesVisitor {
  return (seg, i) => {
    const fp = seg.fingerprints[i]!;
    if (!into.has(fp)) into.set(fp, seg.labels[i]!);
  };
}

/**
 * The ascending union of strictly ascending lists (whole segments' sorted names or values) and the
 * strings of `more`. Without `more`, shared and the same array while the segments are (see
 * `unionOfAscending`): do not modify.
 */
function unionOf(lists: readonly (readonly string[])[], more: ReadonlySet<string>): readonly string[] {
  // Only whole segments' lists: their union keeps its identity while the segments stay cached.
  if (more.size === 0) return unionOfAscending(lists);
  let out: string[] = [...more].sort();
  for (const l of lists) out = mergeSortedUnique(out, l);
  return ascending(out);
}

/** Sorted names carried by the given series of `seg` (marked ascending). */
function namesOf(seg: Segment, selected: Uint32Array): string[] {
  const names = new Set<string>();
  for (let k = 0; k < selected.length; k++) for (const l of seg.labels[selected[k]!]!) names.add(l.name);
  return ascending([...names].sort());
}

/** Sorted values of `name` carried by the given series of `seg` (marked ascending). */
function valuesOf(seg: Segment, selected: Uint32Array, name: string): string[] {
  const values = new Set<string>();
  for (let k = 0; k < selected.length; k++) for (const l of seg.labels[selected[k]!]!) if (l.name === name) values.add(l.value);
  return ascending([...values].sort());
}
