/**
 * The uncompressed, appendable head block of a MemChunk, kept as columns so append does no
 * per-entry allocation: line bytes go into one growing Buffer, timestamps (as number offsets
 * from the first entry's bigint ts), line offsets and metadata symbol ids into typed arrays.
 */
import type { StructuredMetadata } from '../model/stream.js';
import { InvalidError } from '../errors.js';
import type { ByteWriter } from '../util/bytes.js';
import { ColumnarBlock } from './block.js';
import { buildBlockBloom } from './bloom.js';
import { ENTRY_OVERHEAD_BYTES, MAX_BLOCK_SPAN_NS, MAX_TS_NS, METADATA_PAIR_OVERHEAD_BYTES, MIN_TS_NS } from './consts.js';
import type { SymbolTable } from './symbols.js';
import { TsIndex } from './ts-index.js';
import type { DecodedBlock } from './types.js';

// Small first allocations: an ingester holds one head per active stream, and most streams
// hold a few KB of text between flushes (issue #20: per-stream overhead ≤ 4 KB).
const INITIAL_ENTRIES = 16;
const INITIAL_LINE_BYTES = 1024;
const INITIAL_METADATA_IDS = 16;
/** Bytes per entry of the entry columns: a float64 ts and two int32 offsets. */
const ENTRY_COLUMN_BYTES = 16;
/** Line buffers grow by this factor: ~1.2x the text on average instead of ~1.45x when doubling. */
const LINE_GROWTH = 1.5;
/** A reset head keeps columns up to this many line bytes for the next block; bigger ones are freed. */
const KEEP_LINE_BYTES = 64 * 1024;
/** Frozen one-pair metadata arrays remembered per head (detected_level has a handful of values). */
const MD_CACHE_SIZE = 8;
/** Slots per remembered array in `mdCache`: the array, its name's id and its value's id. */
const MD_CACHE_SLOT = 3;

/** Columns of a released head (shared, never written: push() allocates before writing). */
const EMPTY_F64 = new Float64Array(0);
const EMPTY_I32 = new Int32Array(0);
const ZERO_OFFSETS = new Int32Array(1);
const EMPTY_LINES = Buffer.alloc(0);

/**
 * A line buffer of its own: Buffer.allocUnsafe takes sizes under 4 KiB from a shared 8 KiB pool
 * slab, which a single live head would keep whole.
 */
function newLineBuffer(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size);
}

/** The entry columns of `cap` entries, in one ArrayBuffer (one allocation, one backing store per head instead of three). */
interface EntryColumns {
  ts: Float64Array;
  lineOffsets: Int32Array;
  mdOffsets: Int32Array;
}

function newEntryColumns(cap: number): EntryColumns {
  const ab = new ArrayBuffer(cap * ENTRY_COLUMN_BYTES + 8);
  return {
    ts: new Float64Array(ab, 0, cap),
    lineOffsets: new Int32Array(ab, cap * 8, cap + 1),
    mdOffsets: new Int32Array(ab, cap * 12 + 4, cap + 1),
  };
}

/** Owned by one MemChunk; not safe to share. Fields are public for MemChunk only. */
export class HeadBlock {
  /** Entries held. */
  n = 0;
  /** ts of the first entry appended since the last reset; every tsRel is relative to it. */
  baseNs = 0n;
  /** Smallest and largest tsRel (the first entry is 0, so minRel ≤ 0 ≤ maxRel). */
  minRel = 0;
  maxRel = 0;
  /** True while entries arrived in non-decreasing ts order (columns are already sorted). */
  sorted = true;
  /** Estimated uncompressed payload size (see ENTRY_OVERHEAD_BYTES). */
  sizeBytes = 0;
  /** Structured metadata pairs over all entries. */
  mdPairs = 0;

  private ts: Float64Array;
  private lineOffsets: Int32Array;
  private lines: Buffer;
  private mdOffsets: Int32Array;
  private mdIds: Int32Array;
  /** ts → newest entry index with that ts; built on the first out-of-order append, used for duplicate checks. */
  private tsIndex: TsIndex | null = null;
  /** Per entry: previous entry index with the same ts, or -1 (chains of tsIndex). */
  private sameTsPrev: Int32Array | null = null;
  /**
   * Recently pushed frozen one-pair metadata arrays and their symbol ids (symbols belong to this
   * chunk), MD_CACHE_SLOT slots each, in one array (a head is per stream: its size counts).
   */
  private mdCache: (StructuredMetadata | number)[] | null = null;
  private mdCacheNext = 0;
  /** A snapshot holds views of the columns: reset must not overwrite them. */
  private shared = false;
  /** Bytes of the columns (allocatedBytes), counted when they change: read for every stream by memory accounting and /metrics. */
  private columnBytes = 0;
  /** How far tsRel may go above/below 0 before the ts leaves the int64 range. */
  private headroomHi = 0;
  private headroomLo = 0;

