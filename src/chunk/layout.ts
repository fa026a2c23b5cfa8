/**
 * The whole-chunk layout (FORMAT.md): writing header, blocks, metas, symbols and footer, and
 * parsing them back into a lazily decoding ReadableChunk.
 */
import zlib from 'node:zlib';
import { ChunkCorruptError } from '../errors.js';
import { ByteReader, ByteWriter } from '../util/bytes.js';
import { decodeBlockPayload } from './block.js';
import { bloomMayContainAll } from './bloom.js';
import { type Codec, codecFromId, codecId, compress, decompress, decompressAsync } from './codec.js';
import {
  BLOOM_HASHES,
  CRC_BYTES,
  FOOTER_BYTES,
  FORMAT_VERSION,
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
import type { BlockMeta, DecodedBlock, ReadableChunk } from './types.js';

/** Footer bytes covered by the metas crc (all fields before the crc itself). */
const FOOTER_CRC_COVERED_BYTES = FOOTER_BYTES - CRC_BYTES;
/** Smallest encoded meta: six one-byte uvarints (bloomBytes 0: no filter) and the i64be min ts. */
const MIN_META_BYTES = 6 + 8;

/**
 * Lays out an encoded chunk. `blocks[i]` is the compressed block described by `metas[i]`
 * (whose offsets were assigned when the block was cut), `crcs[i]` its crc32 and `blooms[i]`
 * its token filter (BLOOM_HASHES probes, length metas[i].bloomBytes) or null.
 */
export function encodeChunk(
  codec: Codec,
  blocks: readonly Buffer[],
  crcs: readonly number[],
  metas: readonly BlockMeta[],
  blooms: readonly (Buffer | null)[],
  symbols: SymbolTable,
): Buffer {
  if (metas.length > MAX_BLOCKS_PER_CHUNK) throw new RangeError(`chunk has ${metas.length} blocks, limit ${MAX_BLOCKS_PER_CHUNK}`);
  let bloomTotal = 0;
  for (const b of blooms) if (b !== null) bloomTotal += b.length;
  const w = new ByteWriter(16 + metas.length * 40 + bloomTotal);
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
    symbolsCompressed = compress(codec, sw.view());
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
    p = out.writeUInt32BE(zlib.crc32(symbolsCompressed), p);
  }
  p = out.writeUInt32BE(metasOffset, p);
  p = out.writeUInt32BE(metas_.length, p);
  p = out.writeUInt32BE(symbolsOffset, p);
  p = out.writeUInt32BE(symbolsCompressedBytes, p);
  p = out.writeUInt32BE(symbolsUncompressedBytes, p);
  p = out.writeUInt32BE(symbols.size, p);
  const crc = zlib.crc32(out.subarray(footerOffset, footerOffset + FOOTER_CRC_COVERED_BYTES), zlib.crc32(metas_));
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

/**
 * Parses encoded chunk bytes (validating magic, version, codec, footer offsets, the metas crc32
 * and every meta against the limits) into a ReadableChunk that decompresses blocks lazily.
 * `bytes` is kept, not copied: the caller must not modify it while the chunk is in use.
 * Throws ChunkCorruptError.
 */
export function decodeChunk(bytes: Buffer): ReadableChunk {
  const total = bytes.length;
  if (total < HEADER_BYTES + FOOTER_BYTES) corrupt(`chunk of ${total} bytes is shorter than its header and footer`);
  if (total > MAX_CHUNK_BYTES) corrupt(`chunk of ${total} bytes exceeds ${MAX_CHUNK_BYTES}`);
  const magic = bytes.readUInt32BE(0);
  if (magic !== MAGIC) corrupt(`bad chunk magic 0x${magic.toString(16).padStart(8, '0')}`);
  const version = bytes[4]!;
  if (version !== FORMAT_VERSION) corrupt(`unsupported chunk format version ${version}`);
  const codec = codecFromId(bytes[5]!);
  if (codec === null) corrupt(`unknown chunk codec id ${bytes[5]}`);
  const p = parseTail(bytes, 0, total);
  if (p === null) corrupt('chunk footer: metas outside the chunk');
  return new StoredChunk(bytes, codec, p.metas, p.blooms, p.bloomHashes, p.entries, p.minTs, p.maxTs, p.symbols);
}

/** Smallest tail worth asking for first: the footer and, usually, all metas. */
export const CHUNK_TAIL_GUESS_BYTES = 64 * 1024;

/**
 * What the end of a chunk tells without its blocks: the block metas and token filters.
 * Readers use it to decide whether a chunk needs fetching at all.
 */
export interface ChunkIndex {
  blockMetas(): readonly BlockMeta[];
  blockMayContainAll(i: number, tokenHashes: Uint32Array): boolean;
}

/**
 * Parses the metas of a chunk from its last bytes: `tail` holds bytes
 * `[total - tail.length, total)`. Returns the offset to fetch from instead when the metas start
 * before the tail. Validates the footer, the metas crc32 and every meta. Throws ChunkCorruptError.
 */
export function decodeChunkTail(tail: Buffer, total: number): ChunkIndex | { needFromOffset: number } {
  if (total < HEADER_BYTES + FOOTER_BYTES || tail.length < FOOTER_BYTES || tail.length > total) corrupt(`chunk tail of ${tail.length} bytes for a ${total}-byte chunk`);
  const p = parseTail(tail, total - tail.length, total);
  if (p === null) return { needFromOffset: tail.readUInt32BE(tail.length - FOOTER_BYTES) };
  const blooms = p.blooms;
  const k = p.bloomHashes;
  return {
    blockMetas: () => p.metas,
    blockMayContainAll: (i, hashes) => {
      const b = blooms[i];
      if (b === undefined) throw new RangeError(`block index ${i} out of range [0, ${blooms.length})`);
      return b === null || bloomMayContainAll(b, k[i]!, hashes);
    },
  };
}

interface ParsedTail {
  metas: readonly BlockMeta[];
  blooms: (Buffer | null)[];
  bloomHashes: Uint8Array;
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
  const symbolCount = buf.readUInt32BE(f + 20);
  const metasCrc = buf.readUInt32BE(f + 24);
  if (metasOffset < HEADER_BYTES || metasOffset > footerOffset || metasBytes < 1 || metasBytes > footerOffset - metasOffset) {
    corrupt(`chunk footer: metas at ${metasOffset}+${metasBytes} outside [${HEADER_BYTES}, ${footerOffset})`);
  }
  if (metasOffset < base) return null;
  const metas = buf.subarray(at(metasOffset), at(metasOffset) + metasBytes);
  const crc = zlib.crc32(buf.subarray(f, f + FOOTER_CRC_COVERED_BYTES), zlib.crc32(metas));
  if (crc !== metasCrc) corrupt(`chunk metas crc32 mismatch: stored ${metasCrc}, computed ${crc}`);
  const symbolsEnd = symbolsOffset + (symbolCount === 0 ? 0 : symbolsCompressedBytes + CRC_BYTES);
  if (symbolsOffset !== metasOffset + metasBytes || symbolsEnd !== footerOffset) {
    corrupt(`chunk footer: symbols at ${symbolsOffset}+${symbolsCompressedBytes} do not fill the gap between metas and footer`);
  }
  if (symbolCount > MAX_SYMBOLS_PER_CHUNK || symbolsUncompressedBytes > MAX_SYMBOLS_UNCOMPRESSED_BYTES || symbolCount > symbolsUncompressedBytes) {
    corrupt(`chunk footer: ${symbolCount} symbols in ${symbolsUncompressedBytes} bytes exceed limits`);
  }
  if (symbolCount === 0 && (symbolsCompressedBytes !== 0 || symbolsUncompressedBytes !== 0)) corrupt('chunk footer: symbol bytes without symbols');

  const r = new ByteReader(metas);
  const list: BlockMeta[] = [];
  const blooms: (Buffer | null)[] = [];
  const bloomHashes: number[] = [];
  let entries = 0;
  let minTs = 0n;
  let maxTs = 0n;
  try {
    const count = r.uvarint();
    if (count > MAX_BLOCKS_PER_CHUNK || count * MIN_META_BYTES > r.remaining()) corrupt(`chunk metas: bad block count ${count}`);
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
      const maxTsNs = minTsNs + BigInt(span);
      list.push(Object.freeze({ entries: n, minTsNs, maxTsNs, offset, compressedBytes, uncompressedBytes, bloomBytes }));
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
    metas: Object.freeze(list),
    blooms,
    bloomHashes: Uint8Array.from(bloomHashes),
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

/** A decoded chunk over its encoded bytes. Blocks are crc-checked once and decompressed on every readBlock. */
class StoredChunk implements ReadableChunk {
  readonly codec: Codec;
  private readonly bytes: Buffer;
  /** The bytes decoded (see `storedChunkBytes`). */
  get encodedBytes(): Buffer {
    return this.bytes;
  }
  private readonly metas: readonly BlockMeta[];
  /** Token filter of block i (a view into the metas), null when it has none. */
  private readonly blooms: readonly (Buffer | null)[];
  /** Probe count of block i's filter. */
  private readonly bloomHashes: Uint8Array;
  private readonly entryCount: number;
  private readonly minTs: bigint;
  private readonly maxTs: bigint;
  private readonly symbolsAt: SymbolsLocation;
  private symbolStrings: readonly string[] | null = null;
  /** 1 once block i passed its crc check. */
  private readonly verified: Uint8Array;

  constructor(
    bytes: Buffer,
    codec: Codec,
    metas: readonly BlockMeta[],
    blooms: readonly (Buffer | null)[],
    bloomHashes: Uint8Array,
    entries: number,
    minTs: bigint,
    maxTs: bigint,
    symbolsAt: SymbolsLocation,
  ) {
    this.codec = codec;
    this.bytes = bytes;
    this.metas = metas;
    this.blooms = blooms;
    this.bloomHashes = bloomHashes;
    this.entryCount = entries;
    this.minTs = minTs;
    this.maxTs = maxTs;
    this.symbolsAt = symbolsAt;
    this.verified = new Uint8Array(metas.length);
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

  blockMayContainAll(i: number, tokenHashes: Uint32Array): boolean {
    if (i < 0 || i >= this.metas.length) throw new RangeError(`block index ${i} out of range [0, ${this.metas.length})`);
    const bloom = this.blooms[i]!;
    return bloom === null || bloomMayContainAll(bloom, this.bloomHashes[i]!, tokenHashes);
  }

  blockCrc(i: number): number {
    const m = this.metas[i];
    if (m === undefined) throw new RangeError(`block index ${i} out of range [0, ${this.metas.length})`);
    return this.bytes.readUInt32BE(m.offset + m.compressedBytes);
  }

  readBlock(i: number): DecodedBlock {
    const m = this.checkedBlock(i);
    let payload: Buffer;
    try {
      payload = decompress(this.codec, this.bytes.subarray(m.offset, m.offset + m.compressedBytes), m.uncompressedBytes);
    } catch (e) {
      corrupt(`chunk block ${i}: ${this.codec} decompression failed: ${(e as Error).message}`, e);
    }
    return this.decodePayload(i, m, payload);
  }

  /** readBlock with the decompression on the libuv threadpool (see decompressAsync). */
  async readBlockAsync(i: number): Promise<DecodedBlock> {
    const m = this.checkedBlock(i);
    let payload: Buffer;
    try {
      payload = await decompressAsync(this.codec, this.bytes.subarray(m.offset, m.offset + m.compressedBytes), m.uncompressedBytes);
    } catch (e) {
      corrupt(`chunk block ${i}: ${this.codec} decompression failed: ${(e as Error).message}`, e);
    }
    return this.decodePayload(i, m, payload);
  }

  /** Block i's meta after its crc32 check (done once per block). */
  private checkedBlock(i: number): BlockMeta {
    const m = this.metas[i];
    if (m === undefined) throw new RangeError(`block index ${i} out of range [0, ${this.metas.length})`);
    if (this.verified[i] === 0) {
      const compressed = this.bytes.subarray(m.offset, m.offset + m.compressedBytes);
      const stored = this.bytes.readUInt32BE(m.offset + m.compressedBytes);
      const crc = zlib.crc32(compressed);
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
    const compressed = this.bytes.subarray(s.offset, s.offset + s.compressedBytes);
    const stored = this.bytes.readUInt32BE(s.offset + s.compressedBytes);
    const crc = zlib.crc32(compressed);
    if (crc !== stored) corrupt(`chunk symbols: crc32 mismatch (stored ${stored}, computed ${crc})`);
    try {
      this.symbolStrings = decodeSymbols(decompress(this.codec, compressed, s.uncompressedBytes), s.count);
    } catch (e) {
      corrupt(`chunk symbols: ${(e as Error).message}`, e);
    }
    return this.symbolStrings;
  }
}
