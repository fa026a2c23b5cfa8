/**
 * The columnar block payload (see FORMAT.md "Block payload"): decoding into a DecodedBlock, and
 * encoding any DecodedBlock on its own (`encodeBlock`, for the wire). A MemChunk's head encodes
 * its columns itself (head-block.ts).
 */
import { ChunkCorruptError } from '../errors.js';
import type { Label } from '../model/labels.js';
import type { StructuredMetadata } from '../model/stream.js';
import { ByteReader, type ByteWriter } from '../util/bytes.js';
import {
  MAX_BLOCK_SPAN_NS,
  MAX_BLOCK_UNCOMPRESSED_BYTES,
  MAX_ENTRIES_PER_BLOCK,
  MAX_LINE_SIZE_BYTES,
  MAX_METADATA_PAIRS_PER_ENTRY,
  MAX_TS_NS,
  MIN_TS_NS,
} from './consts.js';
import { SymbolTable } from './symbols.js';
import type { Lz4Blocks } from '../wasm/kernels.js';
import type { DecodedBlock } from './types.js';

/** Shared result of metadata(i) for entries without structured metadata. */
export const EMPTY_METADATA: StructuredMetadata = Object.freeze([]) as StructuredMetadata;

const EMPTY_SYMBOLS: readonly string[] = Object.freeze([]);

/** The bigint ts of entry i of a block: for API edges, not per-entry loops. */
export function blockEntryTs(block: DecodedBlock, i: number): bigint {
  return block.baseNs + BigInt(block.tsRel[i]!);
}

/** DecodedBlock over columns. Metadata ids index `symbols`; `mdOffsets` is null when no entry has metadata. */
export class ColumnarBlock implements DecodedBlock {
  readonly n: number;
  readonly baseNs: bigint;
  readonly tsRel: Float64Array;
  readonly lineOffsets: Int32Array;
  readonly lines: Buffer;
  /** Length n+1 into mdIds, counted in ids (two per pair); null when the block has no metadata. */
  private readonly mdOffsets: Int32Array | null;
  /** Name id, value id, name id, … for all entries in order. */
  private readonly mdIds: Int32Array | null;
  private readonly symbols: readonly string[];

  constructor(
    n: number,
    baseNs: bigint,
    tsRel: Float64Array,
    lineOffsets: Int32Array,
    lines: Buffer,
    mdOffsets: Int32Array | null,
    mdIds: Int32Array | null,
    symbols: readonly string[],
  ) {
    this.n = n;
    this.baseNs = baseNs;
    this.tsRel = tsRel;
    this.lineOffsets = lineOffsets;
    this.lines = lines;
    this.mdOffsets = mdOffsets;
    this.mdIds = mdIds;
    this.symbols = symbols;
  }

  metadata(i: number): StructuredMetadata {
    const off = this.mdOffsets;
    if (off === null) return EMPTY_METADATA;
    const start = off[i]!;
    const end = off[i + 1]!;
    if (start === end) return EMPTY_METADATA;
    const ids = this.mdIds!;
    const sym = this.symbols;
    const out = new Array<Label>((end - start) >> 1);
    for (let k = start, j = 0; k < end; k += 2, j++) out[j] = { name: sym[ids[k]!]!, value: sym[ids[k + 1]!]! };
    return out;
  }
}

/** Provides the chunk's symbol strings; may throw ChunkCorruptError when they fail to decode. */
export type SymbolsSource = () => readonly string[];

/**
 * Decodes a block payload of exactly `entries` entries spanning exactly `spanNs` (max - min).
 * `lines` is a view into `payload` (no copy). Every varint and length is checked against the
 * payload end and the consts.ts limits before any allocation; throws a plain Error (the chunk
 * reader adds the block index and wraps it in ChunkCorruptError).
 */
