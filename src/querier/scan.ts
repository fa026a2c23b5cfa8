import type { DecodedBlock } from '../chunk/index.js';
import type { StreamPipeline } from '../logql/log/pipeline.js';
import { labelsToString, sortLabels, type Labels, type StructuredMetadata } from '../model/index.js';
import type { TopK } from './topk.js';
import { lowerBound } from '../util/sorted.js';

/** The labels of one result stream, split the way categorize-labels reports them. */
export interface OutputLabels {
  readonly stream: Labels;
  readonly metadata: StructuredMetadata;
  readonly parsed: Labels;
}

const NO_LABELS: Labels = Object.freeze([]);

/**
 * The labels an answer shows for `o` as one string: stream, metadata and parsed labels merged,
 * later categories winning (querier.ts `mergeLabels`, the plain encoding's stream). Entries of
 * equal timestamp are ordered by it (TopK), as Loki orders them by their labels.
 */
export function outputOrderKey(o: OutputLabels): string {
  if (o.metadata.length === 0 && o.parsed.length === 0) return labelsToString(o.stream);
  const m = new Map<string, string>();
  for (const l of o.stream) m.set(l.name, l.value);
  for (const l of o.metadata) m.set(l.name, l.value);
  for (const l of o.parsed) m.set(l.name, l.value);
  return labelsToString(sortLabels([...m].map(([name, value]) => ({ name, value }))));
}

/** Per-entry line filter over a block (see logql/log/line-filter.ts). */
export interface BlockFilter {
  apply(lines: Buffer, offsets: Int32Array, n: number, sel: Uint8Array): void;
}

/**
 * Query-time deletion (delete requests not yet, or never, applied to stored chunks): clears
 * `sel[i]` for every deleted entry in [lo, hi) of the block; never sets a bit.
 */
export interface BlockDeleter {
  apply(block: DecodedBlock, lo: number, hi: number, sel: Uint8Array): void;
}

/** The deleters of one tenant, per stream (null: nothing of the stream is deleted). */
export interface TenantDeletes {
  forStream(labels: Labels): BlockDeleter | null;
}

/** Counters a query accumulates; reported as Loki's stats object. */
export class ScanStats {
  /**
   * Text the query covered, as Loki's totalBytesProcessed is the logical volume: line bytes and
   * lines of the scanned time range, plus the whole uncompressed payload and entry count of
   * blocks ruled out by their token filter (blocksSkippedByBloom), which were not decompressed.
   */
  bytesProcessed = 0;
  linesProcessed = 0;
  /** Lines that passed every filter. */
  postFilterLines = 0;
  structuredMetadataBytes = 0;
  blocksScanned = 0;
  blocksSkipped = 0;
  /** Blocks in range skipped without decompression because their token filter lacks a required token. */
  blocksSkippedByBloom = 0;
  /** Uncompressed payload bytes of those blocks (also counted in bytesProcessed). */
  bytesSkippedByBloom = 0;
  chunksFetched = 0;
  chunksSkipped = 0;
  compressedBytesFetched = 0;
  /** Entries dropped as copies of others (replicas; Loki's totalDuplicates). */
  duplicates = 0;
  decompressedBytes = 0;
}

/** Reusable per-query scratch: the selection bitmap and the interned result label sets. */
export class ScanContext {
  sel = new Uint8Array(4096);
  /** Result label sets; Candidate.out indexes this. */
  readonly outputs: OutputLabels[] = [];
  /** outputOrderKey of each output. */
  readonly orders: string[] = [];
  private readonly outIndex = new Map<string, number>();

  selection(n: number): Uint8Array {
    if (this.sel.length < n) this.sel = new Uint8Array(Math.max(n, this.sel.length * 2));
    return this.sel;
  }

  /**
   * Index of the label set named `key`, creating it with `make` on first use; `order` is its
   * outputOrderKey when the caller has it (computed otherwise).
   */
  output(key: string, make: () => OutputLabels, order?: string): number {
    let idx = this.outIndex.get(key);
    if (idx === undefined) {
      idx = this.outputs.length;
      const o = make();
      this.outputs.push(o);
      this.orders.push(order ?? outputOrderKey(o));
      this.outIndex.set(key, idx);
    }
    return idx;
  }
}


