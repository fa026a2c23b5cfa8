/**
 * Record codec: framing (length, crc32, type) and the entries payload. Encoding appends into a
 * caller-owned ByteWriter (reused across records); decoding returns views into the input buffer.
 */
import { crc32 } from '../../util/crc32.js';
import type { Label, StructuredMetadata } from '../../model/index.js';
import type { ChunkRef } from '../../storage/index.js';
import { ByteWriter, type ByteReader } from '../../util/bytes.js';
import {
  CHUNK_PIECE_CLOSED,
  CHUNK_PIECE_CONTINUES,
  FRAME_HEADER_BYTES,
  MAX_DICT_ID,
  MAX_DICT_STRING_LENGTH,
  MAX_DICT_STRINGS,
  MAX_RECORD_BYTES,
  MAX_STRING_BYTES,
  MAX_TENANT_BYTES,
  MIN_ENTRY_BYTES,
  RECORD_CHECKPOINT_END,
  RECORD_CHECKPOINT_CHUNKS,
  RECORD_ENTRIES,
  RECORD_ENTRIES_SEQ,
  RECORD_FLUSHED,
} from './consts.js';

/** One log entry inside a WAL record. On replay `line` is a view into a file buffer: copy it to keep it. */
export interface WalEntry {
  /** Timestamp in ns since the epoch; must fit a signed 64-bit integer. */
  tsNs: bigint;
  /** Line bytes; never mutated by the WAL. */
  line: Uint8Array;
  /** Structured metadata pairs in push order. */
  metadata: StructuredMetadata;
}

/** One stream's entries inside a WAL record. */
export interface WalStream {
  /** Canonical label string, e.g. `{app="x", env="prod"}`. */
  labels: string;
  /** Stream fingerprint as the ingester computes it; stored verbatim. */
  fingerprint: string;
  /** Entries in push order. */
  entries: readonly WalEntry[];
  /**
   * Optional: `labels` and `fingerprint` already encoded as by `encodeStreamHeader` (a live
   * stream keeps one, so every record need not encode its label string again).
   */
  header?: Buffer;
  /**
   * Optional: where the stream's id in the current segment's dictionary is remembered (a live
   * stream keeps one, so a dictionary frame refers to it by number after its first record in the
   * segment). The encoder owns the fields; without it the stream is defined again in every record.
   */
  ref?: WalStreamRef;
  /**
   * Sequence number of `entries[0]`; the others follow consecutively. Sequence numbers are unique
   * per ingester and grow in append order (see FlushMark). Decoded records of older files, which
   * have none, get consecutive numbers assigned by replay.
   */
  firstSeq?: number;
}

/**
 * A flush mark: the chunk `ref` of stream `fingerprint` (labels `labels`) holds exactly the
 * stream's entries with sequence numbers in [firstSeq, lastSeq] and was uploaded.
 */
export interface FlushMark extends ChunkRef {
  /** The stream's canonical label string (the index entry needs the labels). */
  labels: string;
  firstSeq: number;
  lastSeq: number;
}

/** One unflushed chunk of a stream in a checkpoint, or a piece of one cut across frames. */
export interface CheckpointChunk {
  /** Sequence range the chunk covers: every entry of the stream appended in it has a number in it. */
  firstSeq: number;
  lastSeq: number;
  /** The chunk took no more appends. */
  closed: boolean;
  /** This piece continues the previous piece's chunk. */
  continues: boolean;
  entries: readonly WalEntry[];
}

/** One stream's unflushed chunks in a checkpoint. */
export interface CheckpointStream {
  labels: string;
  fingerprint: string;
  /** Highest sequence number applied to the stream's memory (flushed chunks included). */
  appliedSeq: number;
  chunks: CheckpointChunk[];
}

/**
 * A stream's id in one segment dictionary: valid while `walEpoch` equals that dictionary's
 * epoch. The ingester's streams carry these two fields themselves (one object less per stream).
 */
export interface WalStreamRef {
  walEpoch: number;
  walId: number;
}

/** A fresh ref that matches no dictionary. */
export function newStreamRef(): WalStreamRef {
  return { walEpoch: 0, walId: 0 };
}

