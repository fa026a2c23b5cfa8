/**
 * Entry-level merge of overlapping copies of one stream (replicas, chunks cut differently),
 * dropping exact duplicates: per timestamp, each distinct (line, structured metadata) is kept
 * as many times as the source holding it most often holds it. A line pushed twice on purpose
 * is kept twice; the same line held by three replicas is kept once.
 *
 * Entries are addressed, not copied, until the output is built: a sort of entry numbers by
 * timestamp (numbers relative to the earliest block, exact below 2^53 ns), and line bytes
 * compared in place only between entries of the same timestamp.
 */
import { EMPTY_METADATA, type DecodedBlock } from '../chunk/index.js';
import type { StructuredMetadata } from '../model/index.js';

/** Entries per merged block (the scan's selection bitmaps stay small). */
const MERGED_BLOCK_ENTRIES = 8192;
/** Largest ts span of a merged block, so ts - base stays an exact double. */
const MAX_SPAN_NS = 1n << 50n;
/** Largest span of one merge whose timestamps are compared as doubles relative to its start. */
const MAX_EXACT_SPAN_NS = 1n << 52n;
/** Most sources merged k ways (a linear pick per entry); more are sorted. */
const KWAY_SOURCES = 8;
/** Entries of one timestamp compared pairwise; more are grouped by a string key. */
const PAIRWISE_GROUP = 16;

/** The entries of all sources, addressed by number: source, block and row of entry k. */
interface Entries {
  readonly blocks: DecodedBlock[];
  /** Per entry: index into `blocks`, row in that block, source, ts relative to `baseNs`. */
  readonly block: Int32Array;
  readonly row: Int32Array;
  readonly src: Int32Array;
  readonly rel: Float64Array;
  readonly baseNs: bigint;
  /**
   * Null when the merge spans less than 2^52 ns (`rel` is then ts - baseNs exactly). Otherwise
   * ts - baseNs as bigints, and `rel` only ranks the timestamps (equal ts, equal rank).
   */
  readonly exact: BigInt64Array | null;
}

/** ts - baseNs of entry k. */
function delta(all: Entries, k: number): bigint {
  return all.exact === null ? BigInt(all.rel[k]!) : all.exact[k]!;
}

/** Merges `sources` (each a list of blocks) into sorted blocks without cross-source duplicates. */
export function mergeDedup(sources: readonly (readonly DecodedBlock[])[]): { blocks: DecodedBlock[]; duplicates: number } {
  const all = collect(sources);
  const n = all.rel.length;
  if (n === 0) return { blocks: [], duplicates: 0 };
  // Stable: equal timestamps keep source order, then each source's own order (entry numbers
  // were assigned in that order).
  const rel = all.rel;
  const order = sortedOrder(all, sources.length);
  const kept = new Uint32Array(n);
  let nk = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    const t = rel[order[i]!]!;
    while (j < n && rel[order[j]!]! === t) j++;
    if (j - i === 1) kept[nk++] = order[i]!;
    else nk = dedupGroup(all, order, i, j, kept, nk, sources.length);
    i = j;
  }
  const blocks: DecodedBlock[] = [];
  for (let i = 0; i < nk; ) {
    const first = delta(all, kept[i]!);
    let j = i;
    while (j < nk && j - i < MERGED_BLOCK_ENTRIES && delta(all, kept[j]!) - first < MAX_SPAN_NS) j++;
    blocks.push(new EntriesBlock(all, kept.subarray(i, j)));
    i = j;
  }
  return { blocks, duplicates: n - nk };
}

/**
 * Entry numbers sorted by timestamp, ties in number order. Sources whose entries are already
 * in order (the usual case: a replica's blocks follow each other) are merged k ways; otherwise
 * all numbers are sorted.
 */
