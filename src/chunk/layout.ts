/**
 * The whole-chunk layout (FORMAT.md): writing header, blocks, metas, symbols and footer, and
 * parsing them back into a lazily decoding ReadableChunk.
 */
import { crc32 } from '../util/crc32.js';
import { ChunkCorruptError } from '../errors.js';
import { ByteReader, ByteWriter } from '../util/bytes.js';
import { decodeBlockPayload, payloadLineSpan } from './block.js';
import { type BlockProbe, filtersMayMatch } from './needle.js';
import { type Codec, codecFromId, codecId, compress, decompress, decompressAsync, decompressTransient, findInDecompressed, transientDecoder } from './codec.js';
import {
  BLOOM_HASHES,
  CRC_BYTES,
  FOOTER_BYTES,
  FORMAT_VERSION,
  FORMAT_VERSION_1,
  GRAM_BYTES,
  GRAM_HASHES,
  GRAM_WINDOW,
  HEADER_BYTES,
  MAGIC,
  MAX_BLOCK_SPAN_NS,
  MAX_BLOOM_BYTES,
  MAX_BLOOM_HASHES,
  MAX_BLOCK_UNCOMPRESSED_BYTES,
  MAX_BLOCKS_PER_CHUNK,
  MAX_CHUNK_BYTES,
  MAX_ENTRIES_PER_BLOCK,
  MAX_SYMBOLS_PER_CHUNK,
  MAX_SYMBOLS_UNCOMPRESSED_BYTES,
  MAX_TS_NS,
} from './consts.js';
import { decodeSymbols, type SymbolTable } from './symbols.js';
import type { BlockMeta, DecodedBlock, LackingBlock, ReadableChunk } from './types.js';

/** Footer bytes covered by the metas crc (all fields before the crc itself). */
const FOOTER_CRC_COVERED_BYTES = FOOTER_BYTES - CRC_BYTES;
/** Smallest encoded meta: six one-byte uvarints (bloomBytes 0: no filter) and the i64be min ts; version 2 adds gramBytes. */
const MIN_META_BYTES = 6 + 8;
/** The footer word holding the symbol count keeps the format version in its top byte (0 in version 1). */
const SYMBOL_COUNT_MASK = 0xffffff;

/**
 * Lays out an encoded chunk (format version 2). `blocks[i]` is the compressed block described by
 * `metas[i]` (whose offsets were assigned when the block was cut), `crcs[i]` its crc32,
 * `blooms[i]` its token filter (BLOOM_HASHES probes, length metas[i].bloomBytes) or null and
 * `grams[i]` its needle filter (GRAM_HASHES probes, length metas[i].gramBytes) or null.
 */
