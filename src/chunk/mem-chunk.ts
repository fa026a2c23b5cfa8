/**
 * MemChunk: the ingester's in-memory chunk of one stream. Entries go into an uncompressed
 * columnar head block; full heads are cut into compressed blocks; encode() lays the chunk
 * out as FORMAT.md describes. decodeChunk() (layout.ts) reads it back.
 */
import { ChunkCorruptError, InvalidError, TooLargeError } from '../errors.js';
import type { StructuredMetadata } from '../model/stream.js';
import { ByteWriter } from '../util/bytes.js';
import { decodeBlockPayload } from './block.js';
import { type BlockProbe, filtersMayMatch } from './needle.js';
import { type Codec, decompress, MAX_ZSTD_LEVEL, MIN_ZSTD_LEVEL } from './codec.js';
import {
  BLOOM_HASHES,
  CRC_BYTES,
  GRAM_HASHES,
  DEFAULT_BLOCK_SIZE_BYTES,
  DEFAULT_TARGET_SIZE_BYTES,
  HEADER_BYTES,
  MAX_BLOCK_SIZE_BYTES,
  MAX_BLOCK_UNCOMPRESSED_BYTES,
  MAX_ENTRIES_PER_BLOCK,
  MAX_LINE_SIZE_BYTES,
  MAX_METADATA_PAIRS_PER_ENTRY,
  MAX_TS_NS,
  MIN_TS_NS,
} from './consts.js';
import { HeadBlock } from './head-block.js';
import { encodeChunk } from './layout.js';
import { type SealedBlock, sealBlockSync } from './sealer.js';
import { SymbolTable } from './symbols.js';
import type { BlockMeta, ChunkOptions, DecodedBlock, ReadableChunk } from './types.js';

export type { BlockMeta, ChunkOptions, DecodedBlock, LackingBlock, ReadableChunk } from './types.js';
export { blockEntryTs, EMPTY_METADATA } from './block.js';
export { decodeChunk } from './layout.js';

/** Loki's block and chunk sizes (256 KiB blocks, 1.5 MiB target) and Silt's default codec, lz4 (ADR 0030), unless another is given. */
export function defaultChunkOptions(codec: Codec = 'lz4'): ChunkOptions {
  return { codec, blockSizeBytes: DEFAULT_BLOCK_SIZE_BYTES, targetSizeBytes: DEFAULT_TARGET_SIZE_BYTES };
}

/**
 * The cut blocks of a chunk and what it knows about them. Most chunks of a many-stream
 * ingester never cut one, so they all share the frozen NO_CUT (the first cut gives a chunk its
 * own): ~160 bytes per stream less than these fields on every chunk (issue #20 goal 4).
 */
class CutBlocks {
  /** Per cut block, in five arrays of equal length that only `MemChunk.addBlock` lengthens. */
  metas: BlockMeta[] = [];
  blocks: Buffer[] = [];
  crcs: number[] = [];
  /** Token bloom filter of each cut block (BLOOM_HASHES probes), null when it has none. */
  blooms: (Buffer | null)[] = [];
  /** Needle filter of each cut block (GRAM_HASHES probes), null when it has none. */
  grams: (Buffer | null)[] = [];
  /**
   * Blocks cut but not sealed yet: indexes from `sealedCount` up. While unsealed, `blocks[i]`
   * holds the uncompressed payload (readable as is), `crcs[i]` is 0 and `blooms[i]`,
   * `grams[i]` null (no filter: every block may match). Seals are applied strictly in cut order.
   */
  sealedCount = 0;
  /** Seals that arrived out of order, by block index, until their predecessors are sealed. */
  early: Map<number, SealedBlock> | null = null;
  /** Bumped by sealAllSync so results of superseded async seals are ignored. */
  sealGeneration = 0;
  /** Settles when every block cut so far is sealed. */
  sealWaiters: (() => void)[] | null = null;
  compressedBytes = 0;
  uncompressedBytes = 0;
  /**
   * Compressed, token-filter and uncompressed bytes of every cut block but the newest: the
   * exact part of isFull()'s estimate. The newest block is left out even when its seal has
   * arrived, so the answer never depends on how fast the sealer was (see isFull).
   */
  settledCompressedBytes = 0;
  settledBloomBytes = 0;
  settledUncompressedBytes = 0;
  entries = 0;
  minTs = 0n;
  maxTs = 0n;
  nextOffset = HEADER_BYTES;
}

