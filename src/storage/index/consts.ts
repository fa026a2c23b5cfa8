/** Format constants and limits of the label index. */

/** First four bytes of every segment object: "SLTX" (Silt index). */
export const SEGMENT_MAGIC = Buffer.from('SLTX', 'latin1');
/** Segment format version written by ingester flushes (no `replaces` section). */
export const SEGMENT_VERSION = 1;
/** Version of segments that name the segments they supersede (compactor output); readers accept 1, 2 and 3. */
export const SEGMENT_VERSION_REPLACES = 2;
/**
 * Version 2 plus the chunk settings the compactor rewrote the table's chunks with (its
 * recompression of old days, ADR 0038); readers accept 1, 2 and 3.
 */
export const SEGMENT_VERSION_RECOMPRESSED = 3;
/** Longest recompression settings string a segment may carry. */
export const MAX_RECOMPRESSED_BYTES = 256;
/** Most segment names one segment may supersede (a table with more inputs is compacted in rounds). */
export const MAX_REPLACED_SEGMENTS = 100_000;
/** Magic (4) + version (1). */
export const SEGMENT_HEADER_BYTES = 5;
/** Trailing crc32 (u32 big-endian). */
export const SEGMENT_FOOTER_BYTES = 4;
/** File-name suffix of segment objects; other objects under `index/` are ignored. */
export const SEGMENT_SUFFIX = '.idx';
/** Root prefix of all index objects. */
export const INDEX_PREFIX = 'index/';

/** One index table per tenant per UTC day. */
export const DAY_NS = 86_400_000_000_000n;

/** Segments above this are refused unread: a writer never produces one (bounded ingester flushes). */
export const MAX_SEGMENT_BYTES = 512 * 1024 * 1024;
/** Longest symbol (label name or value); far above Loki's default label-value limit of 2 KiB. */
export const MAX_SYMBOL_BYTES = 1024 * 1024;
/** Labels per series; Loki's default limit is 15, so this only guards against garbage. */
export const MAX_LABELS_PER_SERIES = 1024;
/** A chunk spanning more days than this is a caller bug (chunks are cut after hours). */
export const MAX_CHUNK_SPAN_DAYS = 366;
/** Parallel object reads/writes per call, so a wide query does not flood the store. */
export const IO_CONCURRENCY = 8;
/** Above this many days per query, list the existing days first instead of probing each. */
export const DAY_PROBE_LIMIT = 32;
/** Default byte budget of parsed segments kept in a reader. */
export const DEFAULT_SEGMENT_CACHE_BYTES = 128 * 1024 * 1024;