export function encodeChunk(
  codec: Codec,
  blocks: readonly Buffer[],
  crcs: readonly number[],
  metas: readonly BlockMeta[],
  blooms: readonly (Buffer | null)[],
  grams: readonly (Buffer | null)[],
  symbols: SymbolTable,
  zstdLevel?: number,
): Buffer {
  if (metas.length > MAX_BLOCKS_PER_CHUNK) throw new RangeError(`chunk has ${metas.length} blocks, limit ${MAX_BLOCKS_PER_CHUNK}`);
  let filterTotal = 0;
  for (const b of blooms) if (b !== null) filterTotal += b.length;
  for (const g of grams) if (g !== null) filterTotal += g.length;
  const w = new ByteWriter(16 + metas.length * 48 + filterTotal);
  w.uvarint(metas.length);
  let offset = HEADER_BYTES;
  for (let i = 0; i < metas.length; i++) {
    const m = metas[i]!;
    if (m.offset !== offset) throw new Error(`chunk block ${i} meta offset ${m.offset}, expected ${offset} (bug)`);
    w.uvarint(m.entries);
    w.i64be(m.minTsNs);
    w.uvarint(Number(m.maxTsNs - m.minTsNs));
    w.uvarint(m.offset);
    w.uvarint(m.compressedBytes);
    w.uvarint(m.uncompressedBytes);
    const bloom = blooms[i] ?? null;
    if ((bloom === null ? 0 : bloom.length) !== m.bloomBytes) throw new Error(`chunk block ${i} meta bloomBytes ${m.bloomBytes} does not match its filter (bug)`);
    w.uvarint(m.bloomBytes);
    if (bloom !== null) {
      w.u8(BLOOM_HASHES);
      w.bytes(bloom);
    }
    const gram = grams[i] ?? null;
    if ((gram === null ? 0 : gram.length) !== m.gramBytes) throw new Error(`chunk block ${i} meta gramBytes ${m.gramBytes} does not match its needle filter (bug)`);
    w.uvarint(m.gramBytes);
    if (gram !== null) {
      w.u8(GRAM_BYTES);
      w.u8(GRAM_WINDOW);
      w.u8(GRAM_HASHES);
      w.bytes(gram);
    }
    offset += m.compressedBytes + CRC_BYTES;
  }
  const metasOffset = offset;
  const metas_ = w.view();

  let symbolsCompressed: Buffer | null = null;
  let symbolsUncompressedBytes = 0;
  if (symbols.size > 0) {
    const sw = new ByteWriter(symbols.bytes + symbols.size * 3 + 16);
    symbols.encodeTo(sw);
    symbolsUncompressedBytes = sw.length;
    symbolsCompressed = compress(codec, sw.view(), zstdLevel);
  }
  const symbolsOffset = metasOffset + metas_.length;
  const symbolsCompressedBytes = symbolsCompressed === null ? 0 : symbolsCompressed.length;
  const footerOffset = symbolsOffset + (symbolsCompressed === null ? 0 : symbolsCompressedBytes + CRC_BYTES);
  const total = footerOffset + FOOTER_BYTES;
  if (total > MAX_CHUNK_BYTES) throw new RangeError(`encoded chunk of ${total} bytes exceeds ${MAX_CHUNK_BYTES}`);

  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(MAGIC, 0);
  out[4] = FORMAT_VERSION;
  out[5] = codecId(codec);
  let p = HEADER_BYTES;
  for (let i = 0; i < blocks.length; i++) {
    p += blocks[i]!.copy(out, p);
    p = out.writeUInt32BE(crcs[i]!, p);
  }
  p += metas_.copy(out, p);
  if (symbolsCompressed !== null) {
    p += symbolsCompressed.copy(out, p);
    p = out.writeUInt32BE(crc32(symbolsCompressed), p);
  }
  p = out.writeUInt32BE(metasOffset, p);
  p = out.writeUInt32BE(metas_.length, p);
  p = out.writeUInt32BE(symbolsOffset, p);
  p = out.writeUInt32BE(symbolsCompressedBytes, p);
  p = out.writeUInt32BE(symbolsUncompressedBytes, p);
  p = out.writeUInt32BE(((FORMAT_VERSION << 24) | symbols.size) >>> 0, p);
  const crc = crc32(out.subarray(footerOffset, footerOffset + FOOTER_CRC_COVERED_BYTES), crc32(metas_));
  p = out.writeUInt32BE(crc, p);
  if (p !== total) throw new Error(`chunk layout wrote ${p} of ${total} bytes (bug)`);
  return out;
}

function corrupt(message: string, cause?: unknown): never {
  throw new ChunkCorruptError(message, cause === undefined ? undefined : { cause });
}

/**
 * Block `i` of `chunk`, decompressed on the libuv threadpool when the chunk was decoded from
 * stored bytes (in-memory chunks read synchronously).
 */
export function readBlockAsync(chunk: ReadableChunk, i: number): Promise<DecodedBlock> {
  return chunk instanceof StoredChunk ? chunk.readBlockAsync(i) : Promise.resolve(chunk.readBlock(i));
}

/** The encoded bytes a chunk was decoded from (`decodeChunk`), or null for any other ReadableChunk. */
export function storedChunkBytes(chunk: ReadableChunk): Buffer | null {
  return chunk instanceof StoredChunk ? chunk.encodedBytes : null;
}

/** Decoded chunks by the Buffer they were decoded from (see decodeChunkOnce). */
const decodedChunks = new WeakMap<Buffer, ReadableChunk>();

/**
 * `decodeChunk`, once per Buffer: a chunk cache hit hands back the same Buffer, so every query
 * of a cached chunk shares one decoded chunk, which has parsed the metas and crc-checked its
 * blocks already (~0.2 s per GB of text on warm scans). Dropped with the Buffer.
 */
