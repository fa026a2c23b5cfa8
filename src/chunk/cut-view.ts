import { ByteWriter } from '../util/bytes.js';
import { encodeBlockPayload } from './block.js';
import type { Codec } from './codec.js';
import { CRC_BYTES, HEADER_BYTES } from './consts.js';
import { encodeChunk, storedChunkBytes } from './layout.js';
import { MemChunk } from './mem-chunk.js';
import type { BlockProbe } from './needle.js';
import { sealBlockSync } from './sealer.js';
import { SymbolTable } from './symbols.js';
import type { BlockMeta, DecodedBlock, ReadableChunk } from './types.js';

/** A read-only view of the first `blockCount` cut blocks of a chunk (see `cutBlocksView`). */
class CutBlocksView implements ReadableChunk {
  readonly codec: Codec;
  /** The chunk viewed; may take appends, which the view never shows. */
  readonly source: ReadableChunk;
  readonly blockCount: number;
  readonly #metas: readonly BlockMeta[];
  readonly #min: bigint;
  readonly #max: bigint;
  readonly #entries: number;
  readonly #bytes: number;

  constructor(source: ReadableChunk, blockCount: number) {
    this.codec = source.codec;
    this.source = source;
    this.blockCount = blockCount;
    const metas = source.blockMetas().slice(0, blockCount);
    let min = 0n;
    let max = 0n;
    let entries = 0;
    let bytes = 0;
    for (let i = 0; i < metas.length; i++) {
      const m = metas[i]!;
      if (i === 0 || m.minTsNs < min) min = m.minTsNs;
      if (i === 0 || m.maxTsNs > max) max = m.maxTsNs;
      entries += m.entries;
      bytes += m.uncompressedBytes;
    }
    this.#metas = metas;
    this.#min = min;
    this.#max = max;
    this.#entries = entries;
    this.#bytes = bytes;
  }

  minTsNs(): bigint {
    return this.#min;
  }
  maxTsNs(): bigint {
    return this.#max;
  }
  entries(): number {
    return this.#entries;
  }
  uncompressedBytes(): number {
    return this.#bytes;
  }
  blockMetas(): readonly BlockMeta[] {
    return this.#metas;
  }
  readBlock(i: number): DecodedBlock {
    this.#check(i);
    return this.source.readBlock(i);
  }
  blockMayContainAll(i: number, probe: BlockProbe): boolean {
    this.#check(i);
    return this.source.blockMayContainAll(i, probe);
  }
  blockCrc(i: number): number {
    this.#check(i);
    return this.source.blockCrc(i);
  }
  #check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.blockCount) throw new RangeError(`block ${i} out of range (0..${this.blockCount - 1})`);
  }
}

/**
 * A read-only view of the first `blockCount` cut blocks of a chunk that may still take appends
 * (a MemChunk): cut blocks never change, so the view is a value even though the chunk is live.
 * Entries and sizes are those of the cut blocks only; the head is not part of the view.
 */
export function cutBlocksView(chunk: ReadableChunk, blockCount: number): ReadableChunk {
  return new CutBlocksView(chunk, blockCount);
}

/**
 * The cut blocks of `chunk` in the stored chunk format (FORMAT.md), for `decodeChunk` at the
 * other end of a wire: never the head of a MemChunk. A MemChunk, or a `cutBlocksView` of one,
 * copies its compressed blocks, crcs, token and needle filters (MemChunk.encodeCutBlocks); a chunk
 * decoded from bytes returns those bytes as they are (not a copy). Any other ReadableChunk is
 * re-encoded block by block, which decompresses and compresses again.
 */
export function encodeCutBlocks(chunk: ReadableChunk): Buffer {
  let count = chunk.blockMetas().length;
  let c = chunk;
  while (c instanceof CutBlocksView) {
    count = Math.min(count, c.blockCount);
    c = c.source;
  }
  if (c instanceof MemChunk) return c.encodeCutBlocks(Math.min(count, c.blockMetas().length));
  const stored = storedChunkBytes(c);
  if (stored !== null && count === c.blockMetas().length) return stored;
  return reencode(c, count);
}

/** Slow path of encodeCutBlocks: blocks `0 .. count-1` read, encoded and sealed again. */
function reencode(chunk: ReadableChunk, count: number): Buffer {
  const symbols = new SymbolTable();
  const w = new ByteWriter(64 * 1024);
  const blocks: Buffer[] = [];
  const crcs: number[] = [];
  const metas: BlockMeta[] = [];
  const blooms: (Buffer | null)[] = [];
  const grams: (Buffer | null)[] = [];
  let offset = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const b = chunk.readBlock(i);
    w.reset();
    encodeBlockPayload(b, w, symbols);
    const payload = w.view();
    const spanNs = b.tsRel[b.n - 1]!;
    const s = sealBlockSync({ codec: chunk.codec, payload, entries: b.n, spanNs, symbolCount: symbols.size });
    const bloomBytes = s.bloom === null ? 0 : s.bloom.length;
    const gramBytes = s.grams === null ? 0 : s.grams.length;
    metas.push(Object.freeze({ entries: b.n, minTsNs: b.baseNs, maxTsNs: b.baseNs + BigInt(spanNs), offset, compressedBytes: s.compressed.length, uncompressedBytes: payload.length, bloomBytes, gramBytes }));
    blocks.push(s.compressed);
    crcs.push(s.crc);
    blooms.push(s.bloom);
    grams.push(s.grams);
    offset += s.compressed.length + CRC_BYTES;
  }
  return encodeChunk(chunk.codec, blocks, crcs, metas, blooms, grams, symbols);
}