  constructor() {
    ({ ts: this.ts, lineOffsets: this.lineOffsets, mdOffsets: this.mdOffsets } = newEntryColumns(INITIAL_ENTRIES));
    this.lines = newLineBuffer(INITIAL_LINE_BYTES);
    // Allocated by the first entry with metadata.
    this.mdIds = EMPTY_I32;
    this.countColumns();
  }

  /** Bytes of the columns this head holds (capacity, not content), for memory accounting. */
  allocatedBytes(): number {
    return this.columnBytes;
  }

  /** Counts the columns' bytes after any of them changed. */
  private countColumns(): void {
    this.columnBytes = this.lines.length + this.ts.byteLength + this.lineOffsets.byteLength + this.mdOffsets.byteLength + this.mdIds.byteLength;
  }

  /**
   * Frees the columns of an empty head that takes no more appends (its chunk is closed): a
   * closed chunk waiting for its flush or its retain period then holds only its cut blocks.
   * A later push() grows them again. Snapshots keep their own views. The metadata cache goes
   * too (a later push remembers arrays again).
   */
  release(): void {
    if (this.n !== 0) return;
    this.ts = EMPTY_F64;
    this.lineOffsets = ZERO_OFFSETS;
    this.lines = EMPTY_LINES;
    this.mdOffsets = ZERO_OFFSETS;
    this.mdIds = EMPTY_I32;
    this.shared = false;
    this.mdCache = null;
    this.mdCacheNext = 0;
    this.countColumns();
  }

  /** Starts an empty head at `tsNs` (the next push uses rel 0). Throws InvalidError outside int64. */
  start(tsNs: bigint): void {
    if (tsNs < MIN_TS_NS || tsNs > MAX_TS_NS) throw new InvalidError(`timestamp ${tsNs} ns is outside the signed 64-bit range`);
    this.baseNs = tsNs;
    this.minRel = 0;
    this.maxRel = 0;
    this.headroomHi = Number(MAX_TS_NS - tsNs);
    this.headroomLo = Number(tsNs - MIN_TS_NS);
  }

  /** Whether an entry at `rel` keeps the block span within MAX_BLOCK_SPAN_NS and its ts within int64. */
  fits(rel: number): boolean {
    const lo = rel < this.minRel ? rel : this.minRel;
    const hi = rel > this.maxRel ? rel : this.maxRel;
    return hi - lo <= MAX_BLOCK_SPAN_NS && rel <= this.headroomHi && -rel <= this.headroomLo;
  }

  /** Whether an entry with this ts and these exact line bytes is already held. */
  isDuplicate(rel: number, line: Uint8Array): boolean {
    if (rel > this.maxRel || this.n === 0) return false;
    if (this.tsIndex === null) {
      if (rel === this.maxRel) {
        // Still sorted: equal timestamps sit together at the tail.
        const ts = this.ts;
        for (let j = this.n - 1; j >= 0 && ts[j] === rel; j--) if (this.lineEquals(j, line)) return true;
        return false;
      }
      this.buildIndex();
    }
    const prev = this.sameTsPrev!;
    for (let j = this.tsIndex!.get(rel); j >= 0; j = prev[j]!) if (this.lineEquals(j, line)) return true;
    return false;
  }

  /** Appends one entry (copying `line`); the caller checked fits() and isDuplicate(). */
  push(rel: number, line: Uint8Array, metadata: StructuredMetadata, symbols: SymbolTable): void {
    const n = this.n;
    if (n === this.ts.length) this.growEntries();
    const off = this.lineOffsets[n]!;
    const len = line.length;
    if (off + len > this.lines.length) this.growLines(off + len);
    this.lines.set(line, off);

    let mdEnd = this.mdOffsets[n]!;
    const pairs = metadata.length;
    if (pairs > 0) {
      if (mdEnd + pairs * 2 > this.mdIds.length) this.growMetadata(mdEnd + pairs * 2);
      const ids = this.mdIds;
      const slot = pairs === 1 ? this.cachedSlot(metadata) : -1;
      if (slot >= 0) {
        // A frozen array pushed before (e.g. a shared detected_level pair): reuse its ids.
        const cache = this.mdCache!;
        ids[mdEnd++] = cache[slot + 1] as number;
        ids[mdEnd++] = cache[slot + 2] as number;
      } else {
        for (let k = 0; k < pairs; k++) {
          const p = metadata[k]!;
          ids[mdEnd++] = symbols.intern(p.name);
          ids[mdEnd++] = symbols.intern(p.value);
        }
        if (pairs === 1 && Object.isFrozen(metadata)) this.rememberIds(metadata, ids[mdEnd - 2]!, ids[mdEnd - 1]!);
      }
      this.mdPairs += pairs;
    }

    // Only intern() above can throw, and nothing is visible until n moves: commit the entry.
    this.ts[n] = rel;
    this.lineOffsets[n + 1] = off + len;
    this.mdOffsets[n + 1] = mdEnd;
    if (n > 0 && rel < this.maxRel) {
      if (this.tsIndex === null) this.buildIndex();
      this.sorted = false;
    }
    if (this.tsIndex !== null) {
      this.sameTsPrev![n] = this.tsIndex.set(rel, n);
    }
    if (rel < this.minRel) this.minRel = rel;
    if (rel > this.maxRel) this.maxRel = rel;
    this.sizeBytes += len + ENTRY_OVERHEAD_BYTES + pairs * METADATA_PAIR_OVERHEAD_BYTES;
    this.n = n + 1;
  }