/** The cut blocks of every chunk that has none (frozen: a write to it is a bug and throws). */
const NO_CUT: CutBlocks = Object.freeze(Object.assign(new CutBlocks(), { metas: Object.freeze([]), blocks: Object.freeze([]), crcs: Object.freeze([]), blooms: Object.freeze([]), grams: Object.freeze([]) })) as CutBlocks;

/** Scratch for block payloads; cutBlock is synchronous so one writer serves every chunk. */
let scratch = new ByteWriter(64 * 1024);
/** A scratch writer grown past this by an unusually big block is dropped instead of kept forever. */
const SCRATCH_KEEP_BYTES = 4 * 1024 * 1024;

/**
 * Appendable chunk of one stream. Not thread-safe (nothing in Node is), and all methods are
 * synchronous. Cut blocks may overlap in time when entries arrive out of order.
 */
export class MemChunk implements ReadableChunk {
  /** Codec, sizes and sealer: the ingester's one options object, shared by its chunks. */
  private readonly opts: ChunkOptions;
  private readonly head = new HeadBlock();
  private readonly symbols = new SymbolTable();
  private cut: CutBlocks = NO_CUT;

  /** Throws InvalidError for sizes outside [1, MAX_BLOCK_SIZE_BYTES] (block) or below 1 (target), or a zstd level outside [1, 19]. */
  constructor(opts: ChunkOptions) {
    const { blockSizeBytes, targetSizeBytes, zstdLevel } = opts;
    if (zstdLevel !== undefined && (!Number.isInteger(zstdLevel) || zstdLevel < MIN_ZSTD_LEVEL || zstdLevel > MAX_ZSTD_LEVEL)) {
      throw new InvalidError(`chunk zstdLevel ${zstdLevel} outside [${MIN_ZSTD_LEVEL}, ${MAX_ZSTD_LEVEL}]`);
    }
    if (!Number.isInteger(blockSizeBytes) || blockSizeBytes < 1 || blockSizeBytes > MAX_BLOCK_SIZE_BYTES) {
      throw new InvalidError(`chunk blockSizeBytes ${blockSizeBytes} outside [1, ${MAX_BLOCK_SIZE_BYTES}]`);
    }
    if (!Number.isInteger(targetSizeBytes) || targetSizeBytes < 1) throw new InvalidError(`chunk targetSizeBytes ${targetSizeBytes} must be a positive integer`);
    this.opts = opts;
  }

  get codec(): Codec {
    return this.opts.codec;
  }

  /**
   * Appends in any ts order. Returns false (and stores nothing) when an entry with the same ts
   * and identical line bytes is already in the head block. Copies `line` (callers pass views
   * into request bodies). Cuts the head block automatically when its estimated uncompressed
   * size reaches blockSizeBytes, when it holds MAX_ENTRIES_PER_BLOCK entries, or (before
   * storing) when this entry would stretch its time span past MAX_BLOCK_SPAN_NS.
   * Throws TooLargeError past MAX_LINE_SIZE_BYTES, MAX_METADATA_PAIRS_PER_ENTRY or the symbol
   * limits, and InvalidError for a ts outside int64; the entry is not stored then.
   */
  append(tsNs: bigint, line: Uint8Array, metadata: StructuredMetadata): boolean {
    if (line.length > MAX_LINE_SIZE_BYTES) throw new TooLargeError(`line of ${line.length} bytes exceeds ${MAX_LINE_SIZE_BYTES}`);
    if (metadata.length > MAX_METADATA_PAIRS_PER_ENTRY) {
      throw new TooLargeError(`${metadata.length} structured metadata pairs exceed ${MAX_METADATA_PAIRS_PER_ENTRY}`);
    }
    const h = this.head;
    let rel = 0;
    if (h.n > 0) {
      rel = Number(tsNs - h.baseNs);
      if (!h.fits(rel)) {
        // Validate before cutting so a rejected entry leaves the chunk untouched.
        if (tsNs < MIN_TS_NS || tsNs > MAX_TS_NS) throw new InvalidError(`timestamp ${tsNs} ns is outside the signed 64-bit range`);
        this.cutBlock();
        rel = 0;
      } else if (h.isDuplicate(rel, line)) {
        return false;
      }
    }
    if (h.n === 0) h.start(tsNs);
    h.push(rel, line, metadata, this.symbols, this.opts.columnPool ?? null);
    if (h.sizeBytes >= this.opts.blockSizeBytes || h.n >= MAX_ENTRIES_PER_BLOCK) this.cutBlock();
    return true;
  }