/**
 * Offers the entries of one block that lie in [startNs, endNs) and pass `filter` to `topk`.
 * Timestamps are compared as numbers relative to the block base; bigint work happens only
 * for entries that may enter the result.
 */
export function scanBlock(
  block: DecodedBlock,
  startNs: bigint,
  endNs: bigint,
  filter: BlockFilter | null,
  deleter: BlockDeleter | null,
  topk: TopK,
  streamLabels: Labels,
  fingerprint: string,
  pipeline: StreamPipeline | null,
  ctx: ScanContext,
  stats: ScanStats,
): void {
  const n = block.n;
  if (n === 0) return;
  const base = block.baseNs;
  const tsRel = block.tsRel;
  const startRel = startNs <= base ? 0 : Number(startNs - base);
  const endRel = endNs <= base ? 0 : Number(endNs - base);
  let lo = startNs <= base ? 0 : lowerBound(tsRel, n, startRel);
  let hi = lowerBound(tsRel, n, endRel);
  if (endNs <= base) hi = 0;
  // Entries that cannot beat the current worst kept entry are cut off by range too.
  if (topk.full()) {
    const w = topk.worstNs();
    if (topk.newest) {
      if (w > base) lo = Math.max(lo, lowerBound(tsRel, n, Number(w - base)));
    } else if (w >= base) hi = Math.min(hi, lowerBound(tsRel, n, Number(w - base) + 1));
    else hi = 0;
  }
  if (lo >= hi) {
    stats.blocksSkipped++;
    return;
  }
  stats.blocksScanned++;
  const offs = block.lineOffsets;
  const lines = block.lines;
  stats.linesProcessed += hi - lo;
  stats.bytesProcessed += offs[hi]! - offs[lo]!;
  const sel = ctx.selection(n);
  sel.fill(0, 0, n);
  sel.fill(1, lo, hi);
  if (filter) filter.apply(lines, offs, n, sel);
  if (deleter) deleter.apply(block, lo, hi, sel);
  // Visit in the order that lets topk fill with the best entries first.
  if (topk.newest) {
    for (let i = hi - 1; i >= lo; i--) if (sel[i] === 1) offer(i);
  } else {
    for (let i = lo; i < hi; i++) if (sel[i] === 1) offer(i);
  }

  function offer(i: number): void {
    const ts = base + BigInt(tsRel[i]!);
    if (!topk.wants(ts)) {
      stats.postFilterLines++;
      return;
    }
    const md = block.metadata(i);
    for (let j = 0; j < md.length; j++) stats.structuredMetadataBytes += md[j]!.name.length + md[j]!.value.length;
    const raw = lines.subarray(offs[i]!, offs[i + 1]!);
    if (pipeline === null) {
      stats.postFilterLines++;
      let key = fingerprint;
      if (md.length > 0) for (const l of md) key += '\u0001' + l.name + '\u0002' + l.value;
      const out = ctx.output(key, () => ({ stream: streamLabels, metadata: md, parsed: NO_LABELS }));
      topk.offer(ts, key, raw, out, ctx.orders[out]!);
      return;
    }
    const r = pipeline.process(ts, raw, md);
    if (r === null) return;
    stats.postFilterLines++;
    // All labels, sorted: the merged result labels, so the key is also the order key.
    const key = labelsToString(r.labels.labels());
    const out = ctx.output(key, () => r.labels.categorized(), key);
    topk.offer(ts, key, r.line, out, key);
  }
}

/**
 * Index range [lo, hi) of a block's entries with `fromNs <= ts <= throughNs` (both
 * inclusive), found by binary search on the sorted `tsRel` column.
 */
export function blockRange(block: DecodedBlock, fromNs: bigint, throughNs: bigint): { lo: number; hi: number } {
  const n = block.n;
  const base = block.baseNs;
  if (throughNs < base) return { lo: 0, hi: 0 };
  const lo = fromNs <= base ? 0 : lowerBound(block.tsRel, n, Number(fromNs - base));
  const hi = lowerBound(block.tsRel, n, Number(throughNs - base) + 1);
  return { lo, hi };
}