export function decodeChunkOnce(bytes: Buffer): ReadableChunk {
  let c = decodedChunks.get(bytes);
  if (c === undefined) decodedChunks.set(bytes, (c = decodeChunk(bytes)));
  return c;
}

/**
 * Parses encoded chunk bytes (validating magic, version, codec, footer offsets, the metas crc32
 * and every meta against the limits) into a ReadableChunk that decompresses blocks lazily.
 * `bytes` is kept, not copied: the caller must not modify it while the chunk is in use.
 * `lent`: `bytes` will be reused once the caller is done with the chunk (a ChunkLease), so no
 * block it answers may view them (blocks stored uncompressed are copied out).
 * Throws ChunkCorruptError.
 */
export function decodeChunk(bytes: Buffer, opts?: { lent?: boolean }): ReadableChunk {
  const total = bytes.length;
  if (total < HEADER_BYTES + FOOTER_BYTES) corrupt(`chunk of ${total} bytes is shorter than its header and footer`);
  if (total > MAX_CHUNK_BYTES) corrupt(`chunk of ${total} bytes exceeds ${MAX_CHUNK_BYTES}`);
  const { version, codec } = parseHeader(bytes);
  const p = parseTail(bytes, 0, total);
  if (p === null) corrupt('chunk footer: metas outside the chunk');
  if (p.version !== version) corrupt(`chunk header says format version ${version}, footer ${p.version}`);
  return new StoredChunk(bytes, null, codec, p, opts?.lent === true);
}

/** Format version and codec from a chunk's first HEADER_BYTES (or more). Throws ChunkCorruptError. */
function parseHeader(bytes: Buffer): { version: number; codec: Codec } {
  if (bytes.length < HEADER_BYTES) corrupt(`chunk header of ${bytes.length} bytes, want ${HEADER_BYTES}`);
  const magic = bytes.readUInt32BE(0);
  if (magic !== MAGIC) corrupt(`bad chunk magic 0x${magic.toString(16).padStart(8, '0')}`);
  const version = bytes[4]!;
  if (version !== FORMAT_VERSION && version !== FORMAT_VERSION_1) corrupt(`unsupported chunk format version ${version}`);
  const codec = codecFromId(bytes[5]!);
  if (codec === null) corrupt(`unknown chunk codec id ${bytes[5]}`);
  return { version, codec };
}

/** Chunk bytes read by range: `bytes` are the chunk's bytes `[at, at + bytes.length)`. */
export interface ChunkPiece {
  readonly at: number;
  readonly bytes: Buffer;
}

/** Bytes between two ranges a chunk read takes along rather than starting another read for them. */
export const PIECE_GAP_BYTES = 16 * 1024;

/**
 * The byte ranges of a chunk that reading blocks `blocks` of it needs, besides the tail its
 * `index` was parsed from: the header and each block with its crc, ranges less than
 * PIECE_GAP_BYTES apart read as one (the header and block 0 always). Null when `index` was not
 * parsed from a tail (decodeChunkTail), so cannot be completed into a chunk (decodeChunkPieces).
 */
export function chunkPieceRanges(index: ChunkIndex, blocks: readonly number[]): { at: number; length: number }[] | null {
  if (!(index instanceof StoredTail)) return null;
  const metas = index.parsed.metas;
  const out = [{ at: 0, length: HEADER_BYTES }];
  let prev = -1;
  for (const b of blocks) {
    const m = metas[b];
    if (m === undefined) throw new RangeError(`block index ${b} out of range [0, ${metas.length})`);
    if (b <= prev) throw new RangeError(`blocks must ascend (${b} after ${prev})`);
    const end = m.offset + m.compressedBytes + CRC_BYTES;
    const last = out[out.length - 1]!;
    if (m.offset - (last.at + last.length) < PIECE_GAP_BYTES) last.length = end - last.at;
    else out.push({ at: m.offset, length: end - m.offset });
    prev = b;
  }
  return out;
}

/**
 * A chunk made of the pieces read for `chunkPieceRanges(index, blocks)` (header first) and the
 * tail `index` was parsed from: it reads the blocks the pieces hold (those asked for, and any
 * joined between them), with the same checks as a chunk decoded whole (header, per-block
 * crc32, symbols crc32). A block outside the pieces is a RangeError (a bug: the caller reads
 * other blocks than it asked for). Throws ChunkCorruptError.
 */
