/**
 * MemChunk: the ingester's in-memory chunk of one stream. Entries go into an uncompressed
 * columnar head block; full heads are cut into compressed blocks; encode() lays the chunk
 * out as FORMAT.md describes. decodeChunk() (layout.ts) reads it back.
 */
import zlib from 'node:zlib';
import { ChunkCorruptError, InvalidError, TooLargeError } from '../errors.js';
import type { StructuredMetadata } from '../model/stream.js';
import { ByteWriter } from '../util/bytes.js';
import { decodeBlockPayload } from './block.js';
import { bloomMayContainAll } from './bloom.js';
import { type Codec, compress, decompress } from './codec.js';
import {
  BLOOM_HASHES,
  CRC_BYTES,
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
import { SymbolTable } from './symbols.js';
import type { BlockMeta, ChunkOptions, DecodedBlock, ReadableChunk } from './types.js';

export type { BlockMeta, ChunkOptions, DecodedBlock, ReadableChunk } from './types.js';
export { blockEntryTs, EMPTY_METADATA } from './block.js';
export { decodeChunk } from './layout.js';

/** Loki's defaults: 256 KiB blocks, 1.5 MiB target, snappy unless another codec is given. */
export function defaultChunkOptions(codec: Codec = 'snappy'): ChunkOptions {
  return { codec, blockSizeBytes: DEFAULT_BLOCK_SIZE_BYTES, targetSizeBytes: DEFAULT_TARGET_SIZE_BYTES };
}

/** Scratch for block payloads; cutBlock is synchronous so one writer serves every chunk. */
let scratch = new ByteWriter(64 * 1024);
/** A scratch writer grown past this by an unusually big block is dropped instead of kept forever. */
const SCRATCH_KEEP_BYTES = 4 * 1024 * 1024;

/**
 * Appendable chunk of one stream. Not thread-safe (nothing in Node is), and all methods are
 * synchronous. Cut blocks may overlap in time when entries arrive out of order.
 */
export class MemChunk implements ReadableChunk {
  readonly codec: Codec;
  private readonly blockSizeBytes: number;
  private readonly targetSizeBytes: number;
  private readonly head = new HeadBlock();
  private readonly symbols = new SymbolTable();
  private readonly metas: BlockMeta[] = [];
  private readonly blocks: Buffer[] = [];
  private readonly crcs: number[] = [];
  /** Token bloom filter of each cut block (BLOOM_HASHES probes), null when it has none. */
  private readonly blooms: (Buffer | null)[] = [];
  private cutCompressedBytes = 0;
  private cutBloomBytes = 0;
  private cutUncompressedBytes = 0;
  private cutEntries = 0;
  private cutMinTs = 0n;
  private cutMaxTs = 0n;
  private nextOffset = HEADER_BYTES;

  /** Throws InvalidError for sizes outside [1, MAX_BLOCK_SIZE_BYTES] (block) or below 1 (target). */
  constructor(opts: ChunkOptions) {
    const { codec, blockSizeBytes, targetSizeBytes } = opts;
    if (!Number.isInteger(blockSizeBytes) || blockSizeBytes < 1 || blockSizeBytes > MAX_BLOCK_SIZE_BYTES) {
      throw new InvalidError(`chunk blockSizeBytes ${blockSizeBytes} outside [1, ${MAX_BLOCK_SIZE_BYTES}]`);
    }
    if (!Number.isInteger(targetSizeBytes) || targetSizeBytes < 1) throw new InvalidError(`chunk targetSizeBytes ${targetSizeBytes} must be a positive integer`);
    this.codec = codec;
    this.blockSizeBytes = blockSizeBytes;
    this.targetSizeBytes = targetSizeBytes;
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
    h.push(rel, line, metadata, this.symbols);
    if (h.sizeBytes >= this.blockSizeBytes || h.n >= MAX_ENTRIES_PER_BLOCK) this.cutBlock();
    return true;
  }

  /**
   * True once compressed cut blocks and their token filters plus the head's and the symbol table's uncompressed bytes,
   * scaled by the running compression ratio of cut blocks (1 before the first cut), reach
   * targetSizeBytes.
   */
  isFull(): boolean {
    const ratio = this.cutUncompressedBytes > 0 ? this.cutCompressedBytes / this.cutUncompressedBytes : 1;
    return this.cutCompressedBytes + this.cutBloomBytes + (this.head.sizeBytes + this.symbols.bytes) * ratio >= this.targetSizeBytes;
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
    const compressed = compress(this.codec, payload);
    const bloom = h.buildBloom();
    const minTsNs = h.baseNs + BigInt(h.minRel);
    const maxTsNs = h.baseNs + BigInt(h.maxRel);
    const meta: BlockMeta = Object.freeze({
      entries: h.n,
      minTsNs,
      maxTsNs,
      offset: this.nextOffset,
      compressedBytes: compressed.length,
      uncompressedBytes: payload.length,
      bloomBytes: bloom === null ? 0 : bloom.length,
    });
    if (w.buf.length > SCRATCH_KEEP_BYTES) scratch = new ByteWriter(64 * 1024);
    if (this.metas.length === 0 || minTsNs < this.cutMinTs) this.cutMinTs = minTsNs;
    if (this.metas.length === 0 || maxTsNs > this.cutMaxTs) this.cutMaxTs = maxTsNs;
    this.metas.push(meta);
    this.blocks.push(compressed);
    this.crcs.push(zlib.crc32(compressed));
    this.blooms.push(bloom);
    this.nextOffset += compressed.length + CRC_BYTES;
    this.cutCompressedBytes += compressed.length;
    this.cutBloomBytes += meta.bloomBytes;
    this.cutUncompressedBytes += payload.length;
    this.cutEntries += h.n;
    h.reset();
  }

  /**
   * Sorted columnar snapshot of the head block, or null when empty. It stays valid and
   * unchanged after later appends and cuts (in-order heads are shared, not copied).
   */
  headBlock(): DecodedBlock | null {
    return this.head.snapshot(this.symbols.strings);
  }

  /** Compressed bytes of cut blocks (without crcs, metas, symbols or the head). */
  compressedBytes(): number {
    return this.cutCompressedBytes;
  }

  /** Exact uncompressed bytes of cut blocks plus the head block's estimate. */
  uncompressedBytes(): number {
    return this.cutUncompressedBytes + this.head.sizeBytes;
  }

  /** Cuts the head and returns the chunk's full encoded bytes (a new Buffer). The chunk stays appendable. */
  encode(): Buffer {
    this.cutBlock();
    return encodeChunk(this.codec, this.blocks, this.crcs, this.metas, this.blooms, this.symbols);
  }

  minTsNs(): bigint {
    const h = this.head;
    if (h.n === 0) return this.metas.length === 0 ? 0n : this.cutMinTs;
    const headMin = h.baseNs + BigInt(h.minRel);
    return this.metas.length === 0 || headMin < this.cutMinTs ? headMin : this.cutMinTs;
  }

  maxTsNs(): bigint {
    const h = this.head;
    if (h.n === 0) return this.metas.length === 0 ? 0n : this.cutMaxTs;
    const headMax = h.baseNs + BigInt(h.maxRel);
    return this.metas.length === 0 || headMax > this.cutMaxTs ? headMax : this.cutMaxTs;
  }

  entries(): number {
    return this.cutEntries + this.head.n;
  }

  blockMetas(): readonly BlockMeta[] {
    return this.metas;
  }

  blockMayContainAll(i: number, tokenHashes: Uint32Array): boolean {
    if (i < 0 || i >= this.metas.length) throw new RangeError(`block index ${i} out of range [0, ${this.metas.length})`);
    const bloom = this.blooms[i]!;
    return bloom === null || bloomMayContainAll(bloom, BLOOM_HASHES, tokenHashes);
  }

  /** Decompresses cut block i. In-memory blocks skip the crc check (they never left this process). */
  readBlock(i: number): DecodedBlock {
    const m = this.metas[i];
    if (m === undefined) throw new RangeError(`block index ${i} out of range [0, ${this.metas.length})`);
    try {
      const payload = decompress(this.codec, this.blocks[i]!, m.uncompressedBytes);
      const symbols = this.symbols.strings;
      return decodeBlockPayload(payload, m.entries, m.minTsNs, Number(m.maxTsNs - m.minTsNs), symbols.length, () => symbols);
    } catch (e) {
      throw new ChunkCorruptError(`chunk block ${i}: ${(e as Error).message}`, { cause: e });
    }
  }
}