export function decodeBlockPayload(
  payload: Buffer,
  entries: number,
  baseNs: bigint,
  spanNs: number,
  symbolCount: number,
  symbols: SymbolsSource,
): ColumnarBlock {
  const r = new ByteReader(payload);
  try {
    const n = r.uvarint();
    if (n !== entries) throw new Error(`payload has ${n} entries, meta says ${entries}`);
    // Each entry takes at least two bytes (ts delta + length), so n is bounded by the payload too.
    if (n < 1 || n > MAX_ENTRIES_PER_BLOCK || n * 2 > r.remaining()) throw new Error(`bad entry count ${n}`);

    const tsRel = new Float64Array(n);
    let ts = 0;
    for (let i = 0; i < n; i++) {
      ts += r.uvarint();
      if (ts > spanNs) throw new Error(`entry ${i} ts offset ${ts} beyond block span ${spanNs}`);
      tsRel[i] = ts;
    }
    if (tsRel[0] !== 0 || ts !== spanNs) throw new Error(`ts column spans [${tsRel[0]}, ${ts}], meta says [0, ${spanNs}]`);

    const lineOffsets = new Int32Array(n + 1);
    let off = 0;
    for (let i = 0; i < n; i++) {
      const len = r.uvarint();
      if (len > MAX_LINE_SIZE_BYTES) throw new Error(`entry ${i} line length ${len} exceeds ${MAX_LINE_SIZE_BYTES}`);
      off += len;
      lineOffsets[i + 1] = off;
    }
    if (off > r.remaining()) throw new Error(`line lengths total ${off} bytes, only ${r.remaining()} left`);
    const lines = r.bytes(off);

    const totalPairs = r.uvarint();
    if (totalPairs === 0) {
      if (r.remaining() !== 0) throw new Error(`${r.remaining()} trailing bytes`);
      return new ColumnarBlock(n, baseNs, tsRel, lineOffsets, lines, null, null, EMPTY_SYMBOLS);
    }
    // Per entry one count varint, per pair two id varints.
    if (totalPairs * 2 + n > r.remaining()) throw new Error(`metadata pair count ${totalPairs} exceeds the ${r.remaining()} bytes left`);
    const mdOffsets = new Int32Array(n + 1);
    const mdIds = new Int32Array(totalPairs * 2);
    let k = 0;
    const idsEnd = totalPairs * 2;
    for (let i = 0; i < n; i++) {
      const c = r.uvarint();
      if (c > MAX_METADATA_PAIRS_PER_ENTRY || k + c * 2 > idsEnd) throw new Error(`entry ${i} has a bad metadata pair count ${c}`);
      for (let j = 0; j < c * 2; j++) {
        const id = r.uvarint();
        if (id >= symbolCount) throw new Error(`entry ${i} metadata symbol id ${id} not below symbol count ${symbolCount}`);
        mdIds[k++] = id;
      }
      mdOffsets[i + 1] = k;
    }
    if (k !== idsEnd) throw new Error(`metadata holds ${k / 2} pairs, header says ${totalPairs}`);
    if (r.remaining() !== 0) throw new Error(`${r.remaining()} trailing bytes`);
    return new ColumnarBlock(n, baseNs, tsRel, lineOffsets, lines, mdOffsets, mdIds, symbols());
  } catch (e) {
    if (e instanceof RangeError) throw new Error(`truncated block payload: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * Where a block payload's lines are, bytes [start, end) of the payload, and which of them lie in
 * a time range: entries [lo, hi), whose lines are bytes [from, to).
 */
export interface LineSpan {
  readonly start: number;
  readonly end: number;
  readonly lo: number;
  readonly hi: number;
  readonly from: number;
  readonly to: number;
}

/**
 * The lines of a block payload, found by reading its entry count, timestamp and line-length
 * varints without keeping them (nothing allocated but the answer): for a reader that searches
 * the lines before it decodes the block (chunk/layout.ts `readBlockUnlessLacking`). `lo` and
 * `hi` are the first entries whose offset from the block's first timestamp is ≥ `startRel` and
 * ≥ `endRel` (the range scanBlock reads). Null when the payload breaks a check
 * decodeBlockPayload makes on those columns (which then says how); the metadata column after
 * the lines is not read. With `kernel`, whose last decodeInPlace answer `payload` is, its loops
 * run in WebAssembly (the same answers: src/wasm/kernels.test.ts).
 */
export function payloadLineSpan(payload: Buffer, entries: number, spanNs: number, startRel = 0, endRel = Infinity, kernel: Lz4Blocks | null = null): LineSpan | null {
  const r = new ByteReader(payload);
  try {
    const n = r.uvarint();
    if (n !== entries || n < 1 || n > MAX_ENTRIES_PER_BLOCK || n * 2 > r.remaining()) return null;
    // The first timestamp offset is 0.
    if (r.uvarint() !== 0) return null;
    const p = payload.length - r.remaining();
    if (kernel !== null) {
      // The same loops in WebAssembly, where the payload lies (the decoder's memory).
      const start = kernel.lineSpan(payload, p, n, startRel, endRel, spanNs, MAX_LINE_SIZE_BYTES);
      if (start < 0) return null;
      const s = kernel.span;
      return { start, end: start + s.bytes, lo: s.lo, hi: s.hi, from: start + s.from, to: start + s.to };
    }
    // Timestamps ascend: the entries before lo (hi) are those under startRel (endRel).
    let lo = 0 < startRel ? 1 : 0;
    let hi = 0 < endRel ? 1 : 0;
    let ts = 0;
    for (let i = 1; i < n; i++) {
      ts += r.uvarint();
      if (ts < startRel) lo++;
      if (ts < endRel) hi++;
    }
    if (ts !== spanNs) return null;
    let bytes = 0;
    let from = 0;
    let to = 0;
    for (let i = 0; i < n; i++) {
      const len = r.uvarint();
      if (len > MAX_LINE_SIZE_BYTES) return null;
      if (i === lo) from = bytes;
      if (i === hi) to = bytes;
      bytes += len;
    }
    if (lo === n) from = bytes;
    if (hi === n) to = bytes;
    const start = payload.length - r.remaining();
    return bytes > r.remaining() ? null : { start, end: start + bytes, lo, hi, from: start + from, to: start + to };
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}

/**
 * A block as bytes with its own symbol list: the FORMAT.md block payload (uncompressed) whose
 * metadata ids index `symbols`. How a DecodedBlock (a head block snapshot) travels by itself,
 * without a chunk around it.
 */
export interface EncodedBlock {
  /** Entries (≥ 1). */
  readonly entries: number;
  /** The block's min ts: every entry ts is baseNs plus its offset in the payload. */
  readonly baseNs: bigint;
  /** Offset of the last entry (the block is sorted, so its max - min), ≤ MAX_BLOCK_SPAN_NS. */
  readonly spanNs: number;
  /** The uncompressed payload. */
  readonly payload: Buffer;
  /** Metadata names and values by id, in first-use order. */
  readonly symbols: readonly string[];
}

/**
 * Encodes any DecodedBlock (sorted, as the interface promises) as an EncodedBlock; `w` is
 * scratch (its bytes are copied out). Metadata strings get fresh ids in first-use order.
 */
export function encodeBlock(b: DecodedBlock, w: ByteWriter, symbols: SymbolTable = new SymbolTable()): EncodedBlock {
  w.reset();
  encodeBlockPayload(b, w, symbols);
  return { entries: b.n, baseNs: b.baseNs, spanNs: b.tsRel[b.n - 1]!, payload: w.finish(), symbols: symbols.strings };
}

/**
 * Appends the FORMAT.md payload of `b` to `w`, interning its metadata strings in `symbols`
 * (ids in the payload index that table).
 */
export function encodeBlockPayload(b: DecodedBlock, w: ByteWriter, symbols: SymbolTable): void {
  const n = b.n;
  const ts = b.tsRel;
  const lo = b.lineOffsets;
  w.uvarint(n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const t = ts[i]!;
    w.uvarint(t - prev);
    prev = t;
  }
  for (let i = 0; i < n; i++) w.uvarint(lo[i + 1]! - lo[i]!);
  w.bytes(b.lines.subarray(0, lo[n]!));
  let pairs = 0;
  const mds: StructuredMetadata[] = new Array<StructuredMetadata>(n);
  for (let i = 0; i < n; i++) {
    const md = b.metadata(i);
    mds[i] = md;
    pairs += md.length;
  }
  w.uvarint(pairs);
  if (pairs === 0) return;
  for (let i = 0; i < n; i++) {
    const md = mds[i]!;
    w.uvarint(md.length);
    for (let k = 0; k < md.length; k++) {
      w.uvarint(symbols.intern(md[k]!.name));
      w.uvarint(symbols.intern(md[k]!.value));
    }
  }
}

/**
 * The DecodedBlock of an EncodedBlock, checked as a stored block is (every length and id against
 * the payload and the limits). `lines` is a view into `e.payload`. Throws ChunkCorruptError.
 */
export function decodeBlock(e: EncodedBlock): DecodedBlock {
  const symbols = e.symbols;
  if (e.spanNs < 0 || e.spanNs > MAX_BLOCK_SPAN_NS || !Number.isInteger(e.spanNs)) throw new ChunkCorruptError(`block: bad time span ${e.spanNs}`);
  if (e.baseNs < MIN_TS_NS || e.baseNs + BigInt(e.spanNs) > MAX_TS_NS) throw new ChunkCorruptError(`block: timestamps from ${e.baseNs} ns leave the signed 64-bit range`);
  if (e.payload.length > MAX_BLOCK_UNCOMPRESSED_BYTES) throw new ChunkCorruptError(`block: payload of ${e.payload.length} bytes exceeds ${MAX_BLOCK_UNCOMPRESSED_BYTES}`);
  try {
    return decodeBlockPayload(e.payload, e.entries, e.baseNs, e.spanNs, symbols.length, () => symbols);
  } catch (err) {
    throw new ChunkCorruptError(`block: ${(err as Error).message}`, { cause: err });
  }
}