export function decodeChunkPieces(index: ChunkIndex, pieces: readonly ChunkPiece[]): ReadableChunk {
  if (!(index instanceof StoredTail)) throw new TypeError('decodeChunkPieces needs an index parsed from a chunk tail (bug)');
  const header = pieces[0];
  if (header === undefined || header.at !== 0) throw new TypeError('decodeChunkPieces: the header piece comes first (bug)');
  const { version, codec } = parseHeader(header.bytes);
  if (index.parsed.version !== version) corrupt(`chunk header says format version ${version}, footer ${index.parsed.version}`);
  return new StoredChunk(null, [...pieces, { at: index.base, bytes: index.tail }], codec, index.parsed, false);
}

/**
 * How many of a chunk's last bytes to ask for first: the footer and, almost always, all metas
 * with their token and needle filters, which take ~12 % of a chunk (more of a small one). On a
 * 7-day store of low-rate streams (91k chunks, median 17 KB, tails median 2.5 KB, p90 15 KB),
 * 16 % + 2 KiB (at least 4 KiB) needs no second read, and reads a third of what a fixed 128 KiB
 * read did (bench/RESULTS.md "Needle index").
 */
export function chunkTailGuess(chunkBytes: number): number {
  return Math.min(chunkBytes, Math.max(4096, Math.ceil(chunkBytes * 0.16) + 2048));
}

/**
 * The part of a tail read that the metas and filters need: `tail` holds chunk bytes
 * `[total - tail.length, total)`. When the footer says the metas start inside it: `tail` when
 * they start at its first byte, else a copy of `[metasOffset, total)`, so the tail cache keeps
 * only those bytes (the first read's guess is about a third longer than a typical chunk's
 * metas: the cache holds a third more of a store's tails); otherwise `{ needFromOffset }`.
 * Only the footer is read here; decodeChunkTail validates everything.
 */
export function trimChunkTail(tail: Buffer, total: number): Buffer | { needFromOffset: number } {
  if (tail.length < FOOTER_BYTES) return tail;
  const metasOffset = tail.readUInt32BE(tail.length - FOOTER_BYTES);
  const base = total - tail.length;
  if (metasOffset < base) return { needFromOffset: metasOffset };
  if (metasOffset === base || metasOffset > total - FOOTER_BYTES) return tail;
  const own = Buffer.allocUnsafe(total - metasOffset);
  tail.copy(own, 0, metasOffset - base);
  return own;
}

/**
 * What the end of a chunk tells without its blocks: the block metas and token filters.
 * Readers use it to decide whether a chunk needs fetching at all.
 */
export interface ChunkIndex {
  blockMetas(): readonly BlockMeta[];
  /** As ReadableChunk.blockMayContainAll. */
  blockMayContainAll(i: number, probe: BlockProbe): boolean;
}

/**
 * Parses the metas of a chunk from its last bytes: `tail` holds bytes
 * `[total - tail.length, total)`. Returns the offset to fetch from instead when the metas start
 * before the tail. Validates the footer, the metas crc32 and every meta. Throws ChunkCorruptError.
 */
export function decodeChunkTail(tail: Buffer, total: number): ChunkIndex | { needFromOffset: number } {
  if (total < HEADER_BYTES + FOOTER_BYTES || tail.length < FOOTER_BYTES || tail.length > total) corrupt(`chunk tail of ${tail.length} bytes for a ${total}-byte chunk`);
  const base = total - tail.length;
  const p = parseTail(tail, base, total);
  if (p === null) return { needFromOffset: tail.readUInt32BE(tail.length - FOOTER_BYTES) };
  return new StoredTail(tail, base, p);
}

/** A chunk's metas and filters parsed from its tail: chunk bytes `[base, base + tail.length)`. */
class StoredTail implements ChunkIndex {
  constructor(
    readonly tail: Buffer,
    readonly base: number,
    readonly parsed: ParsedTail,
  ) {}

  blockMetas(): readonly BlockMeta[] {
    return this.parsed.metas;
  }

