/**
 * A least-recently-used cache bounded by bytes, over `lru-cache` (ADR 0006). Each entry
 * carries a caller-supplied size; inserting evicts from the cold end until the total fits.
 * Entries bigger than the whole budget are not cached at all. Hit, miss and eviction counts
 * are kept for the `silt_cache_*` metrics. Not thread-aware: one event loop, no locking.
 */
import { LRUCache } from 'lru-cache';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- lru-cache's own bound: any non-nullish value
type NonNullish = {};

export class ByteLru<K extends NonNullish, V extends NonNullish> {
  /** Budget in bytes; 0 disables caching. */
  readonly maxBytes: number;
  /** `get` calls that found an entry. */
  hits = 0;
  /** `get` calls that found nothing. */
  misses = 0;
  /** Entries dropped to make room. */
  evictions = 0;
  /** null when the budget is 0 (lru-cache needs a positive bound). */
  readonly #lru: LRUCache<K, V> | null;

  /** `onRemove` hears of every entry that leaves (evicted, replaced, deleted, cleared). */
  constructor(maxBytes: number, onRemove?: (key: K) => void) {
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new RangeError(`invalid cache size ${maxBytes}`);
    this.maxBytes = Math.floor(maxBytes);
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

  /** Number of entries. */
  get count(): number {
    return this.#lru?.size ?? 0;
  }

  /** The value, marking it most recently used; counts a hit or a miss. */
  get(key: K): V | undefined {
    const v = this.#lru?.get(key);
    if (v === undefined) this.misses++;
    else this.hits++;
    return v;
  }

  /** True when present; does not touch recency or counters. */
  has(key: K): boolean {
    return this.#lru?.has(key) ?? false;
  }

  /** Inserts or replaces. Returns false (and caches nothing) when `sizeBytes` exceeds the budget. */
  set(key: K, value: V, sizeBytes: number): boolean {
    if (this.#lru === null) return false;
    // lru-cache wants positive integer sizes; an empty entry still costs its bookkeeping.
    const size = Math.max(1, Math.ceil(sizeBytes));
    if (size > this.maxBytes) {
      this.#lru.delete(key);
      return false;
    }
    this.#lru.set(key, value, { size });
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