  /**
   * True once the estimated compressed size reaches targetSizeBytes: the exact compressed bytes
   * and token filters of every cut block but the newest, plus the newest block's, the head's
   * and the symbol table's uncompressed bytes scaled by the compression ratio of those older
   * blocks (1 while there are none).
   *
   * The answer is a function of the entries appended alone, never of timing: the newest block
   * is estimated even when its seal has arrived, and cutting a block first seals the one before
   * it on this thread if the sealer has not delivered it yet (rare: the sealer has had a whole
   * block of appends' time). Replicas that append the same entries therefore close their
   * chunks at the same entry, whatever their sealers' speed.
   */
  isFull(): boolean {
    const c = this.cut;
    const settled = c.settledUncompressedBytes;
    const ratio = settled > 0 ? c.settledCompressedBytes / settled : 1;
    const estimated = c.uncompressedBytes - settled + this.head.sizeBytes + this.symbols.bytes;
    return c.settledCompressedBytes + c.settledBloomBytes + estimated * ratio >= this.opts.targetSizeBytes;
  }

  /**
   * Cuts the head block and frees its columns: for a chunk that takes no more appends (an
   * append afterwards still works and allocates them again).
   */
  cutAndRelease(): void {
    this.cutBlock();
    this.head.release(this.opts.columnPool ?? null);
  }

  /** Bytes of the head block's columns at the size of what they hold, when worth a move; else 0 (HeadBlock.fittedBytes). */
  fittedHeadBytes(): number {
    return this.head.fittedBytes();
  }

  /** Drops the head block's column views while its stream is quiet (HeadBlock.sleep); any use wakes it. */
  sleepHead(): boolean {
    return this.head.sleep();
  }

  /** Moves the head block's columns into the `fittedHeadBytes()` bytes at `at` (8-aligned) of `into`, shared with other quiet heads (HeadBlock.fitInto); answers the bytes given up. */
  fitHeadInto(into: ArrayBuffer, at: number): number {
    return this.head.fitInto(into, at);
  }

  /** Bytes of memory this chunk holds: cut blocks (compressed, or uncompressed until sealed), their filters and the head's columns. */
  memoryBytes(): number {
    let n = this.head.allocatedBytes();
    const c = this.cut;
    for (let i = 0; i < c.blocks.length; i++) n += c.blocks[i]!.length + (c.blooms[i]?.length ?? 0) + (c.grams[i]?.length ?? 0);
    return n;
  }