  blockMayContainAll(i: number, probe: BlockProbe): boolean {
    const p = this.parsed;
    if (!(i >= 0 && i < p.metas.length)) throw new RangeError(`block index ${i} out of range [0, ${p.metas.length})`);
    return filtersMayMatch(p.blooms[i] ?? null, p.bloomHashes[i]!, p.grams[i] ?? null, p.gramHashes[i]!, probe);
  }
}

interface ParsedTail {
  /** FORMAT_VERSION_1 or FORMAT_VERSION, from the footer. */
  version: number;
  metas: readonly BlockMeta[];
  blooms: (Buffer | null)[];
  bloomHashes: Uint8Array;
  /** Needle filter of each block; null when it has none or one with gram parameters this reader does not know. */
  grams: (Buffer | null)[];
  gramHashes: Uint8Array;
  entries: number;
  minTs: bigint;
  maxTs: bigint;
  symbols: SymbolsLocation;
}

/**
 * Footer, metas and symbol location from `buf`, which holds chunk bytes `[base, total)`.
 * Returns null when the metas begin before `base` (the caller must read further back).
 */
function parseTail(buf: Buffer, base: number, total: number): ParsedTail | null {
  const at = (abs: number): number => abs - base;
  const footerOffset = total - FOOTER_BYTES;
  const f = at(footerOffset);
  const metasOffset = buf.readUInt32BE(f);
  const metasBytes = buf.readUInt32BE(f + 4);
  const symbolsOffset = buf.readUInt32BE(f + 8);
  const symbolsCompressedBytes = buf.readUInt32BE(f + 12);
  const symbolsUncompressedBytes = buf.readUInt32BE(f + 16);
  const countWord = buf.readUInt32BE(f + 20);
  const symbolCount = countWord & SYMBOL_COUNT_MASK;
  const version = countWord >>> 24 === 0 ? FORMAT_VERSION_1 : countWord >>> 24;
  const metasCrc = buf.readUInt32BE(f + 24);
  if (metasOffset < HEADER_BYTES || metasOffset > footerOffset || metasBytes < 1 || metasBytes > footerOffset - metasOffset) {
    corrupt(`chunk footer: metas at ${metasOffset}+${metasBytes} outside [${HEADER_BYTES}, ${footerOffset})`);
  }
  if (metasOffset < base) return null;
  const metas = buf.subarray(at(metasOffset), at(metasOffset) + metasBytes);
  const crc = crc32(buf.subarray(f, f + FOOTER_CRC_COVERED_BYTES), crc32(metas));
  if (crc !== metasCrc) corrupt(`chunk metas crc32 mismatch: stored ${metasCrc}, computed ${crc}`);
  const symbolsEnd = symbolsOffset + (symbolCount === 0 ? 0 : symbolsCompressedBytes + CRC_BYTES);
  if (symbolsOffset !== metasOffset + metasBytes || symbolsEnd !== footerOffset) {
    corrupt(`chunk footer: symbols at ${symbolsOffset}+${symbolsCompressedBytes} do not fill the gap between metas and footer`);
  }
  if (symbolCount > MAX_SYMBOLS_PER_CHUNK || symbolsUncompressedBytes > MAX_SYMBOLS_UNCOMPRESSED_BYTES || symbolCount > symbolsUncompressedBytes) {
    corrupt(`chunk footer: ${symbolCount} symbols in ${symbolsUncompressedBytes} bytes exceed limits`);
  }
  if (symbolCount === 0 && (symbolsCompressedBytes !== 0 || symbolsUncompressedBytes !== 0)) corrupt('chunk footer: symbol bytes without symbols');
  if (version !== FORMAT_VERSION && version !== FORMAT_VERSION_1) corrupt(`chunk footer: unsupported format version ${version}`);
  const v2 = version === FORMAT_VERSION;

  const r = new ByteReader(metas);
  const list: BlockMeta[] = [];
  const blooms: (Buffer | null)[] = [];
  const bloomHashes: number[] = [];
  const grams: (Buffer | null)[] = [];
  const gramHashes: number[] = [];
  let entries = 0;
  let minTs = 0n;
  let maxTs = 0n;
  try {
    const count = r.uvarint();
    if (count > MAX_BLOCKS_PER_CHUNK || count * (MIN_META_BYTES + (v2 ? 1 : 0)) > r.remaining()) corrupt(`chunk metas: bad block count ${count}`);
    let expectOffset = HEADER_BYTES;
    for (let i = 0; i < count; i++) {
      const n = r.uvarint();
      const minTsNs = r.i64be();
      const span = r.uvarint();
      const offset = r.uvarint();
      const compressedBytes = r.uvarint();
      const uncompressedBytes = r.uvarint();
      const bloomBytes = r.uvarint();
      if (n < 1 || n > MAX_ENTRIES_PER_BLOCK) corrupt(`chunk block ${i}: bad entry count ${n}`);
      if (span > MAX_BLOCK_SPAN_NS || minTsNs + BigInt(span) > MAX_TS_NS) corrupt(`chunk block ${i}: bad time span ${span}`);
      if (offset !== expectOffset) corrupt(`chunk block ${i}: offset ${offset}, expected ${expectOffset}`);
      if (compressedBytes < 1 || compressedBytes > metasOffset - CRC_BYTES - offset) {
        corrupt(`chunk block ${i}: ${compressedBytes} compressed bytes at ${offset} overrun the blocks section`);
      }
      // The smallest payload: entry count, n ts deltas, n lengths, metadata pair count.
      if (uncompressedBytes > MAX_BLOCK_UNCOMPRESSED_BYTES || uncompressedBytes < 2 * n + 2) {
        corrupt(`chunk block ${i}: bad uncompressed size ${uncompressedBytes} for ${n} entries`);
      }
      if (bloomBytes > MAX_BLOOM_BYTES || (bloomBytes > 0 && bloomBytes + 1 > r.remaining())) {
        corrupt(`chunk block ${i}: bad token filter size ${bloomBytes}`);
      }
      if (bloomBytes === 0) {
        blooms.push(null);
        bloomHashes.push(0);
      } else {
        const k = r.u8();
        if (k < 1 || k > MAX_BLOOM_HASHES) corrupt(`chunk block ${i}: bad token filter probe count ${k}`);
        blooms.push(r.bytes(bloomBytes));
        bloomHashes.push(k);
      }
      const gramBytes = v2 ? r.uvarint() : 0;
      if (gramBytes > MAX_BLOOM_BYTES || (gramBytes > 0 && gramBytes + 3 > r.remaining())) corrupt(`chunk block ${i}: bad needle filter size ${gramBytes}`);
      if (gramBytes === 0) {
        grams.push(null);
        gramHashes.push(0);
      } else {
        const gramLength = r.u8();
        const gramWindow = r.u8();
        const k = r.u8();
        if (gramLength < 1 || gramWindow < 1 || k < 1 || k > MAX_BLOOM_HASHES) corrupt(`chunk block ${i}: bad needle filter parameters ${gramLength}/${gramWindow}/${k}`);
        const bits = r.bytes(gramBytes);
        // A filter of other grams than this reader computes for a needle cannot be tested: scan.
        const known = gramLength === GRAM_BYTES && gramWindow === GRAM_WINDOW;
        grams.push(known ? bits : null);
        gramHashes.push(k);
      }
      const maxTsNs = minTsNs + BigInt(span);
      list.push(Object.freeze({ entries: n, minTsNs, maxTsNs, offset, compressedBytes, uncompressedBytes, bloomBytes, gramBytes }));
      if (i === 0 || minTsNs < minTs) minTs = minTsNs;
      if (i === 0 || maxTsNs > maxTs) maxTs = maxTsNs;
      entries += n;
      expectOffset = offset + compressedBytes + CRC_BYTES;
    }
    if (expectOffset !== metasOffset) corrupt(`chunk metas: blocks end at ${expectOffset}, metas start at ${metasOffset}`);
    if (r.remaining() !== 0) corrupt(`chunk metas: ${r.remaining()} trailing bytes`);
  } catch (e) {
    if (e instanceof RangeError) corrupt(`chunk metas truncated: ${e.message}`, e);
    throw e;
  }
  return {
    version,
    metas: Object.freeze(list),
    blooms,
    bloomHashes: Uint8Array.from(bloomHashes),
    grams,
    gramHashes: Uint8Array.from(gramHashes),
    entries,
    minTs,
    maxTs,
    symbols: { offset: symbolsOffset, compressedBytes: symbolsCompressedBytes, uncompressedBytes: symbolsUncompressedBytes, count: symbolCount },
  };
}

