import { readBlockAsync, type DecodedBlock, type LackingBlock, type ReadableChunk } from '../chunk/index.js';
import { ByteLru } from '../storage/index.js';

/**
 * Decoded blocks of stored chunks, by chunk key and block index, bounded by bytes. Stored
 * chunks never change, so a block decompressed once serves every later query (dashboards
 * re-run the same queries every refresh) without snappy, crc or column decoding.
 */
export class BlockCache {
  private readonly lru: ByteLru<string, DecodedBlock>;

  constructor(maxBytes: number) {
    // Blocks are cut at 256 KiB of text; frequency admission keeps a scan larger than the cache from churning it (ADR 0031).
    this.lru = new ByteLru(maxBytes, { admission: { entryBytes: 256 * 1024 } });
  }

  /** Block `b` of `chunk`; `key` names the stored chunk (null: in-memory chunk, not cached). */
  read(chunk: ReadableChunk, key: string | null, b: number): DecodedBlock {
    if (key === null) return chunk.readBlock(b);
    const k = key + '#' + b;
    const hit = this.lru.get(k);
    if (hit !== undefined) return hit;
    const blk = chunk.readBlock(b);
    this.lru.set(k, blk, blockBytes(blk));
    return blk;
  }

  /**
   * Like read, but a block neither cached nor to be cached is first searched for `literals`
   * (chunk `readBlockUnlessLacking`, over its lines in [startNs, endNs)): when one is missing
   * the answer says how many entries and line bytes the range holds, and nothing is decoded. A
   * block the cache would take is decoded and cached, so that later queries find it.
   */
  readUnlessLacking(chunk: ReadableChunk, key: string | null, b: number, literals: readonly Uint8Array[], startNs: bigint, endNs: bigint): DecodedBlock | LackingBlock {
    if (chunk.readBlockUnlessLacking === undefined) return this.read(chunk, key, b);
    if (key === null) return chunk.readBlockUnlessLacking(b, literals, startNs, endNs);
    const k = key + '#' + b;
    const hit = this.lru.get(k);
    if (hit !== undefined) return hit;
    const m = chunk.blockMetas()[b]!;
    if (this.lru.wouldAdmit(k, m.uncompressedBytes + m.entries * 12 + 128)) {
      const blk = chunk.readBlock(b);
      this.lru.set(k, blk, blockBytes(blk));
      return blk;
    }
    const got = chunk.readBlockUnlessLacking(b, literals, startNs, endNs);
    if (!('lacking' in got)) this.lru.set(k, got, blockBytes(got));
    return got;
  }

  /** Like read, decompressing on the libuv threadpool; for prefetching ahead of a scan. */
  async readAsync(chunk: ReadableChunk, key: string | null, b: number): Promise<DecodedBlock> {
    if (key === null) return chunk.readBlock(b);
    const k = key + '#' + b;
    const hit = this.lru.get(k);
    if (hit !== undefined) return hit;
    const blk = await readBlockAsync(chunk, b);
    this.lru.set(k, blk, blockBytes(blk));
    return blk;
  }

  get hits(): number {
    return this.lru.hits;
  }

  get misses(): number {
    return this.lru.misses;
  }
}

/** What a cached block costs: the payload buffer plus the ts and offset columns. */
function blockBytes(blk: DecodedBlock): number {
  return blk.lines.length + blk.n * 12 + 128;
}
