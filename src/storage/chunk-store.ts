/** Chunk bytes in object storage, addressed by ChunkRef, verified by crc32 on read. */
import { chunkPieceRanges, chunkTailGuess, decodeChunkOnce, decodeChunkPieces, decodeChunkTail, trimChunkTail, type ChunkIndex, type ReadableChunk } from '../chunk/index.js';
import { crc32 } from '../util/crc32.js';
import { ChunkCorruptError, InvalidError } from '../errors.js';
import { chunkKey, validateChunkRef } from './chunk-ref.js';
import type { ChunkRef } from './chunk-ref.js';
import { ByteLru } from './lru.js';
import type { ObjectClient, ReadOptions } from './object-client.js';
import { ReadBuffers } from './read-buffers.js';
import { SharedLoads } from './shared-load.js';
import { SlabArena } from './slab-arena.js';

/** Options for ChunkStore. */
export interface ChunkStoreOptions {
  /** Byte budget of the read cache of verified chunk bytes; 0 disables it. Default 64 MiB. */
  cacheBytes?: number;
  /**
   * Check the whole object's crc32 on every fetch (default true). Readers that decode with
   * `decodeChunk` may turn it off: the format's metas crc and per-block crc32 already catch
   * corruption before any byte is used, and block filters let most blocks go unread.
   */
  verifyChecksum?: boolean;
  /**
   * Most bytes of free read buffers kept for `getForScan` (ReadBuffers); 0 reads every chunk
   * into new memory. Default 32 MiB.
   */
  lendBytes?: number;
  /** Bytes of the cache's slabs (SlabArena); 0: a Buffer per cached chunk. Default slabBytesFor(cacheBytes). */
  slabBytes?: number;
}

/** Default of ChunkStoreOptions.lendBytes: a prefetch's worth of large chunks. */
export const DEFAULT_LEND_BYTES = 32 * 1024 * 1024;

/**
 * A chunk's bytes for one scan (`ChunkStore.getForScan`). When `lent`, they are in memory the
 * store reuses for a later read once `release` is called: nothing may keep a view of them past
 * that (decode with `decodeChunk(bytes, { lent: true })`). `release` is idempotent; never
 * calling it only loses the reuse.
 */
export interface ChunkLease {
  readonly bytes: Buffer;
  readonly lent: boolean;
  release(): void;
}

/** A chunk in the cache; its bytes move when their slab is compacted (SlabArena). */
export interface CachedChunk {
  bytes: Buffer;
}

/** The `release` of a lease over memory that was not lent. */
export const NOTHING_TO_RELEASE = (): void => {};

/** Default read-cache budget: about forty 1.5 MB chunks. */
export const DEFAULT_CHUNK_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * A typical stored chunk, for sizing the cache's request counts: chunks are cut at
 * `ingester.chunk_target_size` (1.5 MB compressed), but streams that write little flush
 * smaller ones.
 */
export const TYPICAL_CHUNK_BYTES = 256 * 1024;
/** The smallest chunk cache kept in slabs (its slabs are 128 MiB). */
export const SLAB_MIN_CACHE_BYTES = 1024 * 1024 * 1024;

/**
 * The slab size of a chunk cache of `cacheBytes` (SlabArena), or 0 for none: an eighth of the
 * cache, at most 512 MiB, for caches of SLAB_MIN_CACHE_BYTES and more. Slabs save collections
 * only when they are well above V8's 64 MB external-memory step; and a freed slab of 32 MiB or
 * less raises glibc's dynamic mmap threshold to its size, after which malloc keeps every freed
 * buffer under it (decompressed blocks, read buffers) instead of unmapping it: 4 and 16 MiB
 * slabs measured 50–130 MB more RSS (bench/RESULTS.md, "a cache filled in slabs").
 */
