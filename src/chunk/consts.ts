/**
 * Chunk format v1 constants and limits. See FORMAT.md for the byte layout. Decoders check
 * every length they read against these limits before allocating; writers refuse input that
 * would produce a chunk the decoder rejects.
 */

/** "SLTC" (Silt chunk): first four bytes of every chunk, rejects foreign or misaligned data. */
export const MAGIC = 0x534c5443;

/**
 * Format version written in byte 4 (and, from version 2 on, in the footer's top byte of the
 * symbol count): 2 adds the needle filters to the block metas. Decoders read versions 1 and 2
 * and refuse others.
 */
export const FORMAT_VERSION = 2;

/** The first format, without needle filters: still read (chunks stored before version 2). */
export const FORMAT_VERSION_1 = 1;

/** Header: magic (4) + version (1) + codec id (1). */
export const HEADER_BYTES = 6;

/** Each compressed block and the symbols section are followed by a big-endian crc32 of their bytes. */
export const CRC_BYTES = 4;

/** Footer: seven u32be fields (see FORMAT.md); fixed size so it can be found from the end. */
export const FOOTER_BYTES = 28;

/** Loki's default block size: big enough to compress well, small enough to decode per query cheaply. */
export const DEFAULT_BLOCK_SIZE_BYTES = 256 * 1024;

/** Loki's default chunk target size (compressed), 1.5 MiB: one object-store GET per chunk stays cheap. */
export const DEFAULT_TARGET_SIZE_BYTES = 1.5 * 1024 * 1024;

/** Upper bound for the blockSizeBytes option, so one block always stays far below MAX_BLOCK_UNCOMPRESSED_BYTES. */
export const MAX_BLOCK_SIZE_BYTES = 16 * 1024 * 1024;

/** A head block is cut at this many entries even if small (tiny lines), bounding per-block column allocations. */
export const MAX_ENTRIES_PER_BLOCK = 128 * 1024;

/** Longest line accepted by append and by the decoder; far above Loki's 256 KB default max_line_size. */
export const MAX_LINE_SIZE_BYTES = 16 * 1024 * 1024;

/**
 * Largest uncompressed block payload a decoder allocates: a full block (MAX_BLOCK_SIZE_BYTES) plus one
 * maximal line plus its metadata ids and the per-entry varints of MAX_ENTRIES_PER_BLOCK entries.
 */
export const MAX_BLOCK_UNCOMPRESSED_BYTES = 48 * 1024 * 1024;

/** Structured metadata pairs per entry; Loki validates far fewer, this only bounds decoding. */
export const MAX_METADATA_PAIRS_PER_ENTRY = 4096;

/** Longest symbol (metadata name or value) in bytes; bounds append and the symbols decoder. */
export const MAX_SYMBOL_BYTES = 1024 * 1024;

/** Distinct symbols per chunk; a chunk with more is refused (a full chunk should have been flushed long before). */
export const MAX_SYMBOLS_PER_CHUNK = 1024 * 1024;

/** Largest uncompressed symbols section a decoder allocates. */
export const MAX_SYMBOLS_UNCOMPRESSED_BYTES = 64 * 1024 * 1024;

/** Blocks per chunk; at the default sizes a chunk holds a handful, this bounds the metas decoder. */
export const MAX_BLOCKS_PER_CHUNK = 64 * 1024;

/** Offsets are u32; an encoded chunk must stay below 4 GiB. */
export const MAX_CHUNK_BYTES = 0xffffffff;

/**
 * Max time span (maxTs - minTs) of one block, 2^52 ns (about 52 days). Keeps every in-block offset an
 * exact double, so decoding never needs bigint per entry. A head block is cut before it would exceed it.
 */
export const MAX_BLOCK_SPAN_NS = 2 ** 52;

/** Per-entry bytes added to the head size estimate on top of the line: ts delta, length and metadata-count varints. */
export const ENTRY_OVERHEAD_BYTES = 8;

/** Per-pair bytes added to the head size estimate: two symbol-id varints. */
export const METADATA_PAIR_OVERHEAD_BYTES = 4;

/** Signed 64-bit nanosecond range of timestamps (stored as i64be). */
export const MIN_TS_NS = -(2n ** 63n);
/** See MIN_TS_NS. */
export const MAX_TS_NS = 2n ** 63n - 1n;

/** Token bloom filter bits per distinct token of a block: with BLOOM_HASHES = 3 about 3% false positives per absent token. */
export const BLOOM_BITS_PER_TOKEN = 8;

/** Probes per token written by this version; readers accept 1 … MAX_BLOOM_HASHES (stored per block). */
export const BLOOM_HASHES = 3;

/** Largest probe count a reader accepts. */
export const MAX_BLOOM_HASHES = 8;

/**
 * Largest token filter, 256 KiB = 2^21 bits; a block with more distinct tokens than fit at
 * BLOOM_BITS_PER_TOKEN gets none. Keeps x·m below 2^53, so the probe position floor(x·m / 2^32)
 * is exact in a double.
 */
export const MAX_BLOOM_BYTES = 256 * 1024;

/** Distinct tokens past which a block is stored without a filter (always scanned). */
export const MAX_BLOOM_TOKENS = (MAX_BLOOM_BYTES * 8) / BLOOM_BITS_PER_TOKEN;

/** Bytes per needle-filter gram: 5 bytes keep hex ids' grams (16^5 of them) far from filling a block's filter. */
export const GRAM_BYTES = 5;

/** Grams per winnowing window: GRAM_BYTES + GRAM_WINDOW - 1 = 8, the shortest needle the filter answers for. */
export const GRAM_WINDOW = 4;

/**
 * Needle filter bits per distinct selected gram. Sized for index bytes ≤ 10 % of snappy chunk
 * bytes on id-heavy logs (ADR 0023): about 19 % false positives per needle gram, and a needle
 * of n bytes tests about 0.4·(n - 7) grams, whose rates multiply.
 */
export const GRAM_BITS_PER_GRAM = 3.5;

/** Probes per needle gram written by this version (optimal for 3.5 bits); readers accept 1 … MAX_BLOOM_HASHES. */
export const GRAM_HASHES = 2;

/** Distinct selected grams past which a block gets no needle filter (it would exceed MAX_BLOOM_BYTES). */
export const MAX_GRAM_FILTER_GRAMS = Math.floor((MAX_BLOOM_BYTES * 8) / GRAM_BITS_PER_GRAM);
