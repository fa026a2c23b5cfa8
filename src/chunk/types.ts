/** Public chunk types, re-exported by mem-chunk.ts and index.ts. */
import type { StructuredMetadata } from '../model/stream.js';
import type { Codec } from './codec.js';
import type { ColumnPool } from './column-pool.js';
import type { BlockProbe } from './needle.js';
import type { BlockSealer } from './sealer.js';

/** MemChunk settings. A chunk keeps the object it was made with (the ingester shares one among all its chunks). */
export interface ChunkOptions {
  /** Block compression for every block and the symbols section. */
  readonly codec: Codec;
  /** The head block is cut once its estimated uncompressed size reaches this (1..MAX_BLOCK_SIZE_BYTES). */
  readonly blockSizeBytes: number;
  /** isFull() turns true once the estimated compressed chunk size reaches this. */
  readonly targetSizeBytes: number;
  /** zstd level of the blocks and symbols (codec zstd only; default 3). The compactor's recompression writes higher ones (ADR 0038). */
  readonly zstdLevel?: number;
  /**
   * Seals cut blocks (compression, token filter, crc) off the event loop; absent: inline.
   * With a sealer, call `whenSealed()` before `encode()` to avoid sealing inline there.
   */
  readonly sealer?: BlockSealer;
  /** Where heads take the columns they grow into and leave the ones they grew out of (ADR 0040); absent: none. */
  readonly columnPool?: ColumnPool;
}

/**
 * Columnar read-only view of one block's entries, sorted by ts ascending (stable: equal
 * timestamps keep append order). Views may share memory with the chunk bytes or the head
 * block; they stay valid and unchanged for as long as the caller keeps them.
 */
export interface DecodedBlock {
  /** Number of entries (≥ 1). */
  readonly n: number;
  /** Block min ts in ns; every entry ts is baseNs + tsRel[i]. */
  readonly baseNs: bigint;
  /** Length n, ts - baseNs as exact integers (a block spans < 2^53 ns), ascending, tsRel[0] = 0. */
  readonly tsRel: Float64Array;
  /** Length n+1; line i = lines[lineOffsets[i], lineOffsets[i+1]). lineOffsets[0] = 0. */
  readonly lineOffsets: Int32Array;
  /** All line bytes concatenated with nothing between them: one indexOf searches every line. */
  readonly lines: Buffer;
  /** Structured metadata of entry i: a new array per call (owned by the caller), or the shared frozen EMPTY_METADATA when none. */
  metadata(i: number): StructuredMetadata;
}

/** Where a cut block lives in the encoded chunk and what it holds. Frozen. */
export interface BlockMeta {
  /** Entries in the block (≥ 1). */
  entries: number;
  /** Smallest entry ts. Blocks of one chunk may overlap in time (out-of-order appends). */
  minTsNs: bigint;
  /** Largest entry ts; maxTsNs - minTsNs ≤ MAX_BLOCK_SPAN_NS. */
  maxTsNs: bigint;
  /** Byte offset of the compressed block in the encoded chunk. */
  offset: number;
  /** Compressed length, excluding the crc32 that follows. */
  compressedBytes: number;
  /** Exact uncompressed payload length. */
  uncompressedBytes: number;
  /** Size of the block's token bloom filter (stored in the metas); 0 when the block has none. */
  bloomBytes: number;
  /** Size of the block's needle filter (stored in the metas, format version 2); 0 when the block has none. */
  gramBytes: number;
}

/** readBlockUnlessLacking's answer for a block none of whose lines in range can match. */
export interface LackingBlock {
  readonly lacking: true;
  /** Entries with a timestamp in the range asked for (what a scan of the block would count). */
  readonly entries: number;
  /** Their line bytes. */
  readonly bytes: number;
}

/** Read-only chunk API shared by MemChunk and decoded chunks. */
export interface ReadableChunk {
  /** Codec of every block. */
  readonly codec: Codec;
  /** Smallest ts over all entries, head included; 0n when the chunk is empty. */
  minTsNs(): bigint;
  /** Largest ts over all entries, head included; 0n when the chunk is empty. */
  maxTsNs(): bigint;
  /** Number of entries, head included. */
  entries(): number;
  /** Uncompressed payload bytes of cut blocks, plus the head's estimate for a MemChunk (for stats). */
  uncompressedBytes(): number;
  /** Metas of cut blocks only (not the head), in block order; the array and its objects must not be mutated. */
  blockMetas(): readonly BlockMeta[];
  /** Decompresses and validates block i. Throws ChunkCorruptError naming the block; RangeError for a bad index. */
  readBlock(i: number): DecodedBlock;
  /**
   * Whether cut block i may hold what `probe` asks for: every token of `probe.tokens` (tested
   * against the block's token filter) and every gram of `probe.grams` (its needle filter),
   * answered from the metas without decompression. False means something is certainly absent,
   * so no line matching the query that made the probe is in the block. True when the probe is
   * empty or the block lacks the filter concerned. RangeError for a bad index.
   */
  blockMayContainAll(i: number, probe: BlockProbe): boolean;
  /**
   * Block i as readBlock answers it, unless one of `literals` (bytes every line a query can keep
   * holds) occurs in none of its lines with a timestamp in [startNs, endNs): then how many
   * entries are in that range and their line bytes, and no block is made. Optional: chunks
   * without it are read with readBlock. Same errors as readBlock.
   */
  readBlockUnlessLacking?(i: number, literals: readonly Uint8Array[], startNs: bigint, endNs: bigint): DecodedBlock | LackingBlock;
  /**
   * The crc32 of cut block i's compressed bytes (as stored after the block), or 0 while it is
   * not known yet (a MemChunk block not sealed yet). Identical blocks have identical crcs:
   * queriers recognise a chunk that replicas cut identically by them. RangeError for a bad index.
   */
  blockCrc(i: number): number;
}