export function slabBytesFor(cacheBytes: number): number {
  if (cacheBytes < SLAB_MIN_CACHE_BYTES) return 0;
  const MiB = 1024 * 1024;
  return Math.min(512 * MiB, Math.ceil(cacheBytes / 8 / MiB) * MiB);
}

/** A typical kept chunk tail (metas with their filters, ~12 % of a chunk): sizes the tail cache's request counts. */
const TYPICAL_TAIL_BYTES = 32 * 1024;

/**
 * Stores and fetches chunks. `get` verifies the length and crc32 against the ref and throws
 * ChunkCorruptError on mismatch. Verified bytes are cached (LRU by bytes, with frequency
 * admission so that a scan larger than the cache does not churn it, ADR 0031) and concurrent
 * gets of one chunk share a single fetch, which is aborted only when every caller's signal has
 * (see SharedLoads). Returned Buffers are shared with the cache: do not mutate.
 */
export class ChunkStore {
  /** The read cache; its `hits`/`misses` counters are public for metrics. */
  readonly cache: ByteLru<string, CachedChunk>;
  readonly #client: ObjectClient;
  readonly #inflight = new SharedLoads<string, Buffer>();
  readonly #verify: boolean;
  /** Parsed chunk tails (metas and token filters), by chunk key. */
  readonly indexCache: ByteLru<string, ChunkIndex>;
  /** Memory lent to scans of chunks the cache will not keep (null: none). */
  readonly lendBuffers: ReadBuffers | null;
  /** The memory cached chunks are read into (null: no cache, or one too small for slabs). */
  readonly slabs: SlabArena | null;
  /** Chunks read only in part (getBlocksForScan), and the bytes those reads took. */
  blockReads = 0;
  blockReadBytes = 0;

  constructor(client: ObjectClient, opts: ChunkStoreOptions = {}) {
    this.#client = client;
    const cacheBytes = opts.cacheBytes ?? DEFAULT_CHUNK_CACHE_BYTES;
    const slabBytes = cacheBytes > 0 ? (opts.slabBytes ?? slabBytesFor(cacheBytes)) : 0;
    const slabs = slabBytes > 0 ? new SlabArena(slabBytes) : null;
    this.slabs = slabs;
    this.cache = new ByteLru(cacheBytes, {
      admission: { entryBytes: TYPICAL_CHUNK_BYTES },
      // Memory: the slabs, and any cached chunk read outside them (the cache had no room for it
      // when its read started, and some by the time it ended).
      ...(slabs !== null && { onRemove: (key: string) => slabs.disown(key), memoryBytes: () => slabs.heldBytes + this.cache.sizeBytes - slabs.liveBytes }),
    });
    this.#verify = opts.verifyChecksum ?? true;
    this.indexCache = new ByteLru(Math.max(1024 * 1024, Math.floor(cacheBytes / 4)), { admission: { entryBytes: TYPICAL_TAIL_BYTES } });
    const lend = opts.lendBytes ?? DEFAULT_LEND_BYTES;
    this.lendBuffers = lend > 0 ? new ReadBuffers(lend) : null;
  }

  /** Writes a chunk. Throws InvalidError when `bytes` disagree with the ref's size or checksum. */
  async put(ref: ChunkRef, bytes: Buffer): Promise<void> {
    validateChunkRef(ref);
    if (bytes.length !== ref.sizeBytes || crc32(bytes) !== ref.checksum) {
      throw new InvalidError(`chunk bytes do not match ref ${chunkKey(ref)} (size ${bytes.length}, want ${ref.sizeBytes})`);
    }
    await this.#client.put(chunkKey(ref), bytes);
  }