  /** Compresses the head block (sorted by ts, stable; duplicates were refused by append) into a cut block. No-op when the head is empty. */
  cutBlock(): void {
    const h = this.head;
    if (h.n === 0) return;
    const w = scratch;
    w.reset();
    h.encodeTo(w);
    const payload = w.view();
    if (payload.length > MAX_BLOCK_UNCOMPRESSED_BYTES) throw new Error(`block payload of ${payload.length} bytes exceeds the decode limit (bug)`);
    const minTsNs = h.baseNs + BigInt(h.minRel);
    const maxTsNs = h.baseNs + BigInt(h.maxRel);
    const entries = h.n;
    if (this.cut === NO_CUT) this.cut = new CutBlocks();
    const c = this.cut;
    const index = c.metas.length;
    if (index > 0) this.settle(index - 1);
    if (index === 0 || minTsNs < c.minTs) c.minTs = minTsNs;
    if (index === 0 || maxTsNs > c.maxTs) c.maxTs = maxTsNs;
    c.uncompressedBytes += payload.length;
    c.entries += entries;
    const spanNs = h.maxRel - h.minRel;
    const sealer = this.opts.sealer ?? null;
    if (sealer === null || sealer.inline === true) {
      const sealed = sealBlockSync({ codec: this.codec, zstdLevel: this.opts.zstdLevel, payload, entries, spanNs, symbolCount: this.symbols.strings.length });
      this.addBlock(this.pendingMeta(entries, minTsNs, maxTsNs, payload.length), Buffer.alloc(0));
      this.applySeal(index, sealed);
      if (w.buf.length > SCRATCH_KEEP_BYTES) scratch = new ByteWriter(64 * 1024);
      h.reset(this.opts.columnPool ?? null);
      return;
    }
    // Async: keep an own copy of the payload readable until the sealed bytes arrive. (Not a
    // SharedArrayBuffer the sealer could read in place: allocating one costs more than the copy
    // it would save.)
    const copy = new Uint8Array(payload.length);
    copy.set(payload);
    const own = Buffer.from(copy.buffer, 0, copy.length);
    if (w.buf.length > SCRATCH_KEEP_BYTES) scratch = new ByteWriter(64 * 1024);
    this.addBlock(this.pendingMeta(entries, minTsNs, maxTsNs, payload.length), own);
    h.reset(this.opts.columnPool ?? null);
    const gen = c.sealGeneration;
    const job = { codec: this.codec, zstdLevel: this.opts.zstdLevel, payload: own, entries, spanNs, symbolCount: this.symbols.strings.length };
    sealer.seal(job).then(
      (sealed) => this.onSealed(gen, index, sealed),
      () => this.onSealed(gen, index, null),
    );
  }

  /**
   * Adds a cut block, not sealed yet (no crc, no filters). The first block makes arrays of one
   * (push would reserve 16 slots in each of the five): many chunks hold a single block when they
   * are flushed (idle, max_age, memory marks) and wait in memory for it.
   */
  private addBlock(meta: BlockMeta, bytes: Buffer): void {
    const c = this.cut;
    if (c.metas.length === 0) {
      c.metas = [meta];
      c.blocks = [bytes];
      c.crcs = [0];
      c.blooms = [null];
      c.grams = [null];
      return;
    }
    c.metas.push(meta);
    c.blocks.push(bytes);
    c.crcs.push(0);
    c.blooms.push(null);
    c.grams.push(null);
  }

  /**
   * Counts block `index` (the newest before a new cut) in isFull's exact part, sealing it and
   * any before it on this thread first when the sealer has not delivered them.
   */
  private settle(index: number): void {
    const c = this.cut;
    while (c.sealedCount <= index) {
      const i = c.sealedCount;
      const early = c.early?.get(i);
      if (early !== undefined) c.early!.delete(i);
      // A late reply for a block sealed here is ignored by onSealed (index < sealedCount).
      this.applySeal(i, early ?? this.sealInline(i));
    }
    const m = c.metas[index]!;
    c.settledCompressedBytes += m.compressedBytes;
    c.settledBloomBytes += m.bloomBytes + m.gramBytes;
    c.settledUncompressedBytes += m.uncompressedBytes;
  }

  /** Meta of a block whose compressed size and filter are not known yet. */
  private pendingMeta(entries: number, minTsNs: bigint, maxTsNs: bigint, uncompressedBytes: number): BlockMeta {
    return Object.freeze({ entries, minTsNs, maxTsNs, offset: -1, compressedBytes: 0, uncompressedBytes, bloomBytes: 0, gramBytes: 0 });
  }

