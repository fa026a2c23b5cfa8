/**
 * A least-recently-used cache bounded by bytes, over `lru-cache` (ADR 0006). Each entry
 * carries a caller-supplied size; inserting evicts from the cold end until the total fits.
 * Entries bigger than the whole budget are not cached at all. Hit, miss and eviction counts
 * are kept for the `silt_cache_*` metrics. Not thread-aware: one event loop, no locking.
 *
 * With `admission`, a full cache only takes a new entry when it was asked for more often than
 * each entry it would evict (TinyLFU, ADR 0031): a scan larger than the cache then leaves what
 * the cache holds in place instead of churning it.
 */
import { LRUCache } from 'lru-cache';
import { FrequencySketch } from './frequency-sketch.js';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- lru-cache's own bound: any non-nullish value
type NonNullish = {};

/** Options of ByteLru. */
export interface ByteLruOptions<K> {
  /** Hears of every entry that leaves (evicted, replaced, deleted, cleared). */
  onRemove?: (key: K) => void;
  /**
   * Frequency admission for caches that scans pass through (chunks, decoded blocks);
   * `entryBytes` is a typical entry's size: budget / entryBytes keys size the request counts
   * (FrequencySketch: four rows of four one-byte counters per key).
   */
  admission?: { entryBytes: number };
  /** The memory the entries take, when it is more than their sizes (the chunk cache's slabs, SlabArena). */
  memoryBytes?: () => number;
}

export class ByteLru<K extends NonNullish, V extends NonNullish> {
  /** Budget in bytes; 0 disables caching. */
  readonly maxBytes: number;
  /** `get` calls that found an entry. */
  hits = 0;
  /** `get` calls that found nothing. */
  misses = 0;
  /** Entries dropped to make room. */
  evictions = 0;
  /** New entries refused by the admission test (never with plain LRU). */
  rejections = 0;
  /** null when the budget is 0 (lru-cache needs a positive bound). */
  readonly #lru: LRUCache<K, V> | null;
  /** Request counts of the admission test; null for plain LRU. */
  readonly #sketch: FrequencySketch | null;
  readonly #memoryBytes: (() => number) | undefined;

  constructor(maxBytes: number, opts: ByteLruOptions<K> = {}) {
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new RangeError(`invalid cache size ${maxBytes}`);
    this.maxBytes = Math.floor(maxBytes);
    const onRemove = opts.onRemove;
    this.#memoryBytes = opts.memoryBytes;
    const entryBytes = opts.admission?.entryBytes;
    this.#sketch = entryBytes === undefined || this.maxBytes === 0 ? null : new FrequencySketch(this.maxBytes / Math.max(1, entryBytes));
    this.#lru =
      this.maxBytes === 0
        ? null
        : new LRUCache<K, V>({
            maxSize: this.maxBytes,
            dispose: (_v, k, reason) => {
              if (reason === 'evict') this.evictions++;
              onRemove?.(k);
            },
          });
  }

  /** Bytes currently held. */
  get sizeBytes(): number {
    return this.#lru?.calculatedSize ?? 0;
  }

  /** Memory the entries take: their sizes, or more (ByteLruOptions.memoryBytes). */
  get memoryBytes(): number {
    return this.#memoryBytes?.() ?? this.sizeBytes;
  }

  /** Number of entries. */
  get count(): number {
    return this.#lru?.size ?? 0;
  }

  /** The value, marking it most recently used; counts a hit or a miss (and a request, with admission). */
  get(key: K): V | undefined {
    this.#sketch?.increment(String(key));
    const v = this.#lru?.get(key);
    if (v === undefined) this.misses++;
    else this.hits++;
    return v;
  }

  /** The value without marking it used or counting a lookup (for reads that are not a use of the entry). */
  peek(key: K): V | undefined {
    return this.#lru?.peek(key);
  }

  /** True when present; does not touch recency or counters. */
  has(key: K): boolean {
    return this.#lru?.has(key) ?? false;
  }

  /**
   * Inserts or replaces. Returns false (and caches nothing) when `sizeBytes` exceeds the budget,
   * or, with admission, when the new entry would evict one asked for at least as often.
   */
  set(key: K, value: V, sizeBytes: number): boolean {
    if (this.#lru === null) return false;
    // lru-cache wants positive integer sizes; an empty entry still costs its bookkeeping.
    const size = Math.max(1, Math.ceil(sizeBytes));
    if (size > this.maxBytes) {
      this.#lru.delete(key);
      return false;
    }
    if (this.#sketch !== null && !this.#admits(this.#lru, this.#sketch, key, size)) {
      this.rejections++;
      return false;
    }
    this.#lru.set(key, value, { size });
    return true;
  }

  /** Whether `set(key, …, sizeBytes)` would cache it now (for a caller that can skip making the value). */
  wouldAdmit(key: K, sizeBytes: number): boolean {
    if (this.#lru === null) return false;
    const size = Math.max(1, Math.ceil(sizeBytes));
    if (size > this.maxBytes) return false;
    return this.#sketch === null || this.#admits(this.#lru, this.#sketch, key, size);
  }

  /**
   * True when `key` may come in: it replaces an entry, fits in the free space, or was asked for
   * more often than every entry that would leave to make room (the least recently used first,
   * as lru-cache evicts them). A tie keeps what is held. The new key's own request, the miss
   * that led here, is not counted: in a loop over more keys than fit, the held key that is
   * least recently used is the one whose turn comes next, so its count is one request behind
   * every key already asked for in this pass; counting the miss would let each key that comes
   * back evict the next one held, all the way round.
   */
  #admits(lru: LRUCache<K, V>, sketch: FrequencySketch, key: K, size: number): boolean {
    if (lru.has(key)) return true;
    let free = this.maxBytes - lru.calculatedSize;
    if (free >= size) return true;
    const wanted = sketch.frequency(String(key)) - 1;
    for (const victim of lru.rkeys()) {
      if (sketch.frequency(String(victim)) >= wanted) return false;
      free += lru.info(victim)?.size ?? 0;
      if (free >= size) return true;
    }
    return true;
  }

  /** Removes an entry; true when it was present. */
  delete(key: K): boolean {
    return this.#lru?.delete(key) ?? false;
  }

  /** Drops every entry; counters are kept. */
  clear(): void {
    this.#lru?.clear();
  }
}