interface SymbolsLocation {
  offset: number;
  compressedBytes: number;
  uncompressedBytes: number;
  count: number;
}

const NO_SYMBOLS: readonly string[] = Object.freeze([]);

/**
 * A decoded chunk over its encoded bytes: all of them, or the pieces a scan read
 * (decodeChunkPieces). Blocks are crc-checked once and decompressed on every readBlock.
 */
class StoredChunk implements ReadableChunk {
  readonly codec: Codec;
  /** The whole chunk; null when only `pieces` were read. */
  private readonly bytes: Buffer | null;
  private readonly pieces: readonly ChunkPiece[] | null;
  /** The bytes decoded (see `storedChunkBytes`); null when only pieces were read. */
  get encodedBytes(): Buffer | null {
    return this.bytes;
  }
  private readonly metas: readonly BlockMeta[];
  /** Token and needle filters of each block (views into the metas) with their probe counts. */
  private readonly filters: ParsedTail;
  private readonly entryCount: number;
  private readonly minTs: bigint;
  private readonly maxTs: bigint;
  private readonly symbolsAt: SymbolsLocation;
  private symbolStrings: readonly string[] | null = null;
  /** 1 once block i passed its crc check. */
  private readonly verified: Uint8Array;
  /** See decodeChunk's `lent`. */
  private readonly lent: boolean;