/** The encoded labels + fingerprint that start every stream of an entries record. */
export function encodeStreamHeader(labels: string, fingerprint: string): Buffer {
  const w = new ByteWriter(labels.length * 3 + fingerprint.length * 3 + 20);
  w.string(labels);
  w.string(fingerprint);
  return Buffer.from(w.view());
}

/** A decoded entries record. `streams` and everything under it is freshly allocated except line bytes. */
export interface DecodedRecord {
  tenant: string;
  streams: WalStream[];
  /** Total entries over all streams. */
  entries: number;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
/** DataView over the last buffer encoded into; rebuilt when a writer grows or another writer is used. */
let viewBuf: Buffer | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

const EMPTY_METADATA: StructuredMetadata = Object.freeze([]) as StructuredMetadata;

/** Reserves a frame header plus the type byte; returns the frame start for `endFrame`. */
export function beginFrame(w: ByteWriter, type: number): number {
  const start = w.length;
  w.ensure(FRAME_HEADER_BYTES + 1);
  w.length += FRAME_HEADER_BYTES;
  w.buf[w.length++] = type;
  return start;
}

/** Fills in length and crc of the frame begun at `start`; returns the frame's total size in bytes. */
export function endFrame(w: ByteWriter, start: number): number {
  const b = w.buf;
  const bodyBytes = w.length - start - FRAME_HEADER_BYTES;
  b.writeUInt32BE(bodyBytes, start);
  b.writeUInt32BE(frameCrc(b, start, w.length), start + 4);
  return w.length - start;
}

/**
 * crc32 (zlib/IEEE) of the body (type + payload), seeded with the body length so a damaged
 * length field is caught too; one native call per frame.
 */
export function frameCrc(buf: Buffer, start: number, end: number): number {
  return crc32(buf.subarray(start + FRAME_HEADER_BYTES, end), end - start - FRAME_HEADER_BYTES);
}

/** Appends `entries[from, to)` of one stream (labels, fingerprint, count, entries). */
export function encodeStream(w: ByteWriter, s: WalStream, from: number, to: number): void {
  const header = s.header;
  if (header !== undefined) {
    w.ensure(header.length);
    w.buf.set(header, w.length);
    w.length += header.length;
  } else {
    w.string(s.labels);
    w.string(s.fingerprint);
  }
  encodeEntries(w, s.entries, from, to, null);
}

/**
 * Appends a count and `entries[from, to)`. With a dictionary, metadata strings are references
 * into it (defined on first use); without, they are written in full (frame type 1).
 */
function encodeEntries(w: ByteWriter, entries: readonly WalEntry[], from: number, to: number, dict: WalDict | null): void {
  w.uvarint(to - from);
  // The metadata array of the previous entry and its encoded bytes: runs of entries share one.
  let lastMd: StructuredMetadata | null = null;
  let lastMdBytes: Buffer | null = null;
  for (let i = from; i < to; i++) {
    const e = entries[i]!;
    const line = e.line;
    const n = line.length;
    const ts = e.tsNs;
    // DataView.setBigInt64 is ~4x faster than Buffer.writeBigInt64BE but wraps silently.
    if (ts > INT64_MAX || ts < INT64_MIN) throw new RangeError(`timestamp ${ts} outside signed 64-bit range`);
    const md = e.metadata;
    let mdBytes: Buffer | null = null;
    if (md.length === 0) {
      mdBytes = NO_METADATA_BYTES;
    } else if (md === lastMd) {
      mdBytes = lastMdBytes;
    } else if (Object.isFrozen(md)) {
      // Entries often share one frozen metadata array (the distributor's detected_level pairs):
      // encode it once and copy its bytes after that. Only frozen arrays, which cannot change.
      if (dict === null) {
        mdBytes = encodedMetadata.get(md) ?? null;
        if (mdBytes === null) {
          mdBytes = encodeMetadata(md);
          encodedMetadata.set(md, mdBytes);
        }
      } else {
        // Null the first time in this segment: written below, defining its strings.
        mdBytes = dict.frozenBytes(md);
      }
      lastMd = md;
      lastMdBytes = mdBytes;
    }
    // One ensure for ts + worst-case varint + line + the metadata bytes when known.
    w.ensure(8 + 5 + n + (mdBytes === null ? 0 : mdBytes.length));
    const b = w.buf;
    if (b !== viewBuf) {
      viewBuf = b;
      view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    view.setBigInt64(w.length, ts);
    let p = w.length + 8;
    if (n < 0x80) {
      b[p++] = n;
    } else if (n < 0x4000) {
      b[p++] = (n & 0x7f) | 0x80;
      b[p++] = n >>> 7;
    } else {
      w.length = p;
      w.uvarint(n);
      p = w.length;
    }
    b.set(line, p);
    p += n;
    if (mdBytes !== null) {
      // A few bytes: a loop beats a native copy call.
      for (let k = 0; k < mdBytes.length; k++) b[p + k] = mdBytes[k]!;
      w.length = p + mdBytes.length;
      continue;
    }
    w.length = p;
    if (dict !== null) {
      dict.metadata(w, md);
      if (md === lastMd) lastMdBytes = dict.rememberFrozen(md);
      continue;
    }
    w.uvarint(md.length);
    for (let j = 0; j < md.length; j++) {
      const l = md[j]!;
      w.string(l.name);
      w.string(l.value);
    }
  }
}

/** Dictionaries made so far; each takes the next number as its epoch. */
let dictEpochs = 0;

/**
 * The encoder side of one segment's dictionary (frame type 3). Streams get ids the first time a
 * record of the segment carries them (remembered in their WalStreamRef, so no lookup); short
 * metadata strings get ids in a bounded map. A dictionary must be dropped with its segment, and
 * whenever bytes it defined might not reach the file (a failed write, a record rolled back).
 */
export class WalDict {
  /** Unique over all dictionaries of the process: a ref from another dictionary never matches. */
  readonly epoch = ++dictEpochs;
  #nextStream = 0;
  #nextString = 0;
  readonly #strings = new Map<string, number>();
  /** Frozen metadata arrays already written in this segment, as reference bytes. */
  readonly #frozen = new WeakMap<StructuredMetadata, Buffer>();
  readonly #scratch = new ByteWriter(64);

  /** Writes a stream reference, defining the stream (id, labels, fingerprint) on its first use. */
  stream(w: ByteWriter, s: WalStream): void {
    const ref = s.ref;
    if (ref !== undefined && ref.walEpoch === this.epoch) {
      w.uvarint(ref.walId * 2 + 1);
      return;
    }
    const id = this.#nextStream++;
    if (id > MAX_DICT_ID) throw new RangeError(`more than ${MAX_DICT_ID} streams in one WAL segment`);
    w.uvarint(0);
    w.uvarint(id);
    const header = s.header;
    if (header !== undefined) {
      w.bytes(header);
    } else {
      w.string(s.labels);
      w.string(s.fingerprint);
    }
    if (ref !== undefined) {
      ref.walEpoch = this.epoch;
      ref.walId = id;
    }
  }

  /** Writes a metadata array: count, then per pair a reference or the string (defined when short enough to remember). */
  metadata(w: ByteWriter, md: StructuredMetadata): void {
    w.uvarint(md.length);
    for (let j = 0; j < md.length; j++) {
      const l = md[j]!;
      this.#sym(w, l.name, true);
      this.#sym(w, l.value, true);
    }
  }

  /** Reference bytes of a frozen array written before in this segment, else null. */
  frozenBytes(md: StructuredMetadata): Buffer | null {
    return this.#frozen.get(md) ?? null;
  }

  /** After `metadata(md)` wrote a frozen array: its bytes for the next uses (references where its strings were remembered). */
  rememberFrozen(md: StructuredMetadata): Buffer {
    const w = this.#scratch;
    w.reset();
    w.uvarint(md.length);
    for (let j = 0; j < md.length; j++) {
      const l = md[j]!;
      this.#sym(w, l.name, false);
      this.#sym(w, l.value, false);
    }
    const bytes = w.finish();
    this.#frozen.set(md, bytes);
    return bytes;
  }

  /**
   * A string: `uvarint 2*id+1` when known, else `uvarint 2*len, uvarint slot, bytes` where slot is
   * id+1 of the definition or 0 when not remembered.
   */
  #sym(w: ByteWriter, s: string, define: boolean): void {
    const id = this.#strings.get(s);
    if (id !== undefined) {
      w.uvarint(id * 2 + 1);
      return;
    }
    const len = Buffer.byteLength(s, 'utf8');
    let slot = 0;
    if (define && len <= MAX_DICT_STRING_LENGTH && this.#nextString < MAX_DICT_STRINGS) {
      const nid = this.#nextString++;
      this.#strings.set(s, nid);
      slot = nid + 1;
    }
    w.uvarint(len * 2);
    w.uvarint(slot);
    w.ensure(len);
    w.buf.write(s, w.length, 'utf8');
    w.length += len;
  }
}

/** The encoding of no metadata: a zero count. */
const NO_METADATA_BYTES = Buffer.from([0]);

/** The encoding of one entry's metadata: count, then name and value per pair. */
function encodeMetadata(md: StructuredMetadata): Buffer {
  const w = new ByteWriter(64);
  w.uvarint(md.length);
  for (const l of md) {
    w.string(l.name);
    w.string(l.value);
  }
  return Buffer.from(w.view());
}

/** Encoded bytes of frozen (hence unchanging) metadata arrays, by identity. */
const encodedMetadata = new WeakMap<StructuredMetadata, Buffer>();

/** Appends one framed entries record; returns its size in bytes. Throws (RangeError/TypeError) on unencodable input. */
export function encodeEntriesRecord(w: ByteWriter, tenant: string, streams: readonly WalStream[]): number {
  const start = beginFrame(w, RECORD_ENTRIES);
  w.string(tenant);
  w.uvarint(streams.length);
  for (let i = 0; i < streams.length; i++) {
    const s = streams[i]!;
    encodeStream(w, s, 0, s.entries.length);
  }
  return endFrame(w, start);
}

/**
 * Appends one framed dictionary entries record (type 3); returns its size in bytes. Throws
 * (RangeError/TypeError) on unencodable input, after which `dict` must not be used again: it may
 * have assigned ids whose definitions the caller rolls back.
 */
export function encodeEntriesDictRecord(w: ByteWriter, tenant: string, streams: readonly WalStream[], dict: WalDict): number {
  const start = beginFrame(w, RECORD_ENTRIES_SEQ);
  w.string(tenant);
  w.uvarint(streams.length);
  for (let i = 0; i < streams.length; i++) {
    const s = streams[i]!;
    dict.stream(w, s);
    w.uvarint(s.firstSeq ?? 0);
    encodeEntries(w, s.entries, 0, s.entries.length, dict);
  }
  return endFrame(w, start);
}

/** Appends one framed flush mark (type 5); returns its size in bytes. */
export function encodeFlushedRecord(w: ByteWriter, m: FlushMark): number {
  const start = beginFrame(w, RECORD_FLUSHED);
  w.string(m.tenant);
  w.string(m.labels);
  w.string(m.fingerprint);
  w.uvarint(m.firstSeq);
  w.uvarint(m.lastSeq);
  w.i64be(m.fromNs);
  w.i64be(m.throughNs);
  w.u32be(m.checksum >>> 0);
  w.uvarint(m.sizeBytes);
  w.uvarint(m.entries);
  w.uvarint(m.uncompressedBytes);
  return endFrame(w, start);
}

/** Decodes a flush mark payload. Throws RangeError on malformed bytes. */
export function decodeFlushed(r: ByteReader): FlushMark {
  const m: FlushMark = {
    tenant: r.string(MAX_TENANT_BYTES),
    labels: r.string(MAX_STRING_BYTES),
    fingerprint: r.string(MAX_STRING_BYTES),
    firstSeq: r.uvarint(),
    lastSeq: r.uvarint(),
    fromNs: r.i64be(),
    throughNs: r.i64be(),
    checksum: r.u32be(),
    sizeBytes: r.uvarint(),
    entries: r.uvarint(),
    uncompressedBytes: r.uvarint(),
  };
  if (m.lastSeq < m.firstSeq) throw new RangeError(`flush mark range [${m.firstSeq}, ${m.lastSeq}] is empty`);
  if (r.remaining() !== 0) throw new RangeError(`${r.remaining()} trailing bytes after flush mark`);
  return m;
}

/**
 * Starts a checkpoint chunks frame (type 6) for `tenant` with room for the stream count;
 * `addCheckpointStream` adds streams and `endCheckpointChunks` closes it.
 */
export function beginCheckpointChunks(w: ByteWriter, tenant: string): { start: number; countAt: number } {
  const start = beginFrame(w, RECORD_CHECKPOINT_CHUNKS);
  w.string(tenant);
  // A fixed-width stream count (4 bytes of uvarint), filled in by endCheckpointChunks.
  const countAt = w.length;
  w.ensure(4);
  w.length += 4;
  return { start, countAt };
}

/** Appends one stream with its chunk pieces to a frame begun by beginCheckpointChunks. */
export function addCheckpointStream(w: ByteWriter, s: CheckpointStream): void {
  w.string(s.labels);
  w.string(s.fingerprint);
  w.uvarint(s.appliedSeq);
  w.uvarint(s.chunks.length);
  for (const c of s.chunks) {
    w.uvarint(c.firstSeq);
    w.uvarint(c.lastSeq);
    w.u8((c.closed ? CHUNK_PIECE_CLOSED : 0) | (c.continues ? CHUNK_PIECE_CONTINUES : 0));
    encodeEntries(w, c.entries, 0, c.entries.length, null);
  }
}

/** Fills in the stream count and closes the frame; returns its size in bytes. */
export function endCheckpointChunks(w: ByteWriter, frame: { start: number; countAt: number }, streams: number): number {
  if (streams >= 1 << 28) throw new RangeError(`${streams} streams in one checkpoint frame`);
  const b = w.buf;
  let v = streams;
  for (let i = 0; i < 4; i++) {
    b[frame.countAt + i] = (v & 0x7f) | (i < 3 ? 0x80 : 0);
    v >>>= 7;
  }
  return endFrame(w, frame.start);
}

/** Decodes a checkpoint chunks payload. Throws RangeError on malformed bytes. */
export function decodeCheckpointChunks(r: ByteReader): { tenant: string; streams: CheckpointStream[]; entries: number } {
  const tenant = r.string(MAX_TENANT_BYTES);
  const nStreams = r.uvarint();
  if (nStreams * 4 > r.remaining()) throw new RangeError(`stream count ${nStreams} exceeds record size`);
  const streams: CheckpointStream[] = [];
  let total = 0;
  for (let i = 0; i < nStreams; i++) {
    const labels = r.string(MAX_STRING_BYTES);
    const fingerprint = r.string(MAX_STRING_BYTES);
    const appliedSeq = r.uvarint();
    const nChunks = r.uvarint();
    if (nChunks * 4 > r.remaining()) throw new RangeError(`chunk count ${nChunks} exceeds record size`);
    const chunks: CheckpointChunk[] = [];
    for (let j = 0; j < nChunks; j++) {
      const firstSeq = r.uvarint();
      const lastSeq = r.uvarint();
      const flags = r.u8();
      if (lastSeq < firstSeq) throw new RangeError(`chunk range [${firstSeq}, ${lastSeq}] is empty`);
      const entries = decodeEntryList(r, null);
      total += entries.length;
      chunks.push({ firstSeq, lastSeq, closed: (flags & CHUNK_PIECE_CLOSED) !== 0, continues: (flags & CHUNK_PIECE_CONTINUES) !== 0, entries });
    }
    streams.push({ labels, fingerprint, appliedSeq, chunks });
  }
  if (r.remaining() !== 0) throw new RangeError(`${r.remaining()} trailing bytes after record`);
  return { tenant, streams, entries: total };
}

/** Appends the framed end-of-checkpoint record carrying the totals written before it. */
export function encodeCheckpointEnd(w: ByteWriter, records: number, entries: number): number {
  const start = beginFrame(w, RECORD_CHECKPOINT_END);
  w.uvarint(records);
  w.uvarint(entries);
  return endFrame(w, start);
}

/** The decoder side of one segment's dictionary: what its frames defined so far, by id. */
export class DictTables {
  readonly streams: ({ labels: string; fingerprint: string } | undefined)[] = [];
  readonly strings: (string | undefined)[] = [];
}

/**
 * Decodes an entries payload from `r.pos` to `r.end`: type 1 without `tables`, type 3 (dictionary)
 * with the tables of its file, to which its definitions are added. Throws RangeError on malformed
 * bytes or on a reference to an id no earlier frame defined (possible only after damage: ids are
 * explicit, so a lost frame never shifts later ones).
 */
export function decodeEntriesPayload(r: ByteReader, tables: DictTables | null = null, withSeqs = false): DecodedRecord {
  const tenant = r.string(MAX_TENANT_BYTES);
  const nStreams = r.uvarint();
  // Each stream needs at least 2 bytes (a dictionary reference and a zero count).
  if (nStreams * 2 > r.remaining()) throw new RangeError(`stream count ${nStreams} exceeds record size`);
  const streams: WalStream[] = new Array<WalStream>(nStreams);
  let total = 0;
  for (let i = 0; i < nStreams; i++) {
    const def = tables === null ? { labels: r.string(MAX_STRING_BYTES), fingerprint: r.string(MAX_STRING_BYTES) } : readStreamRef(r, tables);
    const firstSeq = withSeqs ? r.uvarint() : undefined;
    const entries = decodeEntryList(r, tables);
    total += entries.length;
    streams[i] = firstSeq === undefined ? { labels: def.labels, fingerprint: def.fingerprint, entries } : { labels: def.labels, fingerprint: def.fingerprint, entries, firstSeq };
  }
  if (r.remaining() !== 0) throw new RangeError(`${r.remaining()} trailing bytes after record`);
  return { tenant, streams, entries: total };
}

/** A count and that many entries, metadata strings in full or (with `tables`) as dictionary symbols. */
function decodeEntryList(r: ByteReader, tables: DictTables | null): WalEntry[] {
  const n = r.uvarint();
  if (n * MIN_ENTRY_BYTES > r.remaining()) throw new RangeError(`entry count ${n} exceeds record size`);
  const entries: WalEntry[] = new Array<WalEntry>(n);
  for (let j = 0; j < n; j++) {
    const tsNs = r.i64be();
    const line = r.lenBytes(MAX_RECORD_BYTES);
    const m = r.uvarint();
    let metadata = EMPTY_METADATA;
    if (m > 0) {
      if (m * 2 > r.remaining()) throw new RangeError(`metadata count ${m} exceeds record size`);
      const md: Label[] = new Array<Label>(m);
      for (let k = 0; k < m; k++) {
        const name = tables === null ? r.string(MAX_STRING_BYTES) : readSym(r, tables);
        const value = tables === null ? r.string(MAX_STRING_BYTES) : readSym(r, tables);
        md[k] = { name, value };
      }
      metadata = md;
    }
    entries[j] = { tsNs, line, metadata };
  }
  return entries;
}

/** A stream of a dictionary frame: a reference, or a definition (see WalDict.stream). */
function readStreamRef(r: ByteReader, t: DictTables): { labels: string; fingerprint: string } {
  const x = r.uvarint();
  if (x % 2 === 1) {
    const id = (x - 1) / 2;
    const def = t.streams[id];
    if (def === undefined) throw new RangeError(`reference to undefined stream ${id}`);
    return def;
  }
  if (x !== 0) throw new RangeError(`bad stream reference ${x}`);
  const id = r.uvarint();
  if (id > MAX_DICT_ID) throw new RangeError(`stream id ${id} exceeds ${MAX_DICT_ID}`);
  const def = { labels: r.string(MAX_STRING_BYTES), fingerprint: r.string(MAX_STRING_BYTES) };
  t.streams[id] = def;
  return def;
}

/** One metadata string of a dictionary frame (see WalDict). */
function readSym(r: ByteReader, t: DictTables): string {
  const x = r.uvarint();
  if (x % 2 === 1) {
    const id = (x - 1) / 2;
    const s = t.strings[id];
    if (s === undefined) throw new RangeError(`reference to undefined string ${id}`);
    return s;
  }
  const len = x / 2;
  if (len > MAX_STRING_BYTES) throw new RangeError(`length ${len} exceeds limit ${MAX_STRING_BYTES}`);
  const slot = r.uvarint();
  const s = r.bytes(len).toString('utf8');
  if (slot > 0) {
    if (slot - 1 > MAX_DICT_ID) throw new RangeError(`string id ${slot - 1} exceeds ${MAX_DICT_ID}`);
    t.strings[slot - 1] = s;
  }
  return s;
}

/** Decodes an end-of-checkpoint payload. Throws RangeError on malformed bytes. */
export function decodeCheckpointEnd(r: ByteReader): { records: number; entries: number } {
  const records = r.uvarint();
  const entries = r.uvarint();
  if (r.remaining() !== 0) throw new RangeError(`${r.remaining()} trailing bytes after checkpoint end`);
  return { records, entries };
}