  /** A seal arrived (null: the sealer failed; seal inline). Applies it and any later ones in order. */
  private onSealed(gen: number, index: number, sealed: SealedBlock | null): void {
    const c = this.cut;
    if (gen !== c.sealGeneration || index < c.sealedCount) return;
    // Created on the first seal: most chunks of a many-stream ingester never cut a block.
    const early = (c.early ??= new Map());
    early.set(index, sealed ?? this.sealInline(index));
    for (let next = early.get(c.sealedCount); next !== undefined; next = early.get(c.sealedCount)) {
      early.delete(c.sealedCount);
      this.applySeal(c.sealedCount, next);
    }
    if (c.sealedCount === c.metas.length) this.wakeSealWaiters();
  }

  private sealInline(index: number): SealedBlock {
    const c = this.cut;
    const m = c.metas[index]!;
    return sealBlockSync({ codec: this.codec, zstdLevel: this.opts.zstdLevel, payload: c.blocks[index]!, entries: m.entries, spanNs: Number(m.maxTsNs - m.minTsNs), symbolCount: this.symbols.strings.length });
  }

  /** Installs the sealed form of block `index` (which must be the next unsealed one). */
  private applySeal(index: number, sealed: SealedBlock): void {
    const c = this.cut;
    const m = c.metas[index]!;
    const bloomBytes = sealed.bloom === null ? 0 : sealed.bloom.length;
    const gramBytes = sealed.grams === null ? 0 : sealed.grams.length;
    c.metas[index] = Object.freeze({ ...m, offset: c.nextOffset, compressedBytes: sealed.compressed.length, bloomBytes, gramBytes });
    c.blocks[index] = sealed.compressed;
    c.crcs[index] = sealed.crc;
    c.blooms[index] = sealed.bloom;
    c.grams[index] = sealed.grams;
    c.nextOffset += sealed.compressed.length + CRC_BYTES;
    c.compressedBytes += sealed.compressed.length;
    c.sealedCount = index + 1;
  }

  /** Seals every pending block on this thread (later async results are ignored). */
  private sealAllSync(): void {
    const c = this.cut;
    if (c.sealedCount === c.metas.length) return;
    c.sealGeneration++;
    c.early?.clear();
    while (c.sealedCount < c.metas.length) this.applySeal(c.sealedCount, this.sealInline(c.sealedCount));
    this.wakeSealWaiters();
  }

  private wakeSealWaiters(): void {
    const c = this.cut;
    const ws = c.sealWaiters;
    if (ws === null) return;
    c.sealWaiters = null;
    for (const f of ws) f();
  }

  /** Resolves once every block cut so far is sealed (immediately when none is pending). */
  whenSealed(): Promise<void> {
    const c = this.cut;
    if (c.sealedCount === c.metas.length) return Promise.resolve();
    return new Promise((resolve) => (c.sealWaiters ??= []).push(resolve));
  }

  /**
   * Sorted columnar snapshot of the head block, or null when empty. It stays valid and
   * unchanged after later appends and cuts (in-order heads are shared, not copied).
   */
  headBlock(): DecodedBlock | null {
    return this.head.snapshot(this.symbols.strings);
  }

  /** Compressed bytes of sealed cut blocks (without crcs, metas, symbols, unsealed blocks or the head). */
  compressedBytes(): number {
    return this.cut.compressedBytes;
  }

  /** Exact uncompressed bytes of cut blocks plus the head block's estimate. */
  uncompressedBytes(): number {
    return this.cut.uncompressedBytes + this.head.sizeBytes;
  }

  /** Cuts the head and returns the chunk's full encoded bytes (a new Buffer). The chunk stays appendable. */
  encode(): Buffer {
    this.cutBlock();
    this.sealAllSync();
    const c = this.cut;
    return encodeChunk(this.codec, c.blocks, c.crcs, c.metas, c.blooms, c.grams, this.symbols, this.opts.zstdLevel);
  }