function sortedOrder(all: Entries, nsrc: number): Uint32Array {
  const rel = all.rel;
  const n = rel.length;
  const order = new Uint32Array(n);
  // Each source's range of entry numbers, and whether it is in order.
  const next = new Int32Array(nsrc + 1).fill(-1);
  const end = new Int32Array(nsrc);
  let sorted = true;
  for (let k = 0; k < n; k++) {
    const s = all.src[k]!;
    if (next[s] === -1) next[s] = k;
    end[s] = k + 1;
    if (k > 0 && all.src[k - 1] === s && rel[k - 1]! > rel[k]!) sorted = false;
  }
  if (!sorted || nsrc > KWAY_SOURCES) {
    for (let k = 0; k < n; k++) order[k] = k;
    order.sort((a, b) => rel[a]! - rel[b]! || a - b);
    return order;
  }
  for (let o = 0; o < n; o++) {
    // The smallest head; ties go to the lowest source, which holds the lower numbers.
    let best = -1;
    let bestTs = 0;
    for (let s = 0; s < nsrc; s++) {
      const k = next[s]!;
      if (k < 0 || k >= end[s]!) continue;
      const t = rel[k]!;
      if (best < 0 || t < bestTs) {
        best = s;
        bestTs = t;
      }
    }
    order[o] = next[best]!;
    next[best]!++;
  }
  return order;
}

/** Numbers every entry of every source (source-major, then block, then row). */
function collect(sources: readonly (readonly DecodedBlock[])[]): Entries {
  let n = 0;
  let base: bigint | null = null;
  let last: bigint | null = null;
  const blocks: DecodedBlock[] = [];
  for (const bs of sources) {
    for (const b of bs) {
      if (b.n === 0) continue;
      blocks.push(b);
      n += b.n;
      const end = b.baseNs + BigInt(b.tsRel[b.n - 1]!);
      if (base === null || b.baseNs < base) base = b.baseNs;
      if (last === null || end > last) last = end;
    }
  }
  const baseNs = base ?? 0n;
  const wide = last !== null && last - baseNs >= MAX_EXACT_SPAN_NS;
  const out: Entries = { blocks, block: new Int32Array(n), row: new Int32Array(n), src: new Int32Array(n), rel: new Float64Array(n), baseNs, exact: wide ? new BigInt64Array(n) : null };
  let k = 0;
  let bi = 0;
  sources.forEach((bs, s) => {
    for (const b of bs) {
      if (b.n === 0) continue;
      const off = Number(b.baseNs - baseNs);
      for (let i = 0; i < b.n; i++, k++) {
        out.block[k] = bi;
        out.row[k] = i;
        out.src[k] = s;
        out.rel[k] = off + b.tsRel[i]!;
        if (out.exact !== null) out.exact[k] = b.baseNs - baseNs + BigInt(b.tsRel[i]!);
      }
      bi++;
    }
  });
  if (out.exact !== null) {
    // Too wide for doubles: rank the exact timestamps instead.
    const exact = out.exact;
    const byTs = Array.from({ length: n }, (_, k) => k).sort((a, b) => (exact[a]! < exact[b]! ? -1 : exact[a]! > exact[b]! ? 1 : 0));
    let rank = 0;
    byTs.forEach((k, i) => {
      if (i > 0 && exact[k] !== exact[byTs[i - 1]!]) rank++;
      out.rel[k] = rank;
    });
  }
  return out;
}

/** Whether entries a and b hold the same line and structured metadata. */
function sameEntry(all: Entries, a: number, b: number): boolean {
  const ba = all.blocks[all.block[a]!]!;
  const bb = all.blocks[all.block[b]!]!;
  const ra = all.row[a]!;
  const rb = all.row[b]!;
  const sa = ba.lineOffsets[ra]!;
  const la = ba.lineOffsets[ra + 1]! - sa;
  const sb = bb.lineOffsets[rb]!;
  const lb = bb.lineOffsets[rb + 1]! - sb;
  if (la !== lb || ba.lines.compare(bb.lines, sb, sb + lb, sa, sa + la) !== 0) return false;
  return metadataKey(ba.metadata(ra)) === metadataKey(bb.metadata(rb));
}

function metadataKey(md: StructuredMetadata): string {
  return md.length === 0 ? '' : md.map((l) => `${l.name}\u0001${l.value}`).join('\u0002');
}

function entryKey(all: Entries, k: number): string {
  const b = all.blocks[all.block[k]!]!;
  const r = all.row[k]!;
  return b.lines.toString('latin1', b.lineOffsets[r]!, b.lineOffsets[r + 1]!) + '\u0000' + metadataKey(b.metadata(r));
}

