/** Format constants and limits of the write-ahead log. See README.md for the byte layout. */

/** Magic at the start of every segment file, so a stray file in the dir is never replayed. */
export const SEGMENT_MAGIC = 0x5357414c; // 'SWAL'
/** Magic at the start of every checkpoint file; differs from segments so they cannot be mixed up. */
export const CHECKPOINT_MAGIC = 0x53574350; // 'SWCP'
/**
 * Format version written in every file header; bump on any incompatible change. Version 2 added
 * the dictionary entries frame (RECORD_ENTRIES_DICT); version 3 the entry sequence numbers
 * (RECORD_ENTRIES_SEQ, RECORD_FLUSHED, RECORD_CHECKPOINT_CHUNKS). Readers accept 1 to 3.
 */
export const FORMAT_VERSION = 3;
/** File header: magic u32, version u8, 3 reserved zero bytes (keeps frames 4-byte aligned). */
export const FILE_HEADER_BYTES = 8;
/** Frame header: payload length u32 + crc32 u32; the type byte follows. */
export const FRAME_HEADER_BYTES = 8;

/** Frame type: one append() (or one checkpoint chunk): tenant + streams + entries. */
export const RECORD_ENTRIES = 1;
/** Frame type: last frame of a checkpoint; its absence means the checkpoint is incomplete. */
export const RECORD_CHECKPOINT_END = 2;
/**
 * Frame type (segments, version 2): one append() whose streams and metadata strings refer to a
 * dictionary scoped to the segment file, defined inline by the first frame that uses them.
 */
export const RECORD_ENTRIES_DICT = 3;
/**
 * Frame type (segments, version 3): a dictionary entries frame whose streams also carry the
 * sequence number of their first entry (the rest follow consecutively). Sequence numbers are how
 * a flush mark names exactly the entries a stored chunk holds.
 */
export const RECORD_ENTRIES_SEQ = 4;
/**
 * Frame type (version 3): a flush mark. A chunk holding a stream's entries with sequence numbers
 * firstSeq..lastSeq was uploaded; it is written (durably) before the chunk is indexed, so replay
 * never brings those entries back into memory and re-indexes the chunk instead. In checkpoints it
 * carries the marks whose index write was not confirmed yet.
 */
export const RECORD_FLUSHED = 5;
/**
 * Frame type (checkpoints, version 3): unflushed chunks with their sequence ranges, grouped by
 * stream, plus each stream's highest applied sequence number (segment entries at or below it
 * are already in the checkpoint or flushed).
 */
export const RECORD_CHECKPOINT_CHUNKS = 6;
/** Flag of a checkpoint chunk piece: the chunk was closed (takes no more appends). */
export const CHUNK_PIECE_CLOSED = 1;
/** Flag of a checkpoint chunk piece: it continues the previous piece's chunk (cut across frames). */
export const CHUNK_PIECE_CONTINUES = 2;

/** Largest stream or string id a dictionary frame may define; bounds the replay tables. */
export const MAX_DICT_ID = (1 << 24) - 1;
/** Distinct metadata strings a segment's encoder remembers; later ones are written in full. */
export const MAX_DICT_STRINGS = 1 << 16;
/** Metadata strings longer than this are always written in full, never remembered. */
export const MAX_DICT_STRING_LENGTH = 256;

/** Largest frame body (type + payload) accepted on write and read; bounds allocation on replay. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
/** Longest tenant id we decode; Loki caps tenant ids at 150 bytes. Also prunes resync candidates. */
export const MAX_TENANT_BYTES = 256;
/** Longest label string, fingerprint or metadata name/value we decode. */
export const MAX_STRING_BYTES = 1024 * 1024;
/** Smallest encoded entry (8-byte ts + line length + metadata count); bounds entry counts. */
export const MIN_ENTRY_BYTES = 10;

/** Checkpoint frames are cut at about this many bytes so replay never needs one huge buffer. */
export const CHECKPOINT_RECORD_TARGET_BYTES = 1024 * 1024;
/**
 * Checkpoint writer flushes its buffer to the file once it holds this much. The event loop runs
 * between writes, and the streams of each write are read just before it: so this also bounds
 * how long a checkpoint holds the event loop (~25 ms per MiB of entries on this machine).
 */
export const CHECKPOINT_WRITE_CHUNK_BYTES = 1024 * 1024;
/** Append batch buffers that grew beyond this are dropped after use instead of pooled. */
export const BATCH_BUFFER_KEEP_BYTES = 16 * 1024 * 1024;
/** Initial size of a pooled batch buffer. */
export const BATCH_BUFFER_INITIAL_BYTES = 256 * 1024;
/** Digits of the zero-padded sequence number in file names (Loki uses 8 too). */
export const SEQ_DIGITS = 8;

/** Name prefix of checkpoint files: `checkpoint.00000012`. */
export const CHECKPOINT_PREFIX = 'checkpoint.';
/** Suffix of a checkpoint being written; such files are never read and are deleted on open. */
export const TMP_SUFFIX = '.tmp';