  constructor(bytes: Buffer | null, pieces: readonly ChunkPiece[] | null, codec: Codec, tail: ParsedTail, lent: boolean) {
    this.codec = codec;
    this.bytes = bytes;
    this.pieces = pieces;
    this.lent = lent;
    this.metas = tail.metas;
    this.filters = tail;
    this.entryCount = tail.entries;
    this.minTs = tail.minTs;
    this.maxTs = tail.maxTs;
    this.symbolsAt = tail.symbols;
    this.verified = new Uint8Array(tail.metas.length);
  }

  minTsNs(): bigint {
    return this.minTs;
  }

  maxTsNs(): bigint {
    return this.maxTs;
  }

  entries(): number {
    return this.entryCount;
  }

  uncompressedBytes(): number {
    let total = 0;
    for (let i = 0; i < this.metas.length; i++) total += this.metas[i]!.uncompressedBytes;
    return total;
  }

  blockMetas(): readonly BlockMeta[] {
    return this.metas;
  }

  blockMayContainAll(i: number, probe: BlockProbe): boolean {
    if (i < 0 || i >= this.metas.length) throw new RangeError(`block index ${i} out of range [0, ${this.metas.length})`);
    const f = this.filters;
    return filtersMayMatch(f.blooms[i] ?? null, f.bloomHashes[i]!, f.grams[i] ?? null, f.gramHashes[i]!, probe);
  }

  blockCrc(i: number): number {
    const m = this.metas[i];
    if (m === undefined) throw new RangeError(`block index ${i} out of range [0, ${this.metas.length})`);
    return this.span(m.offset + m.compressedBytes, CRC_BYTES).readUInt32BE(0);
  }

  /** Chunk bytes `[offset, offset + length)`, a view of the whole chunk or of the piece holding them. */
  private span(offset: number, length: number): Buffer {
    if (this.bytes !== null) return this.bytes.subarray(offset, offset + length);
    for (const p of this.pieces!) {
      if (offset >= p.at && offset + length <= p.at + p.bytes.length) return p.bytes.subarray(offset - p.at, offset - p.at + length);
    }
    throw new RangeError(`chunk bytes [${offset}, ${offset + length}) were not read (bug)`);
  }

  readBlock(i: number): DecodedBlock {
    const m = this.checkedBlock(i);
    let payload: Buffer;
    try {
      payload = decompress(this.codec, this.span(m.offset, m.compressedBytes), m.uncompressedBytes);
    } catch (e) {
      corrupt(`chunk block ${i}: ${this.codec} decompression failed: ${(e as Error).message}`, e);
    }
    return this.decodePayload(i, m, this.owned(payload));
  }

