/**
 * The uncompressed, appendable head block of a MemChunk, kept as columns so append does no
 * per-entry allocation: timestamps (as number offsets from the first entry's bigint ts), line
 * offsets, metadata offsets, metadata symbol ids and line bytes, all in one ArrayBuffer that
 * grows as a whole (see `HeadBlock.layout`).
 */
import type { StructuredMetadata } from '../model/stream.js';
import { InvalidError } from '../errors.js';
import type { ByteWriter } from '../util/bytes.js';
import { ColumnarBlock } from './block.js';
import { buildBlockBloom } from './bloom.js';
import type { ColumnPool } from './column-pool.js';
import { ENTRY_OVERHEAD_BYTES, MAX_BLOCK_SPAN_NS, MAX_TS_NS, METADATA_PAIR_OVERHEAD_BYTES, MIN_TS_NS } from './consts.js';
import type { SymbolTable } from './symbols.js';
import { TsIndex } from './ts-index.js';
import type { DecodedBlock } from './types.js';

// Small first allocations: an ingester holds one head per active stream, and most streams
// hold a few KB of text between flushes (issue #20: per-stream overhead ≤ 4 KB).
const INITIAL_ENTRIES = 16;
/**
 * Smallest line region; it grows by LINE_GROWTH from there. Smaller first regions saved ~180
 * bytes per stream at 20k streams but cost ~0.5 µs per entry of a stream's first 12: every
 * growth allocates an ArrayBuffer (~1 µs), however small.
 */
const MIN_LINE_BYTES = 1024;
const INITIAL_METADATA_IDS = 16;
/** The line region grows by this factor: ~1.2x the text on average instead of ~1.45x when doubling. */
const LINE_GROWTH = 1.5;
/** fittedBytes proposes a move only to save at least this many bytes, and this fraction of the columns. */
const SHRINK_MIN_SLACK_BYTES = 256;
const SHRINK_MIN_SLACK = 0.125;
/** Bytes of a head's columns for `cap` entries, `idCap` metadata ids and `lineCap` line bytes, rounded up to 8 (regions in a shared buffer stay aligned). */
export function columnRegionBytes(cap: number, idCap: number, lineCap: number): number {
  return (cap * 8 + (2 * cap + 2 + idCap) * 4 + lineCap + 7) & ~7;
}
/** A reset head keeps columns up to this many bytes for the next block; bigger ones are freed. */
const KEEP_COLUMN_BYTES = 64 * 1024;
/** Frozen one-pair metadata arrays remembered per head (detected_level has a handful of values). */
const MD_CACHE_SIZE = 8;
/** Slots per remembered array in `mdCache`: the array, its name's id and its value's id. */
const MD_CACHE_SLOT = 3;

/** MAX_BLOCK_SPAN_NS as a bigint. */
const SPAN_NS = BigInt(MAX_BLOCK_SPAN_NS);

/** `cachedSlot`'s answer for the array in `md1`. */
const FIRST_SLOT = -2;

/**
 * Columns of a head without an allocation (new, released, or reset after a snapshot): shared and
 * never written, since push() lays columns out before writing (capacity 0). ZERO_INTS holds the
 * first line offset and the first metadata offset (both 0).
 */