/**
 * Entries order[i..j) share one timestamp: appends to `kept` each distinct (line, metadata) as
 * many times as the source holding it most often holds it, in order of appearance.
 */
function dedupGroup(all: Entries, order: Uint32Array, i: number, j: number, kept: Uint32Array, nk: number, nsrc: number): number {
  const size = j - i;
  // The usual group: one entry held once by each of several replicas.
  let distinctSources = true;
  let allSame = true;
  const first = order[i]!;
  for (let a = 1; a < size && allSame; a++) {
    const k = order[i + a]!;
    for (let b = 0; b < a; b++) if (all.src[order[i + b]!] === all.src[k]) distinctSources = false;
    if (!distinctSources || !sameEntry(all, first, k)) allSame = false;
  }
  if (allSame) {
    kept[nk++] = first;
    return nk;
  }
  // The representative of each entry's class (an index into order[i..j)), and per class the
  // count held by each source.
  const rep = new Int32Array(size);
  const counts = new Map<number, Int32Array>();
  if (size <= PAIRWISE_GROUP) {
    for (let a = 0; a < size; a++) {
      rep[a] = a;
      for (let b = 0; b < a; b++) {
        if (rep[b] === b && sameEntry(all, order[i + a]!, order[i + b]!)) {
          rep[a] = b;
          break;
        }
      }
    }
  } else {
    const first = new Map<string, number>();
    for (let a = 0; a < size; a++) {
      const key = entryKey(all, order[i + a]!);
      const f = first.get(key);
      if (f === undefined) first.set(key, a);
      rep[a] = f ?? a;
    }
  }
  for (let a = 0; a < size; a++) {
    let c = counts.get(rep[a]!);
    if (!c) counts.set(rep[a]!, (c = new Int32Array(nsrc)));
    c[all.src[order[i + a]!]!]!++;
  }
  const emitted = new Map<number, number>();
  for (let a = 0; a < size; a++) {
    const r = rep[a]!;
    let max = 0;
    for (const v of counts.get(r)!) if (v > max) max = v;
    const e = emitted.get(r) ?? 0;
    if (e < max) {
      kept[nk++] = order[i + a]!;
      emitted.set(r, e + 1);
    }
  }
  return nk;
}

/** A DecodedBlock over merged entries (sorted by ts): line bytes copied, metadata read from the sources. */
class EntriesBlock implements DecodedBlock {
  readonly n: number;
  readonly baseNs: bigint;
  readonly tsRel: Float64Array;
  readonly lineOffsets: Int32Array;
  readonly lines: Buffer;
  readonly #all: Entries;
  readonly #entries: Uint32Array;

  constructor(all: Entries, entries: Uint32Array) {
    this.n = entries.length;
    this.#all = all;
    this.#entries = entries.slice();
    const first = delta(all, entries[0]!);
    this.baseNs = all.baseNs + first;
    this.tsRel = new Float64Array(this.n);
    this.lineOffsets = new Int32Array(this.n + 1);
    let bytes = 0;
    for (let i = 0; i < this.n; i++) {
      const k = entries[i]!;
      this.tsRel[i] = all.exact === null ? all.rel[k]! - Number(first) : Number(all.exact[k]! - first);
      const b = all.blocks[all.block[k]!]!;
      const r = all.row[k]!;
      bytes += b.lineOffsets[r + 1]! - b.lineOffsets[r]!;
      this.lineOffsets[i + 1] = bytes;
    }
    this.lines = Buffer.allocUnsafe(bytes);
    for (let i = 0; i < this.n; i++) {
      const k = entries[i]!;
      const b = all.blocks[all.block[k]!]!;
      const r = all.row[k]!;
      b.lines.copy(this.lines, this.lineOffsets[i]!, b.lineOffsets[r]!, b.lineOffsets[r + 1]!);
    }
  }

  metadata(i: number): StructuredMetadata {
    const k = this.#entries[i]!;
    const md = this.#all.blocks[this.#all.block[k]!]!.metadata(this.#all.row[k]!);
    return md.length === 0 ? EMPTY_METADATA : md;
  }
}