  /**
   * The stored form (FORMAT.md) of cut blocks `0 .. blockCount-1` alone, without the head: a
   * chunk `decodeChunk` reads. Sealed blocks' compressed bytes, crcs and token filters are
   * copied, not recompressed; a block still waiting for its seal is sealed here on the side
   * (the chunk itself is not changed). The symbols section holds every symbol so far.
   * With an empty head and every block, the bytes equal `encode()`'s.
   */
  encodeCutBlocks(blockCount: number): Buffer {
    const c = this.cut;
    if (!Number.isInteger(blockCount) || blockCount < 0 || blockCount > c.metas.length) {
      throw new RangeError(`block count ${blockCount} out of range [0, ${c.metas.length}]`);
    }
    const sealed = Math.min(blockCount, c.sealedCount);
    const blocks = c.blocks.slice(0, sealed);
    const crcs = c.crcs.slice(0, sealed);
    const metas = c.metas.slice(0, sealed);
    const blooms = c.blooms.slice(0, sealed);
    const grams = c.grams.slice(0, sealed);
    let offset = HEADER_BYTES;
    if (sealed > 0) {
      const last = metas[sealed - 1]!;
      offset = last.offset + last.compressedBytes + CRC_BYTES;
    }
    for (let i = sealed; i < blockCount; i++) {
      const s = this.sealInline(i);
      const bloomBytes = s.bloom === null ? 0 : s.bloom.length;
      const gramBytes = s.grams === null ? 0 : s.grams.length;
      metas.push(Object.freeze({ ...c.metas[i]!, offset, compressedBytes: s.compressed.length, bloomBytes, gramBytes }));
      blocks.push(s.compressed);
      crcs.push(s.crc);
      blooms.push(s.bloom);
      grams.push(s.grams);
      offset += s.compressed.length + CRC_BYTES;
    }
    return encodeChunk(this.codec, blocks, crcs, metas, blooms, grams, this.symbols, this.opts.zstdLevel);
  }

  minTsNs(): bigint {
    const h = this.head;
    const c = this.cut;
    if (h.n === 0) return c.metas.length === 0 ? 0n : c.minTs;
    const headMin = h.baseNs + BigInt(h.minRel);
    return c.metas.length === 0 || headMin < c.minTs ? headMin : c.minTs;
  }

  maxTsNs(): bigint {
    const h = this.head;
    const c = this.cut;
    if (h.n === 0) return c.metas.length === 0 ? 0n : c.maxTs;
    const headMax = h.baseNs + BigInt(h.maxRel);
    return c.metas.length === 0 || headMax > c.maxTs ? headMax : c.maxTs;
  }

  entries(): number {
    return this.cut.entries + this.head.n;
  }

  blockMetas(): readonly BlockMeta[] {
    return this.cut.metas;
  }

  blockMayContainAll(i: number, probe: BlockProbe): boolean {
    const c = this.cut;
    if (i < 0 || i >= c.metas.length) throw new RangeError(`block index ${i} out of range [0, ${c.metas.length})`);
    return filtersMayMatch(c.blooms[i] ?? null, BLOOM_HASHES, c.grams[i] ?? null, GRAM_HASHES, probe);
  }

  blockCrc(i: number): number {
    const c = this.cut;
    if (i < 0 || i >= c.metas.length) throw new RangeError(`block index ${i} out of range [0, ${c.metas.length})`);
    return i < c.sealedCount ? c.crcs[i]! : 0;
  }

  /** Decompresses cut block i. In-memory blocks skip the crc check (they never left this process). */
  readBlock(i: number): DecodedBlock {
    const c = this.cut;
    const m = c.metas[i];
    if (m === undefined) throw new RangeError(`block index ${i} out of range [0, ${c.metas.length})`);
    try {
      // An unsealed block still holds its uncompressed payload.
      const payload = i < c.sealedCount ? decompress(this.codec, c.blocks[i]!, m.uncompressedBytes) : c.blocks[i]!;
      const symbols = this.symbols.strings;
      return decodeBlockPayload(payload, m.entries, m.minTsNs, Number(m.maxTsNs - m.minTsNs), symbols.length, () => symbols);
    } catch (e) {
      throw new ChunkCorruptError(`chunk block ${i}: ${(e as Error).message}`, { cause: e });
    }
  }
}