  /** Where `md` is remembered in mdCache, or -1. */
  private cachedSlot(md: StructuredMetadata): number {
    const cache = this.mdCache;
    if (cache === null) return -1;
    for (let i = 0; i < cache.length; i += MD_CACHE_SLOT) if (cache[i] === md) return i;
    return -1;
  }

  private rememberIds(md: StructuredMetadata, nameId: number, valueId: number): void {
    // Filled up to MD_CACHE_SIZE as needed (most heads see one or two arrays), then round robin.
    const cache = this.mdCache;
    if (cache === null) {
      // Exactly one slot: most heads never see a second array.
      this.mdCache = [md, nameId, valueId];
      return;
    }
    if (cache.length < MD_CACHE_SIZE * MD_CACHE_SLOT) {
      cache.push(md, nameId, valueId);
      return;
    }
    const i = this.mdCacheNext;
    cache[i] = md;
    cache[i + 1] = nameId;
    cache[i + 2] = valueId;
    this.mdCacheNext = (i + MD_CACHE_SLOT) % (MD_CACHE_SIZE * MD_CACHE_SLOT);
  }

  /** Empties the head for reuse, keeping allocations unless a snapshot still views them. */
  reset(): void {
    this.n = 0;
    this.sorted = true;
    this.sizeBytes = 0;
    this.mdPairs = 0;
    this.tsIndex = null;
    this.sameTsPrev = null;
    // Columns grown for a big block go back to the first size: an idle stream should not hold a
    // whole block's capacity until its next cut.
    if (this.shared || this.lines.length > KEEP_LINE_BYTES || this.ts === EMPTY_F64) {
      ({ ts: this.ts, lineOffsets: this.lineOffsets, mdOffsets: this.mdOffsets } = newEntryColumns(INITIAL_ENTRIES));
      this.lines = newLineBuffer(INITIAL_LINE_BYTES);
      this.mdIds = EMPTY_I32;
      this.shared = false;
      this.countColumns();
    }
    this.lineOffsets[0] = 0;
    this.mdOffsets[0] = 0;
  }