const EMPTY_F64 = new Float64Array(0);
const ZERO_INTS = new Int32Array(2);
const EMPTY_LINES = Buffer.alloc(0);

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

  /**
   * The columns, three views of one ArrayBuffer (an ArrayBuffer and a view cost ~200 and ~100
   * bytes each beyond their data; a head has one per active stream: issue #20 goal 4):
   * - `ts`: tsRel per entry, capacity `cap` (= ts.length);
   * - `ints`: line offsets at [0, cap], metadata offsets at [mo, mo + cap] (mo = cap + 1),
   *   metadata symbol ids from mi (= 2 cap + 2) to its end;
   * - `lines`: the line bytes.
   */
  private ts: Float64Array = EMPTY_F64;
  private ints: Int32Array = ZERO_INTS;
  private mo = 1;
  private mi = 2;
  private lines: Buffer = EMPTY_LINES;
  /** ts → newest entry index with that ts; built on the first out-of-order append, used for duplicate checks. */
  private tsIndex: TsIndex | null = null;
  /** Per entry: previous entry index with the same ts, or -1 (chains of tsIndex). */
  private sameTsPrev: Int32Array | null = null;
  /**
   * The first frozen one-pair metadata array pushed and its symbol ids (symbols belong to this
   * chunk), in fields: most heads only ever see one or two (a head is per stream: an array for
   * one slot cost ~130 bytes of it).
   */
  private md1: StructuredMetadata | null = null;
  private md1Name = 0;
  private md1Value = 0;
  /** Further remembered arrays and their ids, MD_CACHE_SLOT slots each, in one array. */
  private mdCache: (StructuredMetadata | number)[] | null = null;
  private mdCacheNext = 0;
  /** A snapshot holds views of the columns: reset must not overwrite them. */
  private shared = false;
  /** Bytes of the columns (allocatedBytes), counted when they change: read for every stream by memory accounting and /metrics. */
  private columnBytes = 0;
  /**
   * baseNs is within MAX_BLOCK_SPAN_NS of the int64 range's ends, so a rel that keeps the span
   * may still leave the range (checked with bigints then; elsewhere the span check is enough,
   * and two number fields of int64 headroom cost every head two heap numbers).
   */
  private nearInt64Edge = false;
  /**
   * A sleeping head's columns (see sleep()): their buffer, where they start in it, and the
   * lengths of `ints` and `lines` (`ts` holds mo - 1 entries). Null while awake.
   */
  private sleepBuf: ArrayBuffer | null = null;
  private sleepAt = 0;
  private sleepInts = 0;
  private sleepLines = 0;

  /** Bytes of the columns this head holds (capacity, not content), for memory accounting. */
  allocatedBytes(): number {
    return this.columnBytes;
  }

  /**
   * Hands the columns' buffer to `pool` when it held this head's columns alone and no snapshot
   * views it (ColumnPool's rule); the caller stops using it. A buffer shared by quiet heads
   * (fitInto) is longer than one head's columns unless it holds only this one.
   */
  private giveColumns(pool: ColumnPool | null): void {
    if (pool === null || this.shared) return;
    const buf = this.sleepBuf ?? (this.ts.buffer as ArrayBuffer);
    if (buf.byteLength === this.columnBytes) pool.give(buf);
  }

  /** No columns: the next push() lays them out. The old ones go to `pool` (giveColumns). */
  private dropColumns(pool: ColumnPool | null): void {
    this.giveColumns(pool);
    this.sleepBuf = null;
    this.ts = EMPTY_F64;
    this.ints = ZERO_INTS;
    this.mo = 1;
    this.mi = 2;
    this.lines = EMPTY_LINES;
    this.shared = false;
    this.columnBytes = 0;
  }

  /**
   * Moves the columns into one new ArrayBuffer with room for `cap` entries, `idCap` metadata ids
   * and `lineCap` line bytes (one from `pool` when it holds that size), copying what the head
   * holds; or, given `into`, into the region of `columnRegionBytes(cap, idCap, lineCap)` bytes at
   * `at` of that buffer (8-aligned). The old columns go to `pool` (giveColumns).
   */
  private layout(cap: number, idCap: number, lineCap: number, pool: ColumnPool | null, into?: ArrayBuffer, at = 0): void {
    const n = this.n;
    const ints = this.ints;
    const lineEnd = ints[n]!;
    const mdEnd = ints[this.mo + n]!;
    const intCount = 2 * cap + 2 + idCap;
    const bytes = cap * 8 + intCount * 4 + lineCap;
    // Not from Node's pool (allocUnsafe takes small sizes from a shared 8 KiB slab a single live
    // head would keep whole), and not zeroed: every byte read is written first.
    const ab = into ?? pool?.take(bytes) ?? Buffer.allocUnsafeSlow(bytes).buffer;
    const ts = new Float64Array(ab, at, cap);
    const next = new Int32Array(ab, at + cap * 8, intCount);
    const lines = Buffer.from(ab, at + cap * 8 + intCount * 4, lineCap);
    const mo = cap + 1;
    const mi = 2 * cap + 2;
    ts.set(this.ts.subarray(0, n));
    next.set(ints.subarray(0, n + 1));
    next.set(ints.subarray(this.mo, this.mo + n + 1), mo);
    next.set(ints.subarray(this.mi, this.mi + mdEnd), mi);
    this.lines.copy(lines, 0, 0, lineEnd);
    this.giveColumns(pool);
    if (this.sameTsPrev !== null && this.sameTsPrev.length < cap) {
      const p = new Int32Array(cap);
      p.set(this.sameTsPrev);
      this.sameTsPrev = p;
    }
    this.ts = ts;
    this.ints = next;
    this.mo = mo;
    this.mi = mi;
    this.lines = lines;
    this.shared = false;
    this.columnBytes = into === undefined ? bytes : columnRegionBytes(cap, idCap, lineCap);
  }

  /** Lays the columns out again with room for one more entry of `lineBytes` line bytes and `ids` metadata ids. */
  private grow(lineBytes: number, ids: number, pool: ColumnPool | null): void {
    const n = this.n;
    let cap = this.ts.length;
    if (n === cap) cap = cap === 0 ? INITIAL_ENTRIES : cap * 2;
    const needIds = this.ints[this.mo + n]! + ids;
    let idCap = this.ints.length - this.mi;
    if (needIds > idCap) {
      idCap = Math.max(INITIAL_METADATA_IDS, idCap * 2);
      while (idCap < needIds) idCap *= 2;
    }
    const needLines = this.ints[n]! + lineBytes;
    let lineCap = this.lines.length;
    if (needLines > lineCap) {
      lineCap = Math.max(MIN_LINE_BYTES, Math.ceil(lineCap * LINE_GROWTH));
      while (lineCap < needLines) lineCap = Math.ceil(lineCap * LINE_GROWTH);
    }
    this.layout(cap, idCap, lineCap, pool);
  }

  /**
   * Bytes of the columns laid out at the size of what they hold (a `columnRegionBytes`), when
   * that would give up at least SHRINK_MIN_SLACK_BYTES and a fraction SHRINK_MIN_SLACK of them;
   * else 0. For a head whose stream went quiet, which would otherwise keep up to a third of its
   * columns empty until its chunk is flushed (chunk_idle_period).
   */
  fittedBytes(): number {
    const n = this.n;
    // A sleeping head was laid out at its size before it slept, or had too little slack to.
    if (n === 0 || this.sleepBuf !== null) return 0;
    const ints = this.ints;
    const exact = columnRegionBytes(n, ints[this.mo + n]!, ints[n]!);
    const slack = this.columnBytes - exact;
    return slack < SHRINK_MIN_SLACK_BYTES || slack < this.columnBytes * SHRINK_MIN_SLACK ? 0 : exact;
  }

  /**
   * Lays the columns out at the size of what they hold, in the `fittedBytes()` bytes at `at`
   * (8-aligned) of `into`, a buffer shared with other quiet heads: laid out one next to the
   * other, the old columns they leave are free memory in whole pages that malloc can hand back
   * (ADR 0036), where one new buffer per head would land in the holes between live ones. The
   * next push grows them into a buffer of their own again; the shared one goes when the last
   * head in it has moved on. Snapshots keep their own views. Answers the bytes given up.
   */
  fitInto(into: ArrayBuffer, at: number): number {
    this.wake();
    const n = this.n;
    const ints = this.ints;
    const before = this.columnBytes;
    // The old columns go to the collector, not to a pool: freeing them is the point.
    this.layout(n, ints[this.mo + n]!, ints[n]!, null, into, at);
    return before - this.columnBytes;
  }

  /**
   * Drops the three column views of a quiet head and keeps where its columns are (~290 bytes of
   * JS heap per head: at 50k quiet streams ~14 MB). Every method that reads or writes the
   * columns wakes the head first (new views over the same memory). Answers whether it slept.
   */
  sleep(): boolean {
    if (this.n === 0 || this.sleepBuf !== null) return false;
    const ts = this.ts;
    this.sleepBuf = ts.buffer as ArrayBuffer;
    this.sleepAt = ts.byteOffset;
    this.sleepInts = this.ints.length;
    this.sleepLines = this.lines.length;
    this.ts = EMPTY_F64;
    this.ints = ZERO_INTS;
    this.lines = EMPTY_LINES;
    return true;
  }

  /** Views of a sleeping head's columns again (no-op when awake). */
  private wake(): void {
    const buf = this.sleepBuf;
    if (buf === null) return;
    const cap = this.mo - 1;
    const intsAt = this.sleepAt + cap * 8;
    this.ts = new Float64Array(buf, this.sleepAt, cap);
    this.ints = new Int32Array(buf, intsAt, this.sleepInts);
    this.lines = Buffer.from(buf, intsAt + this.sleepInts * 4, this.sleepLines);
    this.sleepBuf = null;
  }

  /**
   * Frees the columns of an empty head that takes no more appends (its chunk is closed): a
   * closed chunk waiting for its flush or its retain period then holds only its cut blocks.
   * A later push() grows them again. Snapshots keep their own views. The metadata cache goes
   * too (a later push remembers arrays again). The columns go to `pool` (giveColumns).
   */
  release(pool: ColumnPool | null = null): void {
    if (this.n !== 0) return;
    this.dropColumns(pool);
    this.md1 = null;
    this.mdCache = null;
    this.mdCacheNext = 0;
  }

  /** Starts an empty head at `tsNs` (the next push uses rel 0). Throws InvalidError outside int64. */
  start(tsNs: bigint): void {
    if (tsNs < MIN_TS_NS || tsNs > MAX_TS_NS) throw new InvalidError(`timestamp ${tsNs} ns is outside the signed 64-bit range`);
    this.baseNs = tsNs;
    this.minRel = 0;
    this.maxRel = 0;
    this.nearInt64Edge = tsNs > MAX_TS_NS - SPAN_NS || tsNs < MIN_TS_NS + SPAN_NS;
  }

  /** Whether an entry at `rel` keeps the block span within MAX_BLOCK_SPAN_NS and its ts within int64. */
  fits(rel: number): boolean {
    const lo = rel < this.minRel ? rel : this.minRel;
    const hi = rel > this.maxRel ? rel : this.maxRel;
    if (hi - lo > MAX_BLOCK_SPAN_NS) return false;
    if (!this.nearInt64Edge) return true;
    // |rel| ≤ MAX_BLOCK_SPAN_NS here: an exact integer.
    const ts = this.baseNs + BigInt(rel);
    return ts >= MIN_TS_NS && ts <= MAX_TS_NS;
  }

  /** Whether an entry with this ts and these exact line bytes is already held. */
  isDuplicate(rel: number, line: Uint8Array): boolean {
    if (rel > this.maxRel || this.n === 0) return false;
    this.wake();
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

  /** Appends one entry (copying `line`); the caller checked fits() and isDuplicate(). Growing columns come from and go to `pool`. */
  push(rel: number, line: Uint8Array, metadata: StructuredMetadata, symbols: SymbolTable, pool: ColumnPool | null = null): void {
    this.wake();
    const n = this.n;
    const len = line.length;
    const pairs = metadata.length;
    if (n === this.ts.length || this.ints[n]! + len > this.lines.length || this.ints[this.mo + n]! + pairs * 2 > this.ints.length - this.mi) this.grow(len, pairs * 2, pool);
    const ints = this.ints;
    const mo = this.mo;
    const off = ints[n]!;
    this.lines.set(line, off);

    // Metadata ids go to ints[mi + k] for k from the entry's metadata offset.
    let mdEnd = ints[mo + n]!;
    if (pairs > 0) {
      const mi = this.mi;
      // A frozen array pushed before (e.g. a shared detected_level pair) reuses its ids.
      const slot = pairs !== 1 ? -1 : metadata === this.md1 ? FIRST_SLOT : this.cachedSlot(metadata);
      if (slot === FIRST_SLOT) {
        ints[mi + mdEnd++] = this.md1Name;
        ints[mi + mdEnd++] = this.md1Value;
      } else if (slot >= 0) {
        const cache = this.mdCache!;
        ints[mi + mdEnd++] = cache[slot + 1] as number;
        ints[mi + mdEnd++] = cache[slot + 2] as number;
      } else {
        for (let k = 0; k < pairs; k++) {
          const p = metadata[k]!;
          ints[mi + mdEnd++] = symbols.intern(p.name);
          ints[mi + mdEnd++] = symbols.intern(p.value);
        }
        if (pairs === 1 && Object.isFrozen(metadata)) this.rememberIds(metadata, ints[mi + mdEnd - 2]!, ints[mi + mdEnd - 1]!);
      }
      this.mdPairs += pairs;
    }

    // Only intern() above can throw, and nothing is visible until n moves: commit the entry.
    this.ts[n] = rel;
    ints[n + 1] = off + len;
    ints[mo + n + 1] = mdEnd;
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
    if (this.md1 === null) {
      this.md1 = md;
      this.md1Name = nameId;
      this.md1Value = valueId;
      return;
    }
    // Then filled up to MD_CACHE_SIZE - 1 more as needed, then round robin.
    const cache = this.mdCache;
    if (cache === null) {
      // Exactly one slot: most heads never see a third array.
      this.mdCache = [md, nameId, valueId];
      return;
    }
    if (cache.length < (MD_CACHE_SIZE - 1) * MD_CACHE_SLOT) {
      cache.push(md, nameId, valueId);
      return;
    }
    const i = this.mdCacheNext;
    cache[i] = md;
    cache[i + 1] = nameId;
    cache[i + 2] = valueId;
    this.mdCacheNext = (i + MD_CACHE_SLOT) % ((MD_CACHE_SIZE - 1) * MD_CACHE_SLOT);
  }

  /** Empties the head for reuse, keeping allocations unless a snapshot still views them; columns it frees go to `pool`. */
  reset(pool: ColumnPool | null = null): void {
    this.wake();
    this.n = 0;
    this.sorted = true;
    this.sizeBytes = 0;
    this.mdPairs = 0;
    this.tsIndex = null;
    this.sameTsPrev = null;
    // Columns grown for a big block are freed (the next push lays out small ones): an idle
    // stream should not hold a whole block's capacity until its next cut.
    if (this.shared || this.columnBytes > KEEP_COLUMN_BYTES) this.dropColumns(pool);
    else if (this.ts !== EMPTY_F64) {
      this.ints[0] = 0;
      this.ints[this.mo] = 0;
    }
  }

  /**
   * Sorted columnar view (null when empty). When entries arrived in order it shares the
   * columns (no copy; later appends and resets never touch the viewed ranges), otherwise it
   * builds sorted copies.
   */
  snapshot(symbols: readonly string[]): DecodedBlock | null {
    const n = this.n;
    if (n === 0) return null;
    this.wake();
    const hasMd = this.mdPairs > 0;
    if (this.sorted) {
      this.shared = true;
      return new ColumnarBlock(
        n,
        this.baseNs,
        this.ts.subarray(0, n),
        this.ints.subarray(0, n + 1),
        this.lines.subarray(0, this.ints[n]!),
        hasMd ? this.ints.subarray(this.mo, this.mo + n + 1) : null,
        hasMd ? this.ints.subarray(this.mi, this.mi + this.ints[this.mo + n]!) : null,
        symbols,
      );
    }
    const order = this.sortedOrder();
    const ts = this.ts;
    // Line offsets start at ints[0].
    const lo = this.ints;
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
      const mo = this.mo;
      const mi = this.mi;
      mdOffsets = new Int32Array(n + 1);
      mdIds = new Int32Array(this.mdPairs * 2);
      let m = 0;
      for (let k = 0; k < n; k++) {
        const i = order[k]!;
        for (let j = lo[mo + i]!, e = lo[mo + i + 1]!; j < e; j++) mdIds[m++] = lo[mi + j]!;
        mdOffsets[k + 1] = m;
      }
    }
    return new ColumnarBlock(n, this.baseNs + BigInt(minRel), tsRel, lineOffsets, lines, mdOffsets, mdIds, symbols);
  }

  /** Writes the sorted block payload (FORMAT.md "Block payload"). Requires n > 0. */
  encodeTo(w: ByteWriter): void {
    this.wake();
    const n = this.n;
    const order = this.sorted ? null : this.sortedOrder();
    const ts = this.ts;
    // Line offsets start at ints[0].
    const lo = this.ints;
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
      const mo = this.mo;
      const mi = this.mi;
      for (let k = 0; k < n; k++) {
        const i = order === null ? k : order[k]!;
        const s = lo[mo + i]!;
        const e = lo[mo + i + 1]!;
        w.uvarint((e - s) >> 1);
        for (let j = s; j < e; j++) w.uvarint(lo[mi + j]!);
      }
    }
  }

  /** The token bloom filter of every line held (order does not matter), or null when there are too many distinct tokens. */
  buildBloom(): Buffer | null {
    this.wake();
    return buildBlockBloom(this.lines, this.ints.subarray(0, this.n + 1), this.n);
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
    const s = this.ints[j]!;
    const e = this.ints[j + 1]!;
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
}
