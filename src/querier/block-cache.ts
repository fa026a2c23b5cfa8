import { readBlockAsync, type DecodedBlock, type ReadableChunk } from '../chunk/index.js';
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
    // The payload buffer plus the ts and offset columns.
    this.lru.set(k, blk, blk.lines.length + blk.n * 12 + 128);
    return blk;
  }

  /** Like read, decompressing on the libuv threadpool; for prefetching ahead of a scan. */
  async readAsync(chunk: ReadableChunk, key: string | null, b: number): Promise<DecodedBlock> {
    if (key === null) return chunk.readBlock(b);
    const k = key + '#' + b;
    const hit = this.lru.get(k);
    if (hit !== undefined) return hit;
    const blk = await readBlockAsync(chunk, b);
    this.lru.set(k, blk, blk.lines.length + blk.n * 12 + 128);
    return blk;
  }

  get hits(): number {
    return this.lru.hits;
  }

  get misses(): number {
    return this.lru.misses;
  }
}