  /**
   * Sorted columnar view (null when empty). When entries arrived in order it shares the
   * columns (no copy; later appends and resets never touch the viewed ranges), otherwise it
   * builds sorted copies.
   */
  snapshot(symbols: readonly string[]): DecodedBlock | null {
    const n = this.n;
    if (n === 0) return null;
    const hasMd = this.mdPairs > 0;
    if (this.sorted) {
      this.shared = true;
      return new ColumnarBlock(
        n,
        this.baseNs,
        this.ts.subarray(0, n),
        this.lineOffsets.subarray(0, n + 1),
        this.lines.subarray(0, this.lineOffsets[n]!),
        hasMd ? this.mdOffsets.subarray(0, n + 1) : null,
        hasMd ? this.mdIds.subarray(0, this.mdOffsets[n]!) : null,
        symbols,
      );
    }
    const order = this.sortedOrder();
    const ts = this.ts;
    const lo = this.lineOffsets;
    const minRel = this.minRel;
    const tsRel = new Float64Array(n);
    const lineOffsets = new Int32Array(n + 1);
    const lines = Buffer.allocUnsafe(lo[n]!);
    let pos = 0;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      tsRel[k] = ts[i]! - minRel;
      pos += this.lines.copy(lines, pos, lo[i]!, lo[i + 1]!);
      lineOffsets[k + 1] = pos;
    }
    let mdOffsets: Int32Array | null = null;
    let mdIds: Int32Array | null = null;
    if (hasMd) {
      const mo = this.mdOffsets;
      const src = this.mdIds;
      mdOffsets = new Int32Array(n + 1);
      mdIds = new Int32Array(this.mdPairs * 2);
      let m = 0;
      for (let k = 0; k < n; k++) {
        const i = order[k]!;
        for (let j = mo[i]!, e = mo[i + 1]!; j < e; j++) mdIds[m++] = src[j]!;
        mdOffsets[k + 1] = m;
      }
    }
    return new ColumnarBlock(n, this.baseNs + BigInt(minRel), tsRel, lineOffsets, lines, mdOffsets, mdIds, symbols);
  }

  /** Writes the sorted block payload (FORMAT.md "Block payload"). Requires n > 0. */
  encodeTo(w: ByteWriter): void {
    const n = this.n;
    const order = this.sorted ? null : this.sortedOrder();
    const ts = this.ts;
    const lo = this.lineOffsets;
    w.uvarint(n);
    let prev = this.minRel;
    for (let k = 0; k < n; k++) {
      const t = ts[order === null ? k : order[k]!]!;
      w.uvarint(t - prev);
      prev = t;
    }
    for (let k = 0; k < n; k++) {
      const i = order === null ? k : order[k]!;
      w.uvarint(lo[i + 1]! - lo[i]!);
    }
    const total = lo[n]!;
    w.ensure(total);
    if (order === null) {
      this.lines.copy(w.buf, w.length, 0, total);
    } else {
      let pos = w.length;
      for (let k = 0; k < n; k++) {
        const i = order[k]!;
        pos += this.lines.copy(w.buf, pos, lo[i]!, lo[i + 1]!);
      }
    }
    w.length += total;
    w.uvarint(this.mdPairs);
    if (this.mdPairs > 0) {
      const mo = this.mdOffsets;
      const ids = this.mdIds;
      for (let k = 0; k < n; k++) {
        const i = order === null ? k : order[k]!;
        const s = mo[i]!;
        const e = mo[i + 1]!;
        w.uvarint((e - s) >> 1);
        for (let j = s; j < e; j++) w.uvarint(ids[j]!);
      }
    }
  }

  /** The token bloom filter of every line held (order does not matter), or null when there are too many distinct tokens. */
  buildBloom(): Buffer | null {
    return buildBlockBloom(this.lines, this.lineOffsets, this.n);
  }

  /** Entry indexes in ts order; ties keep append order. */
  private sortedOrder(): Int32Array {
    const n = this.n;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const ts = this.ts;
    order.sort((a, b) => ts[a]! - ts[b]! || a - b);
    return order;
  }

  private lineEquals(j: number, line: Uint8Array): boolean {
    const s = this.lineOffsets[j]!;
    const e = this.lineOffsets[j + 1]!;
    return e - s === line.length && this.lines.compare(line, 0, line.length, s, e) === 0;
  }

  private buildIndex(): void {
    const n = this.n;
    const index = new TsIndex(Math.max(n, 64));
    const prev = new Int32Array(this.ts.length);
    const ts = this.ts;
    for (let i = 0; i < n; i++) prev[i] = index.set(ts[i]!, i);
    this.tsIndex = index;
    this.sameTsPrev = prev;
  }

  private growEntries(): void {
    if (this.ts === EMPTY_F64) this.reset();
    if (this.n < this.ts.length) return;
    const cap = this.ts.length * 2;
    const next = newEntryColumns(cap);
    next.ts.set(this.ts);
    next.lineOffsets.set(this.lineOffsets);
    next.mdOffsets.set(this.mdOffsets);
    ({ ts: this.ts, lineOffsets: this.lineOffsets, mdOffsets: this.mdOffsets } = next);
    if (this.sameTsPrev !== null) {
      const p = new Int32Array(cap);
      p.set(this.sameTsPrev);
      this.sameTsPrev = p;
    }
    this.countColumns();
  }

  private growLines(need: number): void {
    let size = Math.max(INITIAL_LINE_BYTES, Math.ceil(this.lines.length * LINE_GROWTH));
    while (size < need) size = Math.ceil(size * LINE_GROWTH);
    const next = newLineBuffer(size);
    this.lines.copy(next, 0, 0, this.lineOffsets[this.n]!);
    this.lines = next;
    this.countColumns();
  }

  private growMetadata(need: number): void {
    let size = Math.max(INITIAL_METADATA_IDS, this.mdIds.length * 2);
    while (size < need) size *= 2;
    const next = new Int32Array(size);
    next.set(this.mdIds.subarray(0, this.mdOffsets[this.n]!));
    this.mdIds = next;
    this.countColumns();
  }
}