  readBlockUnlessLacking(i: number, literals: readonly Uint8Array[], startNs: bigint, endNs: bigint): DecodedBlock | LackingBlock {
    const m = this.checkedBlock(i);
    let out: { bytes: Buffer; transient: boolean };
    try {
      out = decompressTransient(this.codec, this.span(m.offset, m.compressedBytes), m.uncompressedBytes);
    } catch (e) {
      corrupt(`chunk block ${i}: ${this.codec} decompression failed: ${(e as Error).message}`, e);
    }
    const payload = out.bytes;
    // The entry range scanBlock reads: timestamps relative to the block's first.
    const base = m.minTsNs;
    const startRel = startNs <= base ? 0 : Number(startNs - base);
    const endRel = endNs <= base ? 0 : Number(endNs - base);
    const span = payloadLineSpan(payload, m.entries, Number(m.maxTsNs - base), startRel, endRel, transientDecoder(payload));
    if (span !== null) {
      if (span.hi <= span.lo) return { lacking: true, entries: 0, bytes: 0 };
      for (const lit of literals) if (findInDecompressed(payload, lit, span.from, span.to) < 0) return { lacking: true, entries: span.hi - span.lo, bytes: span.to - span.from };
    }
    // A transient payload is reused by the next decompression on this thread: the block keeps a copy.
    return this.decodePayload(i, m, out.transient ? Buffer.from(payload) : this.owned(payload));
  }

  /** readBlock with the decompression on the libuv threadpool (see decompressAsync). */
  async readBlockAsync(i: number): Promise<DecodedBlock> {
    const m = this.checkedBlock(i);
    let payload: Buffer;
    try {
      payload = await decompressAsync(this.codec, this.span(m.offset, m.compressedBytes), m.uncompressedBytes);
    } catch (e) {
      corrupt(`chunk block ${i}: ${this.codec} decompression failed: ${(e as Error).message}`, e);
    }
    return this.decodePayload(i, m, this.owned(payload));
  }

  /** `payload`, or a copy when it views lent chunk bytes (a block stored uncompressed). */
  private owned(payload: Buffer): Buffer {
    return this.lent && payload.buffer === this.bytes!.buffer ? Buffer.from(payload) : payload;
  }

  /** Block i's meta after its crc32 check (done once per block). */
  private checkedBlock(i: number): BlockMeta {
    const m = this.metas[i];
    if (m === undefined) throw new RangeError(`block index ${i} out of range [0, ${this.metas.length})`);
    if (this.verified[i] === 0) {
      const withCrc = this.span(m.offset, m.compressedBytes + CRC_BYTES);
      const compressed = withCrc.subarray(0, m.compressedBytes);
      const stored = withCrc.readUInt32BE(m.compressedBytes);
      const crc = crc32(compressed);
      if (crc !== stored) corrupt(`chunk block ${i}: crc32 mismatch (stored ${stored}, computed ${crc})`);
      this.verified[i] = 1;
    }
    return m;
  }

  private decodePayload(i: number, m: BlockMeta, payload: Buffer): DecodedBlock {
    try {
      return decodeBlockPayload(payload, m.entries, m.minTsNs, Number(m.maxTsNs - m.minTsNs), this.symbolsAt.count, () => this.symbols());
    } catch (e) {
      if (e instanceof ChunkCorruptError) throw e;
      corrupt(`chunk block ${i}: ${(e as Error).message}`, e);
    }
  }

  /** Symbol strings, decoded on first use (the first block with metadata). */
  private symbols(): readonly string[] {
    if (this.symbolStrings !== null) return this.symbolStrings;
    const s = this.symbolsAt;
    if (s.count === 0) return (this.symbolStrings = NO_SYMBOLS);
    const withCrc = this.span(s.offset, s.compressedBytes + CRC_BYTES);
    const compressed = withCrc.subarray(0, s.compressedBytes);
    const stored = withCrc.readUInt32BE(s.compressedBytes);
    const crc = crc32(compressed);
    if (crc !== stored) corrupt(`chunk symbols: crc32 mismatch (stored ${stored}, computed ${crc})`);
    try {
      this.symbolStrings = decodeSymbols(decompress(this.codec, compressed, s.uncompressedBytes), s.count);
    } catch (e) {
      corrupt(`chunk symbols: ${(e as Error).message}`, e);
    }
    return this.symbolStrings;
  }
}