  /**
   * The block metas and token filters of a chunk, read from its tail with one ranged read
   * (two when the metas are longer than chunkTailGuess), so a query can rule a chunk
   * out without downloading its blocks. A cached full chunk answers without any read.
   */
  getIndex(ref: ChunkRef, opts?: ReadOptions): Promise<ChunkIndex> {
    const key = chunkKey(ref);
    // A peek: reading the tail of a cached chunk is not a use of its blocks, and must not count
    // as a request for the cache's admission test (or every chunk would count twice per query).
    // Nor is it a request for the tail cache, which keeps tails of chunks not held whole.
    const full = this.cache.peek(key)?.bytes;
    if (full !== undefined) {
      // Parsed once per cached chunk, and dropped with it (no copy of its tail: copying fresh memory costs more than the parse).
      return Promise.resolve(decodeChunkOnce(full));
    }
    const hit = this.indexCache.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    return this.#fetchIndex(key, ref, opts?.signal);
  }

  async #fetchIndex(key: string, ref: ChunkRef, signal: AbortSignal | undefined): Promise<ChunkIndex> {
    const size = ref.sizeBytes;
    let tailBytes = chunkTailGuess(size);
    for (let attempt = 0; attempt < 2; attempt++) {
      const tail = await this.#client.getRange(key, size - tailBytes, tailBytes, { signal });
      if (tail.length !== tailBytes) throw new ChunkCorruptError(`chunk ${key}: short read of its last ${tailBytes} bytes (got ${tail.length})`);
      // Only the metas and filters stay cached, not the rest of the read.
      const own = trimChunkTail(tail, size);
      if (!('needFromOffset' in own)) {
        const r = decodeChunkTail(own, size);
        if (!('needFromOffset' in r)) {
          this.indexCache.set(key, r, own.length);
          return r;
        }
        tailBytes = size - r.needFromOffset;
      } else tailBytes = size - own.needFromOffset;
      if (!(tailBytes > 0 && tailBytes <= size)) throw new ChunkCorruptError(`chunk ${key}: metas offset ${size - tailBytes} outside the chunk`);
    }
    throw new ChunkCorruptError(`chunk ${key}: metas not found in its tail`);
  }

  /**
   * Reads and verifies a chunk. NotFoundError when missing, ChunkCorruptError when damaged;
   * once `opts.signal` aborts, rejects with its reason.
   */
  get(ref: ChunkRef, opts?: ReadOptions): Promise<Buffer> {
    const key = chunkKey(ref);
    const hit = this.cache.get(key)?.bytes;
    if (hit !== undefined) return Promise.resolve(hit);
    return this.#inflight.load(key, (signal) => this.#fetch(key, ref, signal), opts?.signal);
  }

  /**
   * A chunk for one scan, as `get` reads it; except that a chunk the cache would not keep is
   * read into lent memory (when the backend can: the filesystem), which the caller gives back
   * with `release` once the scan of the chunk is over (ChunkLease). Lent reads do not join
   * another caller's read of the same chunk.
   */
  async getForScan(ref: ChunkRef, opts?: ReadOptions): Promise<ChunkLease> {
    const key = chunkKey(ref);
    const hit = this.cache.get(key)?.bytes;
    if (hit !== undefined) return { bytes: hit, lent: false, release: NOTHING_TO_RELEASE };
    const buffers = this.lendBuffers;
    if (buffers === null || this.cache.wouldAdmit(key, ref.sizeBytes)) {
      return { bytes: await this.#inflight.load(key, (signal) => this.#fetch(key, ref, signal), opts?.signal), lent: false, release: NOTHING_TO_RELEASE };
    }
    // One byte more than the chunk: a longer object does not fit, and fails the size check.
    const into = buffers.take(ref.sizeBytes + 1);
    const bytes = this.#verified(key, ref, await this.#client.get(key, { signal: opts?.signal, into }));
    if (bytes.buffer !== into.buffer) {
      buffers.give(into);
      return { bytes, lent: false, release: NOTHING_TO_RELEASE };
    }
    let released = false;
    return {
      bytes,
      lent: true,
      release: () => {
        if (released) return;
        released = true;
        buffers.give(into);
      },
    };
  }

  /**
   * Blocks `blocks` (ascending) of a chunk the cache does not hold, for one scan (ADR 0043):
   * the ranges chunkPieceRanges names, one getRange each, completed with the tail `index` was
   * parsed from into a chunk that reads only those blocks (decodeChunkPieces). Null when the
   * cache holds the chunk, or `index` did not come from its tail: read it whole then. The read
   * is not a request for the cache's admission (the scan needs none of the other blocks) and
   * nothing of it is cached. `bytes`: what was read.
   */
  async getBlocksForScan(ref: ChunkRef, index: ChunkIndex, blocks: readonly number[], opts?: ReadOptions): Promise<{ chunk: ReadableChunk; bytes: number } | null> {
    const key = chunkKey(ref);
    if (this.cache.peek(key) !== undefined) return null;
    const ranges = chunkPieceRanges(index, blocks);
    if (ranges === null) return null;
    let bytes = 0;
    for (const { at, length } of ranges) {
      if (at + length > ref.sizeBytes) throw new ChunkCorruptError(`chunk ${key}: bytes [${at}, ${at + length}) outside its ${ref.sizeBytes}`);
      bytes += length;
    }
    const signal = opts?.signal;
    const got = await Promise.all(ranges.map(({ at, length }) => this.#client.getRange(key, at, length, { signal })));
    const pieces = ranges.map(({ at, length }, i) => {
      const b = got[i]!;
      if (b.length !== length) throw new ChunkCorruptError(`chunk ${key}: short read of [${at}, ${at + length}) (got ${b.length})`);
      return { at, bytes: b };
    });
    const chunk = decodeChunkPieces(index, pieces);
    this.blockReads++;
    this.blockReadBytes += bytes;
    return { chunk, bytes };
  }

  async #fetch(key: string, ref: ChunkRef, signal: AbortSignal): Promise<Buffer> {
    // A chunk the cache will keep is read into a slab (one byte more: a longer object does not
    // fit, and fails the size check), or copied there from the memory of a backend that cannot
    // read into memory it is given (S3). Other reads answer memory of their own.
    const slabs = this.slabs;
    const into = slabs !== null && this.cache.wouldAdmit(key, ref.sizeBytes) ? slabs.take(ref.sizeBytes + 1) : undefined;
    let bytes = this.#verified(key, ref, await this.#client.get(key, { signal, into }));
    if (into !== undefined && bytes.buffer !== into.buffer) {
      into.set(bytes);
      bytes = into.subarray(0, bytes.length);
    }
    // A chunk held whole answers for its tail (getIndex): its copy in the tail cache would only
    // take the room of a chunk's tail that is not held.
    if (this.cache.set(key, { bytes }, bytes.length)) {
      this.indexCache.delete(key);
      if (slabs !== null && into !== undefined) {
        slabs.own(key, bytes);
        // The chunks that left the cache leave dead room in their slabs: past a slab's worth of
        // it, the emptiest slab's chunks move to the current one and it goes. A move swaps the
        // bytes under the cache entry: its place in the LRU order and its request count stay.
        slabs.compact(this.cache.maxBytes + slabs.slabBytes, (k, copy) => {
          const held = this.cache.peek(k);
          if (held === undefined) return;
          held.bytes = copy;
          slabs.own(k, copy);
        });
      }
    }
    return bytes;
  }

  /** `bytes` when they match the ref's size (and crc32 when verifying); else ChunkCorruptError. */
  #verified(key: string, ref: ChunkRef, bytes: Buffer): Buffer {
    if (bytes.length !== ref.sizeBytes) {
      throw new ChunkCorruptError(`chunk ${key}: size ${bytes.length}, index says ${ref.sizeBytes}`);
    }
    const sum = this.#verify ? crc32(bytes) : ref.checksum;
    if (sum !== ref.checksum) {
      throw new ChunkCorruptError(`chunk ${key}: crc32 ${sum.toString(16)}, index says ${ref.checksum.toString(16)}`);
    }
    return bytes;
  }
}
